"""Zoho's answer items: the success and error objects a write answers per record."""

from __future__ import annotations

import typing as t

from zoho_sandbox.field_catalog import LEADS_MODULE

SANDBOX_USER = {
    "name": "Sandbox User",
    "id": "5725767000000411001",
    "email": "sandbox.user@example.com",
}
MINIFIED_USER = {"name": SANDBOX_USER["name"], "id": SANDBOX_USER["id"]}
SUCCESS_DETAILS = ("Modified_Time", "Modified_By", "Created_Time", "id", "Created_By")


def error_item(
    code: str, message: str, details: dict[str, t.Any] | None = None
) -> dict[str, t.Any]:
    """Build one Zoho error object.

    Args:
        code: Zoho's code, e.g. ``INVALID_DATA``.
        message: Zoho's message for it.
        details: Zoho's details object (empty when None).

    Returns:
        ``{"code", "details", "message", "status": "error"}``.
    """
    return {
        "code": code,
        "details": details or {},
        "message": message,
        "status": "error",
    }


def success_item(lead: dict[str, t.Any], message: str) -> dict[str, t.Any]:
    """Zoho's SUCCESS item for a written lead ("record added"/"record updated")."""
    return {
        "code": "SUCCESS",
        "details": {key: lead[key] for key in SUCCESS_DETAILS},
        "message": message,
        "status": "success",
    }


def mandatory_item(name: str, index: int) -> dict[str, t.Any]:
    """MANDATORY_NOT_FOUND for field ``name`` of record ``index``."""
    return error_item(
        "MANDATORY_NOT_FOUND",
        "required field not found",
        {"api_name": name, "json_path": f"$.data[{index}].{name}"},
    )


def unknown_id_item(lead_id: str, index: int) -> dict[str, t.Any]:
    """INVALID_DATA for an update naming a lead that does not exist."""
    return error_item(
        "INVALID_DATA",
        "the id given seems to be invalid",
        {"id": lead_id, "api_name": "id", "json_path": f"$.data[{index}].id"},
    )


def duplicate_item(
    name: str, index: int, existing_id: str, module: dict[str, str] | None = None
) -> dict[str, t.Any]:
    """DUPLICATE_DATA: field ``name`` of record ``index`` is taken by another record.

    Args:
        name: The clashing field's api name.
        index: The record's position in ``data``.
        existing_id: The id of the record that holds the value.
        module: That record's module (default Leads), e.g. Contacts under the
            duplicate check preference.

    Returns:
        Zoho's error item, naming the existing record and its module.
    """
    return error_item(
        "DUPLICATE_DATA",
        "duplicate data",
        {
            "api_name": name,
            "json_path": f"$.data[{index}].{name}",
            "duplicate_record": {
                "id": existing_id,
                "module": dict(module or LEADS_MODULE),
                "Owner": dict(MINIFIED_USER),
            },
        },
    )


def converted_item(lead_id: str) -> dict[str, t.Any]:
    """CONVERTED_RECORD: an update of a lead that was converted."""
    return error_item("CONVERTED_RECORD", "can't update the converted record", {"id": lead_id})


def not_an_object_item(index: int) -> dict[str, t.Any]:
    """INVALID_DATA for a ``data`` entry that is not a JSON object."""
    return error_item(
        "INVALID_DATA",
        "invalid data",
        {
            "expected_data_type": "jsonobject",
            "api_name": "data",
            "json_path": f"$.data[{index}]",
        },
    )
