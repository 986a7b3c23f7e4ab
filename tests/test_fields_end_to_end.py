"""Field metadata through the real command: start-up checks and value coercion."""

from __future__ import annotations

import json

import pytest

from tests.conftest import singer_lines
from tests.support.scripted_server import Reply, Request, ScriptedServer

WRITES = ("POST", "PUT")


def writes(sandbox) -> list[dict]:
    """Every write call the sandbox received."""
    return [r for r in sandbox.requests() if r["method"] in WRITES and r["path"].startswith("/crm")]


@pytest.mark.parametrize(
    "case",
    [
        (
            "Frist_Name=name,Last_Name=name",
            "",
            ["Frist_Name: no such Leads field; did you mean First_Name?"],
        ),
        ("Last_Name=name,Created_Time=time", "", ["Created_Time"]),
        ("Email=email", "", ["Last_Name"]),
        ("Last_Name=name,Campaign_Source=campaign", "", ["Campaign_Source is a lookup field"]),
        (
            "Frist_Name=name,Emial=email,Created_Time=time",
            "Lead_Source=CDP",
            ["Frist_Name", "Emial", "Created_Time", "Last_Name"],
        ),
    ],
    ids=["typo", "read-only", "no-last-name", "lookup", "several-at-once"],
)
def test_a_mapping_that_does_not_fit_the_leads_fields_stops_before_any_write(
    sandbox, config, run_target, case
):
    """One clear message with every problem, exit 1, and no write reaches Zoho."""
    mapping, defaults, expected = case
    config.update(field_mapping=mapping, default_values=defaults)
    run = run_target(config, singer_lines("web", [{"name": "A", "email": "a@x.com"}]))
    assert run.returncode == 1
    for text in expected:
        assert text in run.stderr
    assert "Traceback" not in run.stderr
    assert writes(sandbox) == []
    assert sandbox.leads() == []


MAPPING = {
    "Last_Name": "name",
    "Email": "email",
    "Event_Date": "day",
    "Visit_Time": "at",
    "No_of_Employees": "staff",
    "Annual_Revenue": "revenue",
    "Email_Opt_Out": "opt_out",
    "Interests": "interests",
    "Big_Number": "big",
    "First_Name": "first",
}

EVENTS = [
    {
        "name": "Dates",
        "day": "2026-11-28T23:30:00+08:00",
        "at": "2026-11-28 10:00:00",
        "staff": "1,200",
        "revenue": " 3,500.50 ",
        "opt_out": "yes",
        "interests": "CRM; Analytics",
        "big": 9007199254740993,
    },
    {
        "name": "Epochs",
        "day": 1764300000,
        "at": 1764300000000,
        "staff": 12.0,
        "revenue": 10,
        "opt_out": 0,
        "interests": ["CRM"],
        "big": "42",
    },
    {
        "name": "Long",
        "first": "x" * 60,
        "opt_out": "FALSE",
        "day": "2026/11/28",
        "at": "2026-11-28T10:00:00Z",
    },
]


def test_every_coerced_lead_is_accepted_by_zoho(sandbox, config, run_target, tmp_path):
    """Dates, datetimes, numbers, booleans and multi-selects in assorted shapes all land."""
    config.update(field_mapping=MAPPING, default_values="")
    run = run_target(config, singer_lines("web", EVENTS))
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "rejected.jsonl").read_text() == ""  # opened at start-up, left empty
    leads = {lead["Last_Name"]: lead for lead in sandbox.leads()}
    assert leads["Dates"]["Event_Date"] == "2026-11-28"
    assert leads["Dates"]["Visit_Time"] == "2026-11-28T10:00:00+00:00"
    assert leads["Dates"]["No_of_Employees"] == 1200
    assert leads["Dates"]["Annual_Revenue"] == 3500.5
    assert leads["Dates"]["Email_Opt_Out"] is True
    assert leads["Dates"]["Interests"] == ["CRM", "Analytics"]
    assert leads["Dates"]["Big_Number"] == "9007199254740993"
    assert leads["Epochs"]["Event_Date"] == "2025-11-28"
    assert leads["Epochs"]["Visit_Time"] == "2025-11-28T03:20:00+00:00"
    assert leads["Epochs"]["Email_Opt_Out"] is False
    assert leads["Long"]["First_Name"] == "x" * 40
    assert leads["Long"]["Event_Date"] == "2026-11-28"
    assert "3 leads created" in run.summary("web")
    assert "First_Name" in run.stderr  # the cut is warned by field name


def test_drop_field_keeps_the_rest_of_the_lead(sandbox, config, run_target, tmp_path):
    """A bad date is left out; the lead is still created with everything else."""
    config.update(field_mapping=MAPPING, default_values="", invalid_value_policy="drop_field")
    run = run_target(
        config,
        singer_lines(
            "web",
            [{"name": "Partly bad", "email": "ok@x.com", "day": "28/11/2026", "staff": "many"}],
        ),
    )
    assert run.returncode == 0, run.stderr
    [lead] = sandbox.leads()
    assert lead["Last_Name"] == "Partly bad"
    assert lead["Email"] == "ok@x.com"
    assert "Event_Date" not in lead
    assert "No_of_Employees" not in lead
    assert "1 leads created, 0 updated, 0 unchanged duplicates, 0 rejected" in run.summary("web")
    assert "Event_Date" in run.stderr
    assert "28/11/2026" not in run.stderr


def test_reject_policy_sends_nothing_of_a_lead_with_a_bad_value(
    sandbox, config, run_target, tmp_path
):
    """The default policy: the record is rejected with the field and the reason."""
    config.update(field_mapping=MAPPING, default_values="")
    run = run_target(
        config, singer_lines("web", [{"name": "Bad", "staff": "many"}, {"name": "Good"}])
    )
    assert run.returncode == 0, run.stderr
    assert [lead["Last_Name"] for lead in sandbox.leads()] == ["Good"]
    [rejected] = [
        json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()
    ]
    assert (rejected["code"], rejected["field"]) == ("INVALID_DATA", "No_of_Employees")
    assert "many" not in rejected["message"]


def test_a_server_without_field_metadata_gets_the_leads_as_mapped(sandbox, config, run_target):
    """SPEC §3 checks "when the metadata is available": a 404 there is a warning, not a stop."""
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    class NoFields(ScriptedServer):
        """Relays everything to the sandbox except the field metadata, which it lacks."""

        def answer(self, request: Request) -> Reply:
            if "/settings/fields" in request.path:
                body = (
                    b'{"code":"INVALID_URL_PATTERN","details":{},'
                    b'"message":"not here","status":"error"}'
                )
                return Reply(404, body)
            relayed = urllib.request.Request(  # noqa: S310
                sandbox.url + request.path,
                data=request.body or None,
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
                method=request.method,
            )
            try:
                with urllib.request.urlopen(relayed) as answer:  # noqa: S310
                    status, body = answer.status, answer.read()
            except urllib.error.HTTPError as error:
                status, body = error.code, error.read()
            # The token answer names the API domain: make it this relay.
            return Reply(status, body.replace(sandbox.url.encode(), self.url.encode()))

    with NoFields() as relay:
        config["accounts_url"] = relay.url
        run = run_target(
            config, singer_lines("web", [{"name": "Mapped", "email": "m@example.com"}])
        )
    assert run.returncode == 0, run.stderr
    assert "Zoho gave no Leads field metadata" in run.stderr
    assert [lead["Last_Name"] for lead in sandbox.leads()] == ["Mapped"]


def test_a_number_with_more_digits_than_its_field_allows_is_rejected_locally(
    sandbox, config, run_target, tmp_path
):
    """No_of_Employees takes 9 digits: a tenth rejects the record before any write."""
    config.update(field_mapping=MAPPING, default_values="")
    events = [{"name": "Ten digits", "staff": 1234567890}, {"name": "Nine", "staff": 999999999}]
    run = run_target(config, singer_lines("web", events))
    assert run.returncode == 0, run.stderr
    assert [(lead["Last_Name"], lead["No_of_Employees"]) for lead in sandbox.leads()] == [
        ("Nine", 999999999)
    ]
    assert sandbox.stats()["records_created"] == 1
    [rejected] = [
        json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()
    ]
    assert (rejected["code"], rejected["field"]) == ("INVALID_DATA", "No_of_Employees")
    assert "more than the field's 9 digits" in rejected["message"]
    assert "1234567890" not in rejected["message"]


def test_drop_field_leaves_out_a_decimal_with_too_many_digits(sandbox, config, run_target):
    """Annual_Revenue holds 16 digits with 2 places: a 15-digit whole part is left out."""
    config.update(field_mapping=MAPPING, default_values="", invalid_value_policy="drop_field")
    events = [{"name": "Rich", "revenue": "100,000,000,000,000", "staff": 12}]
    run = run_target(config, singer_lines("web", events))
    assert run.returncode == 0, run.stderr
    [lead] = sandbox.leads()
    assert lead["No_of_Employees"] == 12
    assert "Annual_Revenue" not in lead
    assert "Annual_Revenue" in run.stderr  # the drop is warned by field name


@pytest.mark.sandbox_knobs(encrypted_fields=["Email"])
def test_unique_lead_stops_at_start_up_when_email_is_encrypted(sandbox, config, run_target):
    """COQL can only ask whether an encrypted Email is empty: no lookup, no write, one message."""
    config.update(unique_lead=True)
    run = run_target(config, singer_lines("web", [{"name": "A", "email": "a@x.com"}]))
    assert run.returncode == 1
    assert "unique_lead: Email is encrypted in Zoho Leads" in run.stderr
    assert "Traceback" not in run.stderr
    assert [r for r in sandbox.requests() if "/coql" in r["path"]] == []
    assert writes(sandbox) == []


@pytest.mark.sandbox_knobs(encrypted_fields=["Email"])
def test_an_encrypted_email_is_written_as_usual_without_unique_lead(sandbox, config, run_target):
    """Encryption only limits lookups: a plain insert run stores the lead."""
    run = run_target(config, singer_lines("web", [{"name": "A", "email": "a@x.com"}]))
    assert run.returncode == 0, run.stderr
    assert [lead["Email"] for lead in sandbox.leads()] == ["a@x.com"]
