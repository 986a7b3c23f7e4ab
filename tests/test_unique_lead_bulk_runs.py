"""Unique Lead over Bulk Write across runs: split, killed mid-job, and a 30,000-record backfill.

Issue 13: the Unique Lead property holds with every write by Bulk Write; a
run killed while its job runs is resumed without creating anyone twice (the
lookups find what the job created); and a backfill with default settings
stays exact for at most 40 API credits per 1,000 records.
"""

from __future__ import annotations

import random
import signal
import time
import typing as t

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from zoho_sandbox import ZohoSandbox

from target_zoho_leads.zoho.bulk.jobs import POLL_FIRST_ENV
from tests import test_unique_lead_runs as runs
from tests.conftest import QUICK_POLLS, sandbox_token
from tests.reliability_helpers import error_lines, load_chaos, outputs, start_target, states

pytestmark = pytest.mark.slow

if t.TYPE_CHECKING:
    from pathlib import Path

chaos = load_chaos()
BULK_WRITE = "/crm/bulk/v8/write"
RUN_TIMEOUT = 120


# The property of tests/test_unique_lead_runs.py, every write by Bulk Write.

_unique_settings = runs.unique_settings


def _by_bulk(sandbox: ZohoSandbox, **extra: t.Any) -> dict[str, t.Any]:
    return _unique_settings(sandbox, write_method="bulk", **extra)


@pytest.mark.slow
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=runs.people_and_runs())
def test_the_unique_lead_property_holds_with_every_write_by_bulk_write(
    shared_sandbox, case, monkeypatch
):
    """One lead per person and one CRM whatever the split, creates and updates as jobs."""
    monkeypatch.setenv(POLL_FIRST_ENV, "0.01")
    # The same property, word for word, with write_method bulk in its settings.
    monkeypatch.setattr(runs, "unique_settings", _by_bulk)
    prop = runs.test_one_lead_per_person_and_one_crm_whatever_the_spelling_split_and_batch_size
    prop.hypothesis.inner_test(shared_sandbox, case)
    assert any(call["path"] == BULK_WRITE for call in shared_sandbox.requests())


# Killed while a job runs, then resumed from the last STATE, respelled.

CRASH_SEEDS = range(3)
BULK_JOB_SECONDS = 1.5
STATE_EVERY = 25


def kill_while_an_insert_job_runs(proc, sandbox: ZohoSandbox, nth: int) -> str | None:
    """SIGKILL ``proc`` once it is waiting for its ``nth`` insert job; that job's path.

    Returns:
        The job's ``/crm/bulk/v8/write/{id}`` path, or None if the run ended first.
    """
    deadline = time.monotonic() + RUN_TIMEOUT
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the target made no progress"
        operations, polled = [], None
        for call in sandbox.requests():
            if call["method"] == "POST" and call["path"] == BULK_WRITE:
                operations.append(call["json"]["operation"])
                polled = None
            elif call["path"].startswith(f"{BULK_WRITE}/") and polled is None:
                polled = call["path"]
        if operations.count("insert") == nth and operations[-1] == "insert" and polled:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=RUN_TIMEOUT)
            return polled
        time.sleep(0.01)
    return None


def finish_job(sandbox: ZohoSandbox, path: str) -> dict[str, t.Any]:
    """Ask for the job after its time is up, as Zoho runs it whoever waits; its details."""
    # Skip the sandbox's clock past the job's delay rather than sleep through it;
    # the resumed run's own jobs still take BULK_JOB_SECONDS of real time.
    sandbox.advance_clock(BULK_JOB_SECONDS)
    with requests.Session() as session:
        token = sandbox_token(sandbox, session)
        answer = session.get(
            f"{sandbox.url}{path}",
            headers={"Authorization": f"Zoho-oauthtoken {token}"},
            timeout=10,
        )
    return answer.json()


@pytest.mark.slow
@pytest.mark.parametrize("seed", CRASH_SEEDS)
def test_a_run_killed_while_its_insert_job_runs_resumes_without_creating_anyone_twice(
    seed, tmp_path: Path
):
    """SIGKILL mid-job; the job completes; the resumed run finds its leads: exact CRM."""
    rng = random.Random(seed)  # noqa: S311 - test data
    data = runs.make_people(rng)
    with ZohoSandbox(bulk_job_seconds=BULK_JOB_SECONDS) as sandbox:
        sandbox.configure(coql_case_sensitive=True)
        sandbox.seed([p["existing"] for p in data.people if p["existing"]])
        config = chaos.sandbox_config(
            sandbox,
            tmp_path,
            unique_lead=True,
            default_phone_region="CN",
            write_method="bulk",
            batch_size_rows=rng.choice((100, 200)),
            max_retries=3,
        )
        killed = tmp_path / "killed"
        killed.mkdir()
        text = chaos.singer_text(data.records(rng), state_every=STATE_EVERY)
        proc = start_target(config, killed, text.encode(), env=QUICK_POLLS)
        job = kill_while_an_insert_job_runs(proc, sandbox, nth=1 + seed % 2)
        assert job is not None, "the run ended before the kill"
        details = finish_job(sandbox, job)
        assert details["status"] == "COMPLETED"
        assert details["resource"][0]["file"]["added_count"] > 0
        emitted = states(outputs(killed)[0])
        start = emitted[-1]["done"] if emitted else 0

        resumed = tmp_path / "resumed"
        resumed.mkdir()
        text = chaos.singer_text(data.records(rng)[start:], start=start, state_every=STATE_EVERY)
        proc = start_target(config, resumed, text.encode(), env=QUICK_POLLS)
        returncode = proc.wait(timeout=RUN_TIMEOUT)
        stdout, stderr = outputs(resumed)
        assert returncode == 0, error_lines(stderr)
        assert states(stdout)[-1] == {"done": runs.RECORDS}
        assert runs.crm(sandbox) == data.expected()


# A backfill with default settings: 30,000 records, 30% of the people leads already.

BACKFILL = 30_000
PEOPLE = 24_000  # a fifth of the records repeat a person
EXISTING_SHARE = 0.3
CREDITS_PER_1000 = 40


def backfill(rng: random.Random) -> tuple[list[dict], list[dict], dict[str, tuple]]:
    """The records, the leads already in the CRM, and the CRM expected after: by email."""
    people = [
        {
            "email": f"person{i}@example.cn",
            "phone": f"139{i:08d}",
            "exists": rng.random() < EXISTING_SHARE,
        }
        for i in range(PEOPLE)
    ]
    order = list(range(PEOPLE)) + [rng.randrange(PEOPLE) for _ in range(BACKFILL - PEOPLE)]
    rng.shuffle(order)
    records, last, first = [], {}, {}
    for seq, who in enumerate(order):
        person = people[who]
        email = person["email"] if who not in first else person["email"].upper()
        records.append(
            {
                "anonymous_id": f"r{seq}",
                "name": f"Person {who}",
                "email": email,
                "phone": runs.spell_phone(person["phone"], seq % runs.PHONE_STYLES),
            }
        )
        first.setdefault(who, seq)
        last[who] = seq
    existing, expected = [], {}
    for who, person in enumerate(people):
        phone = f"+86{person['phone']}"
        if person["exists"]:
            stored = runs.stored_phone(person["phone"], who % runs.STORED_STYLES)
            existing.append(
                {
                    "Last_Name": f"Old {who}",
                    "Email": person["email"],
                    "Phone": stored,
                    "City": "Keep",
                    "CDP_ID": "old",
                }
            )
            expected[person["email"]] = (f"Old {who}", stored, "Keep", f"r{last[who]}")
        else:
            expected[person["email"]] = (f"Person {who}", phone, None, f"r{last[who]}")
    return records, existing, expected


@pytest.mark.slow
def test_a_30000_record_unique_lead_backfill_is_exact_at_under_40_credits_a_thousand(
    sandbox, tmp_path, run_target
):
    """Default settings: each person one lead, the latest tracking id, by Bulk Write jobs."""
    records, existing, expected = backfill(random.Random(13))  # noqa: S311 - test data
    sandbox.seed(existing)
    config = runs.unique_settings(sandbox, rejected_records_path=str(tmp_path / "rejected.jsonl"))
    run = run_target(config, runs.singer_text(records), timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    leads = sandbox.leads()
    assert len(leads) == len(expected)
    got = {
        lead["Email"]: (lead["Last_Name"], lead["Phone"], lead.get("City"), lead["CDP_ID"])
        for lead in leads
    }
    assert got == expected
    assert ", 0 rejected" in run.summary("cdp")
    spent = sandbox.stats()["credits"]
    assert spent * 1_000 / BACKFILL <= CREDITS_PER_1000, spent
    assert any(call["path"] == BULK_WRITE for call in sandbox.requests())
