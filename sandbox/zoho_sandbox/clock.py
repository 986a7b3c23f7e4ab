"""The sandbox's sense of time: the system's by default, a hand-moved one for tests."""

from __future__ import annotations

import datetime as dt
import threading
import time
import typing as t


class Clock(t.Protocol):
    """Where the sandbox reads the time: token expiry, throttles, search lag, job delays."""

    def time(self) -> float:
        """Seconds since the epoch, as ``time.time()``."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, as ``time.monotonic()``."""
        ...

    def advance(self, seconds: float) -> None:
        """Move both readings on by ``seconds`` (``POST /__sandbox/clock``)."""
        ...


def _checked(seconds: float) -> float:
    """``seconds`` if time may move on by it, else a ValueError."""
    if seconds < 0:
        msg = f"a clock only moves forward, not by {seconds}"
        raise ValueError(msg)
    return seconds


class SystemClock:
    """The real time, plus any skips ahead: what ``make sandbox`` and ``make demo`` run on.

    A test driving a sandbox in another process may still skip a token window
    or a job delay through ``POST /__sandbox/clock``; time runs on from there.
    """

    def __init__(self) -> None:
        """Run with the system's clocks, no skip yet."""
        self._lock = threading.Lock()
        self._skipped = 0.0

    def time(self) -> float:
        """Seconds since the epoch, plus the skips."""
        with self._lock:
            return time.time() + self._skipped

    def monotonic(self) -> float:
        """The system's monotonic clock, plus the skips."""
        with self._lock:
            return time.monotonic() + self._skipped

    def advance(self, seconds: float) -> None:
        """Skip ``seconds`` ahead.

        Raises:
            ValueError: ``seconds`` is negative: time does not go back.
        """
        with self._lock:
            self._skipped += _checked(seconds)


class ManualClock:
    """A clock that stands still until :meth:`advance` moves it; safe across threads.

    Tests move it instead of sleeping, so a token window, a search lag or a
    job delay passes at once and exactly.

    Attributes:
        start: The epoch seconds it read when made.
    """

    def __init__(self, start: float | None = None) -> None:
        """Start at ``start`` epoch seconds (default: now), monotonic at 0."""
        self.start = time.time() if start is None else start
        self._lock = threading.Lock()
        self._elapsed = 0.0

    def time(self) -> float:
        """The start plus every advance so far."""
        with self._lock:
            return self.start + self._elapsed

    def monotonic(self) -> float:
        """Every advance so far; never goes back."""
        with self._lock:
            return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``.

        Raises:
            ValueError: ``seconds`` is negative: time does not go back.
        """
        with self._lock:
            self._elapsed += _checked(seconds)


def iso(clock: Clock) -> str:
    """The clock's time in Zoho's ``yyyy-MM-ddTHH:mm:ss±HH:mm`` form (UTC)."""
    moment = dt.datetime.fromtimestamp(clock.time(), dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")
