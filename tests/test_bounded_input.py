"""Bounded input: a line longer than max_line_bytes is refused after reading about that much."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_zoho_leads.singer_input.bounds import DEFAULT_MAX_LINE_BYTES
from target_zoho_leads.singer_input.reader import LeadMessageReader
from tests.conftest import target_command
from tests.reliability_helpers import TRACEBACK, error_lines
from tests.support.peak_rss import MEASURE as _MEASURE

pytestmark = pytest.mark.slow

SCHEMA = {"type": "SCHEMA", "stream": "web", "schema": {"properties": {}}, "key_properties": []}
RECORD = {"type": "RECORD", "stream": "web", "record": {"name": "Before"}}
# Peak memory the whole target process may reach on a 64 MB line (the issue's
# bound): the interpreter and the SDK take about 50 MB, a 16 MiB line twice that.
PEAK_RSS_LIMIT_MB = 160


def _read(data: bytes, limit: int) -> list[dict]:
    """The messages LeadMessageReader hands on from ``data``, with ``limit`` as the cap."""
    seen: list[dict] = []
    callbacks = dict.fromkeys(("RECORD", "SCHEMA", "STATE", "ACTIVATE_VERSION"), seen.append)
    LeadMessageReader(max_line_bytes=limit).process_lines(io.BytesIO(data), callbacks)
    return seen


def _line(message: dict, width: int) -> bytes:
    """``message`` as a JSON line of exactly ``width`` bytes, newline not counted."""
    text = json.dumps(message).encode()
    return text[:-1] + b" " * (width - len(text)) + b"}"


def test_the_default_cap_is_sixteen_mebibytes():
    """The documented default."""
    assert DEFAULT_MAX_LINE_BYTES == 16 * 1024 * 1024
    assert LeadMessageReader().max_line_bytes == DEFAULT_MAX_LINE_BYTES


def test_a_line_of_exactly_the_cap_is_read():
    """The cap counts the line's bytes, not its newline; a last line may lack one."""
    data = _line(SCHEMA, 200) + b"\n" + _line(RECORD, 200)
    assert [message["type"] for message in _read(data, 200)] == ["SCHEMA", "RECORD"]


def test_a_line_one_byte_over_the_cap_is_refused_naming_its_number():
    """Line 2 is 201 bytes: refused with the setting's name, line 1 already handed on."""
    reader = LeadMessageReader(max_line_bytes=200)
    seen: list[dict] = []
    data = _line(SCHEMA, 200) + b"\n" + _line(RECORD, 201) + b"\n"
    with pytest.raises(InvalidInputLine, match=r"^longer than max_line_bytes \(200 bytes\)$"):
        reader.process_lines(io.BytesIO(data), {"SCHEMA": seen.append, "RECORD": seen.append})
    assert reader.line_number == 2
    assert [message["type"] for message in seen] == ["SCHEMA"]


def test_text_input_is_capped_too():
    """A text stream (``--input`` from a file) counts characters against the same cap."""
    reader = LeadMessageReader(max_line_bytes=50)
    text = io.StringIO(json.dumps(RECORD) + "x" * 100 + "\n")
    with pytest.raises(InvalidInputLine, match="longer than max_line_bytes"):
        reader.process_lines(text, {"RECORD": print})


def test_a_64_mb_line_is_refused_with_one_line_and_peak_memory_within_bound(tmp_path):
    """The issue's case: 64 MB and no newline, through the real command; peak RSS measured."""
    stdin = tmp_path / "stdin"
    with stdin.open("wb") as out:
        out.write(json.dumps(SCHEMA).encode() + b"\n" + json.dumps(RECORD).encode() + b"\n")
        out.write(b'{"type": "RECORD", "stream": "web", "record": {"name": "')
        for _ in range(64):
            out.write(b"x" * 1_000_000)
    config = tmp_path / "config.json"
    dry = tmp_path / "dry.jsonl"
    config.write_text(
        json.dumps(
            {
                "client_id": "i",
                "client_secret": "s",
                "refresh_token": "r",
                "field_mapping": "Last_Name=name",
                "dry_run_path": str(dry),
            }
        )
    )
    peak = tmp_path / "peak"
    with stdin.open("rb") as given:
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(peak), *target_command(), "--config", str(config)],
            stdin=given,
            capture_output=True,
            timeout=120,
            check=False,
        )
    stderr = done.stderr.decode(errors="replace")
    peak_mb = int(peak.read_text()) / 1024  # kilobytes on Linux
    print(f"64 MB line: peak RSS {peak_mb:.0f} MB")
    assert done.returncode == 1
    errors = error_lines(stderr)
    assert len(errors) == 1, errors
    assert "input line 3: longer than max_line_bytes (16,777,216 bytes)" in errors[0]
    assert not TRACEBACK.search(stderr)
    assert [json.loads(row) for row in dry.read_text().splitlines()] == [{"Last_Name": "Before"}]
    assert peak_mb <= PEAK_RSS_LIMIT_MB
