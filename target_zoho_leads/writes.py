"""Writing leads to Zoho in calls of 100 and reading every answer item."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import typing as t

from target_zoho_leads.client import MAX_RECORDS_PER_WRITE

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from concurrent.futures import Executor

    from target_zoho_leads.client import ZohoCRMClient
    from target_zoho_leads.stats import StreamStats

logger = logging.getLogger(__name__)

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
REJECTED = "rejected"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one record."""

    kind: str
    lead_id: str | None = None
    code: str = ""
    message: str = ""
    field: str | None = None


def outcome_of(item: t.Mapping[str, t.Any], success: str) -> Outcome:
    """Read one item of an insert or update answer.

    Args:
        item: ``{"code", "details", "message", "status"}`` as Zoho answers.
        success: The outcome kind a successful item means.
    """
    details = item.get("details") if isinstance(item.get("details"), dict) else {}
    details = t.cast("dict[str, t.Any]", details)
    if item.get("status") == "success":
        lead_id = details.get("id")
        return Outcome(success, lead_id=str(lead_id) if lead_id else None)
    field = details.get("api_name")
    if not field and isinstance(details.get("json_path"), str):
        field = details["json_path"].rsplit(".", 1)[-1]
    return Outcome(
        REJECTED,
        code=str(item.get("code") or "UNKNOWN"),
        message=str(item.get("message") or ""),
        field=str(field) if field else None,
    )


def chunks(items: Sequence[T], size: int = MAX_RECORDS_PER_WRITE) -> Iterator[Sequence[T]]:
    """Split ``items`` into runs of at most ``size``, in order."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


T = t.TypeVar("T")


def run_all(executor: Executor, jobs: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``jobs`` on ``executor`` and return their results in order.

    Every job is waited for even when one fails, so nothing is still writing
    when the error reaches the user; the first failure is then raised.
    """
    if len(jobs) == 1:
        return [jobs[0]()]
    futures = [executor.submit(job) for job in jobs]
    errors = [f.exception() for f in futures]
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
    return [f.result() for f in futures]


class LeadInserter:
    """Plain insert mode: every record becomes a new lead."""

    def __init__(
        self,
        client: ZohoCRMClient,
        executor: Executor,
        trigger: Sequence[str] | None,
    ) -> None:
        """Write through ``client``, sending calls concurrently on ``executor``."""
        self.client = client
        self.executor = executor
        self.trigger = trigger

    def write(
        self, leads: Sequence[dict[str, t.Any]], stats: StreamStats
    ) -> list[Outcome]:
        """Insert ``leads`` and return one outcome per lead, in order."""
        client = self.client.counting_calls_with(stats.count_call)

        def insert(part: Sequence[dict[str, t.Any]]) -> list[Outcome]:
            items = client.write_leads("POST", part, self.trigger)
            return [outcome_of(item, CREATED) for item in items]

        jobs = [lambda part=part: insert(part) for part in chunks(leads)]
        return [o for part in run_all(self.executor, jobs) for o in part]


class RejectedRecords:
    """Logs each rejected record without personal data, and keeps it in a file.

    The file is JSON lines, created readable by its owner only: it holds the
    people's data so they can be fixed and sent again.
    """

    LOGGED_PER_STREAM = 50

    def __init__(self, path: str | None) -> None:
        """Append to ``path`` when given; only log otherwise."""
        self.path = path
        self._lock = threading.Lock()
        self._logged: dict[str, int] = {}

    def add(
        self, stream: str, record: t.Mapping[str, t.Any], lead: t.Any, outcome: Outcome  # noqa: ANN401
    ) -> None:
        """Report one rejected record."""
        with self._lock:
            seen = self._logged.get(stream, 0)
            self._logged[stream] = seen + 1
            level = logging.WARNING if seen < self.LOGGED_PER_STREAM else logging.DEBUG
            logger.log(
                level,
                "Stream '%s': record rejected: %s on field %s: %s",
                stream,
                outcome.code,
                outcome.field or "-",
                outcome.message or "-",
            )
            if seen + 1 == self.LOGGED_PER_STREAM:
                logger.warning(
                    "Stream '%s': further rejections are logged at DEBUG level "
                    "and counted in the summary",
                    stream,
                )
            if self.path:
                self._append(stream, record, lead, outcome)

    def _append(
        self, stream: str, record: t.Mapping[str, t.Any], lead: t.Any, outcome: Outcome  # noqa: ANN401
    ) -> None:
        line = {
            "stream": stream,
            "code": outcome.code,
            "message": outcome.message,
            "field": outcome.field,
            "lead": lead,
            "record": record,
        }
        fd = _open_private(t.cast("str", self.path), os.O_APPEND)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(json.dumps(line, default=str, ensure_ascii=False) + "\n")


def _open_private(path: str, mode: int) -> int:
    """Open ``path`` for writing, creating it (and its folder) owner-readable only."""
    folder = os.path.dirname(path)  # noqa: PTH120
    if folder:
        os.makedirs(folder, exist_ok=True)  # noqa: PTH103
    return os.open(path, os.O_WRONLY | os.O_CREAT | mode, 0o600)


class DryRunFile:
    """Writes each mapped lead as a JSON line instead of sending it to Zoho."""

    def __init__(self, path: str) -> None:
        """Start ``path`` afresh: a dry run shows this run's leads only."""
        self.path = path
        self._lock = threading.Lock()
        os.close(_open_private(path, os.O_TRUNC))

    def write(self, leads: Sequence[dict[str, t.Any]]) -> None:
        """Append ``leads``, one JSON object per line."""
        text = "".join(
            json.dumps(lead, default=str, ensure_ascii=False) + "\n" for lead in leads
        )
        with self._lock, open(self.path, "a", encoding="utf-8") as out:  # noqa: PTH123
            out.write(text)
