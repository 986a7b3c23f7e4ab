"""Where records end up besides Zoho: the rejected-records file and dry runs."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_zoho_leads.outcomes import Outcome

logger = logging.getLogger(__name__)


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
        self._file: t.TextIO | None = None

    def add(
        self,
        stream: str,
        record: t.Mapping[str, t.Any],
        lead: t.Any,
        outcome: Outcome,
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
        self,
        stream: str,
        record: t.Mapping[str, t.Any],
        lead: t.Any,
        outcome: Outcome,
    ) -> None:
        line = {
            "stream": stream,
            "code": outcome.code,
            "message": outcome.message,
            "field": outcome.field,
            "lead": lead,
            "record": record,
        }
        if self._file is None:  # opened once, on the first rejection
            fd = _open_private(t.cast("str", self.path), os.O_APPEND)
            self._file = os.fdopen(fd, "a", encoding="utf-8")
        self._file.write(json.dumps(line, default=str, ensure_ascii=False) + "\n")
        # Flushed per line: a run that is killed keeps what it reported.
        self._file.flush()

    def close(self) -> None:
        """Close the file, if a rejection opened it."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _open_private(path: str, mode: int) -> int:
    """Open ``path`` for writing, creating it (and its folder) owner-readable only.

    A file that was already there keeps its mode on open, so one left readable
    by others (made by hand, or by another tool) is narrowed first: it is about
    to receive people's data. Pipes and devices are left as they are.
    """
    folder = os.path.dirname(path)  # noqa: PTH120
    if folder:
        os.makedirs(folder, exist_ok=True)  # noqa: PTH103
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | mode, 0o600)
    status = os.fstat(fd)
    mine = status.st_uid == os.geteuid()  # another user's file is theirs to mind
    if mine and stat.S_ISREG(status.st_mode) and status.st_mode & 0o077:
        logger.warning("%s was readable by others; made it owner-only", path)
        os.fchmod(fd, 0o600)
    return fd


class DryRunFile:
    """Writes each mapped lead as a JSON line instead of sending it to Zoho."""

    def __init__(self, path: str) -> None:
        """Start ``path`` afresh: a dry run shows this run's leads only."""
        self.path = path
        self._lock = threading.Lock()
        os.close(_open_private(path, os.O_TRUNC))

    def write(self, leads: Sequence[dict[str, t.Any]]) -> None:
        """Append ``leads``, one JSON object per line."""
        text = "".join(json.dumps(lead, default=str, ensure_ascii=False) + "\n" for lead in leads)
        with self._lock, open(self.path, "a", encoding="utf-8") as out:  # noqa: PTH123
            out.write(text)
