"""SDK glue: each drained batch of a stream is mapped and handed to the writer."""

from __future__ import annotations

import collections
import operator
import sys
import typing as t

import fastjsonschema
from singer_sdk.sinks import BatchSink

from target_zoho_leads.outcomes import CREATED, REJECTED, UNCHANGED, UPDATED, Outcome
from target_zoho_leads.schema_checks import RecordCheck

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from target_zoho_leads.target import TargetZohoLeads

_TALLY = {
    CREATED: "created",
    UPDATED: "updated",
    UNCHANGED: "unchanged",
    REJECTED: "rejected",
}
_KIND = operator.attrgetter("kind")


class ZohoLeadsSink(BatchSink):
    """Maps a stream's records to leads and writes them a batch at a time."""

    def __init__(
        self,
        target: TargetZohoLeads,
        stream_name: str,
        schema: dict,
        key_properties: t.Sequence[str] | None,
    ) -> None:
        """Keep the target: it owns the writer, the mapping and the run's counts."""
        self.zoho_target = target
        super().__init__(target, stream_name, schema, key_properties)

    @override
    def setup(self) -> None:
        """Attach this stream's counters and compile its schema check once."""
        self.stats = self.zoho_target.stats_for(self.stream_name)
        self.records_received = 0
        self.records_confirmed = 0
        self._check = RecordCheck(self.stream_name, self.schema) if self.validate_schema else None

    @override
    def get_validator(self) -> None:
        """None: records are checked in :meth:`process_record` instead.

        The SDK's check fails the whole run on one bad record; here a record
        that does not match its SCHEMA becomes a rejected record and the rest
        of the stream goes on (SPEC §6).
        """
        return

    @override
    def process_record(self, record: dict, context: dict) -> None:
        """Keep the record for the batch and count it for STATE bookkeeping."""
        self.records_received += 1
        if self._check is not None:
            try:
                self._check(record)
            except fastjsonschema.JsonSchemaValueException as exc:
                self._reject_invalid(record, exc)
                return
        context["records"].append(record)
        context["seqs"].append(self.zoho_target.next_seq())

    @override
    def start_batch(self, context: dict) -> None:
        """Give a new batch its lists: records, and their positions in the input."""
        context["records"] = []
        context["seqs"] = []

    @override
    def _parse_timestamps_in_record(self, record: dict, schema: dict, treatment: t.Any) -> None:
        """Leave date-time strings as they are.

        The SDK turns them into datetime objects on every record, only for the
        mapping to turn them back into text; Zoho's formats are applied once,
        by the field coercion, from the strings themselves.
        """

    @override
    def _after_process_record(self, context: dict) -> None:
        """Log nothing per record.

        The SDK logs the whole batch context here at DEBUG level: people's
        emails and phones, and a cost that grows with every record.
        """

    def _reject_invalid(self, record: dict, exc: fastjsonschema.JsonSchemaValueException) -> None:
        """A record that does not match its SCHEMA is rejected, not sent."""
        # fastjsonschema names the path and the rule, never the value.
        field = (exc.name or "").removeprefix("data").lstrip(".") or None
        outcome = Outcome(REJECTED, code="SCHEMA_MISMATCH", message=exc.message, field=field)
        self.zoho_target.rejected.add(self.stream_name, record, None, outcome)
        self.stats.add(records_read=1, rejected=1)
        self.records_confirmed += 1

    @override
    def process_batch(self, context: dict) -> None:
        """Write the batch, report every rejected record, then release STATE."""
        # A batch whose every record broke the SCHEMA has none left to write.
        records: list[dict] = context.get("records", [])
        seqs: list[int] = context.get("seqs", [])
        target = self.zoho_target
        self.stats.add(records_read=len(records))
        leads = [target.lead_mapper.map(record) for record in records]
        if target.dry_run is not None:
            target.dry_run.write(leads)
            self.stats.add(dry_run_written=len(leads))
        else:
            self._tally(records, leads, self._write(leads, seqs))
        self.records_confirmed += len(records)
        target.release_confirmed_state()

    def _write(self, leads: list[dict[str, t.Any]], seqs: list[int]) -> list[Outcome]:
        """Coerce each lead to Zoho's formats, write the valid ones, return all outcomes."""
        target = self.zoho_target
        writer = target.writer
        fields = target.lead_fields
        if fields is None:  # no field metadata from this server: sent as mapped
            return writer.write(leads, self.stats, seqs)
        outcomes: list[Outcome | None] = [None] * len(leads)
        sendable: list[int] = []
        payloads: list[dict[str, t.Any]] = []
        coerced = fields.coerce_all(leads, target.invalid_value_policy)
        for index, (payload, problems) in enumerate(coerced):
            if payload is None:
                outcomes[index] = Outcome(
                    REJECTED,
                    code=problems[0].code,
                    message="; ".join(f"{p.field} {p.reason}" for p in problems),
                    field=problems[0].field,
                )
            else:
                sendable.append(index)
                payloads.append(payload)
        for message in fields.take_warnings():
            self.logger.warning("%s", message)
        written = writer.write(payloads, self.stats, [seqs[i] for i in sendable])
        for index, outcome in zip(sendable, written, strict=True):
            outcomes[index] = outcome
        return t.cast("list[Outcome]", outcomes)

    def _tally(
        self,
        records: list[dict],
        leads: list[dict[str, t.Any]],
        outcomes: list[Outcome],
    ) -> None:
        """Count what each record became and report the rejected ones."""
        kinds = collections.Counter(map(_KIND, outcomes))
        counts = {name: kinds[kind] for kind, name in _TALLY.items()}
        self.stats.add(**counts)
        if kinds[REJECTED]:
            for record, lead, outcome in zip(records, leads, outcomes, strict=True):
                if outcome.kind == REJECTED:
                    self.zoho_target.rejected.add(self.stream_name, record, lead, outcome)
