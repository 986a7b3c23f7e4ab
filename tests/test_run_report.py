"""The run report (run_report_path) and its METRIC lines, through the real command."""

from __future__ import annotations

import json
import re

import pytest

from target_zoho_leads.zoho.credits import CreditBudgetSpentError, CreditMeter, call_kind
from tests.conftest import singer_lines
from tests.test_outcomes_file import PEOPLE, keyed_lines

SUMMARY = re.compile(
    r"(\d+) records read, (\d+) leads created, (\d+) updated, (\d+) unchanged duplicates, "
    r"(\d+) rejected, (\d+) API calls, (\d+) API credits"
)


def test_the_report_counts_equal_the_summary_line_and_the_sandboxs_calls_and_credits(
    sandbox, config, run_target, tmp_path
):
    """Counts by outcome and code, calls and credits by kind: as the log and the sandbox say."""
    sandbox.seed([{"Last_Name": "Known", "Email": "p1@example.com", "CDP_ID": "old"}])
    sandbox.configure(fail_429_rate=0.2, fail_5xx_rate=0.1, seed=11)
    path = tmp_path / "report.json"
    config.update(unique_lead=True, run_report_path=str(path), batch_size_rows=10, max_retries=10)
    records = [*PEOPLE, {"id": 99, "name": "Typo", "email": "typo at x", "anonymous_id": "t99"}]
    run = run_target(config, keyed_lines("web", records, state_every=10))
    assert run.returncode == 0, run.stderr
    report = json.loads(path.read_text())
    web = report["streams"]["web"]
    read, created, updated, unchanged, rejected, calls, spent = map(
        int, SUMMARY.search(run.summary("web")).groups()
    )
    assert web["records_read"] == read == len(records)
    assert web["outcomes"] == {
        k: v
        for k, v in {
            "created": created,
            "updated": updated,
            "unchanged": unchanged,
            "rejected": rejected,
        }.items()
        if v
    }
    assert sum(web["codes"].values()) == rejected == 1
    assert (web["api_calls"], web["credits"]) == (calls, spent)
    stats = sandbox.stats()
    assert report["credits_total"] == sum(report["credits"].values()) == stats["credits"]
    assert sum(report["api_calls"].values()) == stats["api_calls"]
    assert report["too_many_requests"] == stats["faults"].get("429", 0)
    assert report["api_calls"]["coql"] == stats["calls"].get("POST /crm/v8/coql", 0)
    assert report["exit_status"] == 0
    assert report["error"] is None
    assert report["stopped_by"] is None
    assert report["last_state"] == run.states[-1]
    assert report["started_at"] <= report["ended_at"]


def test_a_failed_run_still_writes_the_report_with_its_error(sandbox, config, run_target, tmp_path):
    """Broken input after five records: exit 1, the report holds the run's one error line."""
    path = tmp_path / "report.json"
    config.update(run_report_path=str(path))
    run = run_target(config, singer_lines("web", PEOPLE[:5]) + "{not json\n")
    assert run.returncode == 1
    report = json.loads(path.read_text())
    assert report["exit_status"] == 1
    assert report["error"]
    assert report["error"] in run.errors[-1]
    assert report["streams"]["web"]["outcomes"] == {"created": 5}
    assert report["credits_total"] == sandbox.stats()["credits"]


def test_a_zoho_failure_at_start_up_still_writes_the_report(sandbox, config, run_target, tmp_path):
    """Every call failing (5xx): exit 1 before any input, and the report names the error."""
    path = tmp_path / "report.json"
    config.update(run_report_path=str(path), max_retries=2)
    sandbox.configure(fail_5xx_rate=1.0)
    run = run_target(config, singer_lines("web", PEOPLE[:5]))
    assert run.returncode == 1
    report = json.loads(path.read_text())
    assert report["exit_status"] == 1
    assert "still failing" in report["error"]


def test_the_counters_go_out_as_singer_sdk_metric_lines(sandbox, config, run_target):
    """record_count tagged by stream and outcome, http_request_count by kind of call."""
    run = run_target(config, singer_lines("web", PEOPLE[:5]))
    assert run.returncode == 0, run.stderr
    points = [
        json.loads(line.split("METRIC: ", 1)[1])
        for line in run.stderr.splitlines()
        if "METRIC: " in line
    ]
    outcomes = [p for p in points if p["metric"] == "record_count" and "outcome" in p["tags"]]
    assert [(p["tags"]["stream"], p["tags"]["outcome"], p["value"]) for p in outcomes] == [
        ("web", "created", 5)
    ]
    calls = {p["tags"]["endpoint"]: p for p in points if p["metric"] == "http_request_count"}
    assert calls["records"]["value"] == 1
    assert calls["records"]["tags"]["credits"] == 1


def test_calls_are_counted_by_kind():
    """Records API, COQL, Bulk Write (jobs, uploads, result files) and the rest."""
    assert call_kind("POST", "/crm/v8/Leads") == "records"
    assert call_kind("GET", "/crm/v8/Leads/search") == "records"
    assert call_kind("GET", "/crm/v8/Contacts/0") == "records"
    assert call_kind("POST", "/crm/v8/coql") == "coql"
    assert call_kind("POST", "/crm/bulk/v8/write") == "bulk"
    assert call_kind("POST", "/crm/v8/upload") == "bulk"
    assert call_kind("GET", "/crm/v8/settings/fields") == "other"


def test_the_meter_refuses_a_call_past_the_budget_and_then_every_call():
    """Reserved at full cost before sending; once refused, a cheaper call is refused too."""
    meter = CreditMeter(max_credits=12)
    meter.reserve("records", 10)
    with pytest.raises(CreditBudgetSpentError, match="max_credits 12"):
        meter.reserve("coql", 3)
    meter.settle("records", 10, 10, 200)
    assert meter.stopped
    with pytest.raises(CreditBudgetSpentError):
        meter.reserve("coql", 1)
    assert meter.spent == 10
