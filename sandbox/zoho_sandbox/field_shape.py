"""Zoho's full ``settings/fields`` field object, built from a short spec."""

from __future__ import annotations

import typing as t

LAYOUT_ID = "5725767000000091055"
PROFILE_ID = "5725767000000026011"
CAMPAIGNS_MODULE_ID = "5725767000000002183"
JSON_TYPES = {
    "text": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "website": "string",
    "picklist": "string",
    "date": "string",
    "datetime": "string",
    "multiselectpicklist": "jsonarray",
    "fileupload": "jsonarray",
    "integer": "integer",
    "bigint": "string",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "boolean": "boolean",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
}

_NULL_MODULE: dict[str, t.Any] = {"api_name": None, "id": None}


def _pick_list(values: list[str], field_index: int) -> list[dict[str, t.Any]]:
    """Picklist entries as Zoho lists them, led by its ``-None-`` placeholder."""
    return [
        {
            "display_value": value,
            "actual_value": value,
            "reference_value": value,
            "id": f"5725767{field_index:06d}{number:06d}",
            "colour_code": None,
            "type": "used",
            "sequence_number": number,
        }
        for number, value in enumerate(["-None-", *values], start=1)
    ]


def _lookup(api_name: str, data_type: str) -> dict[str, t.Any] | None:
    """The ``lookup`` block: Campaigns for a lookup, users for an owner lookup."""
    module: dict[str, str | None]
    if data_type == "lookup":
        module = {"api_name": "Campaigns", "id": CAMPAIGNS_MODULE_ID}
    elif data_type == "ownerlookup":
        module = {"api_name": "users", "id": None}
    else:
        return None
    return {
        "display_label": api_name.replace("_", " "),
        "api_name": api_name,
        "query_details": {"query_id": None},
        "module": module,
        "id": None,
        "revalidate_filter_during_edit": False,
        "show_fields": [],
    }


def build_field(spec: dict[str, t.Any], index: int = 0) -> dict[str, t.Any]:
    """Complete a partial field description into Zoho's full field object.

    Zoho's OpenAPI file marks some seventy keys of a field as required, so the
    sandbox fills every one of them; the caller only needs ``api_name`` and
    ``data_type``.

    Args:
        spec: At least ``api_name`` and ``data_type``; any other key overrides.
        index: Position in the module, used to derive stable ids.

    Returns:
        The field object as ``GET /settings/fields`` answers it.
    """
    api_name, data_type = spec["api_name"], spec["data_type"]
    read_only = bool(spec.get("read_only", False))
    writable = not read_only
    label = spec.get("field_label", api_name.replace("_", " "))
    field: dict[str, t.Any] = {
        "api_name": api_name,
        "field_label": label,
        "display_label": label,
        "data_type": data_type,
        "json_type": JSON_TYPES.get(data_type, "string"),
        "length": 255,
        "system_mandatory": False,
        "read_only": read_only,
        "field_read_only": read_only,
        "custom_field": False,
        "visible": True,
        "id": f"5725767{index + 2591:012d}",
        "column_name": api_name.upper(),
        "type": "used",
        "created_source": "default",
        "sequence_number": index + 1,
        "quick_sequence_number": str(index + 1),
        "display_type": -1,
        "ui_type": 1,
        "show_type": 7,
        "category": 0,
        "decimal_place": None,
        "operation_type": {
            "web_update": writable,
            "api_create": writable,
            "web_create": writable,
            "api_update": writable,
        },
        "view_type": {
            "view": True,
            "edit": writable,
            "quick_create": writable,
            "create": writable,
        },
        "webhook": True,
        "blueprint_supported": False,
        "virtual_field": False,
        "customizable_properties": [],
        "businesscard_supported": True,
        "filterable": True,
        "available_in_user_layout": True,
        "display_field": api_name == "Full_Name",
        "pick_list_values_sorted_lexically": False,
        "sortable": True,
        "layout_associations": [{"api_name": "Standard__s", "name": "Standard", "id": LAYOUT_ID}],
        "separator": False,
        "searchable": True,
        "enable_colour_code": False,
        "mass_update": writable,
        "colour_code_enabled_by_system": False,
        "email_parser": {
            "fields_update_supported": None,
            "record_operations_supported": None,
        },
        "rollup_summary": None,
        "refer_from_field": {"id": None, "api_name": None},
        "created_time": None,
        "modified_time": None,
        "multi_module_lookup": None,
        "sharing_properties": {},
        "currency": None,
        "file_upolad_optionlist": [],
        "lookup": _lookup(api_name, data_type),
        "profiles": [
            {
                "name": "Administrator",
                "id": PROFILE_ID,
                "permission_type": "read_only" if read_only else "read_write",
            }
        ],
        "unique": None,
        "associated_module": dict(_NULL_MODULE),
        "sub_module": dict(_NULL_MODULE),
        "subform": None,
        "external": {"show": None, "type": None},
        "formula": None,
        "private": {"restricted": None, "type": None, "export": None},
        "convert_mapping": {"Contacts": None, "Deals": None, "Accounts": None},
        "multiselectlookup": None,
        "multiuserlookup": {
            "display_label": None,
            "linking_module": dict(_NULL_MODULE),
            "connected_module": dict(_NULL_MODULE),
            "lookup_apiname": None,
            "api_name": None,
            "connectedfield_apiname": None,
            "connectedlookup_apiname": None,
            "id": None,
            "record_access": None,
        },
        "autonumber": {
            "starting_number_length": 0,
            "prefix": None,
            "suffix": None,
            "start_number": None,
        },
        "auto_number": None,
        "pick_list_values": [],
        "crypt": {"mode": None, "status": None},
        "tooltip": {"name": "", "value": ""},
        "history_tracking": {
            "module": {},
            "duration_configured_field": dict(_NULL_MODULE),
        },
        "association_details": {
            "related_field": dict(_NULL_MODULE),
            "lookup_field": dict(_NULL_MODULE),
        },
        "allowed_modules": [],
        "additional_column": None,
        "common.picklist": None,
        "hipaa_compliance_enabled": False,
        "hipaa_compliance": {"restricted_in_export": None, "restricted": None},
        "_update_existing_records": False,
        "number_separator": False,
        "textarea": {"type": "large"} if data_type == "textarea" else {},
        "static_field": False,
    }
    if data_type == "currency":
        field["currency"] = {"rounding_option": "normal", "precision": 2}
    field.update({k: v for k, v in spec.items() if k != "values"})
    if "values" in spec:
        field["pick_list_values"] = _pick_list(list(spec["values"]), index)
    return field
