"""Batches bounded by bytes as well as rows, and a run's work linear in its streams."""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import typing as t
from pathlib import Path

import pytest
from singer_sdk.exceptions import ConfigValidationError

from target_zoho_leads.loading.batch_budget import BatchBudget
from target_zoho_leads.loading.confirmations import Confirmations
from target_zoho_leads.settings.model import Settings
from target_zoho_leads.singer_input.bounds import DEFAULT_BATCH_SIZE_BYTES, held_size
from target_zoho_leads.target import TargetZohoLeads

MIB = 1024 * 1024
SCHEMA = {"properties": {"name": {"type": "string"}, "note": {"type": "string"}}}


def _config(tmp_path, **extra) -> dict:
    """A dry run: nothing goes to Zoho, each lead to a file."""
    return {
        "client_id": "i",
        "client_secret": "s",
        "refresh_token": "r",
        "field_mapping": "Last_Name=name,Description=note",
        "dry_run_path": str(tmp_path / "dry.jsonl"),
        **extra,
    }


def _lines(streams: int, records: int, note_bytes: int = 10, *, states: bool = True) -> bytes:
    """SCHEMA, then ``records`` records (and a STATE after each) for each of ``streams``."""
    out = []
    for number in range(streams):
        stream = f"s{number}"
        out.append({"type": "SCHEMA", "stream": stream, "schema": SCHEMA, "key_properties": []})
        for index in range(records):
            record = {"name": f"n{index}", "note": "x" * note_bytes}
            out.append({"type": "RECORD", "stream": stream, "record": record})
            if states:
                out.append({"type": "STATE", "value": {"at": [stream, index]}})
    return b"".join(json.dumps(message).encode() + b"\n" for message in out)


def _run(tmp_path, data: bytes, **settings) -> tuple[TargetZohoLeads, list[tuple[str, int, int]]]:
    """Run a target over ``data``; each batch written: (stream, records, records read by then)."""
    target = TargetZohoLeads(config=_config(tmp_path, **settings), validate_config=True)
    written: list[tuple[str, int, int]] = []
    write_batch = target.loader.write_batch

    def spy(stream: str, records: list, seqs: list[int]) -> t.Any:
        written.append((stream, len(records), target.confirmations.records_read))
        return write_batch(stream, records, seqs)

    target.loader.write_batch = spy  # type: ignore[method-assign]
    target.listen(io.BytesIO(data))
    return target, written


def test_batch_size_bytes_defaults_to_64_mib_and_refuses_less_than_1_mib():
    """The documented default and range."""
    base = _config(Path("/nonexistent"))
    base.pop("dry_run_path")
    assert Settings.from_config(base).batch_size_bytes == DEFAULT_BATCH_SIZE_BYTES == 64 * MIB
    with pytest.raises(ConfigValidationError, match="batch_size_bytes must be 1048576 to"):
        Settings.from_config({**base, "batch_size_bytes": MIB - 1})


def test_a_line_of_text_is_held_at_about_its_length_and_many_small_values_at_more():
    """The estimate: a line's bytes, plus an allowance per value (per comma)."""
    text = b'{"record": {"note": "' + b"x" * 1000 + b'"}}'
    assert held_size(text) == len(text) + 100
    values = b"[" + b",".join(b"1" for _ in range(1000)) + b"]"
    assert held_size(values) == len(values) + 100 * 1000
    assert held_size(values.decode()) == held_size(values)


def test_a_sink_drains_once_its_records_pass_batch_size_bytes(tmp_path, capsys):
    """Ten 300 KB records, a 1 MiB budget: written four at a time, rows far from their limit."""
    data = _lines(1, 10, note_bytes=300_000)
    _, written = _run(tmp_path, data, batch_size_bytes=MIB)
    assert [(stream, size) for stream, size, _ in written] == [("s0", 4), ("s0", 4), ("s0", 2)]
    leads = (tmp_path / "dry.jsonl").read_text().splitlines()
    assert len(leads) == 10
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"at": ["s0", 9]}


def test_small_records_still_drain_at_batch_size_rows(tmp_path, capsys):
    """The rows limit is kept: 25 small records, batch_size_rows 10."""
    _, written = _run(tmp_path, _lines(1, 25), batch_size_rows=10)
    assert [size for _, size, _ in written] == [10, 10, 5]
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"at": ["s0", 24]}


def test_the_budget_is_one_for_all_streams_not_one_each(tmp_path, capsys):
    """Twenty streams of one 100 KB record: every batch is written once they pass 1 MiB together."""
    _, written = _run(tmp_path, _lines(20, 1, note_bytes=100_000), batch_size_bytes=MIB)
    read_by_first_write = written[0][2]
    assert read_by_first_write == 11  # 11 records of 100 KB pass 1 MiB; not the end of input
    assert sorted(stream for stream, _, _ in written) == sorted(f"s{n}" for n in range(20))
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"at": ["s19", 0]}


def test_held_states_count_against_the_budget_and_leave_it_when_passed_on():
    """A STATE waiting on records takes its size from the budget until it passes on."""
    confirmations = Confirmations(BatchBudget(MIB))
    first = confirmations.read()
    confirmations.hold({"at": 1}, 500)
    confirmations.read()
    confirmations.hold({"at": 2}, 700)
    assert confirmations.budget.held == 1200
    confirmations.confirm([first])
    assert confirmations.safe_state() == {"at": 1}
    assert confirmations.budget.held == 700


def test_a_state_right_after_another_replaces_it_while_they_wait():
    """No record between two STATEs: only the newer is kept, and only its size counts."""
    confirmations = Confirmations(BatchBudget(MIB))
    seq = confirmations.read()
    confirmations.hold({"at": 1}, 500)
    confirmations.hold({"at": 2}, 600)
    assert confirmations.pending() == 1
    assert confirmations.budget.held == 600
    confirmations.confirm([seq])
    assert confirmations.safe_state() == {"at": 2}
    assert confirmations.budget.held == 0


def _calls(tmp_path, streams: int) -> int:
    """Python function calls a dry run of ``streams`` streams, one record each, makes."""
    data = _lines(streams, 1)
    folder = tmp_path / str(streams)
    folder.mkdir()
    profile = cProfile.Profile()
    profile.enable()
    _run(folder, data)
    profile.disable()
    return sum(row[1] for row in pstats.Stats(profile).stats.values())  # type: ignore[attr-defined]


def test_a_run_of_twice_the_streams_makes_about_twice_the_calls(tmp_path, capsys):
    """Work linear in streams, counted in function calls, not seconds (issue 20).

    Every SCHEMA used to look at every stream known so far: 400 streams made
    about 2.7 times the calls of 200 (now 2.0), and 4,000 streams took 49.7 s.
    """
    _calls(tmp_path, 20)  # imports and caches filled on first use are not counted
    small, large = _calls(tmp_path, 200), _calls(tmp_path, 400)
    capsys.readouterr()
    assert large <= 2.2 * small, (small, large)
