"""Everything that talks to Zoho during a run, and which ways of writing it allows."""

from __future__ import annotations

import logging
import os
import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor

from target_zoho_leads.loading.job_log import JobLogs
from target_zoho_leads.loading.journal import (
    JobJournal,
    default_journal_path,
    wait_for_earlier_jobs,
)
from target_zoho_leads.loading.settle import RECORDS_WATCH_MIN_SECONDS, InsertSettler, Watch
from target_zoho_leads.loading.unique_writes import UniqueLeadWriter
from target_zoho_leads.loading.writes import LeadInserter
from target_zoho_leads.zoho.auth import ZohoAuth
from target_zoho_leads.zoho.bulk.jobs import BulkWriter, first_poll_seconds
from target_zoho_leads.zoho.client import ZohoCRMClient, new_session
from target_zoho_leads.zoho.errors import ZohoAPIError, ZohoScopeError

if t.TYPE_CHECKING:
    import requests

    from target_zoho_leads.loading.results import BulkRoute
    from target_zoho_leads.loading.stats import StreamStats
    from target_zoho_leads.settings.model import Settings
    from target_zoho_leads.zoho.bulk.job_reading import JobLog

logger = logging.getLogger(__name__)

HTTP_BAD_REQUEST = 400
HTTP_SERVER_ERROR = 500


class ZohoConnection:
    """The client, call threads and writer of a run, built once and closed at the end.

    It also knows whether Bulk Write may be used: ``write_method`` bulk asks
    Zoho when the connection opens, auto when the first write large enough
    for a job comes (so a run of small writes never needs Bulk Write's
    scopes). Either way the answer is kept for the whole run.
    """

    def __init__(  # noqa: PLR0913 - the parts, then keywords for how they are used
        self,
        client: ZohoCRMClient,
        writer: LeadInserter | UniqueLeadWriter,
        executor: ThreadPoolExecutor,
        *,
        write_method: str = "records",
        session: requests.Session | None = None,
        journal: JobJournal | None = None,
        watch: Watch | None = None,
    ) -> None:
        """Hold the parts; nothing is asked of Zoho yet.

        ``journal`` keeps the Bulk Write jobs this run starts; ``watch`` says
        how long to wait for those an earlier run left running.
        """
        self.client = client
        self.writer = writer
        self.executor = executor
        self.write_method = write_method
        self.session = session
        self.journal = journal
        self.job_log: JobLog | None = journal  # told of the jobs bulk_writer's writers start
        self.watch = watch or Watch(0)
        self._bulk_ready: bool | None = None if write_method != "records" else False
        self._bulk_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings) -> ZohoConnection:
        """Build the session, token source, client, call threads and writer; no call yet."""
        session = new_session(settings.max_concurrency)
        auth = ZohoAuth(
            accounts_url=settings.accounts_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            refresh_token=settings.refresh_token,
            session=session,
            timeout=settings.request_timeout,
            allowed_hosts=settings.allowed_hosts,
            token_wait_max=settings.token_wait_max,
        )
        client = ZohoCRMClient(
            auth=auth,
            session=session,
            api_version=settings.api_version,
            timeout=settings.request_timeout,
            max_retries=settings.max_retries,
            max_concurrency=settings.max_concurrency,
        )
        executor = ThreadPoolExecutor(
            max_workers=settings.max_concurrency, thread_name_prefix="zoho-call"
        )
        writer = _writer(settings, executor)
        return cls(
            client,
            writer,
            executor,
            write_method=settings.write_method,
            session=session,
            journal=_journal(settings),
            watch=_watch(settings),
        )

    def wait_for_earlier_jobs(self) -> None:
        """Before the first lookup: wait for the jobs of this org an earlier run left running.

        Raises:
            ZohoAPIError: The token or the org could not be had.
        """
        if self.journal is not None:
            org = self.client.auth.api_domain
            status_of = BulkWriter(self.client).job_status
            wait_for_earlier_jobs(self.journal, org, status_of, self.watch)

    def bulk_ready(self) -> bool:
        """Whether Bulk Write can be used this run; Zoho is asked the first time only.

        With ``write_method`` auto, any failure of the check (a missing scope,
        a network failure, an error answer after retries) means the records
        API for the whole run, with one warning naming the cause.

        Raises:
            ZohoAPIError: ``write_method`` is bulk and Bulk Write cannot be used.
        """
        with self._bulk_lock:
            if self._bulk_ready is None:
                self._bulk_ready = self._check_bulk()
            return self._bulk_ready

    def _check_bulk(self) -> bool:
        try:
            self.check_bulk_scopes()
        except ZohoAPIError as exc:  # the transport's failures arrive as ZohoTransientError
            if self.write_method == "bulk":
                raise
            logger.warning("Bulk Write is not available (%s): writing by the records API", exc)
            return False
        return True

    def check_bulk_scopes(self) -> None:
        """Ask Zoho whether the token carries Bulk Write's scopes (three calls, nothing made).

        Raises:
            ZohoAPIError: A scope is missing (ZohoScopeError), or the check failed.
        """
        BulkWriter(self.client).check_scopes()

    def bulk_writer(self, stats: StreamStats, *, settle_ambiguous: bool = False) -> BulkRoute:
        """A Bulk Write route whose calls and re-sent jobs count in ``stats``.

        With ``settle_ambiguous`` a job whose creation answer is lost is
        given back unsettled, never sent again while it may still run: the
        writer looks its records up first (Unique Lead by identity, insert
        mode by tracking id).
        """
        return BulkWriter(
            self.client,
            on_call=stats.count_call,
            on_credits=stats.count_credits,
            on_resend=stats.count_resent_blind,
            settle_ambiguous=settle_ambiguous,
            journal=self.job_log,
        )

    def tell_jobs_to(self, log: JobLog) -> None:
        """Tell ``log`` (the run report's list) of each job, as well as the journal."""
        self.job_log = JobLogs(self.journal, log)

    def close(self) -> None:
        """Wait for the call threads, close the HTTP session and the job journal."""
        self.executor.shutdown(wait=True)
        if self.journal is not None:
            self.journal.close()
        if isinstance(self.writer, UniqueLeadWriter):
            self.writer.close()  # its end-of-run warning
        if self.session is not None:
            self.session.close()


def can_settle(settings: Settings) -> bool:
    """Whether a write of unknown outcome can be looked up: Unique Lead, or a mapped tracking id."""
    field = settings.tracking_id_field
    return (
        settings.unique_lead or field in settings.field_mapping or field in settings.default_values
    )


def _watch(settings: Settings) -> Watch:
    """How long to look for what a job (``bulk_settle_max``) or a call that may still run writes."""
    return Watch(
        settings.bulk_settle_max,
        records_seconds=max(RECORDS_WATCH_MIN_SECONDS, settings.request_timeout),
        first_wait=first_poll_seconds(),
    )


def _journal(settings: Settings) -> JobJournal | None:
    """The job journal, when this run may start jobs or an earlier run left one.

    A run that never writes by Bulk Write does not create the file.

    Raises:
        OutputFileError: ``job_journal_path`` was given and cannot be used.
    """
    path = settings.job_journal_path
    exists = os.path.lexists(path or default_journal_path())
    if settings.write_method == "records" and not exists:
        return None
    return JobJournal.open(path)


def _writer(settings: Settings, executor: ThreadPoolExecutor) -> LeadInserter | UniqueLeadWriter:
    """The writer of the mode the settings choose."""
    trigger = list(settings.trigger) if settings.trigger is not None else None
    watch = _watch(settings)
    if not settings.unique_lead:
        if not can_settle(settings):
            logger.warning(
                "No field_mapping fills tracking_id_field %s: a write whose answer is lost "
                "cannot be looked up, so it is sent again and Zoho may hold it twice",
                settings.tracking_id_field,
            )
            return LeadInserter(executor, trigger)
        return LeadInserter(executor, trigger, InsertSettler(settings.tracking_id_field, watch))
    return UniqueLeadWriter(
        executor,
        trigger,
        settings.tracking_id_field,
        default_phone_region=settings.default_phone_region,
        normalize_identities=settings.normalize_identities,
        match_contacts=settings.match_contacts,
        match_fields=settings.match_fields,
        hold_ambiguous=settings.on_ambiguous == "hold",
        watch=watch,
        existing_fields=(
            settings.existing_lead_fields,
            tuple(settings.field_mapping),
            settings.overwrite_fields,
        ),
    )


def check_contacts_scope(client: ZohoCRMClient) -> None:
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
