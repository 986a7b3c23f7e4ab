"""The plan run (plan_path): what a real run would do, per record, with no write sent.

Through the real command against the sandbox: its request log shows no
write, its credits only the reads, and the real run that follows gives
each record the outcome the plan announced.
"""

from __future__ import annotations

import itertools
import json
import typing as t

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from target_zoho_leads.zoho.credits import insert_credits
from tests.conftest import QUICK_POLLS
from tests.test_outcomes_file import keyed_lines, read_outcomes

if t.TYPE_CHECKING:
    from pathlib import Path

    from zoho_sandbox import ZohoSandbox

# The outcome a real run gives for each action a plan announces.
OUTCOME_OF = {
    "create": "created",
    "update": "updated",
    "unchanged": "unchanged",
    "skip": "skipped",
    "reject": "rejected",
}
_runs = itertools.count()


def read_plan(path: Path) -> tuple[list[dict[str, t.Any]], dict[str, t.Any]]:
    """The plan's record lines and its summary (the last line)."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert "summary" in lines[-1]
    return lines[:-1], lines[-1]["summary"]


def writes_sent(sandbox: ZohoSandbox) -> list[dict[str, t.Any]]:
    """The calls that could change the CRM: any POST, PUT, PATCH or DELETE but a COQL query."""
    return [
        call
        for call in sandbox.requests()
        if call["path"].startswith("/crm/")
        and call["method"] in {"POST", "PUT", "PATCH", "DELETE"}
        and not call["path"].endswith("/coql")
    ]


def read_credits(sandbox: ZohoSandbox) -> int:
    """The credits the sandbox charged for reads: COQL and the field metadata."""
    stats = sandbox.stats()
    return sum(
        cost
        for route, cost in stats["credits_by_call"].items()
        if "coql" in route or "settings/fields" in route
    )


def plan_then_run(  # noqa: PLR0913 - the sandbox, the run, and its environment
    sandbox: ZohoSandbox,
    config: dict,
    run_target,
    folder: Path,
    text: str,
    *,
    env: dict | None = None,
) -> tuple[list[dict], dict, list[dict]]:
    """A plan run, checked to send no write; then the real run: plan, summary, outcomes."""
    number = next(_runs)
    plan_path, outcomes_path = folder / f"plan{number}.jsonl", folder / f"out{number}.jsonl"
    calls_before = len(sandbox.requests())
    planned = run_target({**config, "plan_path": str(plan_path)}, text, env=env)
    assert planned.returncode == 0, planned.stderr
    assert writes_sent(sandbox) == []
    assert planned.states == []  # the input is not consumed
    assert len(sandbox.requests()) > calls_before
    real = run_target({**config, "outcomes_path": str(outcomes_path)}, text, env=env)
    assert real.returncode == 0, real.stderr
    assert bool(real.states) == ('"STATE"' in text)  # the same input, consumed this time
    plan, summary = read_plan(plan_path)
    return plan, summary, read_outcomes(outcomes_path)


def assert_plan_equals_outcomes(plan: list[dict], outcomes: list[dict]) -> None:
    """Record by record: the outcome the plan announced, the lead it named, the code it gave."""
    by_key = {json.dumps(line["key"]): line for line in outcomes}
    assert len(by_key) == len(outcomes) == len(plan)
    for line in plan:
        outcome = by_key[json.dumps(line["key"])]
        assert OUTCOME_OF[line["action"]] == outcome["outcome"], (line, outcome)
        if line["lead_id"] is not None:  # None: a lead the real run creates
            assert line["lead_id"] == outcome["lead_id"], (line, outcome)
        assert (line["code"], line["field"]) == (outcome["code"], outcome["field"])
        assert line["tracking_id"] == outcome["tracking_id"]
        planned_two = line.get("lead_ids")  # a record that matched two leads names both
        assert (planned_two is None) == (outcome.get("lead_ids") is None), (line, outcome)
        for planned, real in zip(planned_two or (), outcome.get("lead_ids") or (), strict=True):
            assert planned in {None, real}


PEOPLE = [
    {"id": 1, "name": "Known", "email": "known@example.com", "anonymous_id": "t1"},
    {"id": 2, "name": "Same", "email": "same@example.com", "anonymous_id": "same"},
    {"id": 3, "name": "New", "email": "new@example.com", "anonymous_id": "t3"},
    {"id": 4, "name": "New again", "email": "NEW@example.com", "anonymous_id": "t4"},
    {"id": 5, "name": "Contact", "email": "contact@example.com", "anonymous_id": "t5"},
    {"id": 6, "name": "Converted", "email": "conv@example.com", "anonymous_id": "t6"},
    {"id": 7, "name": "Typo", "email": "typo at example", "anonymous_id": "t7"},
]


def seed_crm(sandbox: ZohoSandbox) -> dict[str, str]:
    """A lead to update, one already tracked, a Contact and a converted lead."""
    known, same, converted = sandbox.seed(
        [
            {"Last_Name": "Known", "Email": "known@example.com", "CDP_ID": "old"},
            {"Last_Name": "Same", "Email": "same@example.com", "CDP_ID": "same"},
            {"Last_Name": "Gone", "Email": "conv@example.com", "Converted__s": True},
        ]
    )
    sandbox.seed_contacts([{"Last_Name": "Contact", "Email": "contact@example.com"}])
    return {"known": known, "same": same, "converted": converted}


def test_unique_lead_plan_announces_every_action_and_the_real_run_does_it(
    sandbox, config, run_target, tmp_path
):
    """Create, update, unchanged, skip (Contact, converted) and reject, each as the run does."""
    ids = seed_crm(sandbox)
    config.update(unique_lead=True, match_contacts=True, batch_size_rows=3)
    plan, summary, outcomes = plan_then_run(
        sandbox, config, run_target, tmp_path, keyed_lines("web", PEOPLE, state_every=2)
    )
    by_id = {line["key"]["id"]: line for line in plan}
    assert by_id[1]["action"] == "update"
    assert by_id[1]["lead_id"] == ids["known"]
    assert by_id[2]["action"] == "unchanged"
    assert by_id[2]["lead_id"] == ids["same"]
    assert by_id[3]["action"] == "create"
    assert by_id[4]["action"] in {"update", "unchanged"}  # the lead record 3 would create
    assert by_id[5]["code"] == "EXISTS_AS_CONTACT"
    assert by_id[6]["code"] == "EXISTS_AS_CONVERTED_LEAD"
    assert (by_id[7]["action"], by_id[7]["field"]) == ("reject", "Email")
    assert sum(summary["actions"].values()) == len(PEOPLE)
    assert summary["complete"] is True
    assert_plan_equals_outcomes(plan, outcomes)


def test_a_plan_costs_only_reads_and_prices_the_real_run(sandbox, config, run_target, tmp_path):
    """Its credits are the sandbox's for COQL and field metadata; the summary adds the writes."""
    seed_crm(sandbox)
    plan_path = tmp_path / "plan.jsonl"
    config.update(unique_lead=True, plan_path=str(plan_path), max_credits=5)
    run = run_target(config, keyed_lines("web", PEOPLE))
    assert run.returncode == 0, run.stderr
    _, summary = read_plan(plan_path)
    stats = sandbox.stats()
    assert stats["credits"] == read_credits(sandbox) == summary["credits"]["reads"]
    writes = insert_credits(summary["actions"]["create"]) + insert_credits(
        summary["actions"]["update"]
    )
    assert summary["credits"]["records_api"] == stats["credits"] + writes
    assert summary["max_credits"] == 5
    assert summary["fits_max_credits"]["bulk_write"] is False


def test_insert_mode_plans_a_create_per_valid_record_without_a_lookup(
    sandbox, config, run_target, tmp_path
):
    """No Unique Lead: every valid record is a create; no COQL is sent."""
    plan, summary, outcomes = plan_then_run(
        sandbox, config, run_target, tmp_path, keyed_lines("web", PEOPLE, state_every=2)
    )
    assert [line["action"] for line in plan] == ["create"] * 6 + ["reject"]
    assert summary["actions"]["create"] == 6
    coql = [call for call in sandbox.requests() if call["path"].endswith("/coql")]
    assert coql == []
    assert_plan_equals_outcomes(plan, outcomes)


@pytest.mark.parametrize("unique_lead", [False, True])
def test_with_bulk_write_the_plan_sends_no_job_and_the_jobs_do_what_it_said(
    sandbox, config, run_target, tmp_path, unique_lead
):
    """write_method bulk: the plan checks Bulk Write's scopes only; the jobs match it."""
    seed_crm(sandbox)
    config.update(unique_lead=unique_lead, match_contacts=unique_lead, write_method="bulk")
    plan, summary, outcomes = plan_then_run(
        sandbox, config, run_target, tmp_path, keyed_lines("web", PEOPLE), env=QUICK_POLLS
    )
    assert summary["credits"]["bulk_write"] > summary["credits"]["records_api"]
    assert_plan_equals_outcomes(plan, outcomes)


def test_plan_path_and_dry_run_path_together_is_one_settings_error(config, run_target, tmp_path):
    """A plan run reads Zoho, a dry run never does: both set is refused before any input."""
    config.update(plan_path=str(tmp_path / "p.jsonl"), dry_run_path=str(tmp_path / "d.jsonl"))
    run = run_target(config, keyed_lines("web", PEOPLE))
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if "plan_path and dry_run_path" in line]
    assert len(errors) == 1


# Property: small CRM states and inputs; the plan is the real run's outcomes.

EMAILS = [f"p{i}@example.com" for i in range(4)]
PHONES = [f"1380013800{i}" for i in range(4)]


@st.composite
def crm_and_input(draw):
    """Leads (some converted, some tracked), Contacts, and records of the same few people.

    A person is known by an email, a phone or both; a record may carry one
    person's email and another's phone, so it can match two leads.
    """
    leads = []
    for index, (email, phone) in enumerate(zip(EMAILS, PHONES, strict=True)):
        kind = draw(st.sampled_from(["none", "lead", "tracked", "converted", "contact"]))
        held = draw(
            st.sampled_from([{"Email": email}, {"Phone": phone}, {"Email": email, "Phone": phone}])
        )
        if kind in {"lead", "tracked", "converted"}:
            lead = {"Last_Name": f"L{index}", "CDP_ID": "old", **held}
            if kind == "tracked":
                lead["CDP_ID"] = f"t{index}"
            if kind == "converted":
                lead["Converted__s"] = True
            leads.append(lead)
        elif kind == "contact":
            leads.append({"contact": True, "Last_Name": f"C{index}", **held})
    records = []
    for number in range(draw(st.integers(1, 10))):
        email = draw(st.sampled_from([*EMAILS, "bad at example", None]))
        phone = draw(st.sampled_from([*PHONES, None, None]))
        record = {
            "id": number,
            "name": f"N{number}",
            "anonymous_id": draw(st.sampled_from([f"t{i}" for i in range(4)] + [f"r{number}"])),
        }
        if email is not None:
            record["email"] = email
        if phone is not None:
            record["phone"] = phone
        records.append(record)
    options = (
        draw(st.integers(1, 4)),
        draw(st.booleans()),
        draw(st.sampled_from(["first", "hold"])),
    )
    return leads, records, options


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=crm_and_input())
@pytest.mark.slow
def test_a_plan_equals_the_next_real_runs_outcomes_record_by_record(
    shared_sandbox, run_target, tmp_path, case
):
    """Whatever the CRM holds and the input says, the real run does what the plan said."""
    crm, records, (batch_size, unique_lead, on_ambiguous) = case
    shared_sandbox.reset()
    shared_sandbox.seed([lead for lead in crm if not lead.get("contact")])
    contacts = [lead for lead in crm if lead.pop("contact", False)]
    shared_sandbox.seed_contacts(contacts)
    config = shared_sandbox.target_settings(
        field_mapping="Last_Name=name,Email=email,Phone=phone,CDP_ID=anonymous_id",
        default_values="Last_Name=Unknown",
        unique_lead=unique_lead,
        match_contacts=unique_lead,
        on_ambiguous=on_ambiguous,
        default_phone_region="CN",
        batch_size_rows=batch_size,
        max_retries=3,
    )
    plan, summary, outcomes = plan_then_run(
        shared_sandbox, config, run_target, tmp_path, keyed_lines("web", records, state_every=3)
    )
    assert sum(summary["actions"].values()) == len(records)
    assert_plan_equals_outcomes(plan, outcomes)
