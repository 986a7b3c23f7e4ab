"""Contacts, converted leads and the duplicate check preference, as Zoho documents them."""

from __future__ import annotations

import typing as t

import pytest

from .conftest import TIMEOUT

if t.TYPE_CHECKING:
    from zoho_sandbox import ZohoSandbox

    from .conftest import Zoho

CONTACTS = {"api_name": "Contacts", "id": "5725767000000002179"}
LEADS = {"api_name": "Leads", "id": "5725767000000002175"}
PERSON = {"Last_Name": "Wei", "Email": "wei.289@example6.cn", "Phone": "+86 152 1822 2540"}


def admin(zoho: Zoho, method: str, name: str, **kwargs: t.Any) -> t.Any:
    """One admin call's JSON answer."""
    url = f"{zoho.sandbox.url}/__sandbox/{name}"
    return zoho.session.request(method, url, timeout=TIMEOUT, **kwargs).json()


def converted_lead(sandbox: ZohoSandbox, **fields: t.Any) -> tuple[str, str]:
    """A lead converted into a Contact: the lead's id and the Contact's."""
    (lead_id,) = sandbox.seed([{**PERSON, **fields}])
    return lead_id, sandbox.convert_lead(lead_id)


def test_contacts_seeded_over_admin_are_listed_and_found_by_coql(zoho: Zoho):
    """POST /__sandbox/contacts seeds; COQL reads Contacts with the Leads grammar."""
    ids = admin(zoho, "POST", "contacts", json=[PERSON, {"Last_Name": "Li"}])["ids"]
    assert [contact["id"] for contact in admin(zoho, "GET", "contacts")] == ids
    answer = zoho.coql(
        "select Email, Phone from Contacts where (Email in ('WEI.289@example6.cn') "
        "or Phone in ('+1 555 0100')) limit 200"
    )
    assert answer.status_code == 200
    assert answer.json()["data"] == [
        {"id": ids[0], "Email": PERSON["Email"], "Phone": PERSON["Phone"]}
    ]
    assert zoho.sandbox.leads() == []


def test_tokens_carry_the_contacts_read_scope_unless_the_knob_removes_it(zoho: Zoho):
    """Without contacts_scope, Contacts calls answer 401 OAUTH_SCOPE_MISMATCH."""
    assert "ZohoCRM.modules.contacts.READ" in zoho.mint().json()["scope"].split()
    zoho.sandbox.configure(contacts_scope=False)
    assert "ZohoCRM.modules.contacts.READ" not in zoho.mint().json()["scope"].split()
    refused = zoho.coql("select id from Contacts where Email = 'a@x.com'")
    assert (refused.status_code, refused.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
    fields = zoho.call("GET", "settings/fields", params={"module": "Contacts"})
    assert fields.status_code == 401
    assert zoho.coql("select id from Leads where Email = 'a@x.com'").status_code == 204


def test_contacts_field_metadata_and_the_leads_converted_flag(zoho: Zoho):
    """Contacts has its own fields; Leads lists Converted__s as a read-only boolean."""
    answer = zoho.call("GET", "settings/fields", params={"module": "Contacts"})
    contacts = {field["api_name"]: field for field in answer.json()["fields"]}
    assert contacts["Last_Name"]["system_mandatory"] is True
    assert {"Email", "Phone", "Mobile"} <= set(contacts)
    answer = zoho.call("GET", "settings/fields", params={"module": "Leads"})
    leads = {field["api_name"]: field for field in answer.json()["fields"]}
    assert (leads["Converted__s"]["data_type"], leads["Converted__s"]["read_only"]) == (
        "boolean",
        True,
    )
    assert not {field["id"] for field in contacts.values()} & {f["id"] for f in leads.values()}


def test_converting_a_lead_makes_a_contact_and_flags_the_lead(zoho: Zoho):
    """POST /__sandbox/convert copies the person to Contacts and sets Converted__s."""
    (lead_id,) = zoho.sandbox.seed([PERSON])
    contact_id = admin(zoho, "POST", "convert", json={"id": lead_id})["contact_id"]
    (contact,) = zoho.sandbox.contacts()
    assert (contact["id"], contact["Email"], contact["Phone"]) == (
        contact_id,
        PERSON["Email"],
        PERSON["Phone"],
    )
    lead = zoho.sandbox.leads()[0]
    assert (lead["Converted__s"], lead["Converted_Contact"]["id"]) == (True, contact_id)
    missing = zoho.session.post(
        f"{zoho.sandbox.url}/__sandbox/convert", json={"id": "1"}, timeout=TIMEOUT
    )
    assert missing.status_code == 404


def test_coql_leaves_converted_leads_out_unless_the_criteria_test_the_flag(zoho: Zoho):
    """As Zoho's views do; naming Converted__s in the where clause brings them in."""
    lead_id, _ = converted_lead(zoho.sandbox)
    (plain_id,) = zoho.sandbox.seed([{"Last_Name": "Li", "Email": "li@example.com"}])
    email_in = "Email in ('wei.289@example6.cn', 'li@example.com')"
    hidden = zoho.coql(f"select Email, Converted__s from Leads where {email_in}")  # noqa: S608
    assert hidden.json()["data"] == [
        {"id": plain_id, "Email": "li@example.com", "Converted__s": False}
    ]
    both = zoho.coql(
        f"select Converted__s from Leads where ({email_in} and "  # noqa: S608
        "(Converted__s = true or Converted__s = false))"
    )
    assert [(row["id"], row["Converted__s"]) for row in both.json()["data"]] == [
        (lead_id, True),
        (plain_id, False),
    ]
    zoho.sandbox.configure(coql_hides_converted=False)
    shown = zoho.coql(f"select Email from Leads where {email_in}")  # noqa: S608
    assert [row["id"] for row in shown.json()["data"]] == [lead_id, plain_id]


@pytest.mark.parametrize(
    ("converted", "expected"),
    [
        (None, ["plain"]),
        ("false", ["plain"]),
        ("true", ["converted"]),
        ("both", ["converted", "plain"]),
    ],
)
def test_search_answers_converted_leads_only_when_asked(zoho: Zoho, converted, expected):
    """Search's converted parameter: false (the default), true or both."""
    converted_lead(zoho.sandbox, Last_Name="converted")
    zoho.sandbox.seed([{**PERSON, "Last_Name": "plain"}])
    params = {"email": PERSON["Email"]} | ({"converted": converted} if converted else {})
    answer = zoho.search(**params)
    assert [row["Last_Name"] for row in answer.json()["data"]] == expected


def test_search_answers_say_which_leads_are_converted(zoho: Zoho):
    """Every lead in a search answer carries Converted__s, so both kinds can be told apart."""
    converted_lead(zoho.sandbox, Last_Name="converted")
    zoho.sandbox.seed([{**PERSON, "Last_Name": "plain"}])
    rows = zoho.search(email=PERSON["Email"], converted="both").json()["data"]
    assert [(row["Last_Name"], row["Converted__s"]) for row in rows] == [
        ("converted", True),
        ("plain", False),
    ]
    picked = zoho.search(email=PERSON["Email"], converted="both", fields="Converted__s")
    assert [row["Converted__s"] for row in picked.json()["data"]] == [True, False]


def test_search_refuses_an_unknown_converted_value(zoho: Zoho):
    """The converted parameter takes true, false or both."""
    answer = zoho.search(email="a@x.com", converted="maybe")
    assert (answer.status_code, answer.json()["details"]) == (400, {"param_name": "converted"})


def test_updating_a_converted_lead_is_converted_record_for_that_item(zoho: Zoho):
    """PUT /Leads answers CONVERTED_RECORD for the converted lead, 207 overall."""
    lead_id, _ = converted_lead(zoho.sandbox)
    (plain_id,) = zoho.sandbox.seed([{"Last_Name": "Li"}])
    answer = zoho.call(
        "PUT",
        "Leads",
        json={"data": [{"id": lead_id, "CDP_ID": "t-2"}, {"id": plain_id, "CDP_ID": "t-3"}]},
    )
    assert answer.status_code == 207
    refused, updated = answer.json()["data"]
    assert refused == {
        "code": "CONVERTED_RECORD",
        "details": {"id": lead_id},
        "message": "can't update the converted record",
        "status": "error",
    }
    assert updated["code"] == "SUCCESS"
    assert [lead.get("CDP_ID") for lead in zoho.sandbox.leads()] == [None, "t-3"]


def test_updating_a_contacts_id_as_a_lead_is_invalid_data(zoho: Zoho):
    """A Contact's id is not a lead's: PUT /Leads with it answers INVALID_DATA."""
    (contact_id,) = zoho.sandbox.seed_contacts([PERSON])
    answer = zoho.call("PUT", "Leads", json={"data": [{"id": contact_id, "CDP_ID": "t"}]})
    assert answer.status_code == 400
    item = answer.json()["data"][0]
    assert (item["code"], item["details"]["id"]) == ("INVALID_DATA", contact_id)
    assert "CDP_ID" not in zoho.sandbox.contacts()[0]


@pytest.mark.sandbox_knobs(duplicate_check_preference="mapped_module_records")
@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"Last_Name": "A", "Email": "WEI.289@EXAMPLE6.CN"}, "Email"),
        ({"Last_Name": "A", "Phone": "+86 152 1822 2540"}, "Phone"),
    ],
)
def test_mapped_module_records_refuses_a_lead_a_contact_already_holds(zoho: Zoho, record, field):
    """DUPLICATE_DATA names the Contact and module Contacts; no lead is created."""
    (contact_id,) = zoho.sandbox.seed_contacts([PERSON])
    answer = zoho.insert(record, {"Last_Name": "B", "Email": "b@example.com"})
    assert answer.status_code == 207
    item = answer.json()["data"][0]
    assert item["code"] == "DUPLICATE_DATA"
    assert (item["details"]["api_name"], item["details"]["json_path"]) == (
        field,
        f"$.data[0].{field}",
    )
    duplicate = item["details"]["duplicate_record"]
    assert (duplicate["id"], duplicate["module"]) == (contact_id, CONTACTS)
    assert [lead["Last_Name"] for lead in zoho.sandbox.leads()] == ["B"]


def test_converted_records_refuses_a_lead_a_converted_lead_holds(zoho: Zoho):
    """Under converted_records the converted lead is named; without it the insert passes."""
    lead_id, _ = converted_lead(zoho.sandbox)
    zoho.sandbox.configure(duplicate_check_preference="converted_records")
    item = zoho.insert({"Last_Name": "A", "Phone": PERSON["Phone"]}).json()["data"][0]
    assert item["code"] == "DUPLICATE_DATA"
    duplicate = item["details"]["duplicate_record"]
    assert (duplicate["id"], duplicate["module"]) == (lead_id, LEADS)
    zoho.sandbox.configure(duplicate_check_preference=None, unique_fields=["Phone"])
    passed = zoho.insert({"Last_Name": "A", "Phone": PERSON["Phone"]})
    assert passed.status_code == 201, "unique fields do not look at converted leads"


def test_an_unknown_duplicate_check_preference_is_refused(zoho: Zoho):
    """The knob takes null, converted_records or mapped_module_records only."""
    answer = zoho.session.post(
        f"{zoho.sandbox.url}/__sandbox/config",
        json={"duplicate_check_preference": "contacts"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 400
    assert "duplicate_check_preference" in answer.json()["error"]
    assert zoho.sandbox.knobs.duplicate_check_preference is None
