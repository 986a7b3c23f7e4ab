"""Unique Lead beside Contacts and converted leads: never written as leads, never duplicated."""

from __future__ import annotations

import json
import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest

from target_zoho_leads.loading.results import Route
from target_zoho_leads.loading.unique_writes import UniqueLeadWriter
from target_zoho_leads.zoho.client import ItemDetails, WriteItem
from target_zoho_leads.zoho.outcomes import (
    CREATED,
    EXISTS_AS_CONTACT,
    EXISTS_AS_CONVERTED_LEAD,
    SKIPPED,
)
from tests.conftest import singer_lines

if t.TYPE_CHECKING:
    from pathlib import Path

    from zoho_sandbox import ZohoSandbox

MAPPING = "Last_Name=name,Email=email,Phone=phone,CDP_ID=anonymous_id,City=city"
# What a Contact (or a lead converted to one) holds, and how the CDP spells it.
CONTACT = {"Last_Name": "Contact", "Email": "zhao.contact@example.cn", "Phone": "+8615218222540"}
CONVERTED = {"Last_Name": "Converted", "Email": "qian.conv@example.cn", "Phone": "+8613900000009"}
EVENTS = [
    {"name": "Zhao", "email": "Zhao.Contact@example.cn", "anonymous_id": "contact-email"},
    {"name": "Zhao", "phone": "152 1822 2540", "anonymous_id": "contact-phone"},
    {"name": "Qian", "email": "QIAN.CONV@example.cn", "anonymous_id": "converted-email"},
    {"name": "Qian", "phone": "139-0000-0009", "anonymous_id": "converted-phone"},
    {"name": "Sun", "email": "sun.lead@example.cn", "anonymous_id": "lead"},
    {"name": "Li", "email": "li.new@example.cn", "phone": "13700000007", "anonymous_id": "new"},
]
SKIPPED_EVENTS = {"contact-email", "contact-phone", "converted-email", "converted-phone"}


def settings_for(sandbox: ZohoSandbox, tmp_path: Path, **extra: t.Any) -> dict[str, t.Any]:
    """Unique Lead with region CN, rejected records kept in ``tmp_path``."""
    return sandbox.target_settings(
        field_mapping=MAPPING,
        default_values="Last_Name=Unknown",
        unique_lead=True,
        default_phone_region="CN",
        rejected_records_path=str(tmp_path / "rejected.jsonl"),
        max_retries=3,
        **extra,
    )


def seed_crm(sandbox: ZohoSandbox) -> dict[str, str]:
    """A Contact, a lead converted to a Contact, and a plain lead; their ids."""
    (contact,) = sandbox.seed_contacts([CONTACT])
    converted, plain = sandbox.seed(
        [dict(CONVERTED), {"Last_Name": "Sun", "Email": "sun.lead@example.cn", "CDP_ID": "old"}]
    )
    converted_contact = sandbox.convert_lead(converted)
    return {
        "contact": contact,
        "converted": converted,
        "converted_contact": converted_contact,
        "plain": plain,
    }


def rejected_codes(tmp_path: Path) -> dict[str, str]:
    """Each record in the rejected-records file, by tracking id, and its code."""
    path = tmp_path / "rejected.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return {json.loads(line)["record"]["anonymous_id"]: json.loads(line)["code"] for line in lines}


def written_ids(sandbox: ZohoSandbox) -> set[str]:
    """Every record id a PUT /Leads carried."""
    return {
        str(record.get("id"))
        for call in sandbox.requests()
        if call["method"] == "PUT" and call["path"].endswith("/Leads")
        for record in (call["json"] or {}).get("data", [])
    }


def posted_emails(sandbox: ZohoSandbox) -> set[str]:
    """Every Email a POST /Leads carried."""
    return {
        str(record.get("Email"))
        for call in sandbox.requests()
        if call["method"] == "POST" and call["path"].endswith("/Leads")
        for record in (call["json"] or {}).get("data", [])
    }


def assert_only_the_lead_and_the_new_person_were_written(
    sandbox: ZohoSandbox, ids: dict[str, str]
) -> None:
    """The plain lead got its tracking id, Li a lead; nobody else was written."""
    assert written_ids(sandbox) == {ids["plain"]}
    leads = {lead["id"]: lead for lead in sandbox.leads()}
    assert leads[ids["plain"]]["CDP_ID"] == "lead"
    assert "CDP_ID" not in leads[ids["converted"]]
    created = [lead for lead_id, lead in leads.items() if lead_id not in ids.values()]
    assert [(lead["Email"], lead["Phone"], lead["CDP_ID"]) for lead in created] == [
        ("li.new@example.cn", "+8613700000007", "new")
    ]


@pytest.mark.parametrize("coql_scope", [True, False], ids=["coql", "search-fallback"])
def test_with_match_contacts_a_contact_s_records_are_skipped_and_never_sent(
    sandbox, tmp_path, run_target, coql_scope
):
    """match_contacts: found in Contacts by email or any phone spelling, not inserted."""
    ids = seed_crm(sandbox)
    sandbox.configure(coql_scope=coql_scope, coql_case_sensitive=True)
    run = run_target(
        settings_for(sandbox, tmp_path, match_contacts=True), singer_lines("cdp", EVENTS)
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert_only_the_lead_and_the_new_person_were_written(sandbox, ids)
    assert posted_emails(sandbox) == {"li.new@example.cn"}
    # The converted lead's person is its Contact now: the Contact is named first.
    assert rejected_codes(tmp_path) == dict.fromkeys(SKIPPED_EVENTS, EXISTS_AS_CONTACT)
    assert run.summary("cdp").endswith(
        f"{len(SKIPPED_EVENTS)} skipped as Contacts or converted leads"
    )
    if not coql_scope:
        searches = [c for c in sandbox.requests() if c["path"].endswith("/Leads/search")]
        assert searches
        assert all(c["query"].get("converted") == ["both"] for c in searches)


def test_without_match_contacts_zoho_s_duplicate_answer_naming_a_contact_is_not_taken_for_a_lead(
    sandbox, tmp_path, run_target
):
    """DUPLICATE_DATA naming a Contact: the record is skipped, no PUT carries the Contact's id."""
    ids = seed_crm(sandbox)
    sandbox.configure(duplicate_check_preference="mapped_module_records", coql_case_sensitive=True)
    run = run_target(settings_for(sandbox, tmp_path), singer_lines("cdp", EVENTS))
    assert run.returncode == 0, run.stderr[-3000:]
    assert_only_the_lead_and_the_new_person_were_written(sandbox, ids)
    # The Contact's person was sent, and refused by Zoho's duplicate check.
    assert "zhao.contact@example.cn" in posted_emails(sandbox)
    assert rejected_codes(tmp_path) == {
        "contact-email": EXISTS_AS_CONTACT,
        "contact-phone": EXISTS_AS_CONTACT,
        "converted-email": EXISTS_AS_CONVERTED_LEAD,
        "converted-phone": EXISTS_AS_CONVERTED_LEAD,
    }


@pytest.mark.parametrize("coql_scope", [True, False], ids=["coql", "search-fallback"])
def test_a_person_whose_only_lead_was_converted_gets_no_update_and_no_new_lead(
    sandbox, tmp_path, run_target, coql_scope
):
    """Converted__s (or search's converted=both) tells the lead apart: nothing is written."""
    ids = seed_crm(sandbox)
    sandbox.configure(coql_scope=coql_scope)
    run = run_target(settings_for(sandbox, tmp_path), singer_lines("cdp", EVENTS[2:]))
    assert run.returncode == 0, run.stderr[-3000:]
    assert_only_the_lead_and_the_new_person_were_written(sandbox, ids)
    assert posted_emails(sandbox) == {"li.new@example.cn"}
    assert rejected_codes(tmp_path) == {
        "converted-email": EXISTS_AS_CONVERTED_LEAD,
        "converted-phone": EXISTS_AS_CONVERTED_LEAD,
    }
    again = run_target(settings_for(sandbox, tmp_path), singer_lines("cdp", EVENTS[2:]))
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(sandbox.leads()) == 3


# Zoho's answers a lookup cannot foresee, against a stand-in client.


class FakeClient:
    """Answers every COQL lookup with ``rows``, every insert and update item with its own."""

    max_retries = 1

    def __init__(self, rows: list[dict], *, put: WriteItem | None, post: WriteItem | None) -> None:
        self.rows = rows
        self.answers = {"PUT": put, "POST": post}
        self.writes: list[str] = []

    def counting_calls_with(self, _on_call: t.Any) -> FakeClient:
        return self

    def coql_page(self, query: str) -> tuple[list[dict], bool]:
        return (self.rows if " from Leads " in query else []), False

    def write_leads(self, method: str, records: list[dict], *_: t.Any, **__: t.Any) -> list:
        self.writes.append(method)
        answer = self.answers[method]
        if answer is not None:
            return [answer for _ in records]
        return [
            WriteItem(code="SUCCESS", status="success", details=ItemDetails(id=f"N{i}"))
            for i, _ in enumerate(records)
        ]


def write_batches(client: FakeClient, *batches: list[dict], **settings: t.Any) -> list[list]:
    """Write batches through a UniqueLeadWriter on ``client``; each batch's outcomes."""
    seq = 0
    outcomes = []
    with ThreadPoolExecutor(1) as executor:
        writer = UniqueLeadWriter(executor, None, "CDP_ID", **settings)
        for batch in batches:
            seqs = list(range(seq, seq + len(batch)))
            seq += len(batch)
            result = writer.write(batch, seqs, Route(t.cast("t.Any", client)))
            assert result.failure() is None
            outcomes.append(result.outcomes)
    return outcomes


def test_an_update_answered_converted_record_skips_the_person_from_then_on():
    """CONVERTED_RECORD: the batch's records of that lead are skipped; later ones too."""
    converted = WriteItem(
        code="CONVERTED_RECORD",
        status="error",
        message="can't update the converted record",
        details=ItemDetails(id="L1"),
    )
    client = FakeClient(
        [{"id": "L1", "Email": "a@x.cn", "CDP_ID": "old"}], put=converted, post=None
    )
    first, later = write_batches(
        client,
        [
            {"Email": "A@x.cn", "CDP_ID": "t1"},
            {"Email": "a@x.cn", "CDP_ID": "t2"},
            {"Email": "b@x.cn", "CDP_ID": "t3"},
        ],
        [{"Email": "a@x.cn", "CDP_ID": "t4"}],
    )
    assert [(o.kind, o.code, o.lead_id) for o in first] == [
        (SKIPPED, EXISTS_AS_CONVERTED_LEAD, "L1"),
        (SKIPPED, EXISTS_AS_CONVERTED_LEAD, "L1"),
        (CREATED, "", "N0"),
    ]
    assert [(o.kind, o.code) for o in later] == [(SKIPPED, EXISTS_AS_CONVERTED_LEAD)]
    assert client.writes == ["POST", "PUT"]


def test_a_duplicate_answer_naming_a_contact_blocks_only_the_field_zoho_compared():
    """The Contact holds the email Zoho named; the record's phone is not taken for it."""
    duplicate = WriteItem(
        code="DUPLICATE_DATA",
        status="error",
        message="duplicate data",
        details=ItemDetails(
            api_name="Email",
            duplicate_record={"id": "C7", "module": {"api_name": "Contacts", "id": "5"}},
        ),
    )
    client = FakeClient([], put=None, post=duplicate)
    (outcomes, later) = write_batches(
        client,
        [{"Email": "c@x.cn", "Phone": "+86 152 1822 2540", "CDP_ID": "t1"}],
        [{"Email": "C@x.cn", "CDP_ID": "t2"}],
    )
    assert [(o.kind, o.code, o.lead_id) for o in outcomes] == [(SKIPPED, EXISTS_AS_CONTACT, "C7")]
    # Known from then on: no second insert is tried for the Contact's email.
    assert [(o.kind, o.code, o.lead_id) for o in later] == [(SKIPPED, EXISTS_AS_CONTACT, "C7")]
    assert client.writes == ["POST"]
    assert "PUT" not in client.writes


def test_a_duplicate_answer_naming_a_lead_moves_only_its_tracking_id():
    """The org marks Email unique: the lead Zoho names is the person's, as before."""
    duplicate = WriteItem(
        code="DUPLICATE_DATA",
        status="error",
        details=ItemDetails(
            api_name="Email",
            duplicate_record={"id": "L5", "module": {"api_name": "Leads", "id": "2"}},
        ),
    )
    client = FakeClient([], put=None, post=duplicate)
    client.answers["PUT"] = WriteItem(code="SUCCESS", status="success", details=ItemDetails("L5"))
    (outcomes,) = write_batches(client, [{"Email": "d@x.cn", "CDP_ID": "t1"}])
    assert [(o.kind, o.lead_id) for o in outcomes] == [("updated", "L5")]
    assert client.writes == ["POST", "PUT"]


def test_match_contacts_without_the_contacts_scope_stops_at_start_up(sandbox, tmp_path, run_target):
    """A token that cannot read Contacts: one line naming the scope, before any write."""
    sandbox.configure(contacts_scope=False)
    run = run_target(
        settings_for(sandbox, tmp_path, match_contacts=True), singer_lines("cdp", EVENTS)
    )
    assert run.returncode == 1
    assert len(run.errors) == 1, run.errors
    assert "ZohoCRM.modules.contacts.READ" in run.errors[0]
    assert sandbox.leads() == []
