"""``make bench``: the target's performance figures from one run, beside their goals.

(a) CPU seconds of ``target-zoho-leads`` against a no-op singer-sdk target on
100,000 CDP records; (b) Zoho API calls and credits per 1,000 records, insert
and ``unique_lead``; (c) wall time for 10,000 records with 150 ms of sandbox
latency at ``max_concurrency`` 1 and 8, and the most calls in flight; (d) peak
memory of the target at 100,000 and 1,000,000 records; (e) credits per 1,000
records and wall time of a 50,000-record backfill, ``write_method`` records
against auto (Bulk Write), insert and ``unique_lead``. (a) to (d) measure the
records API path (``write_method: records``), as they did before Bulk Write.
The sandbox runs in a process of its own, so only the measured process's CPU
and memory count.

    .venv/bin/python benchmarks/bench.py [--quick] [--cpu-runs N] [--only abcde]
                                         [--keep] [--json PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import api_calls
import backfill
import report
from cdp_input import DEFAULT_VALUES, FIELD_MAPPING, state_message, write_input
from measure import Usage, run_measured
from sandbox_process import SandboxProcess

HERE = Path(__file__).resolve().parent
LATENCY_MS = 150
CONCURRENCY_LOW, CONCURRENCY_HIGH = 1, 8
STARTUP_CALL = "GET /crm/v8/settings/fields"  # once per run, whatever its size


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Records per figure; (d)'s smaller run is (a)'s run of the target."""

    cpu_runs: int = 3  # (a) pairs of runs (no-op, then target); the median pair counts
    cpu: int = 100_000
    calls: int = 10_000
    latency: int = 10_000
    memory_large: int = 1_000_000
    backfill: int = backfill.RECORDS  # (e), insert
    # (e), unique_lead: the sandbox's COQL scans every lead for each of a lookup's
    # values, so a unique backfill's time grows with the square of its size: the
    # issue's 30,000 take minutes a run (--backfill-unique 30000).
    backfill_unique: int = 10_000


QUICK = Sizes(
    cpu=10_000,
    calls=2_000,
    latency=2_000,
    memory_large=100_000,
    backfill=10_000,
    backfill_unique=2_000,
)
STARTED = time.perf_counter()


def progress(message: str, *args: object) -> None:
    """Say on stderr what is running, and since when: a full run takes minutes."""
    elapsed = time.perf_counter() - STARTED
    print(f"[{elapsed:4.0f} s] {message % args}", file=sys.stderr, flush=True)


class Bench:
    """Runs the target and the no-op target on generated inputs against one sandbox."""

    def __init__(self, work: Path, sandbox: SandboxProcess) -> None:
        """Keep inputs, configs and logs in ``work``."""
        self.work = work
        self.sandbox = sandbox
        self._inputs: dict[int, Path] = {}
        self._target_runs: dict[int, Usage] = {}

    def input_file(self, records: int) -> Path:
        """The Singer input of ``records`` CDP events, written on first use."""
        if records not in self._inputs:
            progress("  writing %s records of input", f"{records:,}")
            path = self.work / f"input-{records}.jsonl"
            self._inputs[records] = write_input(path, records)
        return self._inputs[records]

    def config_file(self, name: str, settings: dict[str, t.Any]) -> Path:
        """A config file of ``settings``."""
        path = self.work / f"config-{name}.json"
        path.write_text(json.dumps(settings))
        return path

    def run_target(
        self, records: int, name: str, **settings: object
    ) -> tuple[Usage, dict[str, t.Any]]:
        """Insert ``records`` events through the real command into an empty sandbox.

        Exits with the target's last error lines if it fails, does not create
        every lead, or does not finish with the input's last STATE: a figure
        from a broken run would mislead.

        Returns:
            The target's usage and the sandbox's stats of the run.
        """
        config = {
            "client_id": self.sandbox.client_id,
            "client_secret": self.sandbox.client_secret,
            "refresh_token": self.sandbox.refresh_token,
            "accounts_url": self.sandbox.accounts_url,
            "field_mapping": FIELD_MAPPING,
            "default_values": DEFAULT_VALUES,
            # (a), (c) and (d) measure the records API, as before Bulk Write existed.
            "write_method": "records",
            **settings,
        }
        command = [str(Path(sys.executable).parent / "target-zoho-leads")]
        command += ["--config", str(self.config_file(name, config))]
        self.input_file(records)
        self.sandbox.reset()
        progress("  target-zoho-leads, %s records (%s)", f"{records:,}", name)
        usage = self._run(command, records, name)
        stats = self.sandbox.stats()
        if stats["records_created"] != records:
            created = stats["records_created"]
            sys.exit(f"{name}: the sandbox created {created} leads, not {records}")
        self.sandbox.reset()  # frees the sandbox's copy of the leads
        return usage, stats

    def run_noop(self, records: int) -> Usage:
        """The no-op singer-sdk target, SDK defaults, on the same input."""
        command = [sys.executable, str(HERE / "noop_target.py")]
        command += ["--config", str(self.config_file("noop", {}))]
        self.input_file(records)
        progress("  no-op SDK target, %s records", f"{records:,}")
        return self._run(command, records, "noop")

    def _run(self, command: list[str], records: int, name: str) -> Usage:
        stdout, stderr = self.work / f"{name}.out", self.work / f"{name}.err"
        usage = run_measured(command, self.input_file(records), stdout, stderr)
        if usage.returncode:
            tail = stderr.read_text(errors="replace")[-3000:]
            sys.exit(f"{name} exited with {usage.returncode}:\n{tail}")
        lines = stdout.read_text().splitlines()
        last = json.loads(lines[-1]) if lines else {}
        # SDK targets write the state value alone; a STATE message is accepted too.
        last_state = last.get("value") if last.get("type") == "STATE" else last
        if last_state != state_message(records)["value"]:
            sys.exit(f"{name} did not emit the input's last STATE; see {stdout}")
        return usage

    def target_insert(self, records: int, *, again: bool = False) -> Usage:
        """The plain insert run of (a) and (d), once per size unless ``again``."""
        if again or records not in self._target_runs:
            self._target_runs[records], _ = self.run_target(records, f"insert-{records}")
        return self._target_runs[records]


def figure_cpu(bench: Bench, sizes: Sizes) -> dict[str, t.Any]:
    """(a) CPU seconds of the target against the no-op SDK target."""
    progress("(a) CPU, %s records, no latency", f"{sizes.cpu:,}")
    noops: list[Usage] = []
    targets: list[Usage] = []
    for run in range(sizes.cpu_runs):
        noops.append(bench.run_noop(sizes.cpu))
        targets.append(bench.target_insert(sizes.cpu, again=run > 0))
    # Each target run follows its no-op run, so a pair shares the machine's
    # load of the moment: the figure is the median of the pairs' ratios.
    ratios = [t.cpu_seconds / n.cpu_seconds for t, n in zip(targets, noops, strict=True)]
    middle = sorted(range(len(ratios)), key=ratios.__getitem__)[len(ratios) // 2]
    target, noop = targets[middle], noops[middle]
    return {
        "records": sizes.cpu,
        "runs": sizes.cpu_runs,
        "target_cpu_s_all": [usage.cpu_seconds for usage in targets],
        "noop_cpu_s_all": [usage.cpu_seconds for usage in noops],
        "target_cpu_s": target.cpu_seconds,
        "target_wall_s": target.wall_seconds,
        "noop_cpu_s": noop.cpu_seconds,
        "noop_wall_s": noop.wall_seconds,
        "ratio": ratios[middle],
    }


def figure_calls(bench: Bench, sizes: Sizes) -> dict[str, t.Any]:
    """(b) API calls per 1,000 records, with ``api_calls.py``'s workload."""
    progress("(b) API calls, %s records, 30%% existing, 20%% repeats", f"{sizes.calls:,}")
    stdin, existing = api_calls.make_input(sizes.calls, random.Random(1))  # noqa: S311
    result: dict[str, t.Any] = {"records": sizes.calls, "existing_leads": len(existing)}
    for mode, unique in (("insert", False), ("unique_lead", True)):
        progress("  target-zoho-leads, %s", mode)
        stats = api_calls.run(bench.sandbox, stdin, existing, unique=unique)
        result[f"{mode}_per_1000"] = stats["api_calls"] * 1000 / sizes.calls
        result[f"{mode}_credits_per_1000"] = stats["credits"] * 1000 / sizes.calls
        result[f"{mode}_credits_by_call"] = stats["credits_by_call"]
        result[f"{mode}_calls"] = stats["calls"]
        result[f"{mode}_startup_calls"] = stats["calls"].get(STARTUP_CALL, 0)
    bench.sandbox.reset()
    return result


def figure_concurrency(bench: Bench, sizes: Sizes) -> dict[str, t.Any]:
    """(c) Wall time at low and high concurrency against a slow Zoho."""
    progress("(c) wall time, %s records, %s ms latency", f"{sizes.latency:,}", LATENCY_MS)
    bench.sandbox.configure(latency_ms=LATENCY_MS)
    result: dict[str, t.Any] = {"records": sizes.latency, "latency_ms": LATENCY_MS}
    try:
        for level in (CONCURRENCY_LOW, CONCURRENCY_HIGH):
            name = f"latency-c{level}"
            usage, stats = bench.run_target(sizes.latency, name, max_concurrency=level)
            result[f"wall_s_c{level}"] = usage.wall_seconds
            result[f"max_in_flight_c{level}"] = stats["max_in_flight"]
    finally:
        bench.sandbox.configure(latency_ms=0)
    result["speedup"] = result[f"wall_s_c{CONCURRENCY_LOW}"] / result[f"wall_s_c{CONCURRENCY_HIGH}"]
    return result


def figure_memory(bench: Bench, sizes: Sizes) -> dict[str, t.Any]:
    """(d) Peak RSS of the target process at two input sizes."""
    progress(
        "(d) peak memory, %s and %s records",
        f"{sizes.cpu:,}",
        f"{sizes.memory_large:,}",
    )
    small = bench.target_insert(sizes.cpu)
    large = bench.target_insert(sizes.memory_large)
    return {
        "records_small": sizes.cpu,
        "records_large": sizes.memory_large,
        "max_rss_mb_small": small.max_rss_mb,
        "max_rss_mb_large": large.max_rss_mb,
        "cpu_s_large": large.cpu_seconds,
        "wall_s_large": large.wall_seconds,
        "ratio": large.max_rss_mb / small.max_rss_mb,
    }


def figure_backfill(bench: Bench, sizes: Sizes) -> dict[str, t.Any]:
    """(e) Credits and wall time of a backfill, records API against Bulk Write."""
    progress(
        "(e) backfill, write_method records and auto, %s s bulk jobs", backfill.BULK_JOB_SECONDS
    )
    records = {"insert": sizes.backfill, "unique_lead": sizes.backfill_unique}
    return backfill.measure(bench.sandbox, bench.work, records, progress)


FIGURES = {
    "a": figure_cpu,
    "b": figure_calls,
    "c": figure_concurrency,
    "d": figure_memory,
    "e": figure_backfill,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes (a: 10,000, b and c: 2,000, d: 10,000 and 100,000, "
        "e: 10,000): "
        "under a minute, but not the issue's figures",
    )
    parser.add_argument(
        "--cpu-runs",
        type=int,
        default=Sizes.cpu_runs,
        metavar="N",
        help="run (a)'s two commands N times each, alternately, and report the "
        "pair with the median ratio (default: "
        f"{Sizes.cpu_runs}; a shared machine adds noise)",
    )
    parser.add_argument("--only", default="abcde", help="which figures, e.g. 'ae' (default: abcde)")
    parser.add_argument(
        "--backfill-unique",
        type=int,
        metavar="N",
        help="records of (e)'s unique_lead backfill (default: "
        f"{Sizes.backfill_unique:,}; issue 13's goal is stated at "
        f"{backfill.GOAL_UNIQUE_RECORDS:,}, minutes a run against the sandbox)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the inputs, configs and logs")
    parser.add_argument(
        "--json", type=Path, help="where to write the figures (default: a temp file)"
    )
    args = parser.parse_args(argv)
    if args.cpu_runs < 1:
        parser.error("--cpu-runs must be at least 1")
    if args.backfill_unique is not None and args.backfill_unique < 1:
        parser.error("--backfill-unique must be at least 1")
    if not args.only or set(args.only) - set(FIGURES):
        parser.error("--only takes letters from 'abcde'")
    return args


def _temp_json_path() -> Path:
    """A new, private file for the figures: the README quotes them from there."""
    handle, name = tempfile.mkstemp(prefix="target-zoho-leads-bench-", suffix=".json")
    os.close(handle)
    return Path(name)


def main(argv: list[str] | None = None) -> None:
    """Run the chosen figures, print the table, write the JSON."""
    args = parse_args(argv)
    sizes = dataclasses.replace(QUICK if args.quick else Sizes(), cpu_runs=args.cpu_runs)
    if args.backfill_unique is not None:
        sizes = dataclasses.replace(sizes, backfill_unique=args.backfill_unique)
    work = Path(tempfile.mkdtemp(prefix="target-zoho-leads-bench-"))
    results: dict[str, t.Any] = {
        "quick": args.quick,
        "environment": report.environment(),
    }
    keep = args.keep
    try:
        with SandboxProcess(work / "sandbox.err") as sandbox:
            bench = Bench(work, sandbox)
            for letter in sorted(set(args.only)):
                results[letter] = FIGURES[letter](bench, sizes)
    except BaseException:
        keep = True  # a failed run's logs are what explain it
        raise
    finally:
        if keep:
            progress("inputs, configs and logs kept in %s", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["total_seconds"] = time.perf_counter() - STARTED
    json_path = args.json or _temp_json_path()
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    print(report.table(results))
    print(f"\nFigures as JSON: {json_path}")


if __name__ == "__main__":
    main()
