"""Which records are confirmed, and so which STATE the target may pass on.

A STATE message may only pass on once every record read before it is
written to Zoho or accounted for as rejected (SPEC §6): a later run starts
from it, so a record it passes that was never confirmed would be lost.

Records are numbered as they are read (the number also orders them for
Unique Lead); a batch's numbers are confirmed once the loader has its
outcomes. Batches of different streams may be confirmed in any order.
"""

from __future__ import annotations

import copy
import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterable


class Confirmations:
    """The records read and confirmed so far, and the STATE messages waiting on them.

    The sinks number and confirm records; the target holds each STATE here
    and passes on what :meth:`safe_state` gives. Safe to use from the
    threads that drain sinks in parallel.
    """

    def __init__(self) -> None:
        """Start with nothing read."""
        self.records_read = 0  # the last number given; only the reading thread moves it
        self._through = 0  # every record up to this number is confirmed
        self._ahead: set[int] = set()  # confirmed, past a record still unconfirmed
        self._held: list[tuple[int, dict[str, t.Any]]] = []  # (records before it, STATE)
        self._passed: dict[str, t.Any] | None = None
        self._lock = threading.Lock()

    def read(self) -> int:
        """Number the next record read (from 1, across streams); it is unconfirmed."""
        self.records_read += 1
        return self.records_read

    def confirm(self, seqs: Iterable[int]) -> None:
        """These records are written or accounted for."""
        with self._lock:
            self._ahead.update(seqs)
            while self._through + 1 in self._ahead:
                self._through += 1
                self._ahead.remove(self._through)

    def hold(self, state: dict[str, t.Any]) -> None:
        """Keep a STATE until every record read before it is confirmed (a repeat is dropped)."""
        with self._lock:
            latest = self._held[-1][1] if self._held else self._passed
            if state != latest:
                self._held.append((self.records_read, copy.deepcopy(state)))

    def safe_state(self) -> dict[str, t.Any] | None:
        """The newest held STATE whose records are all confirmed, once; None if there is none.

        The STATEs before it are dropped: the newest says all they said.
        """
        with self._lock:
            ready = None
            while self._held and self._held[0][0] <= self._through:
                ready = self._held.pop(0)[1]
            if ready is None or ready == self._passed:
                return None
            self._passed = ready
            return copy.deepcopy(ready)

    def pending(self) -> int:
        """How many STATE messages wait on unconfirmed records."""
        with self._lock:
            return len(self._held)
