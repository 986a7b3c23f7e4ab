"""What a Bulk Write gave back: per record an outcome or "unknown", and why it is unknown."""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    import datetime as dt

    from target_zoho_leads.zoho.bulk.errors import BulkWriteError
    from target_zoho_leads.zoho.outcomes import Outcome


@dataclasses.dataclass
class BulkAnswer:
    """One write's jobs, read as far as Zoho let them be read.

    Attributes:
        outcomes: One per record, in order; None where unknown: its job's
            answer or result was lost, unreadable or FAILED (its records may
            be written), or it was never sent (see ``sent``).
        running: Indexes of unknown records whose job may still be running
            (its creation answer was lost, or its status could not be read):
            they may appear in Zoho later.
        problems: Why records are unknown, one error per job, in order.
        error: A failure that stopped the write: the records from ``sent`` on
            were never sent; None when every job was sent.
        sent: Records (from the first) whose job was created or may have been.
        since: The org's clock (:class:`~target_zoho_leads.zoho.org_clock.OrgClock`)
            before the first job was created: a lead a job made was created
            at or after it. None when Zoho's answers gave no Date.
    """

    outcomes: list[Outcome | None]
    running: set[int] = dataclasses.field(default_factory=set)
    problems: list[BulkWriteError] = dataclasses.field(default_factory=list)
    error: BulkWriteError | None = None
    sent: int = 0
    since: dt.datetime | None = None

    def unknown(self, span: range, problem: BulkWriteError, *, running: bool) -> None:
        """The records of ``span`` have no known outcome, for ``problem``."""
        self.problems.append(problem)
        if running:
            self.running.update(span)

    def lookable(self) -> list[int]:
        """The indexes of the records sent whose outcome is unknown: to look up."""
        return [i for i in range(self.sent) if self.outcomes[i] is None]
