"""One run's loading of leads: mapping, field checks, writes, and where each record went."""

from __future__ import annotations

import logging
import math
import threading
import typing as t
import uuid

from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.sinks import BatchSink

from target_zoho_leads.leads.fields import LeadFields
from target_zoho_leads.leads.mapping import LeadMapper
from target_zoho_leads.loading.connection import (
    ZohoConnection,
    can_settle,
    check_contacts_scope,
)
from target_zoho_leads.loading.outputs import DryRunFile, OutcomesFile, RejectedRecords
from target_zoho_leads.loading.plan import PlanFile, plan_writes
from target_zoho_leads.loading.report import RunReport
from target_zoho_leads.loading.results import Route, WriteResult
from target_zoho_leads.loading.stats import StreamStats
from target_zoho_leads.loading.unique_writes import UniqueLeadWriter
from target_zoho_leads.singer_input.schema_checks import RecordCheck
from target_zoho_leads.zoho.bulk.csv_file import MAX_ROWS as BULK_JOB_ROWS
from target_zoho_leads.zoho.credits import CreditBudgetSpentError, CreditMeter, insert_credits
from target_zoho_leads.zoho.errors import ZohoAPIError
from target_zoho_leads.zoho.outcomes import REJECTED, SKIPPED, Outcome

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_zoho_leads.settings.model import Settings
    from target_zoho_leads.zoho.client import ZohoCRMClient

logger = logging.getLogger(__name__)

HTTP_NOT_FOUND = 404
# Kept in the rejected-records file with their code, to be looked at or sent again.
_KEPT = frozenset({REJECTED, SKIPPED})


class LeadLoader:
    """Turns a stream's batches of records into leads in Zoho, and accounts for each record.

    It owns what a run shares across streams: the mapping, the field checks,
    the Zoho connection and writer, the rejected-records and dry-run files
    and the counters. The SDK sink hands it batches; the target asks it for
    the counters and closes it at the end.
    """

    def __init__(self, settings: Settings, *, zoho: ZohoConnection | None = None) -> None:
        """Compile the mapping and open the output files; nothing is sent to Zoho yet.

        Args:
            settings: The run's settings.
            zoho: The connection to use (tests give a stand-in); None opens
                one from the settings on first use.
        """
        self.settings = settings
        self.mapper = LeadMapper(settings.field_mapping, settings.default_values)
        self.rejected = RejectedRecords(settings.rejected_records_path)
        path = settings.dry_run_path
        self.dry_run = DryRunFile(path) if path else None
        self.outcomes = OutcomesFile(settings.outcomes_path) if settings.outcomes_path else None
        run_id = self.outcomes.run_id if self.outcomes else None
        self.report = RunReport(settings.run_report_path, run_id or uuid.uuid4().hex)
        # Every call's cost and kind, and max_credits: given to the client on connect.
        # A plan run spends only reads: its summary says whether the real run fits max_credits.
        self.plan = (
            PlanFile(settings.plan_path, settings.max_credits) if settings.plan_path else None
        )
        self.meter = CreditMeter(None if self.plan else settings.max_credits)
        self.fields: LeadFields | None = None
        self._given = zoho
        self._zoho: ZohoConnection | None = None
        self._connect_lock = threading.Lock()
        self._stats: dict[str, StreamStats] = {}
        self._checks: dict[str, tuple[dict[str, t.Any], RecordCheck]] = {}

    @property
    def batch_size(self) -> int:
        """Records per batch: ``batch_size_rows``, or a Bulk Write job where bulk may be used."""
        settings = self.settings
        if settings.batch_size_rows:
            return settings.batch_size_rows
        if settings.write_method == "records":
            return BatchSink.MAX_SIZE_DEFAULT
        # Unique Lead splits a batch into a create job and an update job of 500
        # credits each, and its lookups leave each fewer rows than records read.
        return BULK_JOB_ROWS * (2 if settings.unique_lead else 1)

    def stats_for(self, stream: str) -> StreamStats:
        """The counters of ``stream``, shared by its sinks across schema changes."""
        return self._stats.setdefault(stream, StreamStats(stream))

    def all_stats(self) -> list[StreamStats]:
        """Every stream's counters."""
        return list(self._stats.values())

    def schema_check(self, stream: str, schema: dict[str, t.Any]) -> RecordCheck:
        """The compiled check of a stream's SCHEMA, compiled once per SCHEMA.

        Raises:
            InvalidJSONSchema: The SCHEMA cannot be compiled (one clear line).
        """
        known = self._checks.get(stream)
        if known is None or known[0] != schema:
            known = self._checks[stream] = (schema, RecordCheck(stream, schema))
        return known[1]

    def connect(self) -> ZohoConnection:
        """Connect to Zoho once: fetch the Leads fields and check the settings against them.

        Called before any input is read by the CLI, and on first use otherwise;
        never in a dry run, which must not touch the network. With
        ``write_method`` bulk, Bulk Write's scopes are checked here too.

        Raises:
            ConfigValidationError: The settings do not fit the Leads fields.
            ZohoAPIError: A scope the settings need is missing, or Zoho failed.
        """
        with self._connect_lock:  # sinks drained in parallel must share one writer
            if self._zoho is None:
                zoho = self._given or ZohoConnection.open(self.settings)
                zoho.client.meter = self.meter
                zoho.tell_jobs_to(self.report.jobs)
                try:
                    self.fields = self._load_fields(zoho.client)
                    if self.fields is not None and isinstance(zoho.writer, UniqueLeadWriter):
                        zoho.writer.read_field_types(self.fields.data_types)
                    if self.settings.unique_lead and self.settings.match_contacts:
                        check_contacts_scope(zoho.client)
                    # Bulk Write's scope check uploads a file Zoho refuses: not in a plan run.
                    if self.settings.write_method == "bulk" and self.plan is None:
                        zoho.bulk_ready()
                    zoho.wait_for_earlier_jobs()
                except BaseException:
                    zoho.close()
                    raise
                self._zoho = zoho
            return self._zoho

    def _load_fields(self, client: ZohoCRMClient) -> LeadFields | None:
        """Fetch the Leads field metadata once and check the settings against it.

        Returns:
            The fields, or None where the server has no field metadata to give
            (SPEC §3 checks the mapping "when Zoho's field metadata is
            available"): the run then goes on with values sent as mapped.

        Raises:
            ConfigValidationError: Every problem at once, before any write.
        """
        try:
            metadata = client.fields("Leads")
        except ZohoAPIError as exc:
            if exc.status != HTTP_NOT_FOUND:
                raise
            metadata = []
        if not metadata:
            logger.warning(
                "Zoho gave no Leads field metadata: the settings are not checked "
                "against the Leads fields and values are sent as mapped"
            )
            return None
        fields = LeadFields.from_metadata(metadata)
        problems = self._problems_with(fields)
        if problems:
            summary = f"{len(problems)} problem(s) with the settings against Zoho's Leads fields"
            raise ConfigValidationError(summary, errors=problems)
        return fields

    def _problems_with(self, fields: LeadFields) -> list[str]:
        """What in the settings does not fit Zoho's Leads fields."""
        mapper, tracking = self.mapper, self.settings.tracking_id_field
        problems = fields.check_config(mapper.mapped_fields, mapper.default_values)
        if self.settings.unique_lead:
            problems += fields.unique_lead_problems(self.settings.match_fields)
        if self.settings.unique_lead and tracking not in fields.names:
            problems.append(
                f"tracking_id_field {tracking}: no such Leads field; create a single-line "
                "custom field for the CDP tracking id or name an existing one"
            )
        for name, value in mapper.default_values.items():
            if name in fields.names:
                _, bad, _ = fields.coerce({name: value}, "reject")
                problems += [f"default_values {p.field}: {p.reason}" for p in bad]
        return problems

    def reject(self, stream: str, record: dict[str, t.Any], outcome: Outcome) -> None:
        """Account for a record refused before it reached a batch (it broke its SCHEMA)."""
        self.rejected.add(stream, record, None, outcome)
        stats = self.stats_for(stream)
        stats.count_read(1)
        stats.count_outcome(outcome)
        if self.outcomes is not None:
            tracking_id = self.mapper.map(record).get(self.settings.tracking_id_field)
            self.outcomes.write(stream, [(record, tracking_id, outcome)])

    def write_batch(
        self, stream: str, records: list[dict[str, t.Any]], seqs: list[int]
    ) -> Sequence[int]:
        """Map, check and write one batch; count and report what each record became.

        Returns:
            The numbers of the records confirmed: all of them, but when
            ``max_credits`` stopped the writes, only those written before.

        Raises:
            ZohoAPIError: The write stopped before every record had its
                outcome; the records settled before it are counted.
        """
        stats = self.stats_for(stream)
        stats.count_read(len(records))
        if self.meter.stopped:  # read, and left for the next run
            stats.count_left(len(records))
            return []
        leads = [self.mapper.map(record) for record in records]
        if self.dry_run is not None:
            self.dry_run.write(leads)
            stats.count_dry_run(len(leads))
            return seqs
        result = self._write(leads, seqs, stats)
        if self.plan is not None:  # confirmed only to free their memory: no STATE passes on
            if result.error is not None:
                raise result.error
            tracking = self.settings.tracking_id_field
            self.plan.write(
                stream, records, [lead.get(tracking) for lead in leads], result.outcomes
            )
            return seqs
        failure = result.failure()
        # A call refused for max_credits leaves the batch's other records for the next run.
        stopped = failure is not None and self.meter.stopped
        self._tally(stream, records, leads, result, confirmed=failure is None or stopped)
        if stopped:
            stats.count_left(len(result.unsettled()))
            return [seqs[index] for index, _ in result.settled()]
        if failure is not None:  # no record is confirmed, so no STATE passes it
            raise failure
        return seqs

    def _tally(
        self,
        stream: str,
        records: list[dict[str, t.Any]],
        leads: list[dict[str, t.Any]],
        result: WriteResult,
        *,
        confirmed: bool,
    ) -> None:
        """Count what each record became and report the rejected and skipped ones.

        The outcomes file gets a line for each record settled, before any
        STATE can pass it, only if it is ``confirmed``: a record of a failed
        batch is sent again by the next run, which writes its line then.
        """
        settled = result.settled()
        stats = self.stats_for(stream)
        stats.count_outcomes([outcome for _, outcome in settled])
        stats.count_ambiguous(result.ambiguous)
        stats.count_unknown_fates(result.found, result.sent_again)
        for index, outcome in settled:
            if outcome.kind in _KEPT:
                self.rejected.add(stream, records[index], leads[index], outcome)
        if self.outcomes is not None and confirmed and settled:
            tracking = self.settings.tracking_id_field
            self.outcomes.write(
                stream, [(records[i], leads[i].get(tracking), outcome) for i, outcome in settled]
            )

    def _write(
        self, leads: list[dict[str, t.Any]], seqs: list[int], stats: StreamStats
    ) -> WriteResult:
        """Coerce each lead to Zoho's formats, write the valid ones; every lead's outcome."""
        zoho = self.connect()
        if self.fields is None:  # no field metadata from this server: sent as mapped
            return self._send(zoho, leads, seqs, stats)
        outcomes: list[Outcome | None] = [None] * len(leads)
        sendable: list[int] = []
        payloads: list[dict[str, t.Any]] = []
        coerced = self.fields.coerce_all(leads, self.settings.invalid_value_policy)
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
        for message in self.fields.take_warnings():
            logger.warning("%s", message)
        written = self._send(zoho, payloads, [seqs[i] for i in sendable], stats)
        for index, outcome in zip(sendable, written.outcomes, strict=True):
            outcomes[index] = outcome
        return WriteResult(
            outcomes, written.error, written.ambiguous, written.found, written.sent_again
        )

    def _send(
        self,
        zoho: ZohoConnection,
        payloads: list[dict[str, t.Any]],
        seqs: list[int],
        stats: StreamStats,
    ) -> WriteResult:
        """Write the payloads by the route decided for them; one outcome each, in order."""
        if self.plan is not None:  # only the lookups go out, by the records API
            route = Route(zoho.client.counting_calls_with(stats.count_call))
            unique = zoho.writer if isinstance(zoho.writer, UniqueLeadWriter) else None
            return plan_writes(unique, payloads, seqs, route)
        route = self._route(zoho, stats, len(payloads))
        if isinstance(zoho.writer, UniqueLeadWriter):
            return zoho.writer.write(payloads, seqs, route)
        # In insert mode a batch half-written when max_credits stops it would
        # be sent again whole by the next run, from the STATE before it: so a
        # batch is started only when all its writes fit in what is left.
        count = len(payloads)
        jobs = math.ceil(count / BULK_JOB_ROWS) if route.jobs_for(count) is not None else 0
        if not self.meter.fits(insert_credits(count, jobs=jobs)):
            self.meter.close()
            msg = (
                f"max_credits {self.meter.max_credits} reached: a batch of {count} was not started"
            )
            return WriteResult([None] * count, CreditBudgetSpentError(msg, code="MAX_CREDITS"), 0)
        return zoho.writer.write(payloads, route)

    def _route(self, zoho: ZohoConnection, stats: StreamStats, count: int) -> Route:
        """Where a write of ``count`` leads may go: the records API, or Bulk Write too.

        Decided here, before the writer is called. With Unique Lead the
        creates and the updates are each at most ``count``, and each goes as a
        job only if it alone is large enough (the route's ``bulk_min``).
        """
        client = zoho.client.counting_calls_with(stats.count_call)
        method = self.settings.write_method
        bulk_min = self.settings.bulk_min_records if method == "auto" else 1
        if method == "records" or count < bulk_min or not zoho.bulk_ready():
            return Route(client)
        settle = can_settle(self.settings)
        return Route(client, zoho.bulk_writer(stats, settle_ambiguous=settle), bulk_min)

    def close(self) -> None:
        """Stop the call threads, close the HTTP session and the output files."""
        if self._zoho is not None:
            self._zoho.close()
            self._zoho = None
        self.rejected.close()
        if self.dry_run is not None:
            self.dry_run.close()
        if self.outcomes is not None:
            self.outcomes.close()

    def key_properties(self, stream: str, keys: Sequence[str] | None) -> None:
        """A stream's key properties (its SCHEMA's), which name its records in the outcomes."""
        if self.outcomes is not None:
            self.outcomes.key_properties(stream, keys)
        if self.plan is not None:
            self.plan.key_properties(stream, keys)

    def finish(self, exit_status: int, error: str | None = None) -> None:
        """End the run's accounts: warn of records left by max_credits, write the run report."""
        streams = self.all_stats()
        left = sum(stats.left for stats in streams)
        if self.meter.stopped and exit_status == 0:
            logger.warning(
                "max_credits %s reached after %s credits: %s records were read and left "
                "unwritten for the next run, which resumes from the last STATE passed on",
                self.meter.max_credits,
                self.meter.spent,
                left,
            )
        if self.plan is not None:  # its summary counts the reads, so it is written last
            self.plan.finish(self.meter, complete=exit_status == 0)
        self.report.finish(streams, self.meter, exit_status=exit_status, error=error)
