"""Zoho's concurrency limits: calls in flight per org, and per heavy kind of call.

Zoho answers 429 TOO_MANY_REQUESTS to a call beyond the org's concurrency
(5, 10, 15, 20 or 25 calls at once by edition) and beyond the sub-concurrency
of resource-intensive calls: at most 10 at once of COQL, and of inserts,
updates and upserts of more than 10 records, on every edition (Kaizen #203).
"""

from __future__ import annotations

import threading
import typing as t

if t.TYPE_CHECKING:
    from zoho_sandbox.routing import Route
    from zoho_sandbox.state import Knobs

WRITE_HANDLERS = {"insert", "update", "update_one", "upsert"}
# A write of more records than this counts against the sub-concurrency.
SUB_CONCURRENCY_RECORDS = 10


def record_count(body: object) -> int:
    """How many records a write's JSON body carries (0 when it is not a write body)."""
    data = body.get("data") if isinstance(body, dict) else None
    return len(data) if isinstance(data, list) else 0


def is_heavy(found: Route, body: object) -> bool:
    """Whether a call counts against the sub-concurrency: COQL, or a write of over 10."""
    if found.handler == "coql":
        return True
    return found.handler in WRITE_HANDLERS and record_count(body) > SUB_CONCURRENCY_RECORDS


class ConcurrencyGates:
    """Admits calls while the org's limits allow, and counts the admitted ones."""

    def __init__(self) -> None:
        """Start with nothing in flight."""
        self._lock = threading.Lock()
        self._in_flight = 0
        self._heavy = 0

    def enter(self, knobs: Knobs, *, heavy: bool) -> str | None:
        """Admit a call, or name the limit it would break.

        Args:
            knobs: ``org_concurrency`` and ``sub_concurrency`` (0: no limit).
            heavy: Whether the call counts against the sub-concurrency.

        Returns:
            None when admitted (call :meth:`leave` when it ends), else
            ``"org"`` or ``"sub"``.
        """
        with self._lock:
            if knobs.org_concurrency and self._in_flight >= knobs.org_concurrency:
                return "org"
            if heavy and knobs.sub_concurrency and self._heavy >= knobs.sub_concurrency:
                return "sub"
            self._in_flight += 1
            self._heavy += heavy
        return None

    def leave(self, *, heavy: bool) -> None:
        """An admitted call has ended."""
        with self._lock:
            self._in_flight -= 1
            self._heavy -= heavy
