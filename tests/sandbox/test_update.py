"""Leads update and upsert, and the paths, modules and versions served."""

from __future__ import annotations

import typing as t

import pytest

if t.TYPE_CHECKING:
    from .conftest import Zoho

LEAD = {"Last_Name": "Lee", "Email": "lee@example.com", "Phone": "+86 186 0000 0000"}


def test_an_update_changes_only_the_fields_sent(zoho: Zoho):
    """PUT /Leads answers 200 and leaves other fields and Created_Time alone."""
    (lead_id,) = zoho.sandbox.seed([{**LEAD, "CDP_ID": "old"}])
    before = zoho.sandbox.leads()[0]
    answer = zoho.call("PUT", "Leads", json={"data": [{"id": lead_id, "CDP_ID": "new"}]})
    assert answer.status_code == 200
    item = answer.json()["data"][0]
    assert (item["code"], item["message"], item["details"]["id"]) == (
        "SUCCESS",
        "record updated",
        lead_id,
    )
    after = zoho.sandbox.leads()[0]
    assert after["CDP_ID"] == "new"
    assert {k: v for k, v in after.items() if k not in {"CDP_ID", "Modified_Time"}} == {
        k: v for k, v in before.items() if k not in {"CDP_ID", "Modified_Time"}
    }
    assert zoho.sandbox.stats()["records_updated"] == 1


def test_an_update_with_an_unknown_or_missing_id_fails_that_record(zoho: Zoho):
    """Unknown ids are INVALID_DATA, missing ones MANDATORY_NOT_FOUND; 207 overall."""
    (lead_id,) = zoho.sandbox.seed([LEAD])
    answer = zoho.call(
        "PUT",
        "Leads",
        json={
            "data": [
                {"id": lead_id, "City": "Shanghai"},
                {"id": "5725767999999999999", "City": "Beijing"},
                {"City": "Shenzhen"},
            ]
        },
    )
    assert answer.status_code == 207
    _, unknown, missing = answer.json()["data"]
    assert (unknown["code"], unknown["details"]["id"]) == (
        "INVALID_DATA",
        "5725767999999999999",
    )
    assert unknown["message"] == "the id given seems to be invalid"
    assert missing["code"] == "MANDATORY_NOT_FOUND"
    assert missing["details"] == {"api_name": "id", "json_path": "$.data[2].id"}


def test_an_update_where_every_record_fails_answers_400(zoho: Zoho):
    """All updates rejected: HTTP 400."""
    (lead_id,) = zoho.sandbox.seed([LEAD])
    answer = zoho.call("PUT", "Leads", json={"data": [{"id": lead_id, "Last_Name": ""}]})
    assert answer.status_code == 400
    assert answer.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


def test_an_update_by_path_id_updates_that_lead(zoho: Zoho):
    """PUT /Leads/{id} takes the id from the path."""
    (lead_id,) = zoho.sandbox.seed([LEAD])
    answer = zoho.call("PUT", f"Leads/{lead_id}", json={"data": [{"City": "Hangzhou"}]})
    assert answer.status_code == 200
    assert zoho.sandbox.leads()[0]["City"] == "Hangzhou"
    assert zoho.sandbox.stats()["calls"] == {"PUT /crm/v8/Leads/{id}": 1}


def test_an_upsert_inserts_new_people_and_updates_known_ones_by_email(zoho: Zoho):
    """Upsert matches on Email by default, case-insensitively, and says what it did."""
    (lead_id,) = zoho.sandbox.seed([LEAD])
    answer = zoho.call(
        "POST",
        "Leads/upsert",
        json={
            "data": [
                {"Last_Name": "Lee", "Email": "LEE@example.com", "CDP_ID": "t1"},
                {"Last_Name": "New", "Email": "new@example.com"},
            ]
        },
    )
    assert answer.status_code == 200
    updated, inserted = answer.json()["data"]
    assert (updated["action"], updated["duplicate_field"], updated["message"]) == (
        "update",
        "Email",
        "record updated",
    )
    assert updated["details"]["id"] == lead_id
    assert (inserted["action"], inserted["message"]) == ("insert", "record added")
    assert [lead.get("CDP_ID") for lead in zoho.sandbox.leads()] == ["t1", None]


def test_an_upsert_honours_duplicate_check_fields_in_order(zoho: Zoho):
    """With Phone as the check field, a phone match updates that lead."""
    (lead_id,) = zoho.sandbox.seed([LEAD])
    answer = zoho.call(
        "POST",
        "Leads/upsert",
        json={
            "data": [{"Last_Name": "Lee", "Phone": LEAD["Phone"], "CDP_ID": "t2"}],
            "duplicate_check_fields": ["Phone"],
        },
    )
    item = answer.json()["data"][0]
    assert (item["action"], item["duplicate_field"], item["details"]["id"]) == (
        "update",
        "Phone",
        lead_id,
    )


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", "Deals", 400, "INVALID_MODULE"),
        ("GET", "nothing/here/at/all", 404, "INVALID_URL_PATTERN"),
        ("GET", "settings/layouts", 404, "INVALID_URL_PATTERN"),
        ("DELETE", "Leads", 405, "INVALID_REQUEST_METHOD"),
    ],
)
def test_unknown_modules_paths_and_methods_answer_zoho_errors(
    zoho: Zoho, method, path, status, code
):
    """Only Leads, Contacts and the documented paths are served."""
    answer = zoho.call(method, path, json={"data": [{"Last_Name": "x"}]})
    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_any_api_version_in_the_path_is_served(zoho: Zoho):
    """/crm/v7/ and /crm/v8/ reach the same endpoints."""
    answer = zoho.session.post(
        f"{zoho.sandbox.url}/crm/v7/Leads",
        json={"data": [{"Last_Name": "x"}]},
        headers={"Authorization": f"Zoho-oauthtoken {zoho.token}"},
        timeout=5,
    )
    assert answer.status_code == 201
    assert zoho.sandbox.stats()["calls"] == {"POST /crm/v7/Leads": 1}
