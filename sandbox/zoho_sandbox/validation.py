"""Per-value checks of a Leads write, answering with Zoho's per-record error items."""

from __future__ import annotations

import datetime as dt
import re
import typing as t

from zoho_sandbox.items import error_item, mandatory_item

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^[0-9+\-(). ]*[0-9][0-9+\-(). ]*$")
WEBSITE_RE = re.compile(r"^(https?://)?[^\s/.]+(\.[^\s/.]+)+(/\S*)?$", re.IGNORECASE)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
DIGITS_RE = re.compile(r"^-?\d+$")
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

# Zoho's names for the type it expected, as its INVALID_DATA details give them.
EXPECTED_TYPE = {
    "text": "text",
    "textarea": "textarea",
    "email": "email",
    "phone": "phone",
    "website": "website",
    "picklist": "picklist",
    "multiselectpicklist": "multiselectpicklist",
    "integer": "integer",
    "bigint": "bigint",
    "double": "double",
    "currency": "currency",
    "percent": "percent",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "fileupload": "jsonarray",
}


def _is_number(value: object) -> bool:
    """Tell a JSON number from a bool, which Python counts as an int."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text_ok(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) <= length


def _integer_ok(value: object) -> bool:
    if isinstance(value, str) and DIGITS_RE.match(value.strip()):
        value = int(value.strip())
    return (
        isinstance(value, int) and not isinstance(value, bool) and (INT32[0] <= value <= INT32[1])
    )


def _bigint_ok(value: object) -> bool:
    if isinstance(value, str) and DIGITS_RE.match(value):
        value = int(value)
    return (
        isinstance(value, int) and not isinstance(value, bool) and (INT64[0] <= value <= INT64[1])
    )


def _date_ok(value: object) -> bool:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _datetime_ok(value: object) -> bool:
    if not isinstance(value, str) or not DATETIME_RE.match(value):
        return False
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _lookup_ok(value: object) -> bool:
    return isinstance(value, dict) and bool(DIGITS_RE.match(str(value.get("id", ""))))


def _file_ok(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("file_id"), str) for item in value
    )


def value_ok(data_type: str, value: object, length: int) -> bool:
    """Tell whether Zoho would take ``value`` for a field of ``data_type``.

    Args:
        data_type: The field's Zoho data type.
        value: The JSON value sent (never None: null always clears a field).
        length: The field's maximum length, for text-like types.

    Returns:
        True when the value has the right shape and size.
    """
    checks: dict[str, t.Callable[[], bool]] = {
        "text": lambda: _text_ok(value, length),
        "textarea": lambda: _text_ok(value, length),
        "picklist": lambda: isinstance(value, str),
        "email": lambda: _text_ok(value, length) and bool(EMAIL_RE.match(str(value))),
        "phone": lambda: _text_ok(value, length) and bool(PHONE_RE.match(str(value))),
        "website": lambda: _text_ok(value, length) and bool(WEBSITE_RE.match(str(value))),
        "multiselectpicklist": lambda: (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ),
        "integer": lambda: _integer_ok(value),
        "bigint": lambda: _bigint_ok(value),
        "double": lambda: _is_number(value),
        "currency": lambda: _is_number(value),
        "percent": lambda: _is_number(value),
        "boolean": lambda: isinstance(value, bool),
        "date": lambda: _date_ok(value),
        "datetime": lambda: _datetime_ok(value),
        "lookup": lambda: _lookup_ok(value),
        "ownerlookup": lambda: _lookup_ok(value),
        "fileupload": lambda: _file_ok(value),
    }
    # A type the sandbox does not model is taken as Zoho would take a string.
    return checks.get(data_type, lambda: isinstance(value, str))()


def is_empty(value: object) -> bool:
    """Zoho's idea of "no value": null, a blank string or an empty list."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def check_record(
    record: dict[str, t.Any],
    index: int,
    fields: dict[str, dict[str, t.Any]],
    *,
    creating: bool,
) -> dict[str, t.Any] | None:
    """Check one record of a write the way Zoho does, first error wins.

    Fields the module lacks and read-only fields are not checked: Zoho drops
    them silently, and so does the caller.

    Args:
        record: The record as sent.
        index: Its position in ``data``, for the ``json_path``.
        fields: The module's fields by api name.
        creating: True on insert, where mandatory fields must be present.

    Returns:
        A Zoho error item, or None when the record is fine.
    """
    for name, value in record.items():
        field = fields.get(name)
        if field is None or field.get("read_only") or value is None:
            continue
        if field.get("system_mandatory") and is_empty(value):
            continue  # reported below as MANDATORY_NOT_FOUND, as Zoho does
        data_type = field.get("data_type", "text")
        length = int(field.get("length") or 255)
        if not value_ok(data_type, value, length):
            details: dict[str, t.Any] = {
                "expected_data_type": EXPECTED_TYPE.get(data_type, data_type),
                "api_name": name,
                "json_path": f"$.data[{index}].{name}",
            }
            if isinstance(value, str) and len(value) > length:
                details["maximum_length"] = str(length)
            return error_item("INVALID_DATA", "invalid data", details)
    for name, field in fields.items():
        if not field.get("system_mandatory") or field.get("read_only"):
            continue
        if (creating or name in record) and is_empty(record.get(name)):
            return mandatory_item(name, index)
    return None
