"""Reading a Bulk Write job: its status, polled until it ends, and its result file.

Zoho's Bulk Write docs ("Get Bulk Write Job Details") give a job's status as
ADDED, IN PROGRESS, COMPLETED or FAILED and, once COMPLETED, a link to its
zipped result. They give no way to list an org's jobs: a job is known only by
the id its creation answered, so each one is told to the :class:`JobLog`
(``job_journal_path``) until it is seen to end.
"""

from __future__ import annotations

import logging
import typing as t

from target_zoho_leads.zoho.bulk.errors import BulkJobFailedError, BulkWriteError
from target_zoho_leads.zoho.bulk.result import MAX_RESULT_BYTES
from target_zoho_leads.zoho.bulk.unavailable import BulkResultUnavailableError
from target_zoho_leads.zoho.errors import (
    ZohoAnswerTooLargeError,
    ZohoAPIError,
    ZohoUntrustedHostError,
)
from target_zoho_leads.zoho.hosts import split_link
from target_zoho_leads.zoho.scopes import BULK_SCOPE
from target_zoho_leads.zoho.shapes import JOB_STATUS

if t.TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from target_zoho_leads.zoho.client import ZohoCRMClient
    from target_zoho_leads.zoho.shapes import JobStatus

# Bulk Write's lines keep the one logger name users may already filter on.
logger = logging.getLogger("target_zoho_leads.zoho.bulk.jobs")

RUNNING = frozenset({"ADDED", "IN PROGRESS"})
PROGRESS_SECONDS = 30.0  # a log line this often while a job runs
JOB_TIMEOUT_SECONDS = 6 * 3600.0
HTTP_BAD_REQUEST = 400
HTTP_UNAUTHORIZED = 401
HTTP_TOO_MANY = 429
HTTP_SERVER_ERROR = 500


class JobLog(t.Protocol):
    """Where the jobs a run starts are kept until they end (``loading.journal.JobJournal``)."""

    def started(self, org: str, job_id: str, operation: str, records: int = 0) -> None:
        """A job of ``org`` (its API domain) was created, for ``records`` rows."""
        ...

    def ended(self, org: str, job_ids: Collection[str], status: str = "") -> None:
        """Jobs of ``org`` were seen to end: ``status`` COMPLETED or FAILED ("" when not known)."""
        ...


class JobReader:
    """Polls a job until it ends and downloads its result, through the client's one path."""

    def __init__(  # noqa: PLR0913 - each keyword is a limit or a test's hook
        self,
        client: ZohoCRMClient,
        *,
        poll_first: float,
        poll_max: float,
        job_timeout: float,
        journal: JobLog | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        """Read jobs through ``client``; the keywords are :class:`BulkWriter`'s."""
        self.client = client
        self.poll_first, self.poll_max, self.job_timeout = poll_first, poll_max, job_timeout
        self.journal = journal
        self.sleep, self.clock = sleep, clock

    def jobs_url(self, rest: str) -> tuple[str, str]:
        """The origin and path of Bulk Write's jobs, plus ``rest``."""
        return self.client.auth.api_domain, f"/crm/bulk/{self.client.api_version}/write{rest}"

    def status(self, job_id: str) -> str:
        """A job's status (``ADDED``, ``IN PROGRESS``, ``COMPLETED``, ``FAILED``); one call.

        A job Zoho refuses to describe (4xx: no such job in this org) is
        reported as ``""``: it is not running.

        Raises:
            ZohoAPIError: The status could not be read (after retries).
        """
        if not (job_id.isascii() and job_id.isdigit()):  # it goes into a URL: digits only
            return ""
        origin, path = self.jobs_url(f"/{job_id}")
        try:
            job: JobStatus | None = self.client.request(
                "GET", path, origin=origin, scope=BULK_SCOPE, shape=JOB_STATUS
            )
        except ZohoAPIError as exc:
            refused = exc.status is not None and HTTP_BAD_REQUEST <= exc.status < HTTP_SERVER_ERROR
            if not refused or exc.status in {HTTP_UNAUTHORIZED, HTTP_TOO_MANY}:
                raise
            return ""
        return (job and job.status) or ""

    def result(self, job_id: str, count: int) -> bytes:
        """Wait for the job to complete and download its result file."""
        job = self._wait(job_id, count)
        link = job.result.download_url if job.result else None
        if not isinstance(link, str) or not link:
            msg = f"bulk job {job_id} COMPLETED without a result link"
            raise BulkWriteError(msg, code="UNEXPECTED_ANSWER")
        try:
            origin, path = split_link(link)
            result: bytes = self.client.request(
                "GET", path, origin=origin, scope=BULK_SCOPE, raw=True, limit=MAX_RESULT_BYTES
            )
        except ZohoAnswerTooLargeError as exc:
            msg = (
                f"bulk job {job_id} of {count} records COMPLETED, but its result file is "
                f"longer than {exc.limit:,} bytes and was not read, so its records' "
                "outcomes are unknown"
            )
            raise BulkResultUnavailableError(msg) from None
        except (ValueError, ZohoUntrustedHostError):
            msg = (
                f"bulk job {job_id} of {count} records COMPLETED, but its result link is not "
                "on a Zoho host (nor loopback for a local sandbox); the access token is not "
                "sent there, so its records' outcomes are unknown"
            )
            raise BulkResultUnavailableError(msg) from None
        return result

    def _wait(self, job_id: str, count: int) -> JobStatus:
        """Poll the job with backoff until COMPLETED; FAILED or too long is an error."""
        started = last_note = self.clock()
        wait = self.poll_first
        url = self.jobs_url(f"/{job_id}")
        while True:
            self.sleep(wait)
            job: JobStatus | None = self.client.request(
                "GET", url[1], origin=url[0], scope=BULK_SCOPE, shape=JOB_STATUS
            )
            status = (job and job.status) or ""
            if status not in RUNNING and self.journal is not None:
                self.journal.ended(self.client.auth.api_domain, [job_id], status)
            if job is not None and status == "COMPLETED":
                return job
            if status not in RUNNING:
                msg = (
                    f"bulk job {job_id} of {count} records ended {status or 'with no status'}; "
                    "its records may or may not be written, so they are looked up"
                )
                raise BulkJobFailedError(msg, code=status or "FAILED")
            now = self.clock()
            if now - started > self.job_timeout:
                waited = now - started
                msg = f"bulk job {job_id} of {count} records still {status} after {waited:.0f} s"
                raise BulkWriteError(msg, code="JOB_TIMEOUT")
            if now - last_note >= PROGRESS_SECONDS:
                logger.info(
                    "Bulk job %s of %d records: %s after %.0f s",
                    job_id,
                    count,
                    status,
                    now - started,
                )
                last_note = now
            wait = min(wait * 2, self.poll_max)
