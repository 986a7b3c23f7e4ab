"""What became of one record: the outcome every part of a run reports in."""

from __future__ import annotations

import typing as t

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
REJECTED = "rejected"


class Outcome(t.NamedTuple):
    """What became of one record (a tuple: one is made per record written)."""

    kind: str
    lead_id: str | None = None
    code: str = ""
    message: str = ""
    field: str | None = None
