"""The Zoho CRM API: dispatch of routed calls, and the record write endpoints."""

from __future__ import annotations

import dataclasses
import typing as t

from zoho_sandbox import bulk, reads
from zoho_sandbox.duplicate_check import WriteRules
from zoho_sandbox.routing import (
    SERVED_MODULES,
    Answer,
    Call,
    Route,
    error_answer,
    json_body,
    refuse,
)

if t.TYPE_CHECKING:
    from zoho_sandbox.state import Knobs, Recorder
    from zoho_sandbox.store import RecordStore, WriteNotes

MAX_RECORDS_PER_CALL = 100
READERS = {"coql": reads.run_coql, "search": reads.search, "fields": reads.fields}
TRIGGERS = {"workflow", "approval", "blueprint", "pathfinder", "orchestration"}


def write_status(items: list[dict[str, t.Any]], all_good: int) -> int:
    """201/200 when every record succeeded, 207 when some did, 400 when none."""
    good = sum(item["status"] == "success" for item in items)
    if good == len(items):
        return all_good
    return 207 if good else 400


def _invalid(api_name: str, json_path: str, expected: str | None = None) -> Answer:
    details = {"api_name": api_name, "json_path": json_path}
    if expected:
        details["expected_data_type"] = expected
    return error_answer(400, "INVALID_DATA", "invalid data", details)


def write_records(  # noqa: PLR0911 - one return per error Zoho can answer
    call: Call,
) -> tuple[list[t.Any], dict[str, t.Any]] | Answer:
    """The ``data`` list of a write and the whole body, or the 400 refusing them.

    Args:
        call: The write request.

    Returns:
        ``(data, body)``, or Zoho's answer for a body it would refuse whole.
    """
    body = json_body(call)
    if isinstance(body, Answer):
        return body
    if "data" not in body:
        return error_answer(
            400,
            "REQUIRED_PARAM_MISSING",
            "mandatory param missing",
            {"param_name": "data"},
        )
    data = body["data"]
    if not isinstance(data, list) or not data:
        return _invalid("data", "$.data", "jsonarray")
    if len(data) > MAX_RECORDS_PER_CALL:
        limit = {"limit": MAX_RECORDS_PER_CALL}
        return error_answer(400, "LIMIT_EXCEEDED", "Record count exceeded", limit)
    trigger = body.get("trigger", [])
    if not isinstance(trigger, list):
        return _invalid("trigger", "$.trigger", "jsonarray")
    for index, name in enumerate(trigger):
        if name not in TRIGGERS:
            return _invalid("trigger", f"$.trigger[{index}]")
    return data, body


class ZohoAPI:
    """Answers the Leads and Contacts, COQL, search and field-metadata endpoints."""

    def __init__(self, stores: dict[str, RecordStore], knobs: Knobs, recorder: Recorder) -> None:
        """Serve ``stores`` (by lower-cased module name) with behaviour from ``knobs``."""
        self.stores = stores
        self.knobs = knobs
        self.recorder = recorder
        self.bulk = bulk.BulkWrite(stores["leads"], knobs, recorder)

    def handle(self, found: Route, call: Call) -> Answer:
        """Answer an authenticated call that ``found`` routed.

        Args:
            found: The route of the call.
            call: The request.

        Returns:
            The answer to send.
        """
        self.settle_jobs()
        refused = refuse(found)
        if refused:
            return refused
        module = SERVED_MODULES[found.params.get("module", "Leads").lower()]
        if module == "Contacts" and not self.knobs.contacts_scope:
            return Answer(401, dict(reads.SCOPE_MISMATCH))
        call = dataclasses.replace(call, module=module)
        # Zoho runs a job whether or not anyone asks after it: a lookup sees its leads.
        self.bulk.advance_all(self._rules(dataclasses.replace(call, module="Leads")))
        if found.handler in bulk.HANDLERS:
            return self.bulk.handle(found.handler, call, found.params, self._rules(call))
        if found.handler in READERS:
            return READERS[found.handler](call, self.stores, self.knobs)
        handler: t.Callable[[Call, dict[str, str]], Answer] = getattr(self, f"do_{found.handler}")
        return handler(call, found.params)

    def settle_jobs(self) -> None:
        """Run the unread Bulk Write jobs whose delay is over, before anything reads the leads."""
        self.bulk.settle(self._rules(Call("POST", "/crm/v8/Leads", {}, b"")))

    def _store(self, call: Call) -> RecordStore:
        """The store of the call's module."""
        return self.stores[call.module.lower()]

    def _rules(self, call: Call) -> WriteRules:
        """Unique fields, and for Leads the duplicate check preference."""
        knobs = self.knobs
        if call.module != "Leads" or not knobs.duplicate_check_preference:
            return WriteRules(list(knobs.unique_fields) if call.module == "Leads" else [])
        return WriteRules(
            list(knobs.unique_fields),
            knobs.duplicate_check_preference,
            tuple(knobs.duplicate_check_fields),
            self.stores["contacts"].find,
        )

    def _written(self, items: list[dict[str, t.Any]], notes: WriteNotes, all_good: int) -> Answer:
        """Count what a write did and build its answer."""
        for item in items:
            if item["message"] == "record added":
                self.recorder.add("records_created")
            elif item["message"] == "record updated":
                self.recorder.add("records_updated")
        return Answer(write_status(items, all_good), {"data": items}, notes=notes)

    def do_insert(self, call: Call, _params: dict[str, str]) -> Answer:
        """``POST /Leads``: insert up to 100 leads."""
        parsed = write_records(call)
        if isinstance(parsed, Answer):
            return parsed
        items, notes = self._store(call).insert(parsed[0], self._rules(call))
        return self._written(items, notes, 201)

    def do_update(self, call: Call, _params: dict[str, str]) -> Answer:
        """``PUT /Leads``: update up to 100 leads by id."""
        parsed = write_records(call)
        if isinstance(parsed, Answer):
            return parsed
        items, notes = self._store(call).update(parsed[0], self._rules(call))
        return self._written(items, notes, 200)

    def do_update_one(self, call: Call, params: dict[str, str]) -> Answer:
        """``PUT /Leads/{id}``: update the lead the path names."""
        parsed = write_records(call)
        if isinstance(parsed, Answer):
            return parsed
        records = [
            {**record, "id": params["id"]} if isinstance(record, dict) else record
            for record in parsed[0]
        ]
        items, notes = self._store(call).update(records, self._rules(call))
        return self._written(items, notes, 200)

    def do_get_one(self, call: Call, params: dict[str, str]) -> Answer:
        """``GET /Leads/{id}``: one record, or 204 when there is none."""
        lead = self._store(call).get(params["id"])
        return Answer(200, {"data": [lead]}) if lead else Answer(204, None)

    def do_upsert(self, call: Call, _params: dict[str, str]) -> Answer:
        """``POST /Leads/upsert``: update on a duplicate, insert otherwise.

        Without ``duplicate_check_fields`` Zoho checks the module's system
        duplicate field (Email for Leads) and the fields the org marks unique.
        """
        parsed = write_records(call)
        if isinstance(parsed, Answer):
            return parsed
        data, body = parsed
        store, rules = self._store(call), self._rules(call)
        default = [name for name in ("Email", *rules.unique) if name in store.fields]
        check = body.get("duplicate_check_fields", default)
        if not isinstance(check, list) or not all(
            isinstance(name, str) and name in store.fields for name in check
        ):
            return _invalid("duplicate_check_fields", "$.duplicate_check_fields")
        items, notes = store.upsert(data, check, rules)
        all_inserted = all(item.get("action") == "insert" for item in items)
        return self._written(items, notes, 201 if all_inserted else 200)
