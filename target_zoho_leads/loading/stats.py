"""Counts of what happened to each stream's records, for the run summary."""

from __future__ import annotations

import dataclasses
import threading


@dataclasses.dataclass
class StreamStats:
    """What one stream's records became; safe to update from several threads."""

    stream: str
    records_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0  # Contacts and converted leads (Unique Lead): not written
    dry_run_written: int = 0
    api_calls: int = 0
    credits: int = 0
    concurrency: int | None = None  # the in-flight limit, once a 429 has lowered it
    ambiguous_writes: int = 0
    _lock: threading.Lock = dataclasses.field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    def add(self, **counts: int) -> None:
        """Add to the named counters, e.g. ``add(created=3, rejected=1)``."""
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

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

    def add_credits(self, cost: int) -> None:
        """Count API credits spent by a call counted elsewhere (Bulk Write's)."""
        self.add(credits=cost)

    def summary(self) -> str:
        """One line for the log: every record accounted for."""
        line = (
            f"Stream '{self.stream}': {self.records_read} records read, "
            f"{self.created} leads created, {self.updated} updated, "
            f"{self.unchanged} unchanged duplicates, {self.rejected} rejected, "
            f"{self.api_calls} API calls, {self.credits} API credits"
        )
        if self.skipped:
            line += f", {self.skipped} skipped as Contacts or converted leads"
        if self.concurrency is not None:
            line += f", concurrency settled at {self.concurrency}"
        if self.dry_run_written:
            line += f", {self.dry_run_written} leads written to the dry-run file"
        if self.ambiguous_writes:
            line += f", {self.ambiguous_writes} writes of unknown outcome"
        return line
