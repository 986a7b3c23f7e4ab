"""The sandbox's answers validate against Zoho's official OpenAPI v8 schemas."""

from __future__ import annotations

import typing as t

import jsonschema
import pytest

if t.TYPE_CHECKING:
    from .conftest import Zoho
from .oas import request_schema, response_schema, validate

RECORDS = "/crm/v8/{module_api_name}"
GOOD = {
    "Last_Name": "Lee",
    "Email": "lee@example.com",
    "Phone": "+1 555 0100",
    "Interests": ["Demo"],
    "Visit_Time": "2024-01-31T10:00:00+08:00",
}


def check(answer, file: str, path: str, method: str) -> None:
    """Validate one answer against the schema for its status."""
    schema = response_schema(file, path, method, answer.status_code)
    assert schema is not None, f"{file} {path} documents no body for {answer.status_code}"
    validate(answer.json(), schema)


@pytest.mark.parametrize(
    ("records", "status"),
    [
        ([GOOD], 201),
        ([GOOD, {"Email": "x@example.com"}], 207),
        ([{"Last_Name": "X", "Email": "bad"}, {"First_Name": "no last name"}], 400),
    ],
)
def test_insert_answers_conform_to_record_json(zoho: Zoho, records, status):
    """201, 207 and 400 bodies of POST /Leads match record.json."""
    answer = zoho.insert(*records)
    assert answer.status_code == status
    check(answer, "record.json", RECORDS, "post")


def test_a_duplicate_data_item_conforms(zoho: Zoho):
    """DUPLICATE_DATA items, with their duplicate_record, match record.json."""
    zoho.sandbox.configure(unique_fields=["Email"])
    zoho.sandbox.seed([GOOD])
    check(zoho.insert(GOOD), "record.json", RECORDS, "post")


def test_duplicate_data_naming_a_contact_or_a_converted_lead_conforms(zoho: Zoho):
    """The duplicate check preference's DUPLICATE_DATA items match record.json."""
    zoho.sandbox.seed_contacts([GOOD])
    zoho.sandbox.configure(duplicate_check_preference="mapped_module_records")
    answer = zoho.insert(GOOD)
    assert answer.json()["data"][0]["details"]["duplicate_record"]["module"]["api_name"] == (
        "Contacts"
    )
    check(answer, "record.json", RECORDS, "post")
    zoho.sandbox.convert_lead(zoho.sandbox.seed([{**GOOD, "Email": "c@example.com"}])[0])
    zoho.sandbox.configure(duplicate_check_preference="converted_records")
    check(zoho.insert({**GOOD, "Email": "c@example.com"}), "record.json", RECORDS, "post")


def test_a_converted_record_item_conforms(zoho: Zoho):
    """CONVERTED_RECORD in a 207 of PUT /Leads matches record.json."""
    (lead_id, plain_id) = zoho.sandbox.seed([GOOD, {"Last_Name": "N"}])
    zoho.sandbox.convert_lead(lead_id)
    answer = zoho.call(
        "PUT", "Leads", json={"data": [{"id": lead_id, "City": "X"}, {"id": plain_id}]}
    )
    assert answer.status_code == 207
    check(answer, "record.json", RECORDS, "put")


@pytest.mark.parametrize(
    "body",
    [{"data": [{"Last_Name": str(i)} for i in range(101)]}, {}, {"data": []}],
)
def test_top_level_write_errors_conform(zoho: Zoho, body):
    """LIMIT_EXCEEDED, REQUIRED_PARAM_MISSING and INVALID_DATA match API_Exception."""
    answer = zoho.call("POST", "Leads", json=body)
    assert answer.status_code == 400
    check(answer, "record.json", RECORDS, "post")


def test_update_and_upsert_answers_conform(zoho: Zoho):
    """PUT /Leads (200, 207) and POST /Leads/upsert match record.json."""
    (lead_id,) = zoho.sandbox.seed([GOOD])
    check(
        zoho.call("PUT", "Leads", json={"data": [{"id": lead_id, "City": "X"}]}),
        "record.json",
        RECORDS,
        "put",
    )
    mixed = zoho.call("PUT", "Leads", json={"data": [{"id": lead_id}, {"City": "Y"}]})
    assert mixed.status_code == 207
    check(mixed, "record.json", RECORDS, "put")
    upsert = zoho.call("POST", "Leads/upsert", json={"data": [GOOD, {"Last_Name": "N"}]})
    check(upsert, "record.json", f"{RECORDS}/upsert", "post")


def test_coql_answers_conform_to_coql_json(zoho: Zoho):
    """COQL 200 bodies and each kind of 400 match coql.json."""
    zoho.sandbox.seed([GOOD])
    found = zoho.coql("select Email, Phone, Interests from Leads where Email = 'lee@example.com'")
    assert found.status_code == 200
    check(found, "coql.json", "/crm/v8/coql", "post")
    for query in [
        "select id from Leads where a or",  # parse error
        "select id from Leads where Email = 'a' or Phone = 'b' or City = 'c'",  # pairs
        "select id from Leads where Email = 'a' limit 5000",  # LIMIT_EXCEEDED
        "select Nope from Leads where Email = 'a'",  # INVALID_QUERY
    ]:
        answer = zoho.coql(query)
        assert answer.status_code == 400
        check(answer, "coql.json", "/crm/v8/coql", "post")


def test_coql_on_contacts_and_on_the_converted_flag_conforms(zoho: Zoho):
    """COQL rows of Contacts, and of Leads with Converted__s, match coql.json."""
    zoho.sandbox.seed_contacts([GOOD])
    zoho.sandbox.convert_lead(zoho.sandbox.seed([GOOD])[0])
    for query in [
        "select Email, Phone from Contacts where Email = 'lee@example.com'",
        "select Email, Converted__s from Leads where Converted__s = true",
    ]:
        answer = zoho.coql(query)
        assert answer.status_code == 200, answer.text
        check(answer, "coql.json", "/crm/v8/coql", "post")


def test_fields_answers_conform_to_fields_json(zoho: Zoho):
    """The full field list and its INVALID_MODULE error match fields.json."""
    zoho.sandbox.configure(unique_fields=["Email"])
    check(
        zoho.call("GET", "settings/fields", params={"module": "Leads"}),
        "fields.json",
        "/crm/v8/settings/fields",
        "get",
    )
    check(
        zoho.call("GET", "settings/fields", params={"module": "Deals"}),
        "fields.json",
        "/crm/v8/settings/fields",
        "get",
    )
    check(
        zoho.call("GET", "settings/fields", params={"module": "Contacts"}),
        "fields.json",
        "/crm/v8/settings/fields",
        "get",
    )


def test_search_answers_conform(zoho: Zoho):
    """Search 200 bodies match record.json; criteria errors match module_search.json."""
    zoho.sandbox.seed([GOOD])
    check(
        zoho.search(criteria="(Email:equals:lee)"),
        "record.json",
        f"{RECORDS}/search",
        "get",
    )
    zoho.sandbox.convert_lead(zoho.sandbox.seed([{**GOOD, "Last_Name": "C"}])[0])
    check(
        zoho.search(email="lee@example.com", converted="both"),
        "record.json",
        f"{RECORDS}/search",
        "get",
    )
    check(
        zoho.search(criteria="(Email:equals:a"),
        "module_search.json",
        "/crm/v8/{module}/search",
        "get",
    )


def test_auth_and_url_errors_conform_to_api_exception(zoho: Zoho, http):
    """401 and 404 bodies are Zoho API_Exception objects."""
    no_auth = http.post(f"{zoho.sandbox.url}/crm/v8/Leads", json={"data": []}, timeout=5)
    check(no_auth, "record.json", RECORDS, "post")
    check(zoho.call("POST", "Nope/Leads/x"), "record.json", RECORDS, "post")


def test_documented_204s_have_no_schema():
    """fields.json documents its 204 without a body."""
    assert response_schema("fields.json", "/crm/v8/settings/fields", "get", 204) is None


def test_the_validator_does_reject_a_wrong_body():
    """The relaxed oneOf still catches a body that fits no alternative."""
    schema = response_schema("record.json", RECORDS, "post", 201)
    with pytest.raises(jsonschema.ValidationError):
        validate({"data": [{"status": "maybe", "code": "SUCCESS"}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        validate(
            {"fields": [{"api_name": "x"}]},
            response_schema("fields.json", "/crm/v8/settings/fields", "get", 200),
        )


def test_request_bodies_can_be_checked_too(zoho: Zoho):
    """request_schema() validates what a client sent, as recorded in the log."""
    zoho.insert(GOOD, trigger=["workflow"])
    sent = zoho.sandbox.requests()[-1]["json"]
    validate(sent, request_schema("record.json", RECORDS, "post"))
    validate(
        {"select_query": "select id from Leads where Email = 'a'"},
        request_schema("coql.json", "/crm/v8/coql", "post"),
    )
    with pytest.raises(jsonschema.ValidationError):
        validate({"data": "not a list"}, request_schema("record.json", RECORDS, "post"))
