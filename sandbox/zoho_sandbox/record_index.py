"""Exact-value indexes over a store's records, so a lookup by value does not walk them all.

A 30,000-lead Unique Lead backfill asks COQL ``Email in (...)`` and
``Phone in (...)`` thousands of times; comparing every stored lead with every
asked value made the sandbox quadratic. An index answers which records *may*
hold a value; callers still test those candidates with their own exact rule,
so an index only ever narrows the walk, never changes an answer.
"""

from __future__ import annotations

import typing as t

Record = dict[str, t.Any]


def index_keys(value: object) -> set[str]:
    """The keys a stored value is found under: its text, case folded.

    The keys are a superset of what any exact comparison in the sandbox can
    match: COQL compares a lookup's ``id`` and each item of a list (see
    ``coql_eval._equal``), and folding the case answers case-sensitive
    questions too, once the caller tests the candidates exactly. Values that
    are not text (numbers, booleans) are never keys: no text literal equals them.
    """
    if isinstance(value, list):
        return set().union(*(index_keys(item) for item in value))
    if isinstance(value, dict):
        value = value.get("id")
    return {value.casefold()} if isinstance(value, str) else set()


def lookup_key(value: object) -> str | None:
    """The key an asked value is looked up by, or None when it cannot be (not text)."""
    return value.casefold() if isinstance(value, str) else None


class FieldIndexes:
    """Per field: key -> ids of the records holding it; built for a field when first asked.

    Not thread-safe on its own: the store calls it with its lock held.
    """

    def __init__(self) -> None:
        """No field indexed yet."""
        self._fields: dict[str, dict[str, set[str]]] = {}

    def clear(self) -> None:
        """Forget every index (the store was emptied)."""
        self._fields.clear()

    def add(self, record_id: str, record: Record) -> None:
        """Index a record that was stored, or has just changed, under every indexed field."""
        for name, index in self._fields.items():
            for key in index_keys(record.get(name)):
                index.setdefault(key, set()).add(record_id)

    def remove(self, record_id: str, record: Record) -> None:
        """Unindex a record about to change or go, as it stands now."""
        for name, index in self._fields.items():
            for key in index_keys(record.get(name)):
                holders = index.get(key)
                if holders is not None:
                    holders.discard(record_id)
                    if not holders:
                        del index[key]

    def holders(self, name: str, keys: t.Iterable[str], records: dict[str, Record]) -> set[str]:
        """The ids of the records that may hold any of ``keys`` in field ``name``.

        Args:
            name: The field's api name.
            keys: Lookup keys (see :func:`lookup_key`).
            records: Every stored record by id, to build the field's index from
                the first time it is asked.

        Returns:
            The candidate ids (a new set).
        """
        index = self._fields.get(name)
        if index is None:
            index = self._fields[name] = {}
            for record_id, record in records.items():
                for key in index_keys(record.get(name)):
                    index.setdefault(key, set()).add(record_id)
        found: set[str] = set()
        for key in keys:
            found |= index.get(key, set())
        return found
