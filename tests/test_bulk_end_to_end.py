"""Bulk Write through the real command: a backfill for fewer credits, every record accounted.

SPEC §5 and issue 13: write_method auto sends a write of at least
bulk_min_records leads as Bulk Write jobs (25,000 a job, 500 credits a job).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import singer_lines

pytestmark = pytest.mark.slow

BAD = set(range(1_000, 50_000, 2_450))  # 20 records whose email Zoho refuses


def backfill(count: int, bad: set[int] = frozenset()) -> list[dict]:
    """``count`` CDP people; those in ``bad`` carry an email no Zoho field takes."""
    return [
        {
            "name": f"Person {i}",
            "email": f"p{i} at example.com" if i in bad else f"p{i}@example.com",
            "anonymous_id": f"t{i}",
        }
        for i in range(count)
    ]


def rejected(path) -> list[dict]:
    """The rejected-records file, line by line."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_50000_record_backfill_goes_by_bulk_write_at_under_25_credits_a_thousand(
    sandbox, config, run_target, tmp_path
):
    """Every good record once, the 20 bad ones kept with their code, the last STATE passed on."""
    records = backfill(50_000, BAD)
    run = run_target(config, singer_lines("web", records, state_every=25_000), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    leads = sandbox.leads()
    assert len(leads) == 50_000 - len(BAD)
    assert len({lead["CDP_ID"] for lead in leads}) == len(leads)
    kept = rejected(tmp_path / "rejected.jsonl")
    assert sorted(r["record"]["anonymous_id"] for r in kept) == sorted(f"t{i}" for i in BAD)
    assert {(r["code"], r["field"]) for r in kept} == {("INVALID_DATA", "Email")}
    assert run.states[-1] == {"done": 50_000}
    spent = sandbox.stats()["credits"]
    assert spent * 1_000 / 50_000 <= 25, spent
    assert any(r["path"].startswith("/crm/bulk/") for r in sandbox.requests())


def test_write_method_records_keeps_a_large_write_on_the_records_api(sandbox, config, run_target):
    """write_method records: 6,000 leads go in calls of 100, no Bulk Write job."""
    config.update(write_method="records")
    run = run_target(config, singer_lines("web", backfill(6_000)), timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(sandbox.leads()) == 6_000
    assert not any(r["path"].startswith("/crm/bulk/") for r in sandbox.requests())


def test_a_failed_job_ends_the_run_with_one_line_and_no_state_past_it(sandbox, config, run_target):
    """Zoho ends the job FAILED: one ERROR line, exit 1, the STATE before the batch only."""
    sandbox.configure(bulk_fail_jobs=1)
    config.update(write_method="bulk", batch_size_rows=200)
    stdin = singer_lines("web", backfill(400), state_every=200)
    run = run_target(config, stdin)
    assert run.returncode == 1
    assert len(run.errors) == 1, run.errors
    assert "Traceback" not in run.stderr
    assert run.states == []


def test_a_result_file_with_missing_rows_marks_nothing_written(sandbox, config, run_target):
    """A result that cannot be matched to the input fails the run; no STATE passes it."""
    sandbox.configure(bulk_drop_result_rows=3)
    config.update(write_method="bulk", batch_size_rows=100)
    run = run_target(config, singer_lines("web", backfill(100), state_every=100))
    assert run.returncode == 1
    assert len(run.errors) == 1, run.errors
    assert run.states == []
    assert "0 leads created" in run.summary("web")


def test_write_method_bulk_without_its_scopes_stops_at_start_up_naming_the_scope(
    sandbox, config, run_target
):
    """A token without ZohoCRM.bulk.ALL: the run stops before reading input, naming it."""
    sandbox.configure(missing_scopes=["ZohoCRM.bulk.ALL"])
    config.update(write_method="bulk")
    run = run_target(config, singer_lines("web", backfill(10)))
    assert run.returncode == 1
    assert "ZohoCRM.bulk.ALL" in run.errors[-1]
    assert sandbox.leads() == []


def test_auto_without_bulk_scopes_writes_by_the_records_api_with_a_warning(
    sandbox, config, run_target
):
    """auto: a large write without the bulk scopes still lands, by the records API."""
    sandbox.configure(missing_scopes=["ZohoFiles.files.ALL"])
    config.update(bulk_min_records=50)
    run = run_target(config, singer_lines("web", backfill(120)))
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(sandbox.leads()) == 120
    assert "Bulk Write is not available" in run.stderr
    assert "ZohoFiles.files.ALL" in run.stderr
