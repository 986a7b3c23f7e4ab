"""What the target sends has the shapes of Zoho's official OpenAPI v8 files."""

from __future__ import annotations

import jsonschema
import pytest

from tests.conftest import sandbox_token, singer_lines
from tests.sandbox.oas import request_schema, response_schema, validate

RECORDS = "/crm/v8/{module_api_name}"
MAPPING = {
    "Last_Name": "name",
    "Email": "email",
    "Phone": "phone",
    "CDP_ID": "id",
    "Interests": "interests",
    "Visit_Time": "at",
    "No_of_Employees": "staff",
}
EVENTS = [
    {
        "name": "New",
        "email": "new@example.com",
        "phone": "+1 555 0100",
        "id": "t1",
        "interests": "CRM;Demo",
        "at": "2026-11-28T10:00:00Z",
        "staff": "1,200",
    },
    {"name": "Known", "email": "KNOWN@example.com", "id": "t2"},
    {"name": "Bad", "email": "bad@example.com", "id": "t3", "phone": "1" * 40},
]


def test_every_request_body_the_target_sends_conforms(sandbox, config, run_target):
    """Insert, update, COQL and field-metadata calls, as sent, validate against the OAS."""
    sandbox.seed([{"Last_Name": "Known", "Email": "known@example.com", "CDP_ID": "old"}])
    config.update(
        field_mapping=MAPPING,
        default_values="Lead_Source=CDP",
        unique_lead=True,
        trigger=["workflow"],
        invalid_value_policy="drop_field",
    )
    run = run_target(config, singer_lines("web", EVENTS))
    assert run.returncode == 0, run.stderr
    sent = [r for r in sandbox.requests() if r["path"].startswith("/crm")]
    kinds = {(r["method"], r["path"]) for r in sent}
    assert kinds == {
        ("GET", "/crm/v8/settings/fields"),
        ("POST", "/crm/v8/coql"),
        ("POST", "/crm/v8/Leads"),
        ("PUT", "/crm/v8/Leads"),
    }
    for request in sent:
        if request["method"] == "POST" and request["path"] == "/crm/v8/Leads":
            validate(request["json"], request_schema("record.json", RECORDS, "post"))
        elif request["method"] == "PUT":
            validate(request["json"], request_schema("record.json", RECORDS, "put"))
            assert request["json"]["data"][0].keys() == {"id", "CDP_ID"}
        elif request["path"].endswith("/coql"):
            validate(request["json"], request_schema("coql.json", "/crm/v8/coql", "post"))
    assert len(list(sandbox.leads())) == 3


def test_a_body_that_is_not_zohos_shape_is_caught_by_the_check():
    """The check can fail: a payload shaped wrongly is refused."""
    with pytest.raises(jsonschema.ValidationError):
        validate({"data": {"Last_Name": "x"}}, request_schema("record.json", RECORDS, "post"))


def test_the_sandbox_answers_the_target_reads_conform(sandbox):
    """The insert answer the target parses is Zoho's documented shape."""
    import requests  # noqa: PLC0415

    with requests.Session() as session:
        token = sandbox_token(sandbox, session)
        answer = session.post(
            f"{sandbox.url}/crm/v8/Leads",
            json={"data": [{"Last_Name": "A"}, {"Email": "x@y.z"}]},
            headers={"Authorization": f"Zoho-oauthtoken {token}"},
        )
    assert answer.status_code == 207
    validate(answer.json(), response_schema("record.json", RECORDS, "post", 207))
