"""What a lookup finds: a lead or Contact holding some of the identities asked for."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from target_zoho_leads.unique.identities import Key

# Zoho's module API names, as the lookups ask them and the ledger reads them.
LEADS = "Leads"
CONTACTS = "Contacts"


class Found(t.NamedTuple):
    """A record holding some of the identities asked for."""

    module: str  # Leads or Contacts
    record_id: str
    keys: list[Key]  # the identities asked for that it holds
    tracking: t.Any  # a lead's tracking id
    converted: bool  # a lead converted to a Contact: not a lead to update
    values: Mapping[str, t.Any] = {}  # a lead's mapped fields, as the lookup read them
