"""existing_lead_fields (issue 23): what a record writes on a lead that exists.

Through the real command against the sandbox: the leads a user would look at.
"""

from __future__ import annotations

import itertools
import json
import typing as t

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import QUICK_POLLS, singer_lines
from tests.test_unique_lead import run_in_process
from tests.test_unique_lead_runs import people_and_runs, seed_existing, singer_text

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


# Property: under each setting, the CRM does not depend on batch size or runs.

PROPERTY_MAPPING = (
    "Last_Name=name,First_Name=first,Company=company,Email=email,Phone=phone,"
    "CDP_ID=anonymous_id,City=city"
)
PROPERTY_FIELDS = ("Last_Name", "First_Name", "Company", "Email", "Phone", "City", "CDP_ID")
SETTINGS = (
    {"existing_lead_fields": "tracking_id"},
    {"existing_lead_fields": "fill_empty"},
    {"existing_lead_fields": "overwrite"},
    {"existing_lead_fields": "overwrite", "overwrite_fields": ["Company", "City"]},
)


@st.composite
def filled_runs(draw):
    """The Unique Lead property's people and runs; records carry names and companies."""
    people, records, cuts, batch_sizes, match_fields = draw(people_and_runs())
    for _, record in records:
        first = draw(st.sampled_from([None, "", "Wei", "Ann"]))
        company = draw(st.sampled_from([None, "", "A Co", "B Co"]))
        record.update({k: v for k, v in (("first", first), ("company", company)) if v is not None})
        if draw(st.booleans()):
            record["city"] = ""  # an empty source value: never clears a field
        if "phone" in record and "email" in record and draw(st.booleans()):
            del record["email"]  # found only if an earlier record filled its lead's Phone
    return people, records, (cuts, batch_sizes), match_fields, draw(st.sampled_from(SETTINGS))


def property_crm(sandbox: ZohoSandbox) -> list[tuple]:
    """The CRM's leads on every mapped field, in a form that does not depend on ids."""
    return sorted(tuple(lead.get(f) or None for f in PROPERTY_FIELDS) for lead in sandbox.leads())


def run_property_split(sandbox: ZohoSandbox, case, split) -> dict[int, tuple]:
    """A fresh CRM, then the records in runs cut at ``split``'s cuts; the existing leads."""
    people, records, _, match_fields, chosen = case
    cuts, batch_sizes = split
    sandbox.reset()
    sandbox.configure(coql_case_sensitive=True)
    existing = seed_existing(sandbox, people)
    bounds = [0, *cuts, len(records)]
    for (start, end), batch in zip(itertools.pairwise(bounds), batch_sizes, strict=True):
        part = [record for _, record in records[start:end]]
        config = sandbox.target_settings(
            field_mapping=PROPERTY_MAPPING,
            default_values="Last_Name=Unknown",
            unique_lead=True,
            default_phone_region="CN",
            max_retries=3,
            batch_size_rows=batch,
            match_fields=match_fields,
            **chosen,
        )
        run_in_process(config, singer_text(part))
    return existing


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=filled_runs())
def test_one_crm_whatever_the_split_and_batch_size_under_each_setting(shared_sandbox, case):
    """Cut into 1-4 runs of any batch size, under each existing_lead_fields: one run's CRM.

    And existing leads keep every field they held but the tracking id and the
    fields ``overwrite`` names; under the default they change nothing else.
    """
    chosen = case[4]
    existing = run_property_split(shared_sandbox, case, case[2])
    split = property_crm(shared_sandbox)
    after = {lead["id"]: lead for lead in shared_sandbox.leads()}
    run_property_split(shared_sandbox, case, ([], [600]))
    assert split == property_crm(shared_sandbox)
    mode = chosen["existing_lead_fields"]
    replaced = set(chosen.get("overwrite_fields", PROPERTY_FIELDS)) if mode == "overwrite" else ()
    for lead_id, stored in existing.values():
        lead = after[lead_id]
        kept = {k: v for k, v in stored.items() if k != "CDP_ID" and k not in replaced}
        assert {k: lead.get(k) for k in kept} == kept
        for name in ("Email", "Phone"):
            assert lead.get(name) == stored.get(name)
        if mode == "tracking_id":
            assert not lead.get("First_Name")
            assert not lead.get("Company")


def test_a_phone_filled_on_a_lead_finds_it_in_the_same_batch_and_the_next_run(
    sandbox, run_target, tmp_path
):
    """fill_empty writes a Phone on a lead: a later phone-only record is that person."""
    records = [
        {"name": "Wei", "email": "wei@example.cn", "anonymous_id": "a"},
        {"name": "Wei", "email": "wei@example.cn", "phone": "13900139004", "anonymous_id": "b"},
        {"name": "Wei", "phone": "+86 139 0013 9004", "anonymous_id": "c"},
    ]
    settings = settings_for(sandbox, tmp_path, existing_lead_fields="fill_empty")
    settings["default_phone_region"] = "CN"
    shapes = []
    for runs in ([records], [[r] for r in records]):
        sandbox.reset()
        for part in runs:
            run = run_target(settings, singer_lines("web", part))
            assert run.returncode == 0, run.stderr
        shapes.append([(lead["Email"], lead["Phone"], lead["CDP_ID"]) for lead in sandbox.leads()])
    assert shapes[0] == shapes[1] == [("wei@example.cn", "+8613900139004", "c")]


BULK_SEEDED = [
    {"Last_Name": "Old Li", "Company": "Old Co", "Email": "li@example.cn", "CDP_ID": "old"},
    {"Last_Name": "Old Ma", "First_Name": "Ma", "City": "Keep", "Email": "ma@example.cn"},
    {"Last_Name": "Old Wu", "Phone": "+8613900000003", "CDP_ID": "old"},
]
BULK_RECORDS = [
    {"name": "Li", "first": "Wei", "company": "New Co", "email": "li@example.cn"},
    {"name": "Ma", "first": "Xiao", "city": "", "email": "ma@example.cn", "anonymous_id": "t2"},
    {"name": "Wu", "company": "Wu Co", "phone": "139 0000 0003", "email": "wu@example.cn"},
    {"name": "Li", "city": "Hangzhou", "email": "LI@example.cn", "anonymous_id": "t4"},
    {"name": "New", "email": "new@example.cn", "anonymous_id": "t5"},
    {"name": "New", "first": "Nan", "email": "new@example.cn"},
]


def test_bulk_write_update_jobs_under_fill_empty_leave_the_records_api_s_crm(
    sandbox, run_target, tmp_path
):
    """fill_empty by Bulk Write jobs: the CRM the records API leaves, and no field cleared."""
    shapes = []
    for method in ("records", "bulk"):
        sandbox.reset()
        sandbox.seed([dict(lead) for lead in BULK_SEEDED])
        settings = settings_for(
            sandbox,
            tmp_path,
            existing_lead_fields="fill_empty",
            default_phone_region="CN",
            write_method=method,
        )
        run = run_target(settings, singer_lines("web", BULK_RECORDS), env=QUICK_POLLS)
        assert run.returncode == 0, run.stderr[-3000:]
        shapes.append(property_crm(sandbox))
        operations = [
            call["json"]["operation"]
            for call in sandbox.requests()
            if call["method"] == "POST" and call["path"] == "/crm/bulk/v8/write"
        ]
        assert ("update" in operations) == (method == "bulk")
    assert shapes[0] == shapes[1]
    by_name = {shape[0]: shape for shape in shapes[1]}
    # Last_Name, First_Name, Company, Email, Phone, City, CDP_ID
    assert by_name["Old Li"] == ("Old Li", "Wei", "Old Co", "li@example.cn", None, "Hangzhou", "t4")
    assert by_name["Old Ma"] == ("Old Ma", "Ma", None, "ma@example.cn", None, "Keep", "t2")
    assert by_name["Old Wu"][2:5] == ("Wu Co", "wu@example.cn", "+8613900000003")
    assert by_name["New"][:3] == ("New", "Nan", None)
