"""Writing leads by Zoho's Bulk Write: up to 25,000 a job, 500 credits a job.

A job is: upload a zipped CSV to the data centre's upload host, create the
job, poll it until COMPLETED or FAILED, download its result and read one
outcome per record. Every call goes through the client's one request path.
Jobs run one after another, so when one fails every earlier job's records
are known (:attr:`BulkWriteError.settled`) and no later one was sent.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import typing as t

import urllib3

from target_zoho_leads.zoho.bulk.answer import BulkAnswer
from target_zoho_leads.zoho.bulk.csv_file import (
    MAX_BYTES,
    MAX_ROWS,
    BulkFile,
    bulk_files,
    columns_of,
    field_mappings,
)
from target_zoho_leads.zoho.bulk.errors import BulkResultMismatchError, BulkWriteError
from target_zoho_leads.zoho.bulk.job_reading import JOB_TIMEOUT_SECONDS, JobLog, JobReader
from target_zoho_leads.zoho.bulk.result import read_outcomes, result_table
from target_zoho_leads.zoho.errors import (
    ZohoAPIError,
    ZohoTransientError,
)
from target_zoho_leads.zoho.scopes import BULK_SCOPE, BULK_SCOPES, FILES_SCOPE, ORG_SCOPE
from target_zoho_leads.zoho.shapes import JOB_CREATED, ORG, UPLOADED, id_text

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from target_zoho_leads.zoho.client import ZohoCRMClient
    from target_zoho_leads.zoho.outcomes import Outcome
    from target_zoho_leads.zoho.shapes import JobCreated, OrgAnswer, Uploaded

logger = logging.getLogger(__name__)

SCOPES = BULK_SCOPES
POLL_FIRST_SECONDS = 2.0
# Not a setting: lets the tests run the real command through many small jobs
# against the sandbox. It can only shorten the first wait; the doubling stays.
POLL_FIRST_ENV = "TARGET_ZOHO_LEADS_BULK_POLL_FIRST"
HTTP_BAD_REQUEST = 400
HTTP_UNAUTHORIZED = 401
HTTP_SERVER_ERROR = 500


class BulkWriter:
    """Inserts or updates leads by Bulk Write; one outcome per lead, in input order.

    Example:
        >>> writer = BulkWriter(client)  # doctest: +SKIP
        >>> outcomes = writer.insert(payloads)  # doctest: +SKIP
    """

    def __init__(  # noqa: PLR0913 - each keyword is a limit or a test's hook
        self,
        client: ZohoCRMClient,
        *,
        max_rows: int = MAX_ROWS,
        max_bytes: int = MAX_BYTES,
        poll_first: float | None = None,
        poll_max: float = 30.0,
        job_timeout: float = JOB_TIMEOUT_SECONDS,
        on_call: Callable[[], None] | None = None,
        on_credits: Callable[[int], None] | None = None,
        on_resend: Callable[[int], None] | None = None,
        settle_ambiguous: bool = False,
        journal: JobLog | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Write through ``client``.

        Args:
            client: The Zoho client every call goes through.
            max_rows: Records per job (Zoho: at most 25,000).
            max_bytes: Bytes per CSV (Zoho: at most 25 MB).
            poll_first: Seconds before a job's first status check (None:
                :func:`first_poll_seconds`); the wait then doubles up to
                ``poll_max``.
            poll_max: Longest wait between two status checks.
            job_timeout: Seconds a job may stay ADDED or IN PROGRESS.
            on_call: Told of each HTTP attempt, for call counting (given
                with ``on_credits``, they replace ``client``'s own counting).
            on_credits: Told of the API credits each attempt cost.
            on_resend: Told how many records a job carried when its creation
                was sent again after a lost answer (Zoho may run both jobs).
            settle_ambiguous: Instead of sending such a job again, raise
                :class:`BulkWriteError` with ``ambiguous`` set (Unique Lead
                looks the records up first).
            journal: Told of each job created and of each seen to end, so
                that a run killed meanwhile leaves word of it for the next.
            sleep: Waits between status checks.
            clock: Measures a job's time.
        """
        if on_call is not None or on_credits is not None:
            client = client.counting_calls_with(_counter(on_call, on_credits))
        self.client = client
        self.max_rows = max(1, min(max_rows, MAX_ROWS))
        self.max_bytes = max(1, min(max_bytes, MAX_BYTES))
        self.reader = JobReader(
            client,
            poll_first=first_poll_seconds() if poll_first is None else poll_first,
            poll_max=poll_max,
            job_timeout=job_timeout,
            journal=journal,
            sleep=sleep,
            clock=clock,
        )
        self.on_resend = on_resend
        self.settle_ambiguous = settle_ambiguous
        self.journal = journal
        self._org_id: str | None = None
        self._org_lock = threading.Lock()

    def insert(self, payloads: Sequence[Mapping[str, t.Any]]) -> list[Outcome]:
        """Create a lead from each payload; CREATED or REJECTED, in order.

        Raises:
            BulkWriteError: Some record's outcome is unknown (a job failed, its
                result did not match, an answer was lost); its ``settled``
                holds the outcomes before the first unknown one.
        """
        return _all_known(self.write_rows("insert", payloads))

    def update(self, rows: Sequence[Mapping[str, t.Any]]) -> list[Outcome]:
        """Update the lead each row's ``id`` names; UPDATED or REJECTED, in order.

        A field a row leaves out, or sets to None, is left as it is.

        Raises:
            BulkWriteError: As for :meth:`insert`.
        """
        return _all_known(self.write_rows("update", rows))

    def insert_rows(self, payloads: Sequence[Mapping[str, t.Any]]) -> BulkAnswer:
        """Create a lead from each payload; each record's outcome, or unknown. Never raises."""
        return self.write_rows("insert", payloads)

    def update_rows(self, rows: Sequence[Mapping[str, t.Any]]) -> BulkAnswer:
        """Update the lead each row's ``id`` names; each record's outcome, or unknown."""
        return self.write_rows("update", rows)

    def check_scopes(self) -> None:
        """Check at start-up that the token carries every scope Bulk Write needs.

        Three cheap calls: the org (``ZohoCRM.org.READ``), a job that does not
        exist (``ZohoCRM.bulk.ALL``) and an upload that is not a zip
        (``ZohoFiles.files.ALL``); nothing is created.

        Raises:
            ZohoScopeError: Naming the scope that is missing.
        """
        self.org_id()
        self._probe("GET", self._jobs_url("/0"), {}, None, BULK_SCOPE)
        not_a_zip, kind = _multipart(b"not a zip")
        self._probe("POST", self._upload_url(), self._upload_headers(kind), not_a_zip, FILES_SCOPE)

    def _probe(
        self,
        method: str,
        url: tuple[str, str],
        headers: dict[str, str],
        body: bytes | None,
        scope: str,
    ) -> None:
        """Make a call that creates nothing, only to hear whether ``scope`` is missing."""
        try:
            self.client.request(
                method, url[1], origin=url[0], scope=scope, headers=headers, body=body, raw=True
            )
        except ZohoAPIError as exc:
            # Any other refusal of the request came after its scope was accepted.
            refused = exc.status is not None and HTTP_BAD_REQUEST <= exc.status < HTTP_SERVER_ERROR
            if not refused or exc.status == HTTP_UNAUTHORIZED:
                raise

    def org_id(self) -> str:
        """The org's id for X-CRM-ORG (its ``zgid``), asked once per writer."""
        with self._org_lock:
            if self._org_id is None:
                # Typed: the zgid goes into a header, so it must be digits.
                answer: OrgAnswer | None = self.client.request(
                    "GET", "/org", scope=ORG_SCOPE, shape=ORG
                )
                org = answer.org[0] if answer and answer.org else None
                found = id_text(org.zgid or org.id) if org else ""
                if not found:
                    msg = "GET /org: Zoho's answer names no org id (zgid)"
                    raise ZohoAPIError(msg, code="UNEXPECTED_ANSWER")
                self._org_id = found
            return self._org_id

    # One write, in as many jobs as it takes ---------------------------------

    def write_rows(self, operation: str, payloads: Sequence[Mapping[str, t.Any]]) -> BulkAnswer:
        """Send ``payloads`` in jobs of at most ``max_rows``; one outcome or None each, in order.

        A job whose outcome cannot be read (FAILED, a result short or
        unreadable, an answer lost) leaves its records unknown and the next
        job goes on: the caller settles them by looking them up. A refusal
        before a job exists (an upload refused) stops the write (``error``).
        """
        answer = BulkAnswer([None] * len(payloads))
        if not payloads:
            return answer
        first = ("id",) if operation == "update" else ()
        columns = columns_of(payloads, first)
        ids = [str(p.get("id") or "") for p in payloads] if operation == "update" else None
        try:
            mappings = field_mappings(columns, payloads)
            files = bulk_files(payloads, columns, max_rows=self.max_rows, max_bytes=self.max_bytes)
            for file in files:
                self._job(operation, file, (columns, mappings, ids), answer)
        except BulkWriteError as exc:
            answer.error = exc
        except ZohoAPIError as exc:
            answer.error = _stopped(exc, [])
        return answer

    def _job(
        self,
        operation: str,
        file: BulkFile,
        shape: tuple[list[str], list[dict[str, t.Any]], list[str] | None],
        answer: BulkAnswer,
    ) -> None:
        """Run one file's job and read its records' outcomes into ``answer``."""
        columns, mappings, ids = shape
        span = range(file.start, file.start + file.count)
        try:
            job_id = self._start(operation, file, mappings, answer)
        except BulkWriteError as exc:
            if not exc.ambiguous:
                raise
            answer.sent = span.stop
            answer.unknown(span, exc, running=True)  # the job may exist, and run later
            return
        answer.sent = span.stop
        if self.journal is not None:
            self.journal.started(self.client.auth.api_domain, job_id, operation, file.count)
        try:
            table = result_table(self.reader.result(job_id, file.count), job_id)
        except BulkWriteError as exc:
            answer.unknown(span, exc, running=exc.code == "JOB_TIMEOUT")
            return
        except ZohoAPIError as exc:  # its status or result could not be read: it may still run
            answer.unknown(span, _stopped(exc, []), running=True)
            return
        wanted = ids[span.start : span.stop] if ids else None
        outcomes = read_outcomes(file, columns, table, ids=wanted)
        answer.outcomes[span.start : span.stop] = outcomes
        unknown = sum(outcome is None for outcome in outcomes)
        if unknown:
            msg = f"bulk job {job_id}: its result does not say what became of {unknown} records"
            mismatch = BulkResultMismatchError(msg, code="RESULT_MISMATCH")
            answer.unknown(span, mismatch, running=False)

    def _start(
        self,
        operation: str,
        file: BulkFile,
        mappings: list[dict[str, t.Any]],
        answer: BulkAnswer,
    ) -> str:
        """Upload ``file`` and create its job; return the job's id."""
        data, kind = _multipart(file.data)
        origin, path = self._upload_url()
        upload: Uploaded | None = self.client.request(
            "POST",
            path,
            origin=origin,
            scope=FILES_SCOPE,
            headers=self._upload_headers(kind),
            body=data,
            shape=UPLOADED,
        )
        file_id = id_text(upload.details.file_id) if upload and upload.details else ""
        if upload is None or upload.status != "success" or not file_id:
            code = (upload and upload.code) or "UNEXPECTED_ANSWER"
            msg = f"POST /upload: Zoho did not take the file of {file.count} records ({code})"
            raise BulkWriteError(msg, code=code)
        resource: dict[str, t.Any] = {
            "type": "data",
            "module": {"api_name": "Leads"},
            "file_id": file_id,
            "field_mappings": mappings,
        }
        if operation == "update":
            resource["find_by"] = "id"
        # The upload's answer was just read: its Date is the org's clock before the job.
        answer.since = answer.since or self.client.org_clock.now()
        body = {
            "operation": operation,
            "character_encoding": "UTF-8",
            # An update row carries only the fields it writes; the others' cells
            # are empty, and ignore_empty (Zoho's Bulk Write API, "Create bulk
            # write job"; bulk_write.json of the v8 OAS) leaves those fields as
            # they are: an update job can never clear a field.
            "ignore_empty": operation == "update",
            "resource": [resource],
        }
        return self._create(body, file.count)

    def _create(self, body: dict[str, t.Any], count: int) -> str:
        """Create the job; a lost answer is sent again or, when settling, raised."""

        def resent() -> None:
            logger.warning(
                "A bulk job of %d records was sent but no answer came back; sending it "
                "again, so Zoho may run it twice",
                count,
            )
            if self.on_resend is not None:
                self.on_resend(count)

        try:
            origin, path = self._jobs_url("")
            answer: JobCreated | None = self.client.request(
                "POST",
                path,
                origin=origin,
                scope=BULK_SCOPE,
                json=body,
                settle_ambiguous=self.settle_ambiguous,
                on_resend=resent,
                shape=JOB_CREATED,
            )
        except ZohoTransientError as exc:
            msg = f"a bulk job of {count} records was sent but no answer came back: {exc}"
            raise BulkWriteError(msg, code=exc.code, ambiguous=True) from exc
        except ZohoAPIError as exc:
            if exc.code != "UNEXPECTED_ANSWER":
                raise
            # The job may have been created: its records are settled by lookup.
            raise BulkWriteError(str(exc), code=exc.code, ambiguous=True) from None
        # Typed: the id goes into the status URL, so it is digits (never ``../``).
        job_id = id_text(answer.details.id) if answer and answer.details else ""
        if not job_id:
            msg = "POST /crm/bulk/write: Zoho's answer names no job id"
            raise BulkWriteError(msg, code="UNEXPECTED_ANSWER", ambiguous=True)
        return job_id

    # Addresses and headers ------------------------------------------------

    def _jobs_url(self, rest: str) -> tuple[str, str]:
        return self.reader.jobs_url(rest)

    def job_status(self, job_id: str) -> str:
        """A job's status, one call (see :meth:`JobReader.status`)."""
        return self.reader.status(job_id)

    def _upload_url(self) -> tuple[str, str]:
        return self.client.upload_origin(), f"/crm/{self.client.api_version}/upload"

    def _upload_headers(self, content_type: str) -> dict[str, str]:
        return {"feature": "bulk-write", "X-CRM-ORG": self.org_id(), "Content-Type": content_type}


def first_poll_seconds() -> float:
    """The wait before a job's first status check: 2 s, or less if ``POLL_FIRST_ENV`` asks."""
    try:
        wanted = float(os.environ.get(POLL_FIRST_ENV, ""))
    except ValueError:
        return POLL_FIRST_SECONDS
    return wanted if 0 < wanted < POLL_FIRST_SECONDS else POLL_FIRST_SECONDS


def _multipart(data: bytes) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body holding ``data`` as the ``file`` field, and its type."""
    return urllib3.encode_multipart_formdata({"file": ("leads.zip", data, "application/zip")})


def _counter(
    on_call: Callable[[], None] | None, on_credits: Callable[[int], None] | None
) -> Callable[[int, int | None], None]:
    """The client's counting hook, told of each attempt, as the two hooks of a writer."""

    def count(cost: int, concurrency: int | None) -> None:
        del concurrency
        if on_call is not None:
            on_call()
        if on_credits is not None:
            on_credits(cost)

    return count


def _all_known(answer: BulkAnswer) -> list[Outcome]:
    """Every outcome of ``answer``, or the first reason one is unknown, raised.

    Raises:
        BulkWriteError: Carrying the outcomes before the first unknown one.
    """
    problem = answer.problems[0] if answer.problems else answer.error
    if problem is None:
        return t.cast("list[Outcome]", answer.outcomes)
    first = answer.outcomes.index(None)
    problem.settled = t.cast("list[Outcome]", answer.outcomes[:first])
    raise problem


def _stopped(exc: ZohoAPIError, settled: list[Outcome]) -> BulkWriteError:
    """A call's failure, as the Bulk Write error that carries what was settled."""
    return BulkWriteError(str(exc), code=exc.code, status=exc.status, settled=settled)
