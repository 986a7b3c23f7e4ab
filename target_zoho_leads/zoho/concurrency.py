"""Calls in flight: a limit that adapts to Zoho's 429s (AIMD), and Zoho's sub-concurrency.

Zoho answers 429 TOO_MANY_REQUESTS past the org's concurrency (5, 10, 15,
20 or 25 calls at once by edition) and past 10 at once of COQL and of
writes of more than 10 records, on every edition (Kaizen #203). The target
cannot ask which edition it talks to, so it learns the limit: it halves
the calls it lets in flight on a 429 and adds one back after a run of
successes (additive increase, multiplicative decrease).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterator

# Zoho's most calls at once of COQL and of writes of more than 10 records.
SUB_CONCURRENCY = 10
SUB_CONCURRENCY_RECORDS = 10
# Every Zoho edition allows 5 calls at once: starting there spares an org
# on the smallest edition a first burst of refusals, and larger orgs are
# reached by growing.
START_LIMIT = 5
# Growing back to the level Zoho last refused takes this many times the
# usual run of successes, so the limit settles below that level instead
# of testing it again every few calls.
PROBE_PATIENCE = 4
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500


@dataclasses.dataclass
class AIMD:
    """The arithmetic of the in-flight limit; no threads, no clock.

    Attributes:
        ceiling: The limit never grows past this (``max_concurrency``).
        limit: Calls allowed in flight now.
        decreases: How many 429s have lowered the limit; a call admitted
            before the latest decrease cannot lower it again.
        run: Successes since the limit last changed.
        refused_at: Calls in flight when Zoho last refused one, if it has.
    """

    ceiling: int
    limit: int = 0
    decreases: int = 0
    run: int = 0
    refused_at: int | None = None

    def __post_init__(self) -> None:
        """Start at :data:`START_LIMIT`, or the ceiling when that is lower."""
        self.ceiling = max(1, self.ceiling)
        if self.limit < 1:
            self.limit = min(self.ceiling, START_LIMIT)

    def succeeded(self) -> None:
        """Count a success; a run of them as long as the limit adds one to it."""
        self.run += 1
        if self.limit >= self.ceiling:
            return
        needed = self.limit
        if self.refused_at is not None and self.limit + 1 >= self.refused_at:
            needed *= PROBE_PATIENCE
        if self.run >= needed:
            self.limit += 1
            self.run = 0

    def refused(self, in_flight: int, admitted_after: int) -> bool:
        """Halve the limit for a 429, unless this burst has halved it already.

        Args:
            in_flight: Calls in flight when the 429 came, the refused one included.
            admitted_after: :attr:`decreases` when the refused call was admitted.

        Returns:
            Whether the limit was lowered.
        """
        if admitted_after != self.decreases:
            return False  # the calls sent together are refused together: halve once
        self.refused_at = in_flight
        self.limit = max(1, min(self.limit, in_flight) // 2)
        self.decreases += 1
        self.run = 0
        return True


@dataclasses.dataclass
class Ticket:
    """One call's place in flight; the caller says how Zoho answered it."""

    heavy: bool
    admitted_after: int
    throttled: bool = False  # Zoho answered 429
    succeeded: bool = False  # Zoho answered, and not 429 or 5xx

    def answered(self, status: int) -> None:
        """Note the HTTP status Zoho answered the call with."""
        self.throttled = status == HTTP_TOO_MANY_REQUESTS
        self.succeeded = not self.throttled and status < HTTP_SERVER_ERROR


class InFlightLimit:
    """Admits calls while the adaptive limit, and for heavy calls Zoho's 10, allow.

    Shared by every thread of a run; a call waits for a place rather than
    being sent to be refused.
    """

    def __init__(
        self, ceiling: int, *, start: int = 0, sub_concurrency: int = SUB_CONCURRENCY
    ) -> None:
        """Allow at most ``ceiling`` calls in flight, ``sub_concurrency`` of them heavy.

        Args:
            ceiling: ``max_concurrency``: the limit never grows past it.
            start: The first limit (0: :data:`START_LIMIT`, or ``ceiling`` if lower).
            sub_concurrency: Most heavy calls in flight at once.
        """
        self._aimd = AIMD(ceiling, limit=min(start, ceiling))
        self._sub = max(1, sub_concurrency)
        self._changed = threading.Condition()
        self._in_flight = 0
        self._heavy = 0

    @property
    def limit(self) -> int:
        """Calls allowed in flight now."""
        with self._changed:
            return self._aimd.limit

    def settled(self) -> int | None:
        """The limit now, if a 429 has ever lowered it; else None."""
        with self._changed:
            return self._aimd.limit if self._aimd.decreases else None

    @contextlib.contextmanager
    def slot(self, *, heavy: bool) -> Iterator[Ticket]:
        """Hold a place in flight for one call; its ticket's answer adjusts the limit.

        Args:
            heavy: COQL, or a write of more than 10 records.
        """
        with self._changed:
            while not self._admits(heavy=heavy):
                self._changed.wait()
            self._in_flight += 1
            self._heavy += heavy
            ticket = Ticket(heavy, self._aimd.decreases)
        try:
            yield ticket
        finally:
            with self._changed:
                if ticket.throttled:
                    self._aimd.refused(self._in_flight, ticket.admitted_after)
                elif ticket.succeeded:
                    self._aimd.succeeded()
                self._in_flight -= 1
                self._heavy -= heavy
                self._changed.notify_all()

    def _admits(self, *, heavy: bool) -> bool:
        """Whether one more call fits; the lock is held."""
        if self._in_flight >= self._aimd.limit:
            return False
        return not heavy or self._heavy < self._sub


def is_heavy(method: str, path: str, body: t.Any) -> bool:
    """Whether a call counts against Zoho's sub-concurrency.

    Args:
        method: HTTP method.
        path: Its path, whole or below ``/crm/{version}``.
        body: The JSON body sent, if any.
    """
    if path.endswith("/coql"):
        return True
    data = body.get("data") if isinstance(body, dict) else None
    records = len(data) if isinstance(data, list) else 0
    return method in {"POST", "PUT", "PATCH"} and records > SUB_CONCURRENCY_RECORDS
