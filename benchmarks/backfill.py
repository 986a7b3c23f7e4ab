"""Figure (e): a backfill by the records API and by Bulk Write, credits and wall time.

The input is ``api_calls.py``'s mix (30% of the people already in the CRM, 20%
of the records repeating a person), so the unique run has lookups, creates
and tracking-id updates. Each mode runs twice on it: ``write_method``
``records`` and ``auto`` (Bulk Write for a write of at least
``bulk_min_records``, in batches of 25,000). Credits are the sandbox's count
by Zoho's rules; a sandbox bulk job completes ``BULK_JOB_SECONDS`` after it is
created (real Zoho takes minutes), so the wall times compare the target's own
work, not Zoho's queue.
"""

from __future__ import annotations

import json
import random
import sys
import typing as t
from pathlib import Path

import api_calls
from measure import run_measured

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from sandbox_process import SandboxProcess

RECORDS = 50_000  # the backfill
GOAL_UNIQUE_RECORDS = 30_000  # the size issue 13's Unique Lead goal is stated at
BULK_JOB_SECONDS = 1.0  # the target's first status check is 2 s after a job starts
METHODS = ("records", "auto")
UNIQUE = {"insert": False, "unique_lead": True}
BULK_ROUTE = "/crm/bulk/"


def measure(
    sandbox: SandboxProcess,
    work: Path,
    sizes: dict[str, int],
    progress: Callable[..., None],
) -> dict[str, t.Any]:
    """Run each mode by each write method; credits, calls and times of every run.

    Args:
        sandbox: The sandbox process, emptied before each run.
        work: Where the inputs, configs and logs go.
        sizes: Records of each mode's input, ``{"insert": N, "unique_lead": M}``.
        progress: Says on stderr which run is going.

    Returns:
        ``{"bulk_job_seconds": s, "insert": {"records": N, "existing_leads": E,
        "runs": {"records": {...}, "auto": {...}}}, "unique_lead": {...}}``.
    """
    result: dict[str, t.Any] = {"bulk_job_seconds": BULK_JOB_SECONDS}
    sandbox.configure(bulk_job_seconds=BULK_JOB_SECONDS)
    try:
        for mode, records in sizes.items():
            result[mode] = _mode(sandbox, work, mode, records, progress)
    finally:
        sandbox.configure(bulk_job_seconds=0)
        sandbox.reset()  # frees the sandbox's copy of the leads
    return result


def _mode(
    sandbox: SandboxProcess,
    work: Path,
    mode: str,
    records: int,
    progress: Callable[..., None],
) -> dict[str, t.Any]:
    """Both write methods of one mode on one input."""
    stdin, existing = api_calls.make_input(records, random.Random(1))  # noqa: S311 - test data
    path = work / f"backfill-{records}.jsonl"
    path.write_text(stdin)
    unique = UNIQUE[mode]
    new_people = api_calls.distinct_people(records) - len(existing)
    runs: dict[str, dict[str, t.Any]] = {}
    for method in METHODS:
        progress(
            "  target-zoho-leads, %s records, %s, write_method %s", f"{records:,}", mode, method
        )
        run = _run(sandbox, work, path, existing, unique=unique, method=method)
        _check(f"{mode}, {method}", run, new_people if unique else records)
        run["credits_per_1000"] = run["credits"] * 1000 / records
        runs[method] = run
    return {"records": records, "existing_leads": len(existing), "runs": runs}


def _run(  # noqa: PLR0913 - one keyword per thing a run varies by
    sandbox: SandboxProcess,
    work: Path,
    stdin: Path,
    existing: list[dict],
    *,
    unique: bool,
    method: str,
) -> dict[str, t.Any]:
    """One run of the command on ``stdin`` into a CRM holding ``existing``."""
    name = f"backfill-{'unique' if unique else 'insert'}-{method}"
    config = work / f"config-{name}.json"
    settings = api_calls.config(sandbox, unique=unique, write_method=method)
    config.write_text(json.dumps(settings))
    command = [str(Path(sys.executable).parent / "target-zoho-leads"), "--config", str(config)]
    sandbox.reset()
    sandbox.seed(existing)
    stdout, stderr = work / f"{name}.out", work / f"{name}.err"
    usage = run_measured(command, stdin, stdout, stderr)
    if usage.returncode:
        tail = stderr.read_text(errors="replace")[-3000:]
        sys.exit(f"{name} exited with {usage.returncode}:\n{tail}")
    stats = sandbox.stats()
    return {
        "wall_s": usage.wall_seconds,
        "cpu_s": usage.cpu_seconds,
        "api_calls": stats["api_calls"],
        "credits": stats["credits"],
        "calls": stats["calls"],
        "credits_by_call": stats["credits_by_call"],
        "records_created": stats["records_created"],
        "records_updated": stats["records_updated"],
        "bulk": any(BULK_ROUTE in route for route in stats["calls"]),
    }


def _check(name: str, run: dict[str, t.Any], expected: int) -> None:
    """Stop if a run did not create exactly the leads it should: its figure would mislead."""
    if run["records_created"] != expected:
        created = run["records_created"]
        sys.exit(f"backfill {name}: the sandbox created {created} leads, not {expected}")
