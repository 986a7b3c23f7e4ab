"""existing_lead_fields (issue 23): what a record writes on a lead that exists.

Through the real command against the sandbox: the leads a user would look at.
"""

from __future__ import annotations

import json
import typing as t

import pytest

from tests.conftest import singer_lines

if t.TYPE_CHECKING:
    from zoho_sandbox import ZohoSandbox

MAPPING = (
    "Last_Name=name,First_Name=first,Company=company,City=city,"
    "Email=email,Phone=phone,CDP_ID=anonymous_id"
)
OLD = {
    "Last_Name": "Old Li",
    "Company": "Old Co",
    "City": "Keep City",
    "Email": "li.wei@example.com",
    "CDP_ID": "old",
}
RECORD = {
    "name": "Li",
    "first": "Wei",
    "company": "New Co",
    "city": "",
    "email": "LI.WEI@example.com",
    "anonymous_id": "t1",
}


def settings_for(sandbox: ZohoSandbox, tmp_path, **extra: t.Any) -> dict:
    """Unique Lead settings with a mapping that reaches First_Name, Company and City."""
    return sandbox.target_settings(
        field_mapping=MAPPING,
        unique_lead=True,
        outcomes_path=str(tmp_path / "outcomes.jsonl"),
        max_retries=3,
        **extra,
    )


def run_once(sandbox, run_target, tmp_path, record: dict, **extra: t.Any) -> dict:
    """Seed the lead, run one record through the real command; the lead after."""
    lead_id = sandbox.seed([dict(OLD)])[0]
    run = run_target(settings_for(sandbox, tmp_path, **extra), singer_lines("web", [record]))
    assert run.returncode == 0, run.stderr
    leads = {lead["id"]: lead for lead in sandbox.leads()}
    assert len(leads) == 1
    return leads[lead_id]


def outcomes(tmp_path) -> list[dict]:
    """The per-record outcomes file the run wrote."""
    return [json.loads(line) for line in (tmp_path / "outcomes.jsonl").read_text().splitlines()]


def test_default_moves_only_the_tracking_id(sandbox, run_target, tmp_path):
    """tracking_id (the default): First_Name stays empty, "Old Co" stays."""
    lead = run_once(sandbox, run_target, tmp_path, RECORD)
    assert lead["CDP_ID"] == "t1"
    assert not lead.get("First_Name")
    assert lead["Company"] == "Old Co"
    assert lead["Last_Name"] == "Old Li"


def test_fill_empty_fills_first_name_and_keeps_old_co(sandbox, run_target, tmp_path):
    """fill_empty: the empty First_Name takes the record's, Company and Email keep theirs."""
    lead_id = sandbox.seed([dict(OLD)])[0]
    settings = settings_for(sandbox, tmp_path, existing_lead_fields="fill_empty")
    run = run_target(settings, singer_lines("web", [RECORD]))
    assert run.returncode == 0, run.stderr
    assert "1 updated" in run.summary("web")
    assert "fields written on existing leads (First_Name 1)" in run.summary("web")
    lead = {lead["id"]: lead for lead in sandbox.leads()}[lead_id]
    assert lead["First_Name"] == "Wei"
    assert lead["Company"] == "Old Co"
    assert lead["City"] == "Keep City"  # an empty source never clears a field
    assert lead["Email"] == "li.wei@example.com"
    assert lead["CDP_ID"] == "t1"
    [line] = outcomes(tmp_path)
    assert line["outcome"] == "updated"
    assert line["fields"] == ["First_Name"]


def test_overwrite_named_fields_replaces_them_and_fills_the_rest(sandbox, run_target, tmp_path):
    """Overwrite with overwrite_fields [Company]: Company replaced, First_Name filled."""
    record = {**RECORD, "email": "li.wei@example.com", "name": "Li New"}
    lead = run_once(
        sandbox,
        run_target,
        tmp_path,
        record,
        existing_lead_fields="overwrite",
        overwrite_fields=["Company"],
    )
    assert lead["Company"] == "New Co"
    assert lead["First_Name"] == "Wei"
    assert lead["Last_Name"] == "Old Li"  # not named: only filled when empty
    assert lead["City"] == "Keep City"


def test_overwrite_never_replaces_email_nor_clears_a_field(sandbox, run_target, tmp_path):
    """Overwrite of all mapped fields: Email and the empty-source City are kept."""
    lead = run_once(
        sandbox,
        run_target,
        tmp_path,
        {**RECORD, "phone": "+8613800138001"},
        existing_lead_fields="overwrite",
    )
    assert lead["Email"] == "li.wei@example.com"
    assert lead["City"] == "Keep City"
    assert lead["Company"] == "New Co"
    assert lead["Last_Name"] == "Li"
    assert lead["Phone"] == "+8613800138001"  # a match field is filled when empty


def test_a_lead_needing_nothing_is_not_written_again(sandbox, run_target, tmp_path):
    """A second run of the same record under fill_empty changes nothing: no update sent."""
    run_once(sandbox, run_target, tmp_path, RECORD, existing_lead_fields="fill_empty")
    run = run_target(
        settings_for(sandbox, tmp_path, existing_lead_fields="fill_empty"),
        singer_lines("web", [RECORD]),
    )
    assert run.returncode == 0, run.stderr
    assert "0 updated" in run.summary("web")


@pytest.mark.parametrize("mode", ["tracking_id", "fill_empty", "overwrite"])
def test_an_unknown_or_wrong_setting_is_refused(sandbox, run_target, tmp_path, mode):
    """overwrite_fields must be API names; existing_lead_fields one of the three."""
    settings = settings_for(sandbox, tmp_path, existing_lead_fields=mode, overwrite_fields=["a b"])
    run = run_target(settings, singer_lines("web", [RECORD]))
    assert run.returncode != 0
    assert "overwrite_fields" in run.stderr
