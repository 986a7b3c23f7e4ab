"""The target: its settings, start-up checks, STATE bookkeeping and exit."""

from __future__ import annotations

import copy
import gc
import logging
import re
import sys
import threading
import typing as t

from singer_sdk.exceptions import (
    ConfigValidationError,
    InvalidJSONSchema,
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.target_base import Target

from target_zoho_leads.auth import DEFAULT_ACCOUNTS_URL, check_base_url
from target_zoho_leads.connect import (
    DEFAULT_API_VERSION,
    DEFAULT_MAX_RETRIES,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_TRACKING_ID_FIELD,
    ZohoConnection,
)
from target_zoho_leads.exceptions import InputError, TargetZohoLeadsError
from target_zoho_leads.fields import INVALID_VALUE_POLICIES, LeadFields
from target_zoho_leads.mapping import FIELD_NAME_PATTERN, LeadMapper
from target_zoho_leads.outputs import DryRunFile, RejectedRecords
from target_zoho_leads.progress import ProgressReporter
from target_zoho_leads.reader import LeadMessageReader
from target_zoho_leads.schema_checks import compile_exact_check
from target_zoho_leads.settings import (
    DEFAULT_INVALID_VALUE_POLICY,
    DEFAULT_MAX_CONCURRENCY,
    MAX_CONCURRENCY_LIMIT,
    TRIGGERS,
    parse_flag,
    settings_schema,
)
from target_zoho_leads.sinks import ZohoLeadsSink
from target_zoho_leads.stats import StreamStats
from target_zoho_leads.writes import LeadInserter, UniqueLeadWriter

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.sinks import Sink

# Bad input the user can fix: reported as one line, never a traceback.
INPUT_ERRORS = (
    InputError,
    InvalidInputLine,
    RecordsWithoutSchemaException,
    MissingKeyPropertiesError,
    InvalidRecord,
    InvalidJSONSchema,
)


# Allocations between the garbage collector's youngest-generation passes.
# Python's default, 700, has it run after every few records, and its older
# passes walk every record of the batch held for writing: a tenth of a run's
# CPU. Records hold no reference cycles, so rarer passes free the same memory.
GC_YOUNG_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Set the collector for a stream of records; called once, before the input.

    What was loaded at start-up (the SDK, the settings, the mapping) lives
    for the whole run: frozen, the collector stops walking it on every pass.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


class TargetZohoLeads(Target):
    """Singer target that writes CDP events to Zoho CRM as Leads."""

    name = "target-zoho-leads"
    config_jsonschema = settings_schema()
    default_sink_class = ZohoLeadsSink
    message_reader_class = LeadMessageReader

    @override
    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict) -> None:
        """Add the SDK's settings, except ``load_method``: Unique Lead is this target's upsert."""
        super().append_builtin_config(config_jsonschema)
        config_jsonschema["properties"].pop("load_method", None)

    def __init__(self, **kwargs: t.Any) -> None:
        """Check every setting and compile the mapping before any input is read."""
        super().__init__(**kwargs)
        # urllib3 logs each request line at DEBUG, and a search URL carries
        # the emails and phones asked for: keep it to warnings.
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        self.lead_mapper = LeadMapper.from_config(self.config)
        self._check_settings()
        self.rejected = RejectedRecords(self.config.get("rejected_records_path"))
        dry_run_path = self.config.get("dry_run_path")
        self.dry_run = DryRunFile(dry_run_path) if dry_run_path else None
        self._stats: dict[str, StreamStats] = {}
        self._seq = 0
        self._state_lock = threading.Lock()
        self._pending_states: list[tuple[dict, list[tuple[Sink, int]]]] = []
        self._last_emitted_state: dict | None = None
        self._zoho: ZohoConnection | None = None
        self._connect_lock = threading.Lock()
        self.lead_fields: LeadFields | None = None
        # Stream -> its sink, for streams whose records need none of the SDK's
        # per-record steps (see `_process_record_message`); None: they do.
        self._plain_sinks: dict[str, ZohoLeadsSink | None] = {}

    def _check_settings(self) -> None:
        """Raise one ConfigValidationError listing every setting that is wrong."""
        config = self.config
        errors: list[str] = []
        try:
            check_base_url(config.get("accounts_url", DEFAULT_ACCOUNTS_URL), "accounts_url")
        except ValueError as exc:
            errors.append(str(exc))
        trigger = config.get("trigger")
        if trigger is not None and not set(trigger) <= set(TRIGGERS):
            bad = sorted(set(trigger) - set(TRIGGERS))
            errors.append(f"trigger: {bad} not among {list(TRIGGERS)}")
        if not 1 <= self.max_concurrency <= MAX_CONCURRENCY_LIMIT:
            errors.append(f"max_concurrency must be 1 to {MAX_CONCURRENCY_LIMIT}")
        if config.get("request_timeout", DEFAULT_REQUEST_TIMEOUT) <= 0:
            errors.append("request_timeout must be more than 0 seconds")
        if config.get("max_retries", DEFAULT_MAX_RETRIES) < 1:
            errors.append("max_retries must be 1 or more")
        if not re.fullmatch(r"v\d+", config.get("api_version", DEFAULT_API_VERSION)):
            errors.append("api_version must look like v8")
        try:
            self.unique_lead = parse_flag(config.get("unique_lead", False))
        except ValueError as exc:
            errors.append(f"unique_lead: {exc}")
        tracking = config.get("tracking_id_field", DEFAULT_TRACKING_ID_FIELD)
        if not FIELD_NAME_PATTERN.match(tracking or ""):
            errors.append("tracking_id_field must be a Zoho API name such as CDP_ID")
        self.invalid_value_policy = config.get("invalid_value_policy", DEFAULT_INVALID_VALUE_POLICY)
        if self.invalid_value_policy not in INVALID_VALUE_POLICIES:
            errors.append(f"invalid_value_policy must be one of {list(INVALID_VALUE_POLICIES)}")
        if errors:
            raise ConfigValidationError(errors[0], errors=errors)

    @property
    def max_concurrency(self) -> int:
        """Most Zoho calls in flight at once."""
        return int(self.config.get("max_concurrency", DEFAULT_MAX_CONCURRENCY))

    def next_seq(self) -> int:
        """Number the records in input order, across streams (main thread only)."""
        self._seq += 1
        return self._seq

    @property
    def records_seen(self) -> int:
        """Records read so far, all streams."""
        return self._seq

    def all_stats(self) -> list[StreamStats]:
        """Every stream's counters."""
        return list(self._stats.values())

    def stats_for(self, stream: str) -> StreamStats:
        """The counters of ``stream``, shared by its sinks across schema changes."""
        return self._stats.setdefault(stream, StreamStats(stream))

    @property
    def writer(self) -> LeadInserter | UniqueLeadWriter:
        """The Zoho writer; the first use connects and checks the settings against Zoho."""
        return self.connect().writer

    def connect(self) -> ZohoConnection:
        """Connect to Zoho once: fetch the Leads fields and check the settings.

        Called before any input is read by the CLI, and on first use otherwise;
        never in a dry run, which must not touch the network.

        Raises:
            ConfigValidationError: The mapping does not fit the Leads fields.
        """
        with self._connect_lock:  # sinks drained in parallel must share one writer
            return self._connect()

    def _connect(self) -> ZohoConnection:
        if self._zoho is None:
            zoho = ZohoConnection(
                self.config,
                max_concurrency=self.max_concurrency,
                unique_lead=self.unique_lead,
            )
            try:
                self.lead_fields = zoho.load_fields(self.lead_mapper)
            except BaseException:
                zoho.close()
                raise
            self._zoho = zoho
        return self._zoho

    @override
    def _process_schema_message(self, message_dict: dict) -> None:
        """Check a SCHEMA compiles before the SDK builds a sink for it.

        The SDK logs its own error line when a sink cannot be set up; checked
        here first, a broken SCHEMA gives the one clear line every bad input
        gets.
        """
        schema = message_dict.get("schema")
        if isinstance(schema, dict) and self.config.get("validate_records", True):
            compile_exact_check(str(message_dict.get("stream")), schema)
        super()._process_schema_message(message_dict)
        self._plain_sinks.clear()  # a SCHEMA may bring a new sink or new maps

    @override
    def _process_record_message(self, message_dict: dict) -> None:
        """Hand a record to its sink, skipping the SDK steps that do nothing here.

        For a stream without stream maps, flattening or ``add_record_metadata``
        the SDK's record path copies the record, runs an identity map, parses
        date-times this target leaves as text and validates with the check
        :meth:`ZohoLeadsSink.process_record` already makes: a third of the CPU
        of a run. What is left is done here in the SDK's order; any other
        stream takes the SDK's own path.
        """
        stream = message_dict.get("stream")
        sink = self._plain_sinks.get(stream, False)  # type: ignore[arg-type]
        if sink is False:
            sink = self._plain_sinks[stream] = self._plain_sink(stream)
        if sink is None or "record" not in message_dict:
            super()._process_record_message(message_dict)
            return
        record = message_dict["record"]
        sink._remove_sdc_metadata_from_record(record)  # noqa: SLF001
        if sink.key_properties:
            sink._singer_validate_message(record)  # noqa: SLF001
        sink.tally_record_read()
        sink.process_record(record, sink._get_context(record))  # noqa: SLF001
        sink.record_counter_metric.increment()
        if sink.is_full:
            self.logger.info(
                "Target sink for '%s' is full. Current size is '%s'. Draining...",
                sink.stream_name,
                sink.current_size,
            )
            self.drain_one(sink)
        self._handle_max_record_age()

    def _plain_sink(self, stream: t.Any) -> ZohoLeadsSink | None:
        """The sink of ``stream`` if its records pass through the SDK unchanged."""
        maps = self.mapper.stream_maps.get(stream) if isinstance(stream, str) else None
        sink = self._sinks_active.get(stream) if maps else None
        plain = (
            isinstance(sink, ZohoLeadsSink)
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == stream
            and not maps[0].flattening_enabled
            and not sink.include_sdc_metadata_properties
        )
        return sink if plain else None

    # STATE: passed on only once every record before it is written or rejected.

    @override
    def _process_state_message(self, message_dict: dict) -> None:
        """Hold the STATE until the records received before it are confirmed."""
        self._assert_line_requires(message_dict, requires={"value"})
        state = message_dict["value"]
        with self._state_lock:
            latest = (
                self._pending_states[-1][0] if self._pending_states else self._last_emitted_state
            )
            if state == latest:
                return
            sinks = [*self._sinks_to_clear, *self._sinks_active.values()]
            waits = [
                (sink, sink.records_received)
                for sink in sinks
                if sink.records_received > sink.records_confirmed
            ]
            self._pending_states.append((copy.deepcopy(state), waits))
        self.release_confirmed_state()

    def release_confirmed_state(self) -> None:
        """Emit the newest held STATE whose records are all confirmed, if any."""
        with self._state_lock:
            ready = None
            while self._pending_states and all(
                sink.records_confirmed >= count for sink, count in self._pending_states[0][1]
            ):
                ready = self._pending_states.pop(0)[0]
            if ready is not None and ready != self._last_emitted_state:
                self._last_emitted_state = ready
                self._write_state_message(copy.deepcopy(ready))

    # End of the run.

    @override
    def process_endofpipe(self) -> None:
        """Write what is left, release the last STATE and log the summary."""
        try:
            super().process_endofpipe()
            self.release_confirmed_state()
        finally:
            self.close()
        self.log_summary()

    def log_summary(self) -> None:
        """Log one line per stream: every record accounted for."""
        for stats in self._stats.values():
            self.logger.info("%s", stats.summary())

    def close(self) -> None:
        """Stop the call threads, close the HTTP session and the rejected-records file."""
        if self._zoho is not None:
            self._zoho.close()
            self._zoho = None
        self.rejected.close()

    def fail(self, exc: BaseException) -> t.NoReturn:
        """End the run with one clear line, after writing what was accepted.

        Bad input (a broken line, a record before its SCHEMA) does not make
        the records before it wrong, so they are written and their STATE
        released first; a Zoho failure is reported as is.
        """
        line = getattr(self.message_reader, "line_number", 0)
        if isinstance(exc, INPUT_ERRORS):
            where = f"input line {line}: " if line else ""
            message = f"{where}{exc}"
            try:
                self.drain_all(is_endofpipe=True)
                self.release_confirmed_state()
            except TargetZohoLeadsError as drain_exc:
                message += f"; writing the records before it also failed: {drain_exc}"
        else:
            message = str(exc)
        self.close()
        self.log_summary()
        self.logger.error("%s", message)
        sys.exit(1)

    @override
    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,
        file_input: t.IO[str] | None = None,
    ) -> None:
        """Run the target from the command line, turning known failures into one line."""
        if about:
            cls.print_about(about_format)
            sys.exit(0)
        cls.print_version(print_fn=cls.logger.info)
        target = cls(
            config=getattr(config, "config", None),
            validate_config=True,
            parse_env_config=bool(getattr(config, "parse_env", False)),
        )
        progress = ProgressReporter(lambda: target.records_seen, target.all_stats)
        tune_garbage_collector()
        try:
            if target.dry_run is None:
                target.connect()  # settings checked against Zoho before stdin is read
            progress.start()
            target.listen(file_input)
        except (TargetZohoLeadsError, *INPUT_ERRORS) as exc:
            progress.stop()
            target.fail(exc)
        progress.stop()
