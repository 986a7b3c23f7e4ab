"""What a Unique Lead run knows of the CRM: who holds each identity, and lead tracking ids.

Filled by lookups and by the run's own writes, and nothing else: an identity
a record adds to an existing lead is not remembered, because the CRM does not
hold it and the next run could not know it (see :mod:`target_zoho_leads.unique.dedupe`).
"""

from __future__ import annotations

import typing as t

from target_zoho_leads.unique.dedupe import Blocked
from target_zoho_leads.unique.found import LEADS
from target_zoho_leads.unique.identities import Identities
from target_zoho_leads.zoho.outcomes import EXISTS_AS_CONTACT, EXISTS_AS_CONVERTED_LEAD

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from target_zoho_leads.unique.found import Found
    from target_zoho_leads.unique.identities import Key


class KnownLeads:
    """The run's memory of the CRM (a :class:`~target_zoho_leads.unique.dedupe.LeadMemory`)."""

    def __init__(self, identities: Identities | None = None) -> None:
        """Start knowing nothing.

        Args:
            identities: How the run's match fields compare, to tell which
                identity a field Zoho names holds; the default ones when None.
        """
        self.identities = identities or Identities()
        self._lead_of: dict[Key, str] = {}
        self._blocked: dict[Key, Blocked] = {}
        self._tracking: dict[str, tuple[t.Any, int]] = {}
        self._asked: set[Key] = set()
        self._converted: set[str] = set()
        self._values: dict[str, dict[str, t.Any]] = {}

    def lead_of(self, key: Key) -> str | None:
        """The lead to update holding an identity."""
        return self._lead_of.get(key)

    def blocked(self, key: Key) -> Blocked | None:
        """The Contact or converted lead holding an identity."""
        return self._blocked.get(key)

    def tracking_of(self, lead_id: str) -> tuple[t.Any, int]:
        """A lead's tracking id and the input position it came from (-1: the CRM's)."""
        return self._tracking.get(lead_id, (None, -1))

    def values_of(self, lead_id: str) -> dict[str, t.Any]:
        """A lead's mapped fields as a lookup read them and the run's writes left them."""
        return self._values.get(lead_id, {})

    def write_values(self, lead_id: str, values: Mapping[str, t.Any]) -> None:
        """The run wrote these fields on the lead (created it with them, or updated them)."""
        self._values.setdefault(lead_id, {}).update(values)

    def is_converted(self, lead_id: str) -> bool:
        """Whether the lead is known to be converted."""
        return lead_id in self._converted

    def unknown(self, key: Key) -> bool:
        """Whether no lookup has asked for the identity and no write has made it known."""
        return key not in self._asked and key not in self._lead_of and key not in self._blocked

    def learn(self, found: Iterable[Found], asked: Iterable[Key]) -> None:
        """Take in a lookup's answer to the identities ``asked``.

        Every holder of an asked identity came back: the oldest lead wins when
        the CRM already holds duplicates of a person, whichever batch asked.
        """
        asked = set(asked)
        self._asked |= asked
        for record in sorted(found, key=lambda f: (len(f.record_id), f.record_id)):
            keys = [key for key in record.keys if key in asked]
            if record.module == LEADS and not record.converted:
                for key in keys:
                    self._lead_of.setdefault(key, record.record_id)
                self._tracking.setdefault(record.record_id, (record.tracking, -1))
                self._values.setdefault(record.record_id, dict(record.values))
                continue
            if record.module == LEADS:
                self._converted.add(record.record_id)
            code = EXISTS_AS_CONVERTED_LEAD if record.module == LEADS else EXISTS_AS_CONTACT
            for key in keys:
                self.block(key, Blocked(code, record.record_id))

    def compares(self, key: Key, field: str | None) -> bool:
        """Whether a duplicate check that compared ``field`` compared identity ``key``."""
        return self.identities.compares(key, field)

    def block(self, key: Key, blocked: Blocked) -> None:
        """Remember that only a Contact or a converted lead holds ``key``; a Contact first."""
        held = self._blocked.get(key)
        if held is None or (blocked.code == EXISTS_AS_CONTACT and held.code != blocked.code):
            self._blocked[key] = blocked

    def hold(self, keys: Iterable[Key], lead_id: str) -> None:
        """The lead holds these identities (it was created, or Zoho named it)."""
        for key in keys:
            self._lead_of.setdefault(key, lead_id)

    def track(self, lead_id: str, value: t.Any, seq: int) -> None:
        """The lead's tracking id is now ``value``, from input position ``seq``."""
        self._tracking[lead_id] = (value, seq)

    def converted(self, lead_id: str) -> None:
        """Zoho says the lead was converted: its identities are blocked from now on."""
        self._converted.add(lead_id)
        for key, holder in list(self._lead_of.items()):
            if holder == lead_id:
                del self._lead_of[key]
                self.block(key, Blocked(EXISTS_AS_CONVERTED_LEAD, lead_id))
