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
from collections import deque

from target_zoho_leads.loading.batch_budget import BatchBudget

if t.TYPE_CHECKING:
    from collections.abc import Iterable


class Confirmations:
    """The records read and confirmed so far, and the STATE messages waiting on them.

    The sinks number and confirm records; the target holds each STATE here
    and passes on what :meth:`safe_state` gives. Safe to use from the
    threads that drain sinks in parallel.
    """

    def __init__(self, budget: BatchBudget | None = None) -> None:
        """Start with nothing read; held STATEs count against ``budget``.

        A STATE may wait on a batch of every stream: thousands of STATEs, each
        as large as the tap's bookmarks, were memory no budget saw.
        """
        self.budget = budget or BatchBudget()
        self.records_read = 0  # the last number given; only the reading thread moves it
        self._through = 0  # every record up to this number is confirmed
        self._ahead: set[int] = set()  # confirmed, past a record still unconfirmed
        # (records before it, STATE, its size): popped from the front as records confirm.
        self._held: deque[tuple[int, dict[str, t.Any], int]] = deque()
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

    def hold(self, state: dict[str, t.Any], size: int = 0) -> None:
        """Keep a STATE until every record read before it is confirmed (a repeat is dropped).

        Args:
            state: The STATE message's value.
            size: What it takes in memory, counted against the budget while held.
        """
        with self._lock:
            latest = self._held[-1][1] if self._held else self._passed
            if state == latest:
                return
            if self._held and self._held[-1][0] == self.records_read:
                # No record between them: the newer says all the older did, as soon.
                self.budget.release(self._held.pop()[2])
            self._held.append((self.records_read, copy.deepcopy(state), size))
            self.budget.add(size)

    def safe_state(self) -> dict[str, t.Any] | None:
        """The newest held STATE whose records are all confirmed, once; None if there is none.

        The STATEs before it are dropped: the newest says all they said.
        """
        with self._lock:
            ready = None
            while self._held and self._held[0][0] <= self._through:
                _, ready, size = self._held.popleft()
                self.budget.release(size)
            if ready is None or ready == self._passed:
                return None
            self._passed = ready
            return copy.deepcopy(ready)

    def pending(self) -> int:
        """How many STATE messages wait on unconfirmed records."""
        with self._lock:
            return len(self._held)
