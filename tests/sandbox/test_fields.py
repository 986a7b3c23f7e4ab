"""Field metadata: the Leads layout the sandbox serves, and overriding it."""

from __future__ import annotations

from zoho_sandbox import ZohoSandbox

from .conftest import Zoho


def fields_by_name(zoho: Zoho) -> dict[str, dict]:
    """GET /settings/fields?module=Leads as a dict by api name."""
    answer = zoho.call("GET", "settings/fields", params={"module": "Leads"})
    assert answer.status_code == 200
    return {field["api_name"]: field for field in answer.json()["fields"]}


def test_the_leads_fields_describe_a_realistic_org(zoho: Zoho):
    """Standard fields, the CDP's custom fields, and their types and flags."""
    fields = fields_by_name(zoho)
    assert fields["Last_Name"]["system_mandatory"] is True
    assert fields["Last_Name"]["length"] == 80
    assert fields["First_Name"]["length"] == 40
    assert fields["Phone"]["data_type"] == "phone"
    assert fields["Email"]["json_type"] == "string"
    assert fields["Interests"]["json_type"] == "jsonarray"
    assert fields["Created_Time"]["read_only"] is True
    assert fields["Full_Name"]["read_only"] is True
    assert fields["CDP_ID"]["custom_field"] is True
    assert fields["CDP_ID"]["length"] == 255
    assert fields["Campaign_Source"]["lookup"]["module"]["api_name"] == "Campaigns"
    assert fields["Attachment_File"]["data_type"] == "fileupload"
    sources = [v["actual_value"] for v in fields["Lead_Source"]["pick_list_values"]]
    assert {"CDP", "Web Research", "Chat"} <= set(sources)
    first = fields["Lead_Source"]["pick_list_values"][1]
    assert set(first) >= {"display_value", "actual_value", "id"}
    assert all(field["id"].isdigit() and len(field["id"]) == 19 for field in fields.values())


def test_unique_fields_are_marked_unique_in_the_metadata(zoho: Zoho):
    """The unique_fields knob shows in the field's ``unique`` block."""
    zoho.sandbox.configure(unique_fields=["Email"])
    fields = fields_by_name(zoho)
    assert fields["Email"]["unique"] == {"casesensitive": "false"}
    assert fields["Phone"]["unique"] is None


def test_a_module_the_sandbox_does_not_serve_is_invalid_module(zoho: Zoho):
    """Only Leads and Contacts have metadata."""
    answer = zoho.call("GET", "settings/fields", params={"module": "Deals"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_MODULE"


def test_the_module_parameter_is_required(zoho: Zoho):
    """Without ``module`` the call is REQUIRED_PARAM_MISSING."""
    answer = zoho.call("GET", "settings/fields")
    assert answer.status_code == 400
    assert answer.json()["details"] == {"param_name": "module"}


def test_a_custom_field_list_replaces_metadata_and_validation(http):
    """``fields=`` changes what the endpoint lists and what writes accept."""
    fields = [
        {
            "api_name": "Last_Name",
            "data_type": "text",
            "length": 5,
            "system_mandatory": True,
        },
        {"api_name": "Score", "data_type": "integer"},
    ]
    with ZohoSandbox(fields=fields) as sb:
        zoho = Zoho(sb, http)
        assert list(fields_by_name(zoho)) == ["Last_Name", "Score"]
        answer = zoho.insert(
            {"Last_Name": "Toolong"},
            {"Last_Name": "Ok", "Score": 3, "Email": "dropped@example.com"},
        )
        assert answer.status_code == 207
        assert answer.json()["data"][0]["details"]["maximum_length"] == "5"
        assert "Email" not in sb.leads()[0]
