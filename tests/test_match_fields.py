"""match_fields against the sandbox: Mobile, any phone field with any other, text identities.

Issue 21: a lead holding a number only in Mobile got a second lead, and a
WeChat follower with only an open id got one lead per event.
"""

from __future__ import annotations

import json

import pytest
from zoho_sandbox import ZohoSandbox

from target_zoho_leads.unique.identities import Identities
from tests.conftest import singer_lines
from tests.test_unique_lead import run_in_process

MAPPING = "Last_Name=name,Email=email,Phone=phone,Mobile=mobile,CDP_ID=anonymous_id"


@pytest.fixture(scope="module")
def shared_sandbox():
    """One sandbox for the module; tests reset it."""
    with ZohoSandbox() as zoho:
        yield zoho


def settings_for(sandbox: ZohoSandbox, **extra) -> dict:
    """Unique Lead with the default match fields, no phone region."""
    return sandbox.target_settings(
        field_mapping=MAPPING,
        default_values="Last_Name=Unknown",
        unique_lead=True,
        max_retries=3,
        **extra,
    )


@pytest.mark.parametrize("coql_scope", [True, False], ids=["coql", "search-fallback"])
@pytest.mark.parametrize(
    ("stored_in", "sent_in"), [("Mobile", "phone"), ("Phone", "mobile")], ids=["mobile", "phone"]
)
def test_a_lead_holding_the_number_in_one_phone_field_is_found_by_the_other(
    shared_sandbox, coql_scope, stored_in, sent_in
):
    """A record's Phone finds a lead holding it in Mobile, and the reverse: no second lead."""
    shared_sandbox.reset()
    shared_sandbox.configure(coql_scope=coql_scope)
    try:
        lead_id = shared_sandbox.seed(
            [{"Last_Name": "Wang", stored_in: "+86 152 1822 2540", "CDP_ID": "old"}]
        )[0]
        record = {"name": "Wang", sent_in: "+8615218222540", "anonymous_id": "new"}
        run_in_process(settings_for(shared_sandbox), singer_lines("web", [record]))
    finally:
        shared_sandbox.configure(coql_scope=True)
    leads = shared_sandbox.leads()
    assert [lead["id"] for lead in leads] == [lead_id]
    assert leads[0]["CDP_ID"] == "new"


def test_a_phone_and_a_mobile_of_one_batch_are_one_person(shared_sandbox):
    """Two records, one with the number as Phone, one as Mobile: one lead is created."""
    shared_sandbox.reset()
    records = [
        {"name": "Li", "phone": "+86 139 0000 0001", "anonymous_id": "a"},
        {"name": "Li", "mobile": "+8613900000001", "anonymous_id": "b"},
    ]
    run_in_process(settings_for(shared_sandbox), singer_lines("web", records))
    leads = shared_sandbox.leads()
    assert len(leads) == 1
    assert leads[0]["CDP_ID"] == "b"


def wechat_events(open_id: str, count: int) -> list[dict]:
    """A WeChat follower's events: only the open id as tracking id, no email, no phone."""
    return [{"anonymous_id": open_id, "event": f"follow {i}"} for i in range(count)]


@pytest.mark.parametrize(
    ("match_fields", "leads_made"),
    [(None, 3), ("Email, Phone, Mobile, CDP_ID", 1)],
    ids=["default", "tracking-id"],
)
def test_a_follower_known_by_open_id_only_is_one_lead_when_the_tracking_id_matches(
    sandbox, run_target, match_fields, leads_made
):
    """Three events of one open id over two runs: one lead with CDP_ID matching, else three."""
    extra = {"match_fields": match_fields} if match_fields else {}
    config = settings_for(sandbox, **extra)
    first = run_target(config, singer_lines("wechat", wechat_events("oX9-abc", 2)))
    assert first.returncode == 0, first.stderr
    second = run_target(config, singer_lines("wechat", wechat_events("oX9-abc", 1)))
    assert second.returncode == 0, second.stderr
    leads = sandbox.leads()
    assert len(leads) == leads_made
    assert {lead["CDP_ID"] for lead in leads} == {"oX9-abc"}


def test_a_custom_open_id_field_identifies_a_person_across_runs(sandbox, run_target):
    """WeChat_OpenID__c in match_fields: the second run's event finds the first run's lead."""
    config = sandbox.target_settings(
        field_mapping="Last_Name=name,WeChat_OpenID__c=openid,CDP_ID=anonymous_id",
        default_values="Last_Name=Unknown",
        unique_lead=True,
        match_fields="Email, Phone, Mobile, WeChat_OpenID__c",
    )
    events = [{"openid": " oW-1 ", "anonymous_id": f"t{i}"} for i in range(3)]
    for part in (events[:2], events[2:]):
        run = run_target(config, singer_lines("wechat", part))
        assert run.returncode == 0, run.stderr
    leads = sandbox.leads()
    assert len(leads) == 1
    assert leads[0]["CDP_ID"] == "t2"


def test_an_unknown_match_field_stops_the_run_naming_the_setting(sandbox, run_target):
    """A misspelt match field is one line naming match_fields and the field, before any write."""
    config = settings_for(sandbox, match_fields="Email, WeChat_OpenId")
    run = run_target(config, singer_lines("web", [{"email": "a@x.cn"}]))
    assert run.returncode != 0
    assert "match_fields WeChat_OpenId: no such Leads field" in run.stderr
    assert sandbox.leads() == []


def test_identities_follow_match_fields_in_order_and_by_kind():
    """Phone and Mobile holding one number are one identity; a text field compares trimmed."""
    identities = Identities.of(None, ["WeChat_OpenID__c", "Email", "Phone", "Mobile"])
    lead = {"Email": " A@X.cn", "Phone": "+86 152 1822 2540", "Mobile": "+8615218222540"}
    assert identities.keys({**lead, "WeChat_OpenID__c": " o1 "}) == [
        ("text:WeChat_OpenID__c", "o1"),
        ("email", "a@x.cn"),
        ("phone", "+8615218222540"),
    ]
    assert identities.fields_of("phone") == ("Phone", "Mobile")


def test_field_metadata_decides_how_a_match_field_compares():
    """A custom email-type field compares as an email, a custom phone-type one as a phone."""
    types = {"Other_Mail": "email", "Home_Phone": "phone", "Phone": "phone"}
    identities = Identities.of(None, ["Other_Mail", "Home_Phone", "Phone"], types)
    assert identities.keys({"Other_Mail": "B@Y.cn", "Home_Phone": "+1 650 253 0000"}) == [
        ("email", "b@y.cn"),
        ("phone", "+16502530000"),
    ]
    assert identities.fields_of("phone") == ("Home_Phone", "Phone")


def seed_two_leads(sandbox: ZohoSandbox) -> tuple[str, str]:
    """Lead A holds the email, lead B the phone: one person's record finds both."""
    return tuple(  # type: ignore[return-value]
        sandbox.seed(
            [
                {"Last_Name": "A", "Email": "zhang@example.cn", "CDP_ID": "a-old"},
                {"Last_Name": "B", "Phone": "+8613800000009", "CDP_ID": "b-old"},
            ]
        )
    )


AMBIGUOUS_RECORD = {"name": "Zhang", "email": "Zhang@example.cn", "phone": "+86 138 0000 0009"}


def test_a_record_matching_two_leads_updates_the_earlier_field_s_lead_and_is_counted(
    sandbox, run_target, tmp_path
):
    """on_ambiguous first (the default): the email's lead gets the tracking id; B is untouched."""
    lead_a, lead_b = seed_two_leads(sandbox)
    config = settings_for(sandbox, rejected_records_path=str(tmp_path / "rejected.jsonl"))
    run = run_target(config, singer_lines("web", [{**AMBIGUOUS_RECORD, "anonymous_id": "new"}]))
    assert run.returncode == 0, run.stderr
    tracking = {lead["id"]: lead["CDP_ID"] for lead in sandbox.leads()}
    assert tracking == {lead_a: "new", lead_b: "b-old"}
    assert "1 updated" in run.summary("web")
    assert "1 records matched two leads (0 held)" in run.summary("web")


def test_a_record_matching_two_leads_is_held_with_both_ids(sandbox, run_target, tmp_path):
    """on_ambiguous hold: nothing written; the rejected file names AMBIGUOUS_MATCH and both ids."""
    lead_a, lead_b = seed_two_leads(sandbox)
    rejected = tmp_path / "rejected.jsonl"
    config = settings_for(sandbox, on_ambiguous="hold", rejected_records_path=str(rejected))
    run = run_target(config, singer_lines("web", [{**AMBIGUOUS_RECORD, "anonymous_id": "new"}]))
    assert run.returncode == 0, run.stderr
    assert {lead["CDP_ID"] for lead in sandbox.leads()} == {"a-old", "b-old"}
    assert len(sandbox.leads()) == 2
    [line] = [json.loads(text) for text in rejected.read_text().splitlines()]
    assert line["code"] == "AMBIGUOUS_MATCH"
    assert line["lead_ids"] == [lead_a, lead_b]
    assert lead_a in line["message"]
    assert lead_b in line["message"]
    assert "1 records matched two leads (1 held)" in run.summary("web")


def test_a_record_matching_a_known_lead_and_one_created_in_its_batch_is_ambiguous(sandbox):
    """The second record finds A by email and the first record's new lead by phone: held."""
    [lead_a] = sandbox.seed([{"Last_Name": "A", "Email": "zhang@example.cn"}])
    records = [
        {"name": "New", "phone": "+8613800000009", "anonymous_id": "n"},
        {**AMBIGUOUS_RECORD, "anonymous_id": "z"},
    ]
    target = run_in_process(
        settings_for(sandbox, on_ambiguous="hold"), singer_lines("web", records)
    )
    [stats] = target.loader.all_stats()
    assert stats.matched_two == 1
    assert stats.held == 1
    assert len(sandbox.leads()) == 2
    assert {lead.get("CDP_ID") for lead in sandbox.leads() if lead["id"] == lead_a} == {None}


def test_phones_without_a_country_code_and_no_region_give_one_warning_at_the_end(
    sandbox, run_target
):
    """No default_phone_region: one warning at the end counts the phones E.164 could not read."""
    records = [
        {"name": "a", "phone": "152 1822 2540", "anonymous_id": "1"},
        {"name": "b", "phone": "+86 139 0000 0002", "anonymous_id": "2"},
        {"name": "c", "phone": "139-0000-0003", "mobile": "13900000004", "anonymous_id": "3"},
    ]
    run = run_target(settings_for(sandbox), singer_lines("web", records))
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if "had no country code" in line]
    assert len(warnings) == 1
    assert "3 phones had no country code and default_phone_region is not set" in warnings[0]
    again = run_target(
        settings_for(sandbox, default_phone_region="CN"), singer_lines("web", records)
    )
    assert "had no country code" not in again.stderr
