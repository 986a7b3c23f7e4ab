"""The outcomes file (outcomes_path): one line per confirmed record, with the sandbox's lead id.

Through the real command against the sandbox: insert mode and Unique Lead,
the records API and Bulk Write, lost answers and 5xx, and a run killed and
resumed from its last STATE.
"""

from __future__ import annotations

import json
import signal
import time
import typing as t

import pytest

from tests.conftest import QUICK_POLLS, singer_lines
from tests.reliability_helpers import outputs, start_target, states

if t.TYPE_CHECKING:
    from pathlib import Path

PEOPLE = [
    {"id": i, "name": f"Person {i}", "email": f"p{i}@example.com", "anonymous_id": f"t{i}"}
    for i in range(1, 41)
]


def keyed_lines(stream: str, records: list[dict], *, state_every: int = 0) -> str:
    """A Singer stream whose SCHEMA names ``id`` as its key property."""
    text = singer_lines(stream, records, state_every=state_every)
    return text.replace('"key_properties": []', '"key_properties": ["id"]', 1)


def read_outcomes(path: Path) -> list[dict[str, t.Any]]:
    """The outcome lines, in order (none if the file is missing)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def lead_of_tracking(sandbox) -> dict[str, str]:
    """The sandbox's lead id for each tracking id it holds."""
    return {lead["CDP_ID"]: lead["id"] for lead in sandbox.leads() if lead.get("CDP_ID")}


def test_insert_mode_names_the_sandbox_lead_of_every_record_despite_lost_answers_and_5xx(
    sandbox, config, run_target, tmp_path
):
    """Each record has one line, created, with the id of the lead holding its tracking id."""
    path = tmp_path / "outcomes.jsonl"
    config.update(outcomes_path=str(path), batch_size_rows=10, max_retries=8)
    sandbox.lose_answer("POST /crm/v8/Leads", nth=2)
    sandbox.configure(fail_5xx_rate=0.2, seed=7)
    run = run_target(config, keyed_lines("web", PEOPLE, state_every=10))
    assert run.returncode == 0, run.stderr
    lines = read_outcomes(path)
    assert sorted(line["key"]["id"] for line in lines) == [p["id"] for p in PEOPLE]
    leads = lead_of_tracking(sandbox)
    assert len(leads) == len(PEOPLE)
    for line in lines:
        assert line["stream"] == "web"
        assert line["outcome"] == "created"
        assert line["lead_id"] == leads[line["tracking_id"]]
        assert line["code"] is None
    assert len({line["run_id"] for line in lines}) == 1


def test_unique_lead_lines_say_created_updated_unchanged_and_rejected(
    sandbox, config, run_target, tmp_path
):
    """An existing lead is updated, a repeat unchanged, a bad email rejected with its field."""
    (known,) = sandbox.seed([{"Last_Name": "Known", "Email": "p1@example.com", "CDP_ID": "old"}])
    path = tmp_path / "outcomes.jsonl"
    config.update(unique_lead=True, outcomes_path=str(path))
    records = [
        *PEOPLE[:3],
        {"id": 100, "name": "Again", "email": "p2@example.com", "anonymous_id": "t2b"},
        {"id": 101, "name": "Typo", "email": "typo at example", "anonymous_id": "t-typo"},
    ]
    run = run_target(config, keyed_lines("web", records))
    assert run.returncode == 0, run.stderr
    by_id = {line["key"]["id"]: line for line in read_outcomes(path)}
    leads = {lead["Email"]: lead["id"] for lead in sandbox.leads()}
    assert by_id[1]["outcome"] == "updated"
    assert by_id[1]["lead_id"] == known
    assert by_id[2]["outcome"] == "created"
    assert by_id[2]["lead_id"] == leads["p2@example.com"]
    assert by_id[100]["outcome"] in {"unchanged", "updated"}
    assert by_id[100]["lead_id"] == leads["p2@example.com"]
    assert by_id[100]["tracking_id"] == "t2b"
    assert by_id[101]["outcome"] == "rejected"
    assert by_id[101]["lead_id"] is None
    assert by_id[101]["code"]
    assert by_id[101]["field"] == "Email"
    assert len(by_id) == len(records)


def test_unique_lead_lines_name_the_match_field_that_found_the_lead(
    sandbox, config, run_target, tmp_path
):
    """matched_by: Email, or Phone for a lead with the number in Mobile; none for a new person."""
    by_email, by_mobile = sandbox.seed(
        [
            {"Last_Name": "E", "Email": "found@example.com", "CDP_ID": "old"},
            {"Last_Name": "M", "Mobile": "+8613900139001", "CDP_ID": "old"},
        ]
    )
    path = tmp_path / "outcomes.jsonl"
    config.update(unique_lead=True, default_phone_region="CN", outcomes_path=str(path))
    records = [
        {"id": 1, "name": "E", "email": "Found@example.com", "anonymous_id": "m1"},
        {"id": 2, "name": "M", "phone": "139 0013 9001", "anonymous_id": "m2"},
        {"id": 3, "name": "New", "email": "new@example.com", "anonymous_id": "m3"},
        {"id": 4, "name": "New", "email": "NEW@example.com", "anonymous_id": "m4"},
    ]
    run = run_target(config, keyed_lines("web", records))
    assert run.returncode == 0, run.stderr
    by_id = {line["key"]["id"]: line for line in read_outcomes(path)}
    assert (by_id[1]["lead_id"], by_id[1]["matched_by"]) == (by_email, "Email")
    assert (by_id[2]["lead_id"], by_id[2]["matched_by"]) == (by_mobile, "Phone")
    assert by_id[3]["outcome"] == "created"
    assert "matched_by" not in by_id[3]
    assert by_id[4]["lead_id"] == by_id[3]["lead_id"]
    assert by_id[4]["matched_by"] == "Email"


@pytest.mark.parametrize("unique_lead", [False, True])
def test_bulk_write_lines_name_the_leads_the_jobs_made(
    sandbox, config, run_target, tmp_path, unique_lead
):
    """Bulk Write (a job whose result rows come back shuffled): every line's lead is right."""
    sandbox.configure(bulk_result_order="shuffled", seed=3)
    path = tmp_path / "outcomes.jsonl"
    config.update(unique_lead=unique_lead, write_method="bulk", outcomes_path=str(path))
    run = run_target(config, keyed_lines("web", PEOPLE), env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr
    lines = read_outcomes(path)
    leads = lead_of_tracking(sandbox)
    assert sorted(line["key"]["id"] for line in lines) == [p["id"] for p in PEOPLE]
    assert all(line["lead_id"] == leads[line["tracking_id"]] for line in lines)
    assert {line["outcome"] for line in lines} == {"created"}


def test_a_killed_run_has_lines_only_for_written_records_and_the_resume_completes_the_set(
    sandbox, config, tmp_path
):
    """SIGKILL mid-run: every line names a lead that exists; after resuming every record has one."""
    path = tmp_path / "outcomes.jsonl"
    people = [
        {"id": i, "name": f"P{i}", "email": f"k{i}@example.com", "anonymous_id": f"k{i}"}
        for i in range(200)
    ]
    config.update(unique_lead=True, outcomes_path=str(path), batch_size_rows=20)
    sandbox.configure(latency_ms=20)
    first = tmp_path / "run1"
    first.mkdir()
    proc = start_target(config, first, keyed_lines("web", people, state_every=20).encode())
    deadline = time.monotonic() + 60
    while len(read_outcomes(path)) < 60 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    killed = read_outcomes(path)
    existing = {lead["id"] for lead in sandbox.leads()}
    assert killed, "the kill came before any line"
    assert all(line["lead_id"] in existing for line in killed)
    done = states(outputs(first)[0])[-1]["done"]
    assert done < len(people), "the run finished before the kill"
    second = tmp_path / "run2"
    second.mkdir()
    rest = start_target(config, second, keyed_lines("web", people[done:], state_every=20).encode())
    assert rest.wait(timeout=60) == 0, outputs(second)[1]
    last: dict[int, dict] = {}
    for line in read_outcomes(path):
        last[line["key"]["id"]] = line  # a record sent again: its later line is current
    assert sorted(last) == [p["id"] for p in people]
    leads = lead_of_tracking(sandbox)
    assert len(leads) == len(people)
    assert all(line["lead_id"] == leads[line["tracking_id"]] for line in last.values())
    assert len({line["run_id"] for line in read_outcomes(path)}) == 2
