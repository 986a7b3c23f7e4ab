"""max_credits: a run never passes its budget, stops cleanly, and the next runs finish the load."""

from __future__ import annotations

import json
import math

from tests.conftest import QUICK_POLLS
from tests.test_outcomes_file import keyed_lines, read_outcomes

STATE_EVERY = 20
PEOPLE = [
    {"id": i, "name": f"P{i}", "email": f"b{i}@example.com", "anonymous_id": f"b{i}"}
    for i in range(240)
]


def budget_config(config: dict, tmp_path, **extra) -> dict:
    """Unique Lead in batches of 20, a STATE after each, with outcomes and a report."""
    config.update(
        unique_lead=True,
        batch_size_rows=STATE_EVERY,
        outcomes_path=str(tmp_path / "outcomes.jsonl"),
        run_report_path=str(tmp_path / "report.json"),
        **extra,
    )
    return config


def test_three_runs_at_a_third_of_the_cost_each_complete_the_load_exactly(
    sandbox, config, run_target, tmp_path
):
    """Each run stays within max_credits, exits 0 with one warning; resumes finish the load.

    Every batch costs the same (a lookup and an insert), so a third of the
    cost, the field metadata call included, buys a third of the batches.
    """
    full = run_target(budget_config(dict(config), tmp_path / "full"), keyed_lines("web", PEOPLE))
    assert full.returncode == 0, full.stderr
    cost = sandbox.stats()["credits"]
    sandbox.reset()
    budget = math.ceil(cost / 3)
    settings = budget_config(config, tmp_path, max_credits=budget)
    start, runs = 0, 0
    while start < len(PEOPLE) and runs < 3:
        before = sandbox.stats()["credits"]
        text = keyed_lines("web", PEOPLE[start:], state_every=STATE_EVERY)
        run = run_target(settings, text)
        runs += 1
        assert run.returncode == 0, run.stderr
        assert sandbox.stats()["credits"] - before <= budget
        report = json.loads((tmp_path / "report.json").read_text())
        left = report["records_left"]
        if left:
            warnings = [line for line in run.stderr.splitlines() if "max_credits" in line]
            assert len([w for w in warnings if "WARNING" in w]) == 1
            assert f"{left} records were read and left" in warnings[-1]
            assert report["stopped_by"] == "max_credits"
        start += run.states[-1]["done"] if run.states else 0
        assert start + left == len(PEOPLE)
    assert start == len(PEOPLE), f"{runs} runs of {budget} credits did not finish the load"
    leads = sandbox.leads()
    assert sorted(lead["Email"] for lead in leads) == sorted(p["email"] for p in PEOPLE)
    cdp = {lead["Email"]: lead["CDP_ID"] for lead in leads}
    assert all(cdp[p["email"]] == p["anonymous_id"] for p in PEOPLE)
    last = {line["key"]["id"]: line for line in read_outcomes(tmp_path / "outcomes.jsonl")}
    assert sorted(last) == [p["id"] for p in PEOPLE]


def test_a_budget_spent_by_the_first_write_leaves_every_record_and_passes_no_state(
    sandbox, config, run_target, tmp_path
):
    """max_credits 1 pays for the field metadata only: nothing written, all left, exit 0."""
    settings = budget_config(config, tmp_path, max_credits=1)
    run = run_target(settings, keyed_lines("web", PEOPLE[:50], state_every=10))
    assert run.returncode == 0, run.stderr
    assert run.states == []
    assert sandbox.leads() == []
    assert sandbox.stats()["credits"] == 1
    assert "50 records left for the next run" in run.summary("web")
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["stopped_by"], report["records_left"], report["exit_status"]) == (
        "max_credits",
        50,
        0,
    )
    assert read_outcomes(tmp_path / "outcomes.jsonl") == []


def test_a_bulk_write_job_past_the_budget_is_never_created(sandbox, config, run_target, tmp_path):
    """write_method bulk with 400 credits: the 500-credit job is not started; all left, exit 0."""
    settings = budget_config(config, tmp_path, max_credits=400, write_method="bulk")
    run = run_target(settings, keyed_lines("web", PEOPLE[:30], state_every=10), env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr
    jobs = [r for r in sandbox.requests() if r["method"] == "POST" and "/bulk/" in r["path"]]
    assert jobs == []
    assert sandbox.stats()["credits"] <= 400
    assert sandbox.leads() == []
    assert run.states == []
    assert "30 records left for the next run" in run.summary("web")
