"""How much memory the run's unwritten records and waiting STATEs may take, in bytes."""

from __future__ import annotations

import threading

from target_zoho_leads.singer_input.bounds import DEFAULT_BATCH_SIZE_BYTES


class BatchBudget:
    """The bytes the run holds across every stream's batch and the STATEs waiting on them.

    A budget per batch would let a run of many streams hold one per stream:
    every sink counts into this one, and the target drains every sink once
    it is spent. Sizes are the reader's estimates (:func:`held_size`). Safe
    to use from the threads that drain sinks in parallel.
    """

    def __init__(self, limit: int = DEFAULT_BATCH_SIZE_BYTES) -> None:
        """Start with nothing held; ``limit`` is ``batch_size_bytes``."""
        self.limit = limit
        self._held = 0
        self._lock = threading.Lock()

    @property
    def held(self) -> int:
        """The bytes held now."""
        return self._held

    @property
    def spent(self) -> bool:
        """Whether what is held has reached the limit: time to write it."""
        return self._held >= self.limit

    def add(self, size: int) -> None:
        """A record or STATE of ``size`` bytes is now held."""
        with self._lock:
            self._held += size

    def release(self, size: int) -> None:
        """Records or STATEs of ``size`` bytes in all are no longer held."""
        with self._lock:
            self._held -= size
