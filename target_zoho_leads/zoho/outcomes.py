"""What became of one record: the outcome every part of a run reports in."""

from __future__ import annotations

import enum
import typing as t


class OutcomeKind(str, enum.Enum):
    """What a record became; its value is the word the summary and files use."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"
    # Not written, for a reason that is no error: counted apart from rejections,
    # and kept in the rejected-records file with its code.
    SKIPPED = "skipped"

    def __str__(self) -> str:
        """The word itself (``created``), not the member's name."""
        return self.value


# The kinds by their old names, for the modules that import them so.
CREATED = OutcomeKind.CREATED
UPDATED = OutcomeKind.UPDATED
UNCHANGED = OutcomeKind.UNCHANGED
REJECTED = OutcomeKind.REJECTED
SKIPPED = OutcomeKind.SKIPPED

# Unique Lead's reasons to skip: the person is a Contact, or their lead was converted.
EXISTS_AS_CONTACT = "EXISTS_AS_CONTACT"
EXISTS_AS_CONVERTED_LEAD = "EXISTS_AS_CONVERTED_LEAD"
# A record whose identities found two leads, held by on_ambiguous: hold.
AMBIGUOUS_MATCH = "AMBIGUOUS_MATCH"


class Outcome(t.NamedTuple):
    """What became of one record (a tuple: one is made per record written)."""

    kind: OutcomeKind
    lead_id: str | None = None
    code: str = ""
    message: str = ""
    field: str | None = None
    # Unique Lead: the leads a record matched when its identities found two
    # (on_ambiguous); None for every other record.
    lead_ids: tuple[str, ...] | None = None
    # Unique Lead: the fields an update wrote besides the tracking id
    # (existing_lead_fields), names only; None for every other record.
    fields: tuple[str, ...] | None = None
    # Unique Lead: the record's match field whose value found its lead (a
    # lead of the CRM, or one this run created); None when nothing matched.
    matched_by: str | None = None
