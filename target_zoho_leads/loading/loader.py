"""One run's loading of leads: mapping, field checks, writes, and where each record went."""

from __future__ import annotations

import collections
import logging
import operator
import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor

from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.sinks import BatchSink

from target_zoho_leads.leads.fields import LeadFields
from target_zoho_leads.leads.mapping import LeadMapper
from target_zoho_leads.loading.outputs import DryRunFile, RejectedRecords
from target_zoho_leads.loading.stats import StreamStats
from target_zoho_leads.loading.writes import LeadInserter, UniqueLeadWriter
from target_zoho_leads.singer_input.schema_checks import RecordCheck
from target_zoho_leads.zoho.auth import ZohoAuth
from target_zoho_leads.zoho.bulk.csv_file import MAX_ROWS as BULK_JOB_ROWS
from target_zoho_leads.zoho.bulk.errors import BulkWriteError
from target_zoho_leads.zoho.bulk.jobs import BulkWriter
from target_zoho_leads.zoho.client import ZohoCRMClient, new_session
from target_zoho_leads.zoho.errors import ZohoAPIError, ZohoScopeError
from target_zoho_leads.zoho.outcomes import CREATED, REJECTED, SKIPPED, UNCHANGED, UPDATED, Outcome

if t.TYPE_CHECKING:
    from target_zoho_leads.settings.model import Settings

logger = logging.getLogger(__name__)

HTTP_BAD_REQUEST = 400
HTTP_NOT_FOUND = 404
HTTP_SERVER_ERROR = 500
_TALLY = {
    CREATED: "created",
    UPDATED: "updated",
    UNCHANGED: "unchanged",
    REJECTED: "rejected",
    SKIPPED: "skipped",
}
# Kept in the rejected-records file with their code, to be looked at or sent again.
_KEPT = frozenset({REJECTED, SKIPPED})
_KIND = operator.attrgetter("kind")


class ZohoConnection:
    """Everything that talks to Zoho during a run, built once and closed at the end."""

    def __init__(self, settings: Settings) -> None:
        """Build the session, token source, client, call threads and writer; no call yet."""
        self.session = new_session(settings.max_concurrency)
        auth = ZohoAuth(
            accounts_url=settings.accounts_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            refresh_token=settings.refresh_token,
            session=self.session,
            timeout=settings.request_timeout,
            allowed_hosts=settings.allowed_hosts,
            token_wait_max=settings.token_wait_max,
        )
        self.client = ZohoCRMClient(
            auth=auth,
            session=self.session,
            api_version=settings.api_version,
            timeout=settings.request_timeout,
            max_retries=settings.max_retries,
            max_concurrency=settings.max_concurrency,
        )
        self.executor = ThreadPoolExecutor(
            max_workers=settings.max_concurrency, thread_name_prefix="zoho-call"
        )
        trigger = list(settings.trigger) if settings.trigger is not None else None
        self.writer: LeadInserter | UniqueLeadWriter = (
            UniqueLeadWriter(
                self.client,
                self.executor,
                trigger,
                settings.tracking_id_field,
                default_phone_region=settings.default_phone_region,
                normalize_identities=settings.normalize_identities,
                match_contacts=settings.match_contacts,
            )
            if settings.unique_lead
            else LeadInserter(self.client, self.executor, trigger)
        )

    def bulk_writer(self, stats: StreamStats, *, settle_ambiguous: bool = False) -> BulkWriter:
        """A Bulk Write writer whose calls and re-sent jobs count in ``stats``.

        With ``settle_ambiguous`` a job whose creation answer is lost is
        raised, not sent again: Unique Lead looks its people up first.
        """
        return BulkWriter(
            self.client,
            on_call=stats.count_call,
            on_credits=stats.add_credits,
            on_resend=lambda records: stats.add(ambiguous_writes=records),
            settle_ambiguous=settle_ambiguous,
        )

    def close(self) -> None:
        """Wait for the call threads and close the HTTP session."""
        self.executor.shutdown(wait=True)
        self.session.close()


def _check_contacts_scope(client: ZohoCRMClient) -> None:
    """Ask for a Contact that cannot exist: only a missing scope makes that an error.

    match_contacts reads Contacts in every batch's lookups; without the
    scope the first batch would fail, so the run stops before any write.

    Raises:
        ZohoScopeError: The token lacks ZohoCRM.modules.contacts.READ.
    """
    try:
        client.request("GET", "/Contacts/0")
    except ZohoScopeError:
        raise
    except ZohoAPIError as exc:  # no such Contact: the scope was accepted
        if exc.status is None or not HTTP_BAD_REQUEST <= exc.status < HTTP_SERVER_ERROR:
            raise


class LeadLoader:
    """Turns a stream's batches of records into leads in Zoho, and accounts for each record.

    It owns what a run shares across streams: the mapping, the field checks,
    the Zoho writer, the rejected-records and dry-run files, the counters and
    the records' order in the input. The SDK sink hands it batches; the
    target asks it for the counters and closes it at the end.
    """

    def __init__(self, settings: Settings) -> None:
        """Compile the mapping and open the output files; nothing is sent to Zoho yet."""
        self.settings = settings
        self.mapper = LeadMapper(settings.field_mapping, settings.default_values)
        self.rejected = RejectedRecords(settings.rejected_records_path)
        path = settings.dry_run_path
        self.dry_run = DryRunFile(path) if path else None
        self.fields: LeadFields | None = None
        self._zoho: ZohoConnection | None = None
        self._bulk_ready: bool | None = None  # whether Bulk Write's scopes are there
        self._connect_lock = threading.Lock()
        self._bulk_lock = threading.Lock()
        self._stats: dict[str, StreamStats] = {}
        self._checks: dict[str, tuple[dict[str, t.Any], RecordCheck]] = {}
        self.records_seen = 0  # read so far, all streams: each record's position

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

    def uses_bulk(self, count: int) -> bool:
        """Whether a write of ``count`` leads goes as a Bulk Write job (``write_method``)."""
        method = self.settings.write_method
        if method == "records" or (method == "auto" and count < self.settings.bulk_min_records):
            return False
        with self._bulk_lock:
            if self._bulk_ready is None:
                self._bulk_ready = self._check_bulk(self.connect().client)
            return self._bulk_ready

    def next_seq(self) -> int:
        """Number the records in input order, across streams (main thread only)."""
        self.records_seen += 1
        return self.records_seen

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
        never in a dry run, which must not touch the network.

        Raises:
            ConfigValidationError: The settings do not fit the Leads fields.
        """
        with self._connect_lock:  # sinks drained in parallel must share one writer
            if self._zoho is None:
                zoho = ZohoConnection(self.settings)
                try:
                    self.fields = self._load_fields(zoho.client)
                    if self.settings.unique_lead and self.settings.match_contacts:
                        _check_contacts_scope(zoho.client)
                    if self.settings.write_method == "bulk":
                        self._bulk_ready = self._check_bulk(zoho.client)
                except BaseException:
                    zoho.close()
                    raise
                self._zoho = zoho
            return self._zoho

    def _check_bulk(self, client: ZohoCRMClient) -> bool:
        """Whether Bulk Write can be used: are its scopes on the token?

        With ``write_method`` bulk this is asked at start-up; with auto, when
        the first write large enough for a job comes (a run of small writes
        never needs the scopes), and a missing one means the records API.

        Raises:
            ZohoScopeError: ``write_method`` is bulk and a scope is missing.
        """
        method = self.settings.write_method
        try:
            BulkWriter(client).check_scopes()
        except ZohoScopeError as exc:
            if method == "bulk":
                raise
            logger.warning("Bulk Write is not available (%s): writing by the records API", exc)
            return False
        return True

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
            problems += fields.unique_lead_problems()
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
        self.stats_for(stream).add(records_read=1, rejected=1)

    def write_batch(self, stream: str, records: list[dict[str, t.Any]], seqs: list[int]) -> None:
        """Map, check and write one batch; count and report what each record became."""
        stats = self.stats_for(stream)
        stats.add(records_read=len(records))
        leads = [self.mapper.map(record) for record in records]
        if self.dry_run is not None:
            self.dry_run.write(leads)
            stats.add(dry_run_written=len(leads))
            return
        try:
            outcomes = self._write(leads, seqs, stats)
        except BulkWriteError as exc:
            # What the finished jobs settled is reported; the rest stays unconfirmed.
            settled = len(exc.settled)
            self._tally(stream, records[:settled], leads[:settled], exc.settled)
            raise
        self._tally(stream, records, leads, outcomes)

    def _tally(
        self,
        stream: str,
        records: list[dict[str, t.Any]],
        leads: list[dict[str, t.Any]],
        outcomes: list[Outcome],
    ) -> None:
        """Count what each record became and report the rejected and skipped ones."""
        kinds = collections.Counter(map(_KIND, outcomes))
        self.stats_for(stream).add(**{name: kinds[kind] for kind, name in _TALLY.items()})
        if kinds[REJECTED] or kinds[SKIPPED]:
            for record, lead, outcome in zip(records, leads, outcomes, strict=True):
                if outcome.kind in _KEPT:
                    self.rejected.add(stream, record, lead, outcome)

    def _write(
        self, leads: list[dict[str, t.Any]], seqs: list[int], stats: StreamStats
    ) -> list[Outcome]:
        """Coerce each lead to Zoho's formats, write the valid ones, return all outcomes."""
        zoho = self.connect()
        fields = self.fields
        if fields is None:  # no field metadata from this server: sent as mapped
            return self._send(zoho, leads, stats, seqs)
        outcomes: list[Outcome | None] = [None] * len(leads)
        sendable: list[int] = []
        payloads: list[dict[str, t.Any]] = []
        coerced = fields.coerce_all(leads, self.settings.invalid_value_policy)
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
            logger.warning("%s", message)
        try:
            written = self._send(zoho, payloads, stats, [seqs[i] for i in sendable])
        except BulkWriteError as exc:
            # Its settled outcomes count the payloads sent; the batch also holds the refused.
            for index, outcome in zip(sendable, exc.settled, strict=False):
                outcomes[index] = outcome
            unknown = next((i for i, o in enumerate(outcomes) if o is None), len(outcomes))
            exc.settled = t.cast("list[Outcome]", outcomes[:unknown])
            raise
        for index, outcome in zip(sendable, written, strict=True):
            outcomes[index] = outcome
        return t.cast("list[Outcome]", outcomes)

    def _send(
        self,
        zoho: ZohoConnection,
        payloads: list[dict[str, t.Any]],
        stats: StreamStats,
        seqs: list[int],
    ) -> list[Outcome]:
        """Write the payloads by the records API or, where it pays, by Bulk Write."""
        writer = zoho.writer
        if isinstance(writer, UniqueLeadWriter):
            # Its creates and its updates are each as many as the lookups leave.
            bulk = zoho.bulk_writer(stats, settle_ambiguous=True)
            return writer.write(
                payloads, stats, seqs, bulk=lambda count: bulk if self.uses_bulk(count) else None
            )
        if self.uses_bulk(len(payloads)):
            return zoho.bulk_writer(stats).insert(payloads)
        return writer.write(payloads, stats, seqs)

    def close(self) -> None:
        """Stop the call threads, close the HTTP session and the output files."""
        if self._zoho is not None:
            self._zoho.close()
            self._zoho = None
        self.rejected.close()
        if self.dry_run is not None:
            self.dry_run.close()
