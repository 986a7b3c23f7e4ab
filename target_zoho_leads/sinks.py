"""SDK glue: each drained batch of a stream is mapped and handed to the writer."""

from __future__ import annotations

import sys
import typing as t

from singer_sdk.sinks import BatchSink

from target_zoho_leads.writes import CREATED, REJECTED, UNCHANGED, UPDATED

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from target_zoho_leads.target import TargetZohoLeads
    from target_zoho_leads.writes import Outcome

_TALLY = {CREATED: "created", UPDATED: "updated", UNCHANGED: "unchanged"}


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
        """Attach this stream's counters; records in and confirmed start at 0."""
        self.stats = self.zoho_target.stats_for(self.stream_name)
        self.records_received = 0
        self.records_confirmed = 0

    @override
    def process_record(self, record: dict, context: dict) -> None:
        """Keep the record for the batch and count it for STATE bookkeeping."""
        context.setdefault("records", []).append(record)
        self.records_received += 1
        self.stats.add(records_read=1)

    @override
    def process_batch(self, context: dict) -> None:
        """Write the batch, report every rejected record, then release STATE."""
        records: list[dict] = context.get("records", [])
        target = self.zoho_target
        leads = [target.lead_mapper.map(record) for record in records]
        if target.dry_run is not None:
            target.dry_run.write(leads)
            self.stats.add(dry_run_written=len(leads))
        else:
            outcomes = target.writer.write(leads, self.stats)
            self._tally(records, leads, outcomes)
        self.records_confirmed += len(records)
        target.release_confirmed_state()

    def _tally(
        self,
        records: list[dict],
        leads: list[dict[str, t.Any]],
        outcomes: list[Outcome],
    ) -> None:
        """Count what each record became and report the rejected ones."""
        counts = dict.fromkeys(("created", "updated", "unchanged", "rejected"), 0)
        for record, lead, outcome in zip(records, leads, outcomes, strict=True):
            if outcome.kind == REJECTED:
                counts["rejected"] += 1
                self.zoho_target.rejected.add(self.stream_name, record, lead, outcome)
            else:
                counts[_TALLY[outcome.kind]] += 1
        self.stats.add(**counts)
