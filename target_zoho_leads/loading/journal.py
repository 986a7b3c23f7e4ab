"""The job journal: the Bulk Write jobs a run started and has not seen end, kept for the next run.

A run killed while its job runs leaves that job running in Zoho; the next run's
lookups, made before the job writes, would not find its leads and Unique Lead
would create those people again. Zoho has no API to list an org's Bulk Write
jobs (the Bulk Write API documents only "Get Bulk Write Job Details" by a job's
id), so the only record of such a job is this file: each job's id, org (its API
domain), operation and start, written when the job is created and removed when
it is seen COMPLETED or FAILED. The next run on the same machine waits for the
jobs of its org that are still listed (:func:`wait_for_earlier_jobs`).

The file is opened as the other output files are (no symbolic link in any
part of the path, owner-only) and updated under an exclusive ``flock``, so
runs of the same machine may share it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import threading
import typing as t
import weakref

from target_zoho_leads.loading.outputs import OutputFileError, open_checked
from target_zoho_leads.loading.settle import watch_until
from target_zoho_leads.zoho.bulk.job_reading import RUNNING
from target_zoho_leads.zoho.errors import ZohoAPIError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    from target_zoho_leads.loading.settle import Watch

logger = logging.getLogger(__name__)

SETTING = "job_journal_path"
MAX_JOURNAL_BYTES = 1 << 20  # thousands of jobs; more is not a journal this target wrote


def default_journal_path(env: Mapping[str, str] = os.environ) -> str:
    """``$XDG_CACHE_HOME/target-zoho-leads/bulk-jobs.json``, else under ``~/.cache``.

    The XDG Base Directory spec ignores a relative ``XDG_CACHE_HOME``.
    """
    base = env.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # noqa: PTH117 - a str path, as open_checked takes
        base = os.path.join(os.path.expanduser("~"), ".cache")  # noqa: PTH111, PTH118
    return os.path.join(base, "target-zoho-leads", "bulk-jobs.json")  # noqa: PTH118


class JournalEntry(t.NamedTuple):
    """One job a run started: its id, org (API domain), operation and start (UTC, ISO 8601)."""

    job_id: str
    org: str
    operation: str
    started: str


class JobJournal:
    """The journal file, read and rewritten whole under a lock at each change."""

    def __init__(self, fd: int) -> None:
        """Use the open, checked descriptor ``fd`` (read-write, appending)."""
        self._fd = fd
        self._closer = weakref.finalize(self, os.close, fd)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | None) -> JobJournal | None:
        """The journal at ``path`` (the setting), or at the default path.

        A path given that cannot be used stops the run at start-up; the
        default path (a cache folder that may be read-only on a worker) is
        warned about and the run goes on without a journal.

        Raises:
            OutputFileError: ``path`` was given and cannot be used.
        """
        try:
            return cls(open_checked(SETTING, path or default_journal_path(), read=True))
        except OutputFileError as exc:
            if path:
                raise
            logger.warning(
                "No job journal (%s): a run started right after one killed mid-job may "
                "create a second lead for people whose job was still running",
                exc,
            )
            return None

    def started(self, org: str, job_id: str, operation: str, records: int = 0) -> None:  # noqa: ARG002 - JobLog's
        """Keep a job just created (its record count is the run report's, not kept here)."""
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        entry = JournalEntry(job_id, org, operation, now)
        self._change(lambda entries: [*entries, entry])

    def ended(self, org: str, job_ids: Collection[str], status: str = "") -> None:  # noqa: ARG002 - JobLog's
        """Forget jobs seen to end (or waited for by a later run), whatever ``status``."""
        gone = set(job_ids)
        self._change(lambda entries: [e for e in entries if e.org != org or e.job_id not in gone])

    def entries(self, org: str) -> list[JournalEntry]:
        """The jobs of ``org`` still listed."""
        return [e for e in self._change(lambda entries: entries) if e.org == org]

    def close(self) -> None:
        """Close the file (again is fine)."""
        self._closer()

    def _change(
        self, change: Callable[[list[JournalEntry]], list[JournalEntry]]
    ) -> list[JournalEntry]:
        """Read the entries, apply ``change`` and write them back if it changed them.

        A journal that cannot be read or written (a full disk) costs the next
        run its wait, not this run its writes: it is warned about.
        """
        with self._lock:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
                try:
                    entries = self._read()
                    changed = change(entries)
                    if changed != entries:
                        self._write(changed)
                    return changed
                finally:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
            except OSError as exc:
                logger.warning("%s: the journal could not be updated (%s)", SETTING, exc.strerror)
                return []

    def _read(self) -> list[JournalEntry]:
        """The entries in the file; none when it is empty or unreadable (with a warning)."""
        os.lseek(self._fd, 0, os.SEEK_SET)
        data = b""
        while len(data) <= MAX_JOURNAL_BYTES and (chunk := os.read(self._fd, 65536)):
            data += chunk
        if not data.strip():
            return []
        try:
            jobs: list[t.Any] = json.loads(data)["jobs"] if len(data) <= MAX_JOURNAL_BYTES else [0]
            return [JournalEntry(*(str(job[k]) for k in JournalEntry._fields)) for job in jobs]
        except (ValueError, KeyError, TypeError):  # 0[k] is a TypeError
            logger.warning("%s: the file is not a job journal; starting it afresh", SETTING)
            return []

    def _write(self, entries: list[JournalEntry]) -> None:
        """Replace the file's text by ``entries``."""
        text = json.dumps({"jobs": [e._asdict() for e in entries]}, indent=1) + "\n"
        os.ftruncate(self._fd, 0)
        data = memoryview(text.encode())
        while data:  # appending to an emptied file writes from its start
            data = data[os.write(self._fd, data) :]


def wait_for_earlier_jobs(
    journal: JobJournal, org: str, status_of: Callable[[str], str], watch: Watch
) -> None:
    """Wait for each job of ``org`` an earlier run left listed to leave ADDED/IN PROGRESS.

    Called before the run's first lookup, so the lookups see what those jobs
    wrote. Bounded by the watch's seconds (``bulk_settle_max``); the jobs are
    then forgotten, with a warning for any still running.

    Args:
        journal: The journal.
        org: This run's API domain; other orgs' jobs are left alone.
        status_of: A job's status by id (``BulkWriter.job_status``).
        watch: How long to wait, and how.
    """
    earlier = journal.entries(org)
    if not earlier:
        return
    logger.warning(
        "%d Bulk Write jobs an earlier run started were not seen to end; waiting up to "
        "%.0f s (bulk_settle_max) for them, so this run's lookups see what they wrote",
        len(earlier),
        watch.seconds,
    )
    waiting = {entry.job_id for entry in earlier}

    def look() -> int:
        for job_id in sorted(waiting):
            try:
                status = status_of(job_id)
            except ZohoAPIError:  # not known this time: it may still run
                continue
            if status not in RUNNING:
                waiting.discard(job_id)
        return len(waiting)

    if watch_until(watch, look, "Bulk Write jobs of an earlier run still run"):
        logger.warning(
            "%d Bulk Write jobs of an earlier run still run after bulk_settle_max; going "
            "on, so a record of theirs may be written twice",
            len(waiting),
        )
    journal.ended(org, [entry.job_id for entry in earlier])
