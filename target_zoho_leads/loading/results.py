"""What a write is given (its route) and what it gives back (a result), as plain values.

The loader decides where a batch goes before it calls the writer: a
:class:`Route` holds the client for the records API and, if the run may use
it, the Bulk Write route. The writer answers with a :class:`WriteResult`;
nothing is told back to the loader on the way, and no exception is rewritten
on the way up.
"""

from __future__ import annotations

import dataclasses
import typing as t

from target_zoho_leads.zoho.errors import ZohoAPIError

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from target_zoho_leads.zoho.bulk.answer import BulkAnswer
    from target_zoho_leads.zoho.client import ZohoCRMClient
    from target_zoho_leads.zoho.outcomes import Outcome


class BulkRoute(t.Protocol):
    """Writes leads by Bulk Write jobs: an outcome or None each (``bulk.jobs.BulkWriter``)."""

    def insert_rows(self, payloads: Sequence[Mapping[str, t.Any]]) -> BulkAnswer:
        """Create a lead from each payload."""
        ...

    def update_rows(self, rows: Sequence[Mapping[str, t.Any]]) -> BulkAnswer:
        """Update the lead each row's ``id`` names."""
        ...


@dataclasses.dataclass(frozen=True)
class Jobs:
    """A Bulk Write route whose answers, failures and unknown outcomes included, are values."""

    route: BulkRoute

    def insert(self, payloads: Sequence[Mapping[str, t.Any]]) -> BulkAnswer:
        """Create a lead from each payload."""
        return self.route.insert_rows(payloads)

    def update(self, rows: Sequence[Mapping[str, t.Any]]) -> BulkAnswer:
        """Update the lead each row's ``id`` names."""
        return self.route.update_rows(rows)


@dataclasses.dataclass(frozen=True)
class Route:
    """Where one batch's writes go, decided by the loader before the writer is called.

    Attributes:
        client: The records API, counting its calls in the stream's summary.
        bulk: Bulk Write, when the run may use it for this batch; None: the
            records API only.
        bulk_min: The fewest leads worth a job (``bulk_min_records`` with
            ``write_method`` auto, 1 with bulk).
    """

    client: ZohoCRMClient
    bulk: BulkRoute | None = None
    bulk_min: int = 1

    def jobs_for(self, count: int) -> Jobs | None:
        """Bulk Write for a write of ``count`` leads, or None for calls of 100."""
        if self.bulk is None or count < max(1, self.bulk_min):
            return None
        return Jobs(self.bulk)


@dataclasses.dataclass(frozen=True)
class WriteResult:
    """What became of a batch's leads.

    Attributes:
        outcomes: One per lead, in order; None where it is not known to be
            written (the write stopped before its answer was read).
        error: Why the write stopped, to end the run with; None when every
            lead has its outcome.
        ambiguous: Leads sent whose answer was lost (sent again, or looked
            up), for the summary.
        found: Of those, the ones a lookup then found written (settled).
        sent_again: Of those, the ones sent again (not found, or no lookup).
    """

    outcomes: list[Outcome | None]
    error: ZohoAPIError | None = None
    ambiguous: int = 0
    found: int = 0
    sent_again: int = 0

    def settled(self) -> list[tuple[int, Outcome]]:
        """Each lead whose outcome is known: its index and outcome."""
        return [(i, outcome) for i, outcome in enumerate(self.outcomes) if outcome is not None]

    def unsettled(self) -> list[int]:
        """The indexes of the leads whose outcome is unknown."""
        return [i for i, outcome in enumerate(self.outcomes) if outcome is None]

    def failure(self) -> ZohoAPIError | None:
        """The error to end the run with: the writer's, or a lead left with no outcome."""
        if self.error is not None:
            return self.error
        unknown = len(self.unsettled())
        if unknown:
            msg = f"{unknown} leads were sent but their outcome is unknown"
            return ZohoAPIError(msg, code="UNSETTLED")
        return None
