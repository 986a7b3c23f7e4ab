"""What a record writes on a lead that exists: ``existing_lead_fields`` (issue 23).

Pure, no I/O. ``tracking_id`` writes nothing but the tracking id (the
default); ``fill_empty`` also gives every mapped field the lead has empty
the record's value; ``overwrite`` also replaces the fields of
``overwrite_fields`` (all mapped fields when None) and fills the rest.
An empty source value never clears a field, and a match field is only ever
filled: replacing an email or phone would change who the lead is.
"""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from target_zoho_leads.unique.identities import Identities, Key

TRACKING_ID = "tracking_id"
FILL_EMPTY = "fill_empty"
OVERWRITE = "overwrite"
EXISTING_LEAD_FIELDS = (TRACKING_ID, FILL_EMPTY, OVERWRITE)
DEFAULT_EXISTING_LEAD_FIELDS = TRACKING_ID


def is_empty(value: t.Any) -> bool:
    """Whether a value is nothing: None, blank text, an empty list."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, (list, tuple, dict)) and not value


def same(current: t.Any, value: t.Any) -> bool:
    """Whether Zoho's value and the record's are one value (Zoho may answer text)."""
    return bool(current == value) or str(current) == str(value)


@dataclasses.dataclass(frozen=True)
class FieldRule:
    """Which of a record's fields a lead that exists takes."""

    mode: str
    mapped: frozenset[str]  # the Zoho fields field_mapping fills, the tracking field excepted
    identities: Identities
    overwrite: frozenset[str] | None = None  # None: every mapped field

    @property
    def writes_fields(self) -> bool:
        """Whether anything but the tracking id may be written."""
        return self.mode != TRACKING_ID and bool(self.mapped)

    def changes(
        self, current: Mapping[str, t.Any], record: Mapping[str, t.Any]
    ) -> dict[str, t.Any]:
        """The fields ``record`` writes on a lead holding ``current``; only real changes."""
        if not self.writes_fields:
            return {}
        out: dict[str, t.Any] = {}
        for field in self.mapped:
            value = record.get(field)
            if is_empty(value):
                continue  # an empty source value never clears a field
            held = current.get(field)
            if is_empty(held) or (self._replaces(field) and not same(held, value)):
                out[field] = value
        return out

    def _replaces(self, field: str) -> bool:
        """Whether a held value of ``field`` is replaced (never a match field's)."""
        if self.mode != OVERWRITE or field in self.identities.match_fields:
            return False
        return self.overwrite is None or field in self.overwrite

    def keys(self, changes: Mapping[str, t.Any]) -> list[Key]:
        """The identities a write of ``changes`` gives its lead (match fields filled)."""
        return self.identities.keys(changes)


def tracking_only(identities: Identities) -> FieldRule:
    """Today's rule: a lead that exists gets its tracking id only."""
    return FieldRule(TRACKING_ID, frozenset(), identities)
