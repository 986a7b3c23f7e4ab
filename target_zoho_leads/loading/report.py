"""The run report: one JSON document a scheduler can read, and the same counters as METRIC lines.

Airflow and Meltano users want a run's figures as data, not prose: the
report (``run_report_path``) is written at the end of every run, success or
failure, and the counters also go out through singer-sdk's metrics logger,
so log-based tools see them without the file.
"""

from __future__ import annotations

import json
import threading
import typing as t
from datetime import datetime, timezone

from singer_sdk.metrics import Counter, Metric, Tag

from target_zoho_leads.loading.job_log import ReportedJobs
from target_zoho_leads.loading.outputs import OutputFile

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_zoho_leads.loading.stats import StreamStats
    from target_zoho_leads.zoho.credits import CreditMeter

STOPPED_BY_MAX_CREDITS = "max_credits"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class RunReport:
    """Collects what a run's end alone knows (exit, error, last STATE) and writes the report."""

    SETTING = "run_report_path"

    def __init__(self, path: str | None, run_id: str) -> None:
        """Open ``path`` now, at start-up, and empty it: the report is this run's only.

        Raises:
            OutputFileError: The path cannot be used (see :func:`outputs.open_checked`).
        """
        self.run_id = run_id
        self.started_at = _now()
        self.last_state: dict[str, t.Any] | None = None
        self.jobs = ReportedJobs()  # told by the Bulk Write route (ZohoConnection.tell_jobs_to)
        self._file = OutputFile(self.SETTING, path, truncate=True) if path else None
        self._lock = threading.Lock()
        self._done = False

    def passed_state(self, state: dict[str, t.Any]) -> None:
        """Remember the STATE just passed on: the report names the last one."""
        self.last_state = state

    def finish(
        self,
        streams: Sequence[StreamStats],
        meter: CreditMeter,
        *,
        exit_status: int,
        error: str | None = None,
    ) -> dict[str, t.Any] | None:
        """Write the report and log the METRIC lines, once; a second call does nothing.

        Returns:
            The report written, or None if it was written already.
        """
        with self._lock:
            if self._done:
                return None
            self._done = True
        report = self.document(streams, meter, exit_status=exit_status, error=error)
        emit_metrics(streams, meter)
        if self._file is not None:
            self._file.write(json.dumps(report, default=str, ensure_ascii=False, indent=2) + "\n")
            self._file.close()
        return report

    def document(
        self,
        streams: Sequence[StreamStats],
        meter: CreditMeter,
        *,
        exit_status: int,
        error: str | None,
    ) -> dict[str, t.Any]:
        """The report as a JSON-ready dict."""
        settled = [s.concurrency for s in streams if s.concurrency is not None]
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "ended_at": _now(),
            "exit_status": exit_status,
            "error": error,
            "stopped_by": STOPPED_BY_MAX_CREDITS if meter.stopped else None,
            "max_credits": meter.max_credits,
            "streams": {s.stream: stream_counts(s) for s in streams},
            "api_calls": dict(meter.calls),
            "credits": dict(meter.credits),
            "credits_total": meter.spent,
            "too_many_requests": meter.too_many_requests,
            "concurrency_settled_at": min(settled) if settled else None,
            "records_left": sum(s.left for s in streams),
            "bulk_jobs": self.jobs.listed(),
            "last_state": self.last_state,
        }


def stream_counts(stats: StreamStats) -> dict[str, t.Any]:
    """One stream's counts: the summary line's figures, as data."""
    return {
        "records_read": stats.records_read,
        "outcomes": {str(kind): count for kind, count in sorted(stats.kinds.items())},
        "codes": dict(sorted(stats.codes.items())),
        "api_calls": stats.api_calls,
        "credits": stats.credits,
        "concurrency_settled_at": stats.concurrency,
        "unknown_outcome_writes": stats.ambiguous_writes,
        "unknown_settled_by_lookup": stats.unknown_settled_by_lookup,
        "unknown_sent_again": stats.unknown_sent_again,
        "matched_two_leads": stats.matched_two,
        "records_left": stats.left,
        "dry_run_written": stats.dry_run_written,
    }


def emit_metrics(streams: Sequence[StreamStats], meter: CreditMeter) -> None:
    """Log the run's counters as singer-sdk METRIC lines (counters, one per tag set).

    Records go out as ``record_count`` tagged by stream and outcome; calls as
    ``http_request_count`` tagged by kind, with their credits as a tag (the
    SDK has no credits metric).
    """
    for stats in streams:
        for kind, count in sorted(stats.kinds.items()):
            tags = {Tag.STREAM: stats.stream, "outcome": str(kind)}
            with Counter(Metric.RECORD_COUNT, tags) as counter:
                counter.increment(count)
    for call_kind, calls in meter.calls.items():
        if calls:
            call_tags: dict[str, t.Any] = {
                Tag.ENDPOINT: call_kind,
                "credits": meter.credits[call_kind],
            }
            with Counter(Metric.HTTP_REQUEST_COUNT, call_tags) as counter:
                counter.increment(calls)
