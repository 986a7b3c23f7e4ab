"""When Zoho refuses a write as DUPLICATE_DATA: unique fields and the duplicate check preference."""

from __future__ import annotations

import dataclasses
import typing as t

from zoho_sandbox.field_catalog import CONTACTS_MODULE, CONVERTED_FLAG
from zoho_sandbox.items import duplicate_item
from zoho_sandbox.validation import is_empty

# The two kinds of Zoho's duplicate check preference for Leads.
CONVERTED_RECORDS = "converted_records"
MAPPED_MODULE_RECORDS = "mapped_module_records"

Record = dict[str, t.Any]


def fold(value: object) -> object:
    """Compare text as Zoho's duplicate checks do: case-insensitively, otherwise exactly."""
    return value.casefold() if isinstance(value, str) else value


def is_converted(record: Record) -> bool:
    """Whether a lead was converted (its ``Converted__s`` flag is set)."""
    return record.get(CONVERTED_FLAG) is True


@dataclasses.dataclass(frozen=True)
class WriteRules:
    """What a write is checked against besides its own values.

    Attributes:
        unique: Fields the org marks unique (checked among unconverted leads,
            and converted ones too under ``converted_records``).
        preference: The duplicate check preference: None, ``converted_records``
            or ``mapped_module_records`` (Contacts).
        check_fields: The fields the preference compares.
        find_contact: ``(field, value) -> contact id or None``, for
            ``mapped_module_records``.
    """

    unique: list[str]
    preference: str | None = None
    check_fields: tuple[str, ...] = ()
    find_contact: t.Callable[[str, object], str | None] | None = None


def find_duplicate(
    records: list[Record],
    module: dict[str, str],
    values: Record,
    index: int,
    rules: WriteRules,
) -> Record | None:
    """The DUPLICATE_DATA item for a record whose value another record holds.

    Args:
        records: The module's other stored records (on update, not the record itself).
        module: Their module, named in the item.
        values: The record's writable values.
        index: Its position in ``data``.
        rules: The unique fields and the duplicate check preference.

    Returns:
        Zoho's error item, or None when nothing holds the values.
    """
    with_converted = rules.preference == CONVERTED_RECORDS
    for name in rules.unique:
        found = _holder(
            records,
            name,
            values.get(name),
            lambda record: with_converted or not is_converted(record),
        )
        if found:
            return duplicate_item(name, index, found, module)
    for name in rules.check_fields:
        value = values.get(name)
        if rules.preference == CONVERTED_RECORDS:
            found = _holder(records, name, value, is_converted)
            if found:
                return duplicate_item(name, index, found, module)
        elif rules.preference == MAPPED_MODULE_RECORDS and rules.find_contact:
            contact_id = None if is_empty(value) else rules.find_contact(name, value)
            if contact_id:
                return duplicate_item(name, index, contact_id, CONTACTS_MODULE)
    return None


def _holder(
    records: list[Record],
    name: str,
    value: object,
    eligible: t.Callable[[Record], bool],
) -> str | None:
    """The id of an eligible record holding ``value`` in ``name``."""
    if is_empty(value):
        return None
    for record in records:
        if eligible(record) and fold(record.get(name)) == fold(value):
            return str(record["id"])
    return None
