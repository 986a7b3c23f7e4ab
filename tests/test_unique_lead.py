"""Unique Lead against the sandbox: one lead per person, existing leads keep their data."""

from __future__ import annotations

import io
import json
import typing as t

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from target_zoho_leads.target import TargetZohoLeads
from target_zoho_leads.unique.identities import EMAIL, PHONE, normal_email, normal_phone
from target_zoho_leads.unique.lookup import LeadLookup
from target_zoho_leads.zoho.auth import ZohoAuth
from target_zoho_leads.zoho.client import ZohoCRMClient
from tests.conftest import singer_lines

if t.TYPE_CHECKING:
    from zoho_sandbox import ZohoSandbox

MAPPING = "Last_Name=name,Email=email,Phone=phone,Phone=wxPhone,CDP_ID=anonymous_id,City=city"
SYSTEM_FIELDS = {"Modified_Time", "Modified_By", "CDP_ID"}


def unique_config(sandbox: ZohoSandbox, **extra) -> dict:
    """Unique Lead settings, as the CDP's form writes the switch ("1")."""
    return sandbox.target_settings(
        **{
            "field_mapping": MAPPING,
            "default_values": "Last_Name=Unknown",
            "unique_lead": "1",
            "max_retries": 3,
            **extra,
        }
    )


def run_in_process(config: dict, text: str, capsys=None) -> TargetZohoLeads:
    """Run the target in this process (real HTTP to the sandbox), as the CLI would."""
    target = TargetZohoLeads(config=config, parse_env_config=False)
    target.process_lines(io.StringIO(text))
    target.process_endofpipe()
    return target


def test_the_real_command_with_unique_lead_1_creates_each_person_once(sandbox, config, run_target):
    """End to end: repeated and pre-existing people, unique_lead "1" as the CDP writes it."""
    existing = sandbox.seed(
        [
            {
                "Last_Name": "Old Li",
                "Email": "LI.WEI@example.com",
                "Phone": "+8613800138001",
                "CDP_ID": "old",
                "City": "Keep",
            },
        ]
    )[0]
    config.update(unique_lead="1", field_mapping=MAPPING)
    events = [
        {"name": "Li Wei", "email": "li.wei@example.com", "anonymous_id": "t1", "city": "Changed?"},
        {"name": "Maria", "email": "maria@example.org", "anonymous_id": "t2"},
        {
            "name": "Maria again",
            "email": " Maria@Example.org ",
            "phone": "+34 612 345 678",
            "anonymous_id": "t3",
        },
        {"name": "Zhang", "wxPhone": "139-0013-9004", "anonymous_id": "t4"},
        {"name": "Zhang", "phone": "13900139004", "anonymous_id": "t5"},
        {"name": "Li by phone", "phone": "+86 138 0013 8001", "anonymous_id": "t6"},
    ]
    run = run_target(config, singer_lines("web", events))
    assert run.returncode == 0, run.stderr
    leads = {lead["id"]: lead for lead in sandbox.leads()}
    assert len(leads) == 3
    assert leads[existing]["CDP_ID"] == "t6"
    assert leads[existing]["City"] == "Keep"
    assert leads[existing]["Last_Name"] == "Old Li"
    created = sorted(
        (lead["Last_Name"], lead.get("Email"), lead.get("Phone"), lead["CDP_ID"])
        for lead in leads.values()
        if lead["id"] != existing
    )
    # Each from the person's first record; Maria's phone came later, so her
    # lead has none. Zhang's number has no country code and no
    # default_phone_region is set: it does not parse as E.164, so it is
    # stored as its digits, the form every later spelling looks it up by.
    assert created == [
        ("Maria", "maria@example.org", None, "t3"),
        ("Zhang", None, "13900139004", "t5"),
    ]
    assert run.summary("web") == (
        "Stream 'web': 6 records read, 2 leads created, 1 updated, "
        "3 unchanged duplicates, 0 rejected, 3 API calls, 3 API credits"
    )

    again = run_target(config, singer_lines("web", events))
    assert again.returncode == 0, again.stderr
    assert len(sandbox.leads()) == 3
    assert "0 leads created, 0 updated, 6 unchanged duplicates" in again.summary("web")


HOSTILE = ["o'brien@x.com", "' or ''='", "a(b)c", "x,y", "back\\slash", "100%", "%", "')"]


@pytest.mark.parametrize("coql_scope", [True, False], ids=["coql", "search-fallback"])
def test_hostile_values_are_looked_up_exactly_and_break_no_query(shared_sandbox, coql_scope):
    """Quotes, brackets, commas, backslashes and % find their own lead and nothing else."""
    shared_sandbox.reset()
    shared_sandbox.configure(coql_scope=coql_scope)
    session = requests.Session()
    try:
        # A phone is its digits when it does not parse: each one gets some.
        phones = [f"{value} {i}1" for i, value in enumerate(HOSTILE)]
        ids = shared_sandbox.seed(
            [
                {"Last_Name": f"H{i}", "Email": value, "Phone": phone}
                for i, (value, phone) in enumerate(zip(HOSTILE, phones, strict=True))
            ]
        )
        shared_sandbox.seed([{"Last_Name": "Decoy", "Email": "brien@x.com", "Phone": "or"}])
        auth = ZohoAuth(
            accounts_url=shared_sandbox.accounts_url,
            client_id=shared_sandbox.client_id,
            client_secret=shared_sandbox.client_secret,
            refresh_token=shared_sandbox.refresh_token,
            session=session,
            timeout=10,
        )
        client = ZohoCRMClient(auth=auth, session=session, max_retries=1)
        lookup = LeadLookup("CDP_ID")
        for kind, values in ((EMAIL, HOSTILE), (PHONE, phones)):
            for lead_id, value in zip(ids, values, strict=True):
                key = (kind, normal_email(value) if kind == EMAIL else normal_phone(value))
                found = lookup.find(client, {key: [value]})
                assert [record.record_id for record in found] == [lead_id], (kind, value)
        assert lookup.use_search is not coql_scope
        statuses = {r["status"] for r in shared_sandbox.requests() if r["path"].startswith("/crm")}
        assert statuses <= {200, 204, 401}
    finally:
        session.close()
        shared_sandbox.configure(coql_scope=True)


def test_an_apostrophe_email_goes_through_the_whole_target(shared_sandbox):
    """o'brien@x.com is a valid email: found, and only its tracking id updated."""
    shared_sandbox.reset()
    lead_id = shared_sandbox.seed(
        [{"Last_Name": "OBrien", "Email": "O'Brien@x.com", "CDP_ID": "old"}]
    )[0]
    run_in_process(
        unique_config(shared_sandbox),
        singer_lines("web", [{"email": "o'brien@x.com", "anonymous_id": "new"}]),
    )
    assert [(lead["id"], lead["CDP_ID"]) for lead in shared_sandbox.leads()] == [(lead_id, "new")]


# Property: random streams of people, some already in the CRM.

EMAIL_CASES = [str.lower, str.upper, str.title, lambda e: f"  {e} "]
PHONE_STYLES = [
    lambda d: d,
    lambda d: f"{d[:3]} {d[3:6]} {d[6:]}",
    lambda d: f"{d[:3]}-{d[3:6]}-{d[6:]}",
    lambda d: f"({d[:3]}) {d[3:6]}.{d[6:]}",
]


@st.composite
def scenarios(draw):
    """People (email and/or phone), records of them across two streams, some pre-existing."""
    n_people = draw(st.integers(1, 8))
    people = []
    for i in range(n_people):
        kind = draw(st.sampled_from(["email", "phone", "both"]))
        people.append(
            {
                "email": f"person{i}@example.com" if kind != "phone" else None,
                "phone": f"+86139{i:08d}" if kind != "email" else None,
                "exists": draw(st.booleans()),
            }
        )
    n_records = draw(st.integers(1, 25))
    records = []
    for seq in range(n_records):
        who = draw(st.integers(-1, n_people - 1))  # -1: nobody (no email, no phone)
        stream = draw(st.sampled_from(["form", "wechat"]))
        record = {"anonymous_id": f"r{seq}", "name": f"Name {seq}"}
        if who >= 0:
            person = people[who]
            if person["email"]:
                record["email"] = draw(st.sampled_from(EMAIL_CASES))(person["email"])
            if person["phone"] and (not person["email"] or draw(st.booleans())):
                digits = person["phone"][3:]
                styled = draw(st.sampled_from(PHONE_STYLES))(digits)
                field = "phone" if stream == "form" else "wxPhone"
                record[field] = draw(st.sampled_from([f"+86{digits}", f"+86 {styled}"]))
        records.append((who, stream, record))
    batch = draw(st.integers(1, 6))
    return people, records, batch


def stream_text(records) -> str:
    lines = [
        json.dumps(
            {
                "type": "SCHEMA",
                "stream": stream,
                "schema": {"type": "object", "properties": {}},
                "key_properties": [],
            }
        )
        for stream in ("form", "wechat")
    ]
    for _, stream, record in records:
        lines.append(json.dumps({"type": "RECORD", "stream": stream, "record": record}))
    return "\n".join(lines) + "\n"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_every_person_ends_with_exactly_one_lead(shared_sandbox, scenario):
    """No two leads share an email or phone; existing leads change only their tracking id."""
    people, records, batch = scenario
    shared_sandbox.reset()
    seeded = {}
    for index, person in enumerate(people):
        if person["exists"]:
            lead = {"Last_Name": f"Existing {index}", "City": "Keep", "CDP_ID": f"old-{index}"}
            if person["email"]:
                lead["Email"] = person["email"].upper()
            if person["phone"]:
                lead["Phone"] = person["phone"]
            seeded[index] = (shared_sandbox.seed([lead])[0], lead)
    run_in_process(unique_config(shared_sandbox, batch_size_rows=batch), stream_text(records))
    leads = shared_sandbox.leads()

    emails = [normal_email(lead["Email"]) for lead in leads if lead.get("Email")]
    phones = [normal_phone(lead["Phone"]) for lead in leads if lead.get("Phone")]
    assert len(emails) == len(set(emails))
    assert len(phones) == len(set(phones))

    by_id = {lead["id"]: lead for lead in leads}
    last_record = {who: record for who, _, record in records}
    for index, person in enumerate(people):
        mine = [
            lead
            for lead in leads
            if (person["email"] and normal_email(lead.get("Email")) == person["email"])
            or (person["phone"] and normal_phone(lead.get("Phone")) == person["phone"])
        ]
        if index not in seeded and index not in last_record:
            assert mine == []
            continue
        assert len(mine) == 1, (index, person, mine)
        expected_tracking = (
            last_record[index]["anonymous_id"] if index in last_record else f"old-{index}"
        )
        assert mine[0]["CDP_ID"] == expected_tracking
        if index in seeded:
            lead_id, original = seeded[index]
            after = {k: v for k, v in by_id[lead_id].items() if k not in SYSTEM_FIELDS}
            before = {k: v for k, v in original.items() if k not in SYSTEM_FIELDS}
            assert {k: after[k] for k in before} == before

    anonymous = sum(1 for who, _, _ in records if who == -1)
    persons_with_lead = sum(1 for i in range(len(people)) if i in seeded or i in last_record)
    assert len(leads) == persons_with_lead + anonymous
