"""Peak memory bounded by batch_size_bytes, through the real command against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import QUICK_BACKOFF, target_command
from tests.reliability_helpers import TRACEBACK
from tests.support.peak_rss import MEASURE as _MEASURE

pytestmark = pytest.mark.slow

LINE_BYTES = 16 * 1024 * 1024 - 64  # just under the default max_line_bytes
RECORDS = 8
# Far above what was measured with the default budget (about 165 MB, README),
# far below the 3.6 GB the same input took when a batch was bounded by rows only.
PEAK_RSS_LIMIT_MB = 1200


def _write_input(path) -> None:
    """SCHEMA, eight records of one 16 MiB line each, a STATE; written as it is made."""
    schema = {"properties": {"name": {"type": "string"}, "email": {"type": "string"}}}
    with path.open("wb") as out:
        out.write(json.dumps({"type": "SCHEMA", "stream": "web", "schema": schema}).encode())
        out.write(b"\n")
        for index in range(RECORDS):
            head = json.dumps(
                {"type": "RECORD", "stream": "web", "record": {"email": f"big{index}@example.com"}}
            ).encode()[:-2]
            head += b', "name": "'
            out.write(head + b"x" * (LINE_BYTES - len(head) - 3) + b'"}}\n')
        out.write(json.dumps({"type": "STATE", "value": {"done": RECORDS}}).encode() + b"\n")


def test_eight_16_mib_records_are_written_within_a_bounded_peak_memory(sandbox, tmp_path):
    """The issue's case: every record becomes a lead, the STATE passes on, peak RSS bounded."""
    stdin = tmp_path / "stdin"
    _write_input(stdin)
    config = tmp_path / "config.json"
    settings = sandbox.target_settings(
        field_mapping="Last_Name=name,Email=email", write_method="records"
    )
    config.write_text(json.dumps(settings))
    peak = tmp_path / "peak"
    with stdin.open("rb") as given:
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(peak), *target_command(), "--config", str(config)],
            stdin=given,
            capture_output=True,
            timeout=300,
            check=False,
            env={**os.environ, **QUICK_BACKOFF},
        )
    stderr = done.stderr.decode(errors="replace")
    peak_mb = int(peak.read_text()) / 1024  # kilobytes on Linux
    print(f"eight 16 MiB records, batch_size_bytes 64 MiB: peak RSS {peak_mb:.0f} MB")
    assert done.returncode == 0, stderr[-3000:]
    assert not TRACEBACK.search(stderr)
    assert [json.loads(line) for line in done.stdout.decode().splitlines()] == [{"done": RECORDS}]
    emails = sorted(lead["Email"] for lead in sandbox.leads())
    assert emails == [f"big{index}@example.com" for index in range(RECORDS)]
    assert stderr.count("Target sink for 'web' is full. Current size is '4'") == 2
    assert peak_mb < PEAK_RSS_LIMIT_MB
