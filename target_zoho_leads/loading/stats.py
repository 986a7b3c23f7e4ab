"""Counts of what happened to each stream's records, for the run summary."""

from __future__ import annotations

import collections
import dataclasses
import threading
import typing as t

from target_zoho_leads.zoho.outcomes import OutcomeKind

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from target_zoho_leads.zoho.outcomes import Outcome

_REFUSED = frozenset({OutcomeKind.REJECTED, OutcomeKind.SKIPPED})


@dataclasses.dataclass
class StreamStats:
    """What one stream's records became; safe to update from several threads."""

    stream: str
    records_read: int = 0
    kinds: collections.Counter[OutcomeKind] = dataclasses.field(default_factory=collections.Counter)
    # Rejected and skipped records by Zoho's (or the local checks') code, for the report.
    codes: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    # existing_lead_fields: how many updated records wrote each field (names only)
    fields: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    dry_run_written: int = 0
    api_calls: int = 0
    credits: int = 0
    concurrency: int | None = None  # the in-flight limit, once a 429 has lowered it
    ambiguous_writes: int = 0
    unknown_settled_by_lookup: int = 0  # of ambiguous_writes, found written by a lookup
    unknown_sent_again: int = 0  # of ambiguous_writes, sent again (not found, or no lookup)
    matched_two: int = 0  # records whose identities found two leads (on_ambiguous)
    held: int = 0  # of those, the ones held unwritten (on_ambiguous: hold), counted as skipped
    left: int = 0  # records read but not written once max_credits stopped the writes
    _lock: threading.Lock = dataclasses.field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    @property
    def created(self) -> int:
        """Leads created."""
        return self.kinds[OutcomeKind.CREATED]

    @property
    def updated(self) -> int:
        """Leads whose tracking id was written (Unique Lead)."""
        return self.kinds[OutcomeKind.UPDATED]

    @property
    def unchanged(self) -> int:
        """Records of a person whose lead needed no write."""
        return self.kinds[OutcomeKind.UNCHANGED]

    @property
    def rejected(self) -> int:
        """Records refused, by the field checks or by Zoho."""
        return self.kinds[OutcomeKind.REJECTED]

    @property
    def skipped(self) -> int:
        """Contacts' and converted leads' records (Unique Lead): not written."""
        return self.kinds[OutcomeKind.SKIPPED]

    def count_read(self, count: int) -> None:
        """Count records read from the input."""
        with self._lock:
            self.records_read += count

    def count_outcome(self, outcome: Outcome) -> None:
        """Count one record's outcome."""
        self.count_outcomes([outcome])

    def count_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        """Count each record's outcome."""
        with self._lock:
            for outcome in outcomes:
                self.kinds[outcome.kind] += 1
                if outcome.kind in _REFUSED and outcome.code:
                    self.codes[outcome.code] += 1
                if outcome.kind == OutcomeKind.UPDATED and outcome.fields:
                    self.fields.update(outcome.fields)
                if outcome.lead_ids is not None:
                    self.matched_two += 1
                    self.held += outcome.kind == OutcomeKind.SKIPPED

    def count_left(self, count: int) -> None:
        """Count records left unwritten for the next run (``max_credits`` stopped the writes)."""
        with self._lock:
            self.left += count

    def count_dry_run(self, count: int) -> None:
        """Count leads written to the dry-run file."""
        with self._lock:
            self.dry_run_written += count

    def count_ambiguous(self, count: int) -> None:
        """Count leads sent whose answer was lost (sent again, or looked up)."""
        with self._lock:
            self.ambiguous_writes += count

    def count_unknown_fates(self, settled_by_lookup: int, sent_again: int) -> None:
        """Count what became of leads of unknown outcome: found by lookup, or sent again."""
        with self._lock:
            self.unknown_settled_by_lookup += settled_by_lookup
            self.unknown_sent_again += sent_again

    def count_resent_blind(self, count: int) -> None:
        """Count leads of unknown outcome sent again with no lookup (a Bulk Write job re-sent)."""
        with self._lock:
            self.ambiguous_writes += count
            self.unknown_sent_again += count

    def count_call(self, cost: int = 0, concurrency: int | None = None) -> None:
        """Count one HTTP attempt to Zoho's API and the API credits it cost.

        Args:
            cost: The API credits Zoho charged for it (see :mod:`credits`).
            concurrency: The in-flight limit after it, if a 429 has ever
                lowered it.
        """
        with self._lock:
            self.api_calls += 1
            self.credits += cost
            if concurrency is not None:
                self.concurrency = concurrency

    def count_credits(self, cost: int) -> None:
        """Count API credits spent by a call counted elsewhere (Bulk Write's)."""
        with self._lock:
            self.credits += cost

    def summary(self) -> str:
        """One line for the log: every record accounted for."""
        line = (
            f"Stream '{self.stream}': {self.records_read} records read, "
            f"{self.created} leads created, {self.updated} updated, "
            f"{self.unchanged} unchanged duplicates, {self.rejected} rejected, "
            f"{self.api_calls} API calls, {self.credits} API credits"
        )
        if self.skipped > self.held:
            line += f", {self.skipped - self.held} skipped as Contacts or converted leads"
        if self.matched_two:
            line += f", {self.matched_two} records matched two leads ({self.held} held)"
        if self.fields:
            named = ", ".join(f"{name} {count}" for name, count in sorted(self.fields.items()))
            line += f", fields written on existing leads ({named})"
        if self.concurrency is not None:
            line += f", concurrency settled at {self.concurrency}"
        if self.dry_run_written:
            line += f", {self.dry_run_written} leads written to the dry-run file"
        if self.ambiguous_writes:
            line += f", {self.ambiguous_writes} writes of unknown outcome"
        if self.left:
            line += f", {self.left} records left for the next run (max_credits)"
        return line
