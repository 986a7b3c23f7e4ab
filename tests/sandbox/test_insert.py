"""Leads insert: Zoho's per-record answers, validation by type, and limits."""

from __future__ import annotations

import re
import typing as t

import pytest

if t.TYPE_CHECKING:
    from .conftest import Zoho

LEAD = {"Last_Name": "Lee", "Email": "lee@example.com", "Phone": "+86 186 0000 0000"}


def test_an_insert_of_good_records_answers_201_with_a_success_item_each(zoho: Zoho):
    """Every record gets SUCCESS with a 19-digit id, and the lead is stored."""
    answer = zoho.insert(LEAD, {"Last_Name": "Wu"})
    assert answer.status_code == 201
    items = answer.json()["data"]
    assert [item["code"] for item in items] == ["SUCCESS", "SUCCESS"]
    assert all(item["message"] == "record added" for item in items)
    ids = [item["details"]["id"] for item in items]
    assert all(re.fullmatch(r"\d{19}", lead_id) for lead_id in ids)
    assert len(set(ids)) == 2
    assert items[0]["details"]["Created_By"]["name"] == "Sandbox User"
    leads = zoho.sandbox.leads()
    assert [lead["id"] for lead in leads] == ids
    assert leads[0]["Email"] == LEAD["Email"]
    assert leads[0]["Created_Time"] == items[0]["details"]["Created_Time"]
    assert zoho.sandbox.stats()["records_created"] == 2


def test_a_record_without_last_name_is_mandatory_not_found_in_a_207(zoho: Zoho):
    """One bad record among good ones gives 207 and the record's own error."""
    answer = zoho.insert(LEAD, {"Email": "x@example.com"})
    assert answer.status_code == 207
    assert answer.json()["data"][1] == {
        "code": "MANDATORY_NOT_FOUND",
        "details": {"api_name": "Last_Name", "json_path": "$.data[1].Last_Name"},
        "message": "required field not found",
        "status": "error",
    }
    assert len(zoho.sandbox.leads()) == 1


def test_a_blank_last_name_counts_as_missing(zoho: Zoho):
    """Whitespace is no value for a mandatory field."""
    answer = zoho.insert({"Last_Name": "  "})
    assert answer.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


def test_an_insert_where_every_record_fails_answers_400(zoho: Zoho):
    """All records rejected: HTTP 400, still one item per record."""
    answer = zoho.insert({"Email": "a@example.com"}, {"Last_Name": "X", "Email": "nope"})
    assert answer.status_code == 400
    assert [item["code"] for item in answer.json()["data"]] == [
        "MANDATORY_NOT_FOUND",
        "INVALID_DATA",
    ]
    assert zoho.sandbox.leads() == []


@pytest.mark.parametrize(
    ("field", "value", "expected_type"),
    [
        ("First_Name", 12, "text"),
        ("First_Name", "x" * 41, "text"),
        ("Description", ["a"], "textarea"),
        ("Email", "not-an-email", "email"),
        ("Email", "a" * 95 + "@x.com", "email"),
        ("Phone", "call me", "phone"),
        ("Phone", "1" * 31, "phone"),
        ("Phone", 1234567, "phone"),
        ("Website", "not a url", "website"),
        ("No_of_Employees", 1.5, "integer"),
        ("No_of_Employees", 2**31, "integer"),
        ("No_of_Employees", True, "integer"),
        ("Big_Number", "12a", "bigint"),
        ("Lead_Score", "3.5", "double"),
        ("Annual_Revenue", "100", "currency"),
        ("Discount", False, "percent"),
        ("Email_Opt_Out", "true", "boolean"),
        ("Event_Date", "2024/01/31", "date"),
        ("Event_Date", "2024-02-30", "date"),
        ("Visit_Time", "2024-01-31 10:00:00", "datetime"),
        ("Visit_Time", "2024-01-31T10:00:00Z", "datetime"),
        ("Lead_Source", 3, "picklist"),
        ("Interests", "Demo", "multiselectpicklist"),
        ("Interests", ["Demo", 1], "multiselectpicklist"),
        ("Campaign_Source", "Spring sale", "jsonobject"),
        ("Attachment_File", "file.pdf", "jsonarray"),
    ],
)
def test_a_value_of_the_wrong_shape_is_invalid_data(zoho: Zoho, field, value, expected_type):
    """Each data type refuses values Zoho refuses, naming the field and type."""
    answer = zoho.insert({"Last_Name": "Lee", field: value})
    assert answer.status_code == 400
    item = answer.json()["data"][0]
    assert item["code"] == "INVALID_DATA"
    assert item["message"] == "invalid data"
    assert item["details"]["api_name"] == field
    assert item["details"]["json_path"] == f"$.data[0].{field}"
    assert item["details"]["expected_data_type"] == expected_type


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("First_Name", "x" * 40),
        ("Email", "Lee.Li+cdp@example.co.uk"),
        ("Phone", "+1 (555) 010-0000"),
        ("Phone", "186.0000.0000"),
        ("Website", "https://example.com/landing?utm=1"),
        ("Website", "example.com"),
        ("No_of_Employees", 250),
        ("No_of_Employees", "250"),
        ("Big_Number", "9223372036854775807"),
        ("Big_Number", 42),
        ("Lead_Score", 3.5),
        ("Annual_Revenue", 1000),
        ("Discount", 12.5),
        ("Email_Opt_Out", False),
        ("Event_Date", "2024-02-29"),
        ("Visit_Time", "2024-01-31T10:00:00+08:00"),
        ("Lead_Source", "Some value not in the list"),
        ("Interests", ["Demo", "Pricing"]),
        ("Campaign_Source", {"id": "5725767000000123001"}),
        ("Owner", {"id": "5725767000000411001"}),
        ("First_Name", None),
    ],
)
def test_a_value_of_the_right_shape_is_taken(zoho: Zoho, field, value):
    """Well-shaped values are stored as sent; any picklist value is accepted."""
    answer = zoho.insert({"Last_Name": "Lee", field: value})
    assert answer.status_code == 201, answer.json()
    if value is not None:
        assert zoho.sandbox.leads()[0][field] == value


def test_fields_the_module_lacks_or_cannot_write_are_dropped_silently_but_logged(
    zoho: Zoho,
):
    """Zoho ignores a typo'd or read-only field; the request log names them."""
    answer = zoho.insert(
        {
            "Last_Name": "Lee",
            "Emial": "a@example.com",
            "Created_Time": "2020-01-01T00:00:00+00:00",
            "Full_Name": "X",
        }
    )
    assert answer.status_code == 201
    lead = zoho.sandbox.leads()[0]
    assert "Emial" not in lead
    assert lead["Created_Time"] != "2020-01-01T00:00:00+00:00"
    assert lead["Full_Name"] == "Lee"
    entry = zoho.sandbox.requests()[-1]
    assert entry["unknown_fields"] == ["Emial"]
    assert entry["read_only_fields"] == ["Created_Time", "Full_Name"]


def test_101_records_are_limit_exceeded_and_100_are_taken(zoho: Zoho):
    """Zoho takes at most 100 records per call."""
    too_many = zoho.insert(*[{"Last_Name": f"L{i}"} for i in range(101)])
    assert too_many.status_code == 400
    body = too_many.json()
    assert (body["code"], body["details"], body["status"]) == (
        "LIMIT_EXCEEDED",
        {"limit": 100},
        "error",
    )
    assert zoho.insert(*[{"Last_Name": f"L{i}"} for i in range(100)]).status_code == 201
    assert len(zoho.sandbox.leads()) == 100


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "REQUIRED_PARAM_MISSING"),
        ({"data": []}, "INVALID_DATA"),
        ({"data": {"Last_Name": "x"}}, "INVALID_DATA"),
        ({"data": [{"Last_Name": "x"}], "trigger": "workflow"}, "INVALID_DATA"),
        (
            {"data": [{"Last_Name": "x"}], "trigger": ["workflow", "email"]},
            "INVALID_DATA",
        ),
    ],
)
def test_a_malformed_write_body_is_refused_as_a_whole(zoho: Zoho, body, code):
    """Missing or empty data and unknown triggers answer one top-level error."""
    answer = zoho.call("POST", "Leads", json=body)
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert zoho.sandbox.leads() == []


def test_every_known_trigger_and_an_empty_list_are_accepted(zoho: Zoho):
    """``trigger`` may name any of Zoho's five automations, or none."""
    triggers = ["workflow", "approval", "blueprint", "pathfinder", "orchestration"]
    assert zoho.insert({"Last_Name": "A"}, trigger=triggers).status_code == 201
    assert zoho.insert({"Last_Name": "B"}, trigger=[]).status_code == 201


def test_a_body_that_is_not_json_is_invalid_data(zoho: Zoho):
    """Garbage bodies answer 400 INVALID_DATA."""
    answer = zoho.call(
        "POST", "Leads", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "INVALID_DATA")


def test_a_data_entry_that_is_not_an_object_fails_alone(zoho: Zoho):
    """A non-object entry gets its own INVALID_DATA item."""
    answer = zoho.insert({"Last_Name": "A"}, "oops")  # type: ignore[arg-type]
    assert answer.status_code == 207
    assert answer.json()["data"][1]["details"]["json_path"] == "$.data[1]"


def test_a_unique_field_refuses_a_value_another_lead_has(zoho: Zoho):
    """With Email marked unique, a second lead with the same email is DUPLICATE_DATA."""
    zoho.sandbox.configure(unique_fields=["Email"])
    (existing,) = zoho.sandbox.seed([{"Last_Name": "Old", "Email": "dup@example.com"}])
    answer = zoho.insert(
        {"Last_Name": "New", "Email": "DUP@example.com"},
        {"Last_Name": "A", "Email": "a@example.com"},
        {"Last_Name": "B", "Email": "a@example.com"},
    )
    assert answer.status_code == 207
    first, _, third = answer.json()["data"]
    assert first["code"] == "DUPLICATE_DATA"
    assert first["message"] == "duplicate data"
    assert first["details"]["api_name"] == "Email"
    assert first["details"]["json_path"] == "$.data[0].Email"
    assert first["details"]["duplicate_record"]["id"] == existing
    assert first["details"]["duplicate_record"]["module"]["api_name"] == "Leads"
    assert third["code"] == "DUPLICATE_DATA"


def test_values_are_stored_and_answered_exactly_as_sent(zoho: Zoho):
    """No case folding or phone reformatting: Zoho keeps what it is given."""
    sent = {"Last_Name": "Wei", "Email": "WEI.289@EXAMPLE6.CN", "Phone": "+86 152 1822 2540"}
    assert zoho.insert(sent).status_code == 201
    stored = zoho.sandbox.leads()[0]
    assert {name: stored[name] for name in sent} == sent
    row = zoho.coql("select Email, Phone from Leads where Email = 'WEI.289@EXAMPLE6.CN'")
    assert (row.json()["data"][0]["Email"], row.json()["data"][0]["Phone"]) == (
        sent["Email"],
        sent["Phone"],
    )
