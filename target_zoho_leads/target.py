"""The target: its settings, start-up checks, STATE bookkeeping and exit."""

from __future__ import annotations

import copy
import gc
import logging
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

from target_zoho_leads.loading.batch_budget import BatchBudget
from target_zoho_leads.loading.confirmations import Confirmations
from target_zoho_leads.loading.loader import LeadLoader
from target_zoho_leads.loading.progress import ProgressReporter
from target_zoho_leads.settings.model import Settings
from target_zoho_leads.settings.schema import settings_schema
from target_zoho_leads.singer_input.reader import LeadMessageReader
from target_zoho_leads.sinks import ZohoLeadsSink
from target_zoho_leads.zoho.errors import TargetZohoLeadsError

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override


# Bad input the user can fix: reported as one line, never a traceback.
INPUT_ERRORS = (
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


def settings_failure(exc: ConfigValidationError) -> str:
    """Every settings problem in one line (the SDK's handler logs each, then a summary)."""
    problems = list(exc.errors or [str(exc)])
    if len(problems) == 1:
        return f"Settings: {problems[0]}"
    return f"Settings: {len(problems)} problems: " + "; ".join(problems)


class TargetZohoLeads(Target):
    """Singer target that writes CDP events to Zoho CRM as Leads."""

    name = "target-zoho-leads"
    config_jsonschema = settings_schema()
    default_sink_class = ZohoLeadsSink
    message_reader_class = LeadMessageReader

    @override
    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict[str, t.Any]) -> None:
        """Add the SDK's settings, except ``load_method``: Unique Lead is this target's upsert."""
        super().append_builtin_config(config_jsonschema)
        config_jsonschema["properties"].pop("load_method", None)

    # Set by _validate_config, which the SDK calls from its __init__.
    settings: Settings

    def __init__(self, **kwargs: t.Any) -> None:
        """Check every setting and compile the mapping before any input is read."""
        super().__init__(**kwargs)
        # urllib3 logs each request line at DEBUG, and a search URL carries
        # the emails and phones asked for: keep it to warnings.
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        self.loader = LeadLoader(self.settings)
        if isinstance(self.message_reader, LeadMessageReader):
            self.message_reader.max_line_bytes = self.settings.max_line_bytes
        # Which records are confirmed, and so which STATE may pass on; what
        # the unwritten records and waiting STATEs take counts in one budget.
        self.confirmations = Confirmations(BatchBudget(self.settings.batch_size_bytes))
        self._emit_lock = threading.Lock()  # sinks drained in parallel: STATEs stay in order
        # Stream -> its sink, for streams whose records need none of the SDK's
        # per-record steps (see `_process_record_message`); None: they do.
        self._plain_sinks: dict[str, ZohoLeadsSink | None] = {}

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Read the settings once into :class:`Settings`, in the target's own words.

        The SDK's own check quotes the value it refuses ("98765 is not of
        type 'string'"), and a setting may be a secret or hold people's data.
        The target cannot run on settings it cannot read, so problems always
        raise, whatever ``raise_errors`` says.

        Raises:
            ConfigValidationError: Every problem, naming settings, never values.
        """
        schema = copy.deepcopy(self.config_jsonschema)
        self.append_builtin_config(schema)
        self.settings = Settings.from_config(self.config, schema)
        return []

    @override
    def _process_schema_message(self, message_dict: dict[str, t.Any]) -> None:
        """Check a SCHEMA compiles before the SDK builds a sink for it.

        The SDK logs its own error line when a sink cannot be set up; checked
        here first, a broken SCHEMA gives the one clear line every bad input
        gets.
        """
        stream, schema = message_dict.get("stream"), message_dict.get("schema")
        if isinstance(schema, dict) and self.settings.validate_records:
            self.loader.schema_check(str(stream), schema)  # its sink takes this one
        self.loader.key_properties(str(stream), message_dict.get("key_properties"))
        super()._process_schema_message(message_dict)
        # A SCHEMA may bring a new sink or new maps: which streams can take
        # the short record path is decided here, once, not per record. Only
        # this stream's maps and the sinks they name can have changed, so
        # only they are looked at again: every stream on every SCHEMA made a
        # run's work grow with the square of its streams (issue 20).
        maps = self.mapper.stream_maps.get(str(stream)) or []
        for name in {str(stream), *(stream_map.stream_alias for stream_map in maps)}:
            if name in self.mapper.stream_maps:
                self._plain_sinks[name] = self._plain_sink(name)

    @override
    def _process_record_message(self, message_dict: dict[str, t.Any]) -> None:
        """Hand a record to its sink, skipping the SDK steps that do nothing here.

        For a stream without stream maps, flattening or ``add_record_metadata``
        the SDK's record path copies the record, runs an identity map, parses
        date-times this target leaves as text and validates with the check
        :meth:`ZohoLeadsSink.process_record` already makes: a third of the CPU
        of a run. What is left is done here in the SDK's order; any other
        stream takes the SDK's own path.
        """
        sink = self._plain_sinks.get(message_dict.get("stream"))  # type: ignore[arg-type]
        if sink is None or "record" not in message_dict:
            super()._process_record_message(message_dict)
        else:
            self._pass_record(sink, message_dict["record"])
        self._drain_if_over_budget()

    def _pass_record(self, sink: ZohoLeadsSink, record: dict[str, t.Any]) -> None:
        """The SDK's record path for a stream whose records it would pass unchanged."""
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

    def _drain_if_over_budget(self) -> None:
        """Write every stream's batch once they take ``batch_size_bytes`` together.

        Each sink drains at the budget on its own; this bounds a run of many
        streams, whose batches would otherwise take a budget each, and the
        STATEs that wait on them.
        """
        budget = self.confirmations.budget
        if budget.spent:
            self.logger.info(
                "Records waiting to be written take %s bytes across streams "
                "(batch_size_bytes %s). Draining all sinks...",
                budget.held,
                budget.limit,
            )
            self.drain_all()

    def _plain_sink(self, stream: str) -> ZohoLeadsSink | None:
        """The sink of ``stream`` if its records pass through the SDK unchanged."""
        maps = self.mapper.stream_maps.get(stream) or []
        if len(maps) != 1:
            return None
        sink = self._sinks_active.get(stream)
        if not isinstance(sink, ZohoLeadsSink):
            return None
        plain = (
            type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == stream
            and not maps[0].flattening_enabled
            and not sink.include_sdc_metadata_properties
        )
        return sink if plain else None

    # STATE: passed on only once every record before it is written or rejected.

    @override
    def _process_state_message(self, message_dict: dict[str, t.Any]) -> None:
        """Hold the STATE until the records received before it are confirmed."""
        self._assert_line_requires(message_dict, requires={"value"})
        size = getattr(self.message_reader, "message_bytes", 0)
        self.confirmations.hold(message_dict["value"], size)
        self.release_confirmed_state()
        self._drain_if_over_budget()

    def release_confirmed_state(self) -> None:
        """Emit the newest held STATE whose records are all confirmed, if any."""
        with self._emit_lock:
            state = self.confirmations.safe_state()
            # A plan run consumes no input: the real run that follows reads it all again.
            if state is not None and self.loader.plan is None:
                self._write_state_message(state)
                self.loader.report.passed_state(state)

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
        self.loader.finish(exit_status=0)  # the budget's warning and the run report

    def log_summary(self) -> None:
        """Log one line per stream: every record accounted for."""
        for stats in self.loader.all_stats():
            self.logger.info("%s", stats.summary())

    def close(self) -> None:
        """Stop the call threads, close the HTTP session and the output files."""
        self.loader.close()

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
        self.loader.finish(exit_status=1, error=message)
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
        try:
            target = cls(
                config=getattr(config, "config", None),
                validate_config=True,
                parse_env_config=bool(getattr(config, "parse_env", False)),
            )
        except ConfigValidationError as exc:
            cls.logger.error("%s", settings_failure(exc))
            sys.exit(1)
        loader = target.loader
        confirmations = target.confirmations
        progress = ProgressReporter(lambda: confirmations.records_read, loader.all_stats)
        tune_garbage_collector()
        try:
            if loader.dry_run is None:
                try:
                    loader.connect()  # settings checked against Zoho before stdin is read
                except ConfigValidationError as exc:
                    target.close()
                    target.logger.error("%s", settings_failure(exc))
                    loader.finish(exit_status=1, error=settings_failure(exc))
                    sys.exit(1)
            progress.start()
            target.listen(file_input)
        except (TargetZohoLeadsError, *INPUT_ERRORS) as exc:
            progress.stop()
            target.fail(exc)
        progress.stop()
