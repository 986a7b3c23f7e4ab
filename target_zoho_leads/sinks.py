"""SDK glue: a stream's records are checked, batched and handed to the run's loader."""

from __future__ import annotations

import sys
import typing as t

from singer_sdk.sinks import BatchSink

from target_zoho_leads.singer_input.schema_checks import SchemaMismatch
from target_zoho_leads.zoho.outcomes import REJECTED, Outcome

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.target_base import Target

    from target_zoho_leads.loading.confirmations import Confirmations
    from target_zoho_leads.loading.loader import LeadLoader


class LoadingTarget(t.Protocol):
    """What a sink needs of its target: the run's loader and its record confirmations."""

    loader: LeadLoader
    confirmations: Confirmations

    def release_confirmed_state(self) -> None:
        """Pass on the STATE that :attr:`confirmations` now says is safe, if any."""


class ZohoLeadsSink(BatchSink):
    """Collects a stream's records into batches for the loader, confirming them for STATE."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, t.Any],
        key_properties: t.Sequence[str] | None,
    ) -> None:
        """Take the run's loader from the target: it maps, writes and counts."""
        host = t.cast("LoadingTarget", target)
        self.loader = host.loader
        self.confirmations = host.confirmations
        self._release_state = host.release_confirmed_state
        super().__init__(target, stream_name, schema, key_properties)

    @override
    def setup(self) -> None:
        """Attach the stream's compiled SCHEMA check."""
        self.loader.stats_for(self.stream_name)  # a stream with no records still has its line
        self._check = (
            self.loader.schema_check(self.stream_name, self.schema)
            if self.validate_schema
            else None
        )

    @property
    @override
    def max_size(self) -> int:
        """Records per batch: as the loader says (a Bulk Write job where bulk may be used)."""
        return self.loader.batch_size

    @override
    def get_validator(self) -> None:
        """None: records are checked in :meth:`process_record` instead.

        The SDK's check fails the whole run on one bad record; here a record
        that does not match its SCHEMA becomes a rejected record and the rest
        of the stream goes on (SPEC §6).
        """
        return

    @override
    def start_batch(self, context: dict[str, t.Any]) -> None:
        """Give a new batch its lists: records, and their positions in the input."""
        context["records"] = []
        context["seqs"] = []

    @override
    def process_record(self, record: dict[str, t.Any], context: dict[str, t.Any]) -> None:
        """Keep the record for the batch, or reject it if it breaks its SCHEMA."""
        if self._check is not None:
            try:
                self._check(record)
            except SchemaMismatch as exc:
                # The check names the SCHEMA's own place and rule, never the value.
                field = (exc.name or "").removeprefix("data").lstrip(".") or None
                outcome = Outcome(REJECTED, code=exc.code, message=exc.message, field=field)
                self.loader.reject(self.stream_name, record, outcome)  # confirmed as it is
                return
        context["records"].append(record)
        context["seqs"].append(self.confirmations.read())

    @override
    def process_batch(self, context: dict[str, t.Any]) -> None:
        """Hand the batch to the loader; its records are then confirmed for STATE."""
        seqs: list[int] = context.get("seqs", [])
        confirmed = self.loader.write_batch(self.stream_name, context.get("records", []), seqs)
        self.confirmations.confirm(confirmed)  # not reached when the write failed
        self._release_state()

    @override
    def _parse_timestamps_in_record(
        self, record: dict[str, t.Any], schema: dict[str, t.Any], treatment: t.Any
    ) -> None:
        """Leave date-time strings as they are.

        The SDK turns them into datetime objects on every record, only for the
        mapping to turn them back into text; Zoho's formats are applied once,
        by the field coercion, from the strings themselves.
        """

    @override
    def _after_process_record(self, context: dict[str, t.Any]) -> None:
        """Log nothing per record.

        The SDK logs the whole batch context here at DEBUG level: people's
        emails and phones, and a cost that grows with every record.
        """
