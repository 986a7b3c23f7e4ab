"""The run report names each Bulk Write job: its id, operation, record count and status.

Through the real command against the sandbox: the jobs listed are the jobs
the sandbox was asked to create and was polled about.
"""

from __future__ import annotations

import json
import re

from tests.conftest import QUICK_POLLS, singer_lines

JOB_PATH = re.compile(r"^/crm/bulk/v\d+/write/(\d+)$")


def people(count: int) -> list[dict]:
    """``count`` CDP people, each with a tracking id."""
    return [
        {"name": f"Person {i}", "email": f"p{i}@example.com", "anonymous_id": f"t{i}"}
        for i in range(count)
    ]


def polled_jobs(sandbox) -> set[str]:
    """The ids of the jobs the sandbox described to the target (not the scope check's "0")."""
    found = (JOB_PATH.match(r["path"]) for r in sandbox.requests() if r["status"] == 200)
    return {m.group(1) for m in found if m}


def created_jobs(sandbox) -> list[dict]:
    """The job creation requests the sandbox accepted, with their bodies."""
    return [
        r
        for r in sandbox.requests()
        if r["method"] == "POST" and re.fullmatch(r"/crm/bulk/v\d+/write", r["path"])
    ]


def test_the_report_lists_each_job_the_sandbox_ran_with_its_id_operation_and_count(
    sandbox, config, run_target, tmp_path
):
    """25 records in batches of 10 by Bulk Write: three insert jobs of 10, 10 and 5, COMPLETED."""
    path = tmp_path / "report.json"
    config.update(write_method="bulk", batch_size_rows=10, run_report_path=str(path))
    run = run_target(config, singer_lines("web", people(25)), env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr
    jobs = json.loads(path.read_text())["bulk_jobs"]
    assert len(jobs) == len(created_jobs(sandbox)) == 3
    assert {job["job_id"] for job in jobs} == polled_jobs(sandbox)
    assert sorted(job["records"] for job in jobs) == [5, 10, 10]
    assert {job["operation"] for job in jobs} == {"insert"}
    assert {job["status"] for job in jobs} == {"COMPLETED"}
    assert len(sandbox.leads()) == 25


def test_a_failed_job_is_listed_failed_and_the_job_that_sent_its_records_again_completed(
    sandbox, config, run_target, tmp_path
):
    """The first job FAILED: its records are looked up, sent again by a second job; both listed."""
    path = tmp_path / "report.json"
    config.update(write_method="bulk", run_report_path=str(path), bulk_settle_max=5)
    sandbox.configure(bulk_fail_jobs=1)
    run = run_target(config, singer_lines("web", people(8)), env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr
    jobs = json.loads(path.read_text())["bulk_jobs"]
    assert [job["status"] for job in jobs] == ["FAILED", "COMPLETED"]
    assert [job["records"] for job in jobs] == [8, 8]
    assert {job["job_id"] for job in jobs} == polled_jobs(sandbox)
    assert len(sandbox.leads()) == 8


def test_unique_lead_lists_its_update_job_beside_its_create_job(
    sandbox, config, run_target, tmp_path
):
    """One person already a lead, four new: an insert job of 4 and an update job of 1."""
    sandbox.seed([{"Last_Name": "Known", "Email": "p0@example.com", "CDP_ID": "old"}])
    path = tmp_path / "report.json"
    config.update(write_method="bulk", unique_lead=True, run_report_path=str(path))
    run = run_target(config, singer_lines("web", people(5)), env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr
    jobs = json.loads(path.read_text())["bulk_jobs"]
    counts = {job["operation"]: job["records"] for job in jobs}
    assert counts == {"insert": 4, "update": 1}
    assert {job["status"] for job in jobs} == {"COMPLETED"}
    assert {job["job_id"] for job in jobs} == polled_jobs(sandbox)


def test_a_run_by_the_records_api_lists_no_job(sandbox, config, run_target, tmp_path):
    """write_method records: the report's job list is empty."""
    path = tmp_path / "report.json"
    config.update(run_report_path=str(path))
    run = run_target(config, singer_lines("web", people(3)))
    assert run.returncode == 0, run.stderr
    assert json.loads(path.read_text())["bulk_jobs"] == []


def stream_report(path) -> dict:
    """The report's counts of stream ``web``."""
    return json.loads(path.read_text())["streams"]["web"]


def lost_insert_report(sandbox, config, run_target, tmp_path, **settings) -> dict:
    """Five people whose first insert call's answer is lost; the stream's report."""
    path = tmp_path / "report.json"
    config.update(run_report_path=str(path), **settings)
    sandbox.lose_answer("POST /crm/v8/Leads", nth=1)
    run = run_target(config, singer_lines("web", people(5)))
    assert run.returncode == 0, run.stderr
    return stream_report(path)


def test_a_lost_answer_found_by_lookup_is_counted_settled_not_sent_again(
    sandbox, config, run_target, tmp_path
):
    """Insert mode, tracking id mapped: the lost call was applied, so all 5 are found."""
    web = lost_insert_report(sandbox, config, run_target, tmp_path)
    assert web["unknown_outcome_writes"] == web["unknown_settled_by_lookup"] == 5
    assert web["unknown_sent_again"] == 0
    assert len(sandbox.leads()) == 5


def test_a_lost_answer_with_nothing_to_look_up_by_is_counted_sent_again(
    sandbox, config, run_target, tmp_path
):
    """No tracking id mapped: the lost call is sent again blind, and Zoho holds each twice."""
    mapping = "Last_Name=name,Email=email"
    web = lost_insert_report(sandbox, config, run_target, tmp_path, field_mapping=mapping)
    assert web["unknown_outcome_writes"] == web["unknown_sent_again"] == 5
    assert web["unknown_settled_by_lookup"] == 0
    assert len(sandbox.leads()) == 10


def test_unique_lead_counts_a_lost_create_found_by_lookup_as_settled(
    sandbox, config, run_target, tmp_path
):
    """Unique Lead: the lost insert's people are found by email, none sent again."""
    web = lost_insert_report(sandbox, config, run_target, tmp_path, unique_lead=True)
    assert web["unknown_outcome_writes"] == web["unknown_settled_by_lookup"] == 5
    assert web["unknown_sent_again"] == 0


def test_a_lost_job_answer_in_insert_mode_is_counted_sent_again(
    sandbox, config, run_target, tmp_path
):
    """Bulk Write, no tracking id mapped: the job whose creation answer was lost is sent again."""
    path = tmp_path / "report.json"
    config.update(
        run_report_path=str(path), write_method="bulk", field_mapping="Last_Name=name,Email=email"
    )
    sandbox.lose_answer("POST /crm/bulk/v8/write", nth=1)
    run = run_target(config, singer_lines("web", people(6)), env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr
    report = json.loads(path.read_text())
    web = report["streams"]["web"]
    assert web["unknown_outcome_writes"] == web["unknown_sent_again"] == 6
    assert web["unknown_settled_by_lookup"] == 0
    assert [job["records"] for job in report["bulk_jobs"]] == [6]
