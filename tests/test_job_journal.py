"""The job journal (issue 18 item 3): a run killed while its job runs, the next started at once.

Zoho has no API to list Bulk Write jobs, so the jobs a run starts are kept in
``job_journal_path`` until seen to end; the next run waits for those of its org
before its first lookup, and its lookups then see what they wrote.
"""

from __future__ import annotations

import json
import signal
import time
import typing as t
from pathlib import Path

import pytest
from zoho_sandbox import ZohoSandbox

from target_zoho_leads.loading.journal import (
    JobJournal,
    default_journal_path,
    wait_for_earlier_jobs,
)
from target_zoho_leads.loading.outputs import OutputFileError
from target_zoho_leads.loading.settle import Watch
from tests.conftest import QUICK_POLLS, singer_lines
from tests.reliability_helpers import error_lines, outputs, start_target, states

BULK_WRITE = "/crm/bulk/v8/write"
RUN_TIMEOUT = 120
ORG = "https://www.zohoapis.com"


# The journal file itself.


def test_a_job_is_listed_when_started_and_forgotten_when_it_ends(tmp_path: Path):
    """started() lists the job for its org; ended() forgets it; other orgs are left alone."""
    path = tmp_path / "cache" / "jobs.json"
    journal = JobJournal.open(str(path))
    assert journal is not None
    journal.started(ORG, "111", "insert")
    journal.started("https://www.zohoapis.eu", "222", "update")
    assert [e.job_id for e in journal.entries(ORG)] == ["111"]
    again = JobJournal.open(str(path))  # another run reads what this one wrote
    assert again is not None
    assert [(e.job_id, e.operation) for e in again.entries(ORG)] == [("111", "insert")]
    journal.ended(ORG, ["111"])
    assert again.entries(ORG) == []
    assert [e.job_id for e in again.entries("https://www.zohoapis.eu")] == ["222"]
    assert path.stat().st_mode & 0o777 == 0o600
    journal.close()
    again.close()


def test_a_journal_path_through_a_symbolic_link_is_refused(tmp_path: Path):
    """Opened as the other output files are: a link in the path is refused, naming the setting."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(OutputFileError, match="job_journal_path"):
        JobJournal.open(str(tmp_path / "link" / "jobs.json"))


def test_the_default_journal_is_in_the_users_cache_folder(tmp_path: Path):
    """$XDG_CACHE_HOME when absolute, else ~/.cache."""
    cache = str(tmp_path / "xdg")
    assert default_journal_path({"XDG_CACHE_HOME": cache}) == (
        f"{cache}/target-zoho-leads/bulk-jobs.json"
    )
    home = Path.home()
    assert default_journal_path({"XDG_CACHE_HOME": "relative"}) == (
        f"{home}/.cache/target-zoho-leads/bulk-jobs.json"
    )


def test_a_file_that_is_not_a_journal_is_started_afresh(tmp_path: Path, caplog):
    """Unreadable text costs a warning, never the run."""
    path = tmp_path / "jobs.json"
    path.write_text("{not json")
    path.chmod(0o600)
    journal = JobJournal.open(str(path))
    assert journal is not None
    assert journal.entries(ORG) == []
    assert "not a job journal" in caplog.text
    journal.started(ORG, "5", "insert")
    assert json.loads(path.read_text())["jobs"][0]["job_id"] == "5"
    journal.close()


def test_earlier_jobs_are_waited_for_until_they_end_then_forgotten(tmp_path: Path):
    """Polled with backoff until no longer ADDED/IN PROGRESS; a job Zoho does not know ends it."""
    journal = JobJournal.open(str(tmp_path / "jobs.json"))
    assert journal is not None
    journal.started(ORG, "1", "insert")
    journal.started(ORG, "2", "insert")
    statuses = {"1": ["ADDED", "IN PROGRESS", "COMPLETED"], "2": [""]}
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    watch = Watch(900, first_wait=1, sleep=sleep, clock=lambda: now[0])
    wait_for_earlier_jobs(journal, ORG, lambda job: statuses[job].pop(0), watch)
    assert slept == [1, 2]
    assert journal.entries(ORG) == []
    journal.close()


def test_the_wait_for_earlier_jobs_is_bounded_by_bulk_settle_max(tmp_path: Path, caplog):
    """A job still running after bulk_settle_max is forgotten with a warning; the run goes on."""
    journal = JobJournal.open(str(tmp_path / "jobs.json"))
    assert journal is not None
    journal.started(ORG, "1", "insert")
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    watch = Watch(10, first_wait=1, sleep=sleep, clock=lambda: now[0])
    wait_for_earlier_jobs(journal, ORG, lambda _job: "IN PROGRESS", watch)
    assert now[0] == 10
    assert "still run after bulk_settle_max" in caplog.text
    assert journal.entries(ORG) == []
    journal.close()


# Through the real command: killed mid-job, the next run at once.

PEOPLE = 300
JOB_SECONDS = 3.0


def people_records(start: int = 0) -> list[dict[str, t.Any]]:
    """One record per person, then a second for every third person (a later tracking id)."""
    records = [
        {"anonymous_id": f"a{i}", "email": f"p{i}@example.cn", "name": f"P {i}"}
        for i in range(PEOPLE)
    ]
    records += [
        {"anonymous_id": f"b{i}", "email": f"P{i}@Example.cn", "name": f"P {i}"}
        for i in range(0, PEOPLE, 3)
    ]
    return records[start:]


def kill_once_a_job_is_polled(proc, sandbox: ZohoSandbox) -> bool:
    """SIGKILL ``proc`` once its first insert job has been created and polled."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the target made no progress"
        paths = [call["path"] for call in sandbox.requests()]
        if BULK_WRITE in paths and any(p.startswith(f"{BULK_WRITE}/") for p in paths):
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=RUN_TIMEOUT)
            return True
        time.sleep(0.01)
    return False


@pytest.mark.slow
def test_a_unique_lead_run_killed_mid_job_then_rerun_at_once_gives_each_person_one_lead(
    tmp_path: Path,
):
    """The journal names the killed run's job; the next run waits for it, then looks up."""
    with ZohoSandbox(bulk_job_seconds=JOB_SECONDS) as sandbox:
        config = sandbox.target_settings(
            field_mapping="Last_Name=name,Email=email,CDP_ID=anonymous_id",
            unique_lead=True,
            match_fields="Email",
            write_method="bulk",
            max_retries=3,
            job_journal_path=str(tmp_path / "state" / "bulk-jobs.json"),
        )
        killed = tmp_path / "killed"
        killed.mkdir()
        text = singer_lines("cdp", people_records(), state_every=50)
        proc = start_target(config, killed, text.encode(), env=QUICK_POLLS)
        assert kill_once_a_job_is_polled(proc, sandbox), "the run ended before the kill"
        journaled = json.loads((tmp_path / "state" / "bulk-jobs.json").read_text())["jobs"]
        assert len(journaled) == 1
        emitted = states(outputs(killed)[0])
        start = emitted[-1]["done"] if emitted else 0

        resumed = tmp_path / "resumed"
        resumed.mkdir()
        text = singer_lines("cdp", people_records(start), state_every=50)
        proc = start_target(config, resumed, text.encode(), env=QUICK_POLLS)
        returncode = proc.wait(timeout=RUN_TIMEOUT)
        _, stderr = outputs(resumed)
        assert returncode == 0, error_lines(stderr)
        emails = [lead["Email"].lower() for lead in sandbox.leads()]
        assert sorted(emails) == sorted(f"p{i}@example.cn" for i in range(PEOPLE))
        assert "jobs an earlier run started were not seen to end" in stderr
        assert json.loads((tmp_path / "state" / "bulk-jobs.json").read_text())["jobs"] == []
