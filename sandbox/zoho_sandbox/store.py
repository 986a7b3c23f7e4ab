"""A module's records (Leads, Contacts): a thread-safe store that writes the way Zoho does."""

from __future__ import annotations

import copy
import itertools
import typing as t

from zoho_sandbox.clock import Clock, iso
from zoho_sandbox.duplicate_check import (
    WriteRules,
    find_duplicate,
    is_converted,
)
from zoho_sandbox.items import (
    MINIFIED_USER,
    SANDBOX_USER,
    converted_item,
    mandatory_item,
    not_an_object_item,
    success_item,
    unknown_id_item,
)
from zoho_sandbox.records import Records
from zoho_sandbox.validation import check_record, is_empty

# Seeded leads count as old: search must find them at once, whatever the lag.
SEEDED_AGE_SECONDS = 10**6


class WriteNotes(t.NamedTuple):
    """Field names a write sent that Zoho would drop without a word."""

    unknown_fields: list[str]
    read_only_fields: list[str]


class RecordStore(Records):
    """One module's records, written the way Zoho writes them."""

    def __init__(
        self,
        fields: list[dict[str, t.Any]],
        module: dict[str, str] | None = None,
        first_id: int = 400001,
        clock: Clock | None = None,
    ) -> None:
        """Start empty with the given field metadata and record ids from ``first_id``.

        ``clock`` dates the records and ages them for the search lag.
        """
        super().__init__(fields, module, clock)
        self._ids = itertools.count(first_id)

    def _new_id(self) -> str:
        """A fresh 19-digit id, as Zoho's record ids are."""
        return f"5725767{next(self._ids):012d}"

    def seed(self, records: list[dict[str, t.Any]]) -> list[str]:
        """Store leads as if they had always been there, without validation.

        Args:
            records: Lead dicts; an ``id`` in one is kept.

        Returns:
            Their ids.
        """
        ids = []
        with self._lock:
            for record in records:
                lead_id = str(record.get("id") or self._new_id())
                lead = self._stamp({**copy.deepcopy(record), "id": lead_id}, creating=True)
                self._keep(lead_id, lead)
                self._created[lead_id] = self.clock.monotonic() - SEEDED_AGE_SECONDS
                ids.append(lead_id)
        return ids

    def _writable(self, record: dict[str, t.Any], notes: WriteNotes) -> dict[str, t.Any]:
        """Keep the fields Zoho would write; note the ones it would drop."""
        kept = {}
        for name, value in record.items():
            field = self.fields.get(name)
            if field is None:
                if name != "id":
                    notes.unknown_fields.append(name)
            elif field.get("read_only"):
                if name != "id":
                    notes.read_only_fields.append(name)
            else:
                kept[name] = value
        return kept

    def _stamp(self, lead: dict[str, t.Any], *, creating: bool) -> dict[str, t.Any]:
        """Set the system fields Zoho maintains on every write."""
        stamp = iso(self.clock)
        if creating:
            lead.setdefault("Owner", dict(SANDBOX_USER))
            lead.setdefault("Created_Time", stamp)
            lead.setdefault("Created_By", dict(MINIFIED_USER))
        lead["Modified_Time"] = stamp
        lead["Modified_By"] = dict(MINIFIED_USER)
        names = [lead.get("First_Name"), lead.get("Last_Name")]
        lead["Full_Name"] = " ".join(str(name) for name in names if not is_empty(name))
        return lead

    def _duplicate(
        self,
        values: dict[str, t.Any],
        index: int,
        rules: WriteRules,
        own_id: str | None,
    ) -> dict[str, t.Any] | None:
        """The DUPLICATE_DATA item when a value is taken; the lock is held."""
        if not rules.unique and not rules.preference:
            return None  # nothing to compare: skip the walk over every record
        # Only records holding one of the compared values can clash: ask the index.
        ids: set[str] = set()
        for name in (*rules.unique, *rules.check_fields):
            ids.update(str(record["id"]) for record in self._equal_holders(name, values.get(name)))
        ids.discard(own_id or "")
        others = [self._leads[key] for key in sorted(ids, key=self._position.__getitem__)]
        return find_duplicate(others, self.module, values, index, rules)

    def _insert_one(
        self, record: dict[str, t.Any], index: int, rules: WriteRules, notes: WriteNotes
    ) -> dict[str, t.Any]:
        """Validate and store one new record; the caller holds the lock."""
        values = self._writable(record, notes)
        problem = check_record(values, index, self.fields, creating=True)
        problem = problem or self._duplicate(values, index, rules, None)
        if problem:
            return problem
        lead_id = self._new_id()
        kept = {k: v for k, v in copy.deepcopy(values).items() if v is not None}
        lead = self._stamp({"id": lead_id, **kept}, creating=True)
        self._keep(lead_id, lead)
        self._created[lead_id] = self.clock.monotonic()
        return success_item(lead, "record added")

    def _update_one(
        self,
        lead_id: str,
        record: dict[str, t.Any],
        index: int,
        rules: WriteRules,
        notes: WriteNotes,
    ) -> dict[str, t.Any]:
        """Validate and apply one update to an existing record; lock held."""
        lead = self._leads[lead_id]
        if is_converted(lead):
            return converted_item(lead_id)
        values = self._writable(record, notes)
        problem = check_record(values, index, self.fields, creating=False)
        problem = problem or self._duplicate(values, index, rules, lead_id)
        if problem:
            return problem
        with self._reindexed(lead_id, lead):
            for name, value in copy.deepcopy(values).items():
                if value is None:
                    lead.pop(name, None)
                else:
                    lead[name] = value
            self._stamp(lead, creating=False)
        return success_item(lead, "record updated")

    def insert(
        self, records: list[t.Any], rules: WriteRules
    ) -> tuple[list[dict[str, t.Any]], WriteNotes]:
        """Insert each record, Zoho-style: every one answered, in order.

        Args:
            records: The ``data`` list of the request.
            rules: Unique fields and the duplicate check preference.

        Returns:
            One item per record, and the dropped field names.
        """
        notes = WriteNotes([], [])
        with self._lock:
            items = [
                self._insert_one(record, index, rules, notes)
                if isinstance(record, dict)
                else not_an_object_item(index)
                for index, record in enumerate(records)
            ]
        return items, notes

    def update(
        self, records: list[t.Any], rules: WriteRules
    ) -> tuple[list[dict[str, t.Any]], WriteNotes]:
        """Update records by the ``id`` in each; a converted lead is CONVERTED_RECORD.

        Args:
            records: The ``data`` list of the request.
            rules: Unique fields and the duplicate check preference.

        Returns:
            One item per record, and the dropped field names.
        """
        notes = WriteNotes([], [])
        items = []
        with self._lock:
            for index, record in enumerate(records):
                if not isinstance(record, dict):
                    items.append(not_an_object_item(index))
                    continue
                lead_id = record.get("id")
                if is_empty(lead_id):
                    items.append(mandatory_item("id", index))
                elif str(lead_id) not in self._leads:
                    items.append(unknown_id_item(str(lead_id), index))
                else:
                    item = self._update_one(str(lead_id), record, index, rules, notes)
                    items.append(item)
        return items, notes

    def upsert(
        self, records: list[t.Any], check_fields: list[str], rules: WriteRules
    ) -> tuple[list[dict[str, t.Any]], WriteNotes]:
        """Update the record a record duplicates on ``check_fields``, else insert it.

        Converted leads are not matched: the insert then meets the duplicate
        check preference, if any.

        Args:
            records: The ``data`` list of the request.
            check_fields: Fields tried in order to find the existing record.
            rules: Unique fields and the duplicate check preference.

        Returns:
            One item per record (with ``action`` and, on update,
            ``duplicate_field``), and the dropped field names.
        """
        notes = WriteNotes([], [])
        items = []
        with self._lock:
            for index, record in enumerate(records):
                if not isinstance(record, dict):
                    items.append(not_an_object_item(index))
                    continue
                match = self._match(record, check_fields)
                if match is None:
                    item = self._insert_one(record, index, rules, notes)
                    if item["status"] == "success":
                        item["action"] = "insert"
                else:
                    lead_id, field = match
                    item = self._update_one(lead_id, record, index, rules, notes)
                    if item["status"] == "success":
                        item.update(action="update", duplicate_field=field)
                items.append(item)
        return items, notes

    def _match(self, record: dict[str, t.Any], check_fields: list[str]) -> tuple[str, str] | None:
        """The first lead equal to the record on a check field, tried in order."""
        for name in check_fields:
            value = record.get(name)
            if is_empty(value):
                continue
            for lead in self._equal_holders(name, value):
                if not is_converted(lead):
                    return lead["id"], name
        return None
