"""Reading Zoho's answer items: what became of each record written."""

from __future__ import annotations

import typing as t

from target_zoho_leads.unique.found import LEADS
from target_zoho_leads.zoho.outcomes import (
    AMBIGUOUS_MATCH,
    EXISTS_AS_CONTACT,
    REJECTED,
    SKIPPED,
    Outcome,
)
from target_zoho_leads.zoho.write_items import ItemDetails

if t.TYPE_CHECKING:
    from target_zoho_leads.unique.dedupe import Blocked
    from target_zoho_leads.zoho.outcomes import OutcomeKind
    from target_zoho_leads.zoho.write_items import WriteItem

_NO_DETAILS = ItemDetails()


def outcome_of(item: WriteItem, success: OutcomeKind) -> Outcome:
    """Read one item of an insert or update answer.

    Args:
        item: ``{"code", "details", "message", "status"}`` as Zoho answers.
        success: The outcome kind a successful item means.
    """
    details = item.details or _NO_DETAILS
    if item.status == "success":
        lead_id = details.id
        return Outcome(success, lead_id=str(lead_id) if lead_id else None)
    field = details.api_name
    if not field and isinstance(details.json_path, str):
        field = details.json_path.rsplit(".", 1)[-1]
    return Outcome(
        REJECTED,
        code=str(item.code or "UNKNOWN"),
        message=str(item.message or ""),
        field=str(field) if field else None,
    )


def skipped(blocked: Blocked) -> Outcome:
    """The outcome of a record that is a Contact's or a converted lead's."""
    if blocked.code == EXISTS_AS_CONTACT:
        message = f"Contact {blocked.record_id} holds this email or phone: not written as a lead"
    else:
        message = f"lead {blocked.record_id} holding this email or phone was converted: not updated"
    return Outcome(SKIPPED, blocked.record_id, blocked.code, message)


def duplicate_of(item: WriteItem) -> tuple[str, str] | None:
    """The module and id of the record a DUPLICATE_DATA answer item names, if given."""
    if item.code != "DUPLICATE_DATA" or item.details is None:
        return None
    duplicate = item.details.duplicate_record
    if not isinstance(duplicate, dict) or not duplicate.get("id"):
        return None
    module = duplicate.get("module")
    name = module.get("api_name") if isinstance(module, dict) else None
    return str(name or LEADS), str(duplicate["id"])


def held(lead_ids: t.Sequence[str]) -> Outcome:
    """The outcome of a record held because its identities found two leads (ids only)."""
    named = " and ".join(lead_ids) if lead_ids else "a lead this run could not create"
    message = f"matches leads {named}: not written (on_ambiguous: hold)"
    first = lead_ids[0] if lead_ids else None
    return Outcome(SKIPPED, first, AMBIGUOUS_MATCH, message, lead_ids=tuple(lead_ids))
