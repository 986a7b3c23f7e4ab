"""The org's clock as Zoho's answers tell it: the ``Date`` header of the latest answer read."""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Mapping


class OrgClock:
    """The latest time any answer's ``Date`` header gave (HTTP/1.1, RFC 9110 §6.6.1).

    A write's records are settled by looking for leads created after it was
    sent; ``Created_Time`` is stamped by Zoho's clock, so the bound comes from
    Zoho's clock too, never the local one. Any answer read before a write was
    sent gives a bound at or before that write (within the skew between
    Zoho's servers, which the caller allows for).
    """

    def __init__(self) -> None:
        """Know no time yet."""
        self._latest: dt.datetime | None = None
        self._lock = threading.Lock()

    def saw(self, headers: Mapping[str, str]) -> None:
        """Take the ``Date`` of one answer, if it has a readable one."""
        value = headers.get("Date") or headers.get("date")
        if not value:
            return
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            when = when.replace(tzinfo=dt.timezone.utc)
        with self._lock:
            if self._latest is None or when > self._latest:
                self._latest = when

    def now(self) -> dt.datetime | None:
        """The latest time Zoho's answers gave, or None before any answer with a Date."""
        with self._lock:
            return self._latest
