"""Where the run's Bulk Write jobs are told: the job journal and the run report, both at once.

``BulkWriter`` tells one :class:`~target_zoho_leads.zoho.bulk.job_reading.JobLog`
of each job it creates and each it sees end. The journal keeps a job only
until it ends (for the next run); the run report lists every job of the run
with its id, operation, record count and last status known.
"""

from __future__ import annotations

import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Collection

    from target_zoho_leads.zoho.bulk.job_reading import JobLog

UNKNOWN = "unknown"  # never seen to end: killed, timed out, or its status not read
ENDED = "ended"  # seen to leave ADDED/IN PROGRESS with no status Zoho named


class ReportedJobs:
    """The run's jobs, in the order they were created, for the run report; thread-safe."""

    def __init__(self) -> None:
        """Start with no job."""
        self._jobs: dict[str, dict[str, t.Any]] = {}
        self._lock = threading.Lock()

    def started(self, org: str, job_id: str, operation: str, records: int = 0) -> None:  # noqa: ARG002 - JobLog's
        """List a job just created; its status is unknown until it is seen to end."""
        job = {"job_id": job_id, "operation": operation, "records": records, "status": UNKNOWN}
        with self._lock:
            self._jobs[job_id] = job

    def ended(self, org: str, job_ids: Collection[str], status: str = "") -> None:  # noqa: ARG002 - JobLog's
        """Note the status jobs were seen to end with."""
        with self._lock:
            for job_id in job_ids:
                if job_id in self._jobs:
                    self._jobs[job_id]["status"] = status or ENDED

    def listed(self) -> list[dict[str, t.Any]]:
        """Each job: ``job_id``, ``operation``, ``records`` and ``status``."""
        with self._lock:
            return [dict(job) for job in self._jobs.values()]


class JobLogs:
    """Tells each of several job logs (the journal, the report) of each job; a ``JobLog``."""

    def __init__(self, *logs: JobLog | None) -> None:
        """Tell ``logs``; None (no journal this run) is left out."""
        self.logs = [log for log in logs if log is not None]

    def started(self, org: str, job_id: str, operation: str, records: int = 0) -> None:
        """A job of ``org`` was created, for ``records`` rows."""
        for log in self.logs:
            log.started(org, job_id, operation, records)

    def ended(self, org: str, job_ids: Collection[str], status: str = "") -> None:
        """Jobs of ``org`` were seen to end with ``status``."""
        for log in self.logs:
            log.ended(org, job_ids, status)
