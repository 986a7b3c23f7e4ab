"""A module's records (Leads, Contacts): a thread-safe store that writes the way Zoho does."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import threading
import time
import typing as t

from zoho_sandbox.duplicate_check import (
    WriteRules,
    find_duplicate,
    fold,
    is_converted,
)
from zoho_sandbox.field_catalog import CONVERTED_FLAG, LEADS_MODULE
from zoho_sandbox.items import (
    MINIFIED_USER,
    SANDBOX_USER,
    converted_item,
    mandatory_item,
    not_an_object_item,
    success_item,
    unknown_id_item,
)
from zoho_sandbox.validation import check_record, is_empty

# Seeded leads count as old: search must find them at once, whatever the lag.
SEEDED_AGE_SECONDS = 10**6


def now_iso() -> str:
    """The current time in Zoho's ``yyyy-MM-ddTHH:mm:ss±HH:mm`` form."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class WriteNotes(t.NamedTuple):
    """Field names a write sent that Zoho would drop without a word."""

    unknown_fields: list[str]
    read_only_fields: list[str]


class RecordStore:
    """One module's records kept in insertion order behind one lock.

    Attributes:
        fields: The module's field metadata, by api name.
        module: The module's ``{"api_name", "id"}``.
    """

    def __init__(
        self,
        fields: list[dict[str, t.Any]],
        module: dict[str, str] | None = None,
        first_id: int = 400001,
    ) -> None:
        """Start empty with the given field metadata and record ids from ``first_id``."""
        self._lock = threading.Lock()
        self._leads: dict[str, dict[str, t.Any]] = {}
        self._created: dict[str, float] = {}
        self._ids = itertools.count(first_id)
        self.fields = {field["api_name"]: field for field in fields}
        self.module = dict(module or LEADS_MODULE)

    def _new_id(self) -> str:
        """A fresh 19-digit id, as Zoho's record ids are."""
        return f"5725767{next(self._ids):012d}"

    def reset(self) -> None:
        """Forget every lead."""
        with self._lock:
            self._leads.clear()
            self._created.clear()

    def all(self) -> list[dict[str, t.Any]]:
        """Copies of all leads, in insertion order."""
        with self._lock:
            return copy.deepcopy(list(self._leads.values()))

    def visible(self, lag_seconds: float) -> list[dict[str, t.Any]]:
        """Copies of the leads created at least ``lag_seconds`` ago.

        Args:
            lag_seconds: How far a search index trails the writes.

        Returns:
            The leads a lagging search index would know about.
        """
        horizon = time.monotonic() - lag_seconds
        with self._lock:
            return copy.deepcopy(
                [lead for lead_id, lead in self._leads.items() if self._created[lead_id] <= horizon]
            )

    def find(self, name: str, value: object) -> str | None:
        """The id of the first record whose ``name`` equals ``value`` (any case), or None."""
        with self._lock:
            for record in self._leads.values():
                if not is_empty(value) and fold(record.get(name)) == fold(value):
                    return str(record["id"])
        return None

    def mark_converted(self, lead_id: str, contact: dict[str, t.Any]) -> bool:
        """Flag a lead converted into ``contact`` (``{"name", "id"}``); False if none."""
        with self._lock:
            lead = self._leads.get(lead_id)
            if lead is None:
                return False
            lead[CONVERTED_FLAG] = True
            lead["Converted_Contact"] = dict(contact)
            return True

    def get(self, lead_id: str) -> dict[str, t.Any] | None:
        """A copy of one lead, or None."""
        with self._lock:
            lead = self._leads.get(lead_id)
            return copy.deepcopy(lead) if lead is not None else None

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
                self._leads[lead_id] = lead
                self._created[lead_id] = time.monotonic() - SEEDED_AGE_SECONDS
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
        stamp = now_iso()
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
        others = [record for key, record in self._leads.items() if key != own_id]
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
        self._leads[lead_id] = lead
        self._created[lead_id] = time.monotonic()
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
        for name, value in copy.deepcopy(values).items():
            if value is None:
                lead.pop(name, None)
            else:
                lead[name] = value
        return success_item(self._stamp(lead, creating=False), "record updated")

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
            for lead in self._leads.values():
                if not is_converted(lead) and fold(lead.get(name)) == fold(value):
                    return lead["id"], name
        return None
