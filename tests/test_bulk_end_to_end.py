"""Bulk Write through the real command: a backfill for fewer credits, every record accounted.

SPEC §5 and issue 13: write_method auto sends a write of at least
bulk_min_records leads as Bulk Write jobs (25,000 a job, 500 credits a job).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import QUICK_POLLS, singer_lines

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


FAULTS = {
    "failed": {"bulk_fail_jobs": 1},
    "short": {"bulk_drop_result_rows": 3},
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_job_of_unknown_outcome_is_settled_by_tracking_id_and_a_rerun_writes_nothing_twice(
    sandbox, config, run_target, fault
):
    """A FAILED job, or a result short of rows: looked up, absent ones sent; then a re-run."""
    sandbox.configure(**FAULTS[fault])
    config.update(write_method="bulk", batch_size_rows=200)
    records = backfill(400)
    run = run_target(config, singer_lines("web", records, state_every=200), env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states[-1] == {"done": 400}
    sandbox.configure(bulk_fail_jobs=0, bulk_drop_result_rows=0)
    again = run_target(config, singer_lines("web", records[400:], state_every=200), env=QUICK_POLLS)
    assert again.returncode == 0, again.stderr[-3000:]
    ids = [lead["CDP_ID"] for lead in sandbox.leads()]
    assert sorted(ids) == sorted(r["anonymous_id"] for r in records)


def test_a_lost_job_creation_answer_is_watched_for_and_never_sent_as_a_second_job(
    sandbox, config, run_target
):
    """The job was created but its answer lost: its leads are found; one job, each once."""
    sandbox.lose_answer("POST /crm/bulk/v8/write", nth=1)
    sandbox.configure(bulk_job_seconds=0.5)
    config.update(write_method="bulk", bulk_settle_max=60)
    run = run_target(config, singer_lines("web", backfill(300)), env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(sandbox.leads()) == 300
    assert len({lead["CDP_ID"] for lead in sandbox.leads()}) == 300
    creates = [r for r in sandbox.requests() if r["path"] == "/crm/bulk/v8/write"]
    assert len([r for r in creates if r["method"] == "POST"]) == 1
    assert "300 writes of unknown outcome" in run.summary("web")
