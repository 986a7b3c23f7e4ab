"""Many streams: a dry run of N streams, one record and one STATE each, at two sizes.

Issue 20 found a run's time growing with the square of its streams (2,000
streams 10.6 s, 4,000 49.7 s): every SCHEMA looked at every stream known so
far. The goal is work linear in streams: twice the streams at most 2.5 times
the CPU. A dry run (``dry_run_path``) needs no Zoho. The figure is printed,
not asserted; ``tests/test_batch_bytes.py`` counts function calls instead.

    .venv/bin/python benchmarks/streams.py [--streams 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from measure import Usage, run_measured

GOAL_RATIO = 2.5
SCHEMA = {"properties": {"name": {"type": "string"}}}


def write_input(path: Path, streams: int) -> Path:
    """SCHEMA, RECORD and STATE for each of ``streams`` streams."""
    with path.open("w") as out:
        for number in range(streams):
            stream = f"s{number}"
            for message in (
                {"type": "SCHEMA", "stream": stream, "schema": SCHEMA, "key_properties": []},
                {"type": "RECORD", "stream": stream, "record": {"name": f"n{number}"}},
                {"type": "STATE", "value": {"bookmarks": {stream: number}}},
            ):
                out.write(json.dumps(message) + "\n")
    return path


def run(work: Path, streams: int) -> Usage:
    """One dry run of ``streams`` streams; its usage."""
    config = work / f"config-{streams}.json"
    settings = {
        "client_id": "i",
        "client_secret": "s",
        "refresh_token": "r",
        "field_mapping": "Last_Name=name",
        "dry_run_path": str(work / f"dry-{streams}.jsonl"),
    }
    config.write_text(json.dumps(settings))
    stdin = work / f"input-{streams}.jsonl"
    if not stdin.exists():
        write_input(stdin, streams)
    script = shutil.which("target-zoho-leads", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "target_zoho_leads"]
    usage = run_measured(
        [*command, "--config", str(config)],
        stdin,
        work / f"stdout-{streams}",
        work / f"stderr-{streams}",
    )
    if usage.returncode:
        msg = f"the run of {streams} streams exited {usage.returncode}"
        raise SystemExit(msg)
    return usage


def main() -> None:
    """Run N and 2N streams alternately; print the pair with the median CPU ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3, help="pairs of runs (median shown)")
    args = parser.parse_args()
    small, large = args.streams, 2 * args.streams
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        pairs = [(run(work, small), run(work, large)) for _ in range(args.runs)]
    pairs.sort(key=lambda pair: pair[1].cpu_seconds / pair[0].cpu_seconds)
    one, two = pairs[len(pairs) // 2]
    ratio = two.cpu_seconds / one.cpu_seconds
    verdict = "met" if ratio <= GOAL_RATIO else "MISSED"
    ratios = ", ".join(f"{b.cpu_seconds / a.cpu_seconds:.2f}" for a, b in pairs)
    print(
        f"streams, dry run, one record each   {small:,}: {one.cpu_seconds:.2f} CPU s "
        f"({one.wall_seconds:.2f} wall, {one.max_rss_mb:.0f} MB)   "
        f"{large:,}: {two.cpu_seconds:.2f} CPU s ({two.wall_seconds:.2f} wall, "
        f"{two.max_rss_mb:.0f} MB)   ratio {ratio:.2f} (goal <= {GOAL_RATIO}: {verdict}; "
        f"pairs {ratios})"
    )


if __name__ == "__main__":
    main()
