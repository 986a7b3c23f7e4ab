"""A module's records in store order, behind one lock, with value indexes for lookups."""

from __future__ import annotations

import contextlib
import copy
import itertools
import threading
import typing as t

from zoho_sandbox.clock import Clock, SystemClock
from zoho_sandbox.duplicate_check import fold
from zoho_sandbox.field_catalog import CONVERTED_FLAG, LEADS_MODULE
from zoho_sandbox.record_index import FieldIndexes, lookup_key
from zoho_sandbox.validation import is_empty

Record = dict[str, t.Any]
# Which field values a query asks for -> the ids of the records that may hold them.
Lookup = t.Callable[[str, list[str]], set[str]]


class Records:
    """One module's records kept in insertion order behind one lock; the reading side.

    Every change to a stored record goes through :meth:`_keep` or
    :meth:`_reindexed`, so the value indexes stay exact.

    Attributes:
        fields: The module's field metadata, by api name.
        module: The module's ``{"api_name", "id"}``.
        clock: Dates the records and ages them for the search lag.
    """

    def __init__(
        self,
        fields: list[dict[str, t.Any]],
        module: dict[str, str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        """Start empty with the given field metadata."""
        self._lock = threading.Lock()
        self._leads: dict[str, dict[str, t.Any]] = {}
        self._created: dict[str, float] = {}
        self._position: dict[str, int] = {}  # store order, to sort index hits by
        self._positions = itertools.count()
        self._indexes = FieldIndexes()
        self.clock = clock or SystemClock()
        self.fields = {field["api_name"]: field for field in fields}
        self.module = dict(module or LEADS_MODULE)

    def reset(self) -> None:
        """Forget every lead."""
        with self._lock:
            self._leads.clear()
            self._created.clear()
            self._position.clear()
            self._indexes.clear()

    def all(self) -> list[dict[str, t.Any]]:
        """Copies of all leads, in insertion order."""
        with self._lock:
            return copy.deepcopy(list(self._leads.values()))

    def visible(
        self, lag_seconds: float, test: t.Callable[[Record], bool] | None = None
    ) -> list[dict[str, t.Any]]:
        """Copies of the leads created at least ``lag_seconds`` ago (and passing ``test``).

        Args:
            lag_seconds: How far a search index trails the writes.
            test: Which of them to copy (default: all); it must not change them.

        Returns:
            The leads a lagging search index would know about.
        """
        horizon = self.clock.monotonic() - lag_seconds
        with self._lock:
            return copy.deepcopy(
                [
                    lead
                    for lead_id, lead in self._leads.items()
                    if self._created[lead_id] <= horizon and (test is None or test(lead))
                ]
            )

    def select(self, narrow: t.Callable[[Lookup], set[str] | None]) -> list[Record]:
        """Copies of the records a query may match, in store order.

        Args:
            narrow: Given a lookup by field values, the ids of the records
                worth testing, or None to test them all.

        Returns:
            The candidate records; the caller still tests each one.
        """
        with self._lock:
            ids = narrow(self._holders)
            if ids is None:
                return copy.deepcopy(list(self._leads.values()))
            ordered = sorted(ids, key=self._position.__getitem__)
            return copy.deepcopy([self._leads[lead_id] for lead_id in ordered])

    def _holders(self, name: str, keys: list[str]) -> set[str]:
        """Ids of the records that may hold one of ``keys`` in ``name``; lock held."""
        return self._indexes.holders(name, keys, self._leads)

    def _equal_holders(self, name: str, value: object) -> list[Record]:
        """The records whose ``name`` equals ``value`` as duplicate checks compare; lock held."""
        if is_empty(value):
            return []
        key = lookup_key(value)
        if key is None:  # not text: no index holds it, so walk them all
            candidates: t.Iterable[Record] = self._leads.values()
        else:
            ids = sorted(self._holders(name, [key]), key=self._position.__getitem__)
            candidates = [self._leads[lead_id] for lead_id in ids]
        return [record for record in candidates if fold(record.get(name)) == fold(value)]

    def _keep(self, lead_id: str, lead: Record) -> None:
        """Store a new (or wholly replaced) record and index it; lock held."""
        old = self._leads.get(lead_id)
        if old is not None:
            self._indexes.remove(lead_id, old)
        self._leads[lead_id] = lead
        self._position.setdefault(lead_id, next(self._positions))
        self._indexes.add(lead_id, lead)

    def find(self, name: str, value: object) -> str | None:
        """The id of the first record whose ``name`` equals ``value`` (any case), or None."""
        with self._lock:
            found = self._equal_holders(name, value)
        return str(found[0]["id"]) if found else None

    def mark_converted(self, lead_id: str, contact: dict[str, t.Any]) -> bool:
        """Flag a lead converted into ``contact`` (``{"name", "id"}``); False if none."""
        with self._lock:
            lead = self._leads.get(lead_id)
            if lead is None:
                return False
            with self._reindexed(lead_id, lead):
                lead[CONVERTED_FLAG] = True
                lead["Converted_Contact"] = dict(contact)
            return True

    def get(self, lead_id: str) -> dict[str, t.Any] | None:
        """A copy of one lead, or None."""
        with self._lock:
            lead = self._leads.get(lead_id)
            return copy.deepcopy(lead) if lead is not None else None

    @contextlib.contextmanager
    def _reindexed(self, lead_id: str, lead: Record) -> t.Iterator[None]:
        """Change a stored record in place within the block; lock held."""
        self._indexes.remove(lead_id, lead)
        try:
            yield
        finally:
            self._indexes.add(lead_id, lead)
