"""A steady progress line on long runs, so an operator can see the target is alive."""

from __future__ import annotations

import logging
import threading
import time
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from target_zoho_leads.loading.stats import StreamStats

logger = logging.getLogger("target-zoho-leads.progress")

PROGRESS_EVERY_SECONDS = 30.0


class ProgressReporter:
    """Logs records read, leads written, rate and API calls at a fixed rhythm.

    A thread of its own, so the line keeps coming while a long batch is being
    written (when no record is read for minutes).
    """

    def __init__(
        self,
        records_read: Callable[[], int],
        streams: Callable[[], Iterable[StreamStats]],
        every: float = PROGRESS_EVERY_SECONDS,
    ) -> None:
        """Read the counts through callables; nothing is logged before ``start``."""
        self._records_read = records_read
        self._streams = streams
        self._every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()

    def start(self) -> None:
        """Begin logging every ``every`` seconds."""
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop logging; the final summary follows elsewhere."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def line(self) -> str:
        """The progress line as of now."""
        streams = list(self._streams())
        read = self._records_read()
        written = sum(s.created + s.updated + s.unchanged for s in streams)
        rejected = sum(s.rejected for s in streams)
        calls = sum(s.api_calls for s in streams)
        elapsed = max(time.monotonic() - self._started, 1e-9)
        return (
            f"Progress: {read} records read, {written} written to Zoho, "
            f"{rejected} rejected, {read / elapsed:.0f} records/s, {calls} API calls"
        )

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            logger.info("%s", self.line())
