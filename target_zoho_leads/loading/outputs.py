"""Where records end up besides Zoho: the rejected records, the outcomes, dry runs.

These files hold people's data (or ids that lead to them), and their paths come from settings that a
scheduler or a shared folder may have set up: each is opened once, at
start-up, without following a symbolic link in any part of its path, and
refused unless it is a plain file of the user running the target.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
import threading
import typing as t
import uuid
import weakref
from datetime import datetime, timezone

from singer_sdk.exceptions import ConfigValidationError

from target_zoho_leads.zoho.outcomes import REJECTED, SKIPPED

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_zoho_leads.zoho.outcomes import Outcome

logger = logging.getLogger(__name__)

# File systems whose "files" are the kernel's knobs and reports, not storage:
# /proc/version passes every other check when the target runs as root.
PSEUDO_FILE_SYSTEMS = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nsfs",
        "proc",
        "pstore",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "sysfs",
        "tracefs",
    }
)
_MOUNTS = "/proc/self/mountinfo"
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


class OutputFileError(ConfigValidationError):
    """An output path that cannot be used: one line naming the setting, never the path."""

    def __init__(self, setting: str, problem: str) -> None:
        """Say which setting and what is wrong with the file it names."""
        message = f"{setting} {problem}"
        super().__init__(message, errors=[message])


class OutputFile:
    """One output file, opened and checked at start-up, appended to by its descriptor."""

    def __init__(self, setting: str, path: str, *, truncate: bool = False) -> None:
        """Open ``path`` for appending (emptied first when ``truncate``).

        Raises:
            OutputFileError: The path is a symbolic link, not a regular file,
                another user's file, a file with other names, or cannot be
                written; nothing in it has been changed.
        """
        self._fd = open_checked(setting, path)
        # Closed when the owner is dropped, even if `close` never runs.
        self._closer = weakref.finalize(self, os.close, self._fd)
        if truncate:
            os.ftruncate(self._fd, 0)

    def write(self, text: str) -> None:
        """Append ``text``: written straight to the file, so a killed run keeps it."""
        if not self._closer.alive:  # its number may already belong to another file
            msg = "write to a closed output file"
            raise ValueError(msg)
        data = memoryview(text.encode())
        while data:
            data = data[os.write(self._fd, data) :]

    def close(self) -> None:
        """Close the file (again is fine)."""
        self._closer()


def open_checked(setting: str, path: str, *, read: bool = False) -> int:
    """Open ``path`` for appending, creating it owner-only; refuse anything but our plain file.

    Every folder on the way is opened in turn, each within the one before
    and without following a symbolic link (``O_NOFOLLOW``), so a link
    anywhere in the path, even one planted while it is being opened, is
    refused rather than followed. The checks are made on the open
    descriptor: ``fstat`` judges the file actually opened. The file is
    looked at first only so that a pipe or a device is never opened
    (opening some devices does something).

    Args:
        setting: The setting's name, for the error.
        path: The file; missing folders are created, owner-only.
        read: Open it for reading too (the job journal reads itself back).

    Returns:
        The open descriptor (appending; write-only unless ``read``).

    Raises:
        OutputFileError: The file cannot be used; nothing in it was changed.
    """
    folder, name = _open_folder(setting, path)
    try:
        return _open_in(setting, folder, name, os.O_RDWR if read else os.O_WRONLY)
    finally:
        os.close(folder)


def _open_in(setting: str, folder: int, name: str, access: int) -> int:
    """Open ``name`` within the open ``folder``, as :func:`open_checked` says."""
    try:
        before: os.stat_result | None = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        before = None
    if before is not None:
        _refuse_unless_plain(setting, before)
    flags = access | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
    try:
        fd = os.open(name, flags | _CLOEXEC, 0o600, dir_fd=folder)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW's answer, by OS
            raise OutputFileError(setting, _problem("a symbolic link")) from None
        raise OutputFileError(setting, f"cannot be written ({exc.strerror})") from None
    try:
        _check_opened(setting, fd, before)
    except BaseException:
        os.close(fd)
        raise
    return fd


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC


def _open_folder(setting: str, path: str) -> tuple[int, str]:
    """The folder of ``path``, opened part by part without following links; and the file's name.

    Raises:
        OutputFileError: A part is a symbolic link or a file, or cannot be
            created or opened.
    """
    head, name = os.path.split(path)
    if name in ("", ".", ".."):
        raise OutputFileError(setting, _problem("a folder"))
    folder = os.open("/" if path.startswith("/") else ".", _FOLDER_FLAGS)
    for part in head.split("/"):
        if part in ("", "."):  # a leading, doubled or trailing slash
            continue
        try:
            inner = _enter(setting, folder, part)
        finally:
            os.close(folder)
        folder = inner
    return folder, name


def _enter(setting: str, folder: int, part: str) -> int:
    """Open the folder ``part`` within ``folder``, creating it owner-only if missing."""
    try:
        os.mkdir(part, 0o700, dir_fd=folder)
    except FileExistsError:
        pass
    except OSError as exc:
        problem = f"cannot be written: its folder cannot be created ({exc.strerror})"
        raise OutputFileError(setting, problem) from None
    try:
        return os.open(part, _FOLDER_FLAGS, dir_fd=folder)
    except OSError as exc:
        # Linux answers ENOTDIR for a link with O_DIRECTORY|O_NOFOLLOW, others ELOOP.
        if exc.errno in (errno.ELOOP, errno.EMLINK) or _is_link(folder, part):
            problem = "has a symbolic link among its folders: give a path of real folders"
        elif exc.errno == errno.ENOTDIR:
            problem = "cannot be written: part of its folder is a file"
        else:
            problem = f"cannot be written: its folder cannot be opened ({exc.strerror})"
        raise OutputFileError(setting, problem) from None


def _is_link(folder: int, part: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(part, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _check_opened(setting: str, fd: int, before: os.stat_result | None) -> None:
    """Judge the file actually opened; narrow its mode by descriptor if it is ours."""
    status = os.fstat(fd)
    _refuse_unless_plain(setting, status)
    if before is not None and (before.st_dev, before.st_ino) != (status.st_dev, status.st_ino):
        raise OutputFileError(setting, "was replaced while it was being opened; try again")
    if status.st_uid != os.geteuid():
        raise OutputFileError(setting, "names a file owned by another user")
    if status.st_nlink > 1:
        # A hard link is a second name for another file, perhaps one of the user's own.
        raise OutputFileError(setting, "names a file that has other names (hard links)")
    file_system = _file_system(status.st_dev)
    if file_system in PSEUDO_FILE_SYSTEMS:
        raise OutputFileError(setting, _problem(f"a file of the {file_system} file system"))
    if status.st_mode & 0o077:
        # Left readable by others (made by hand, or by another tool) and about
        # to receive people's data.
        logger.warning("%s: the file was readable by others; made it owner-only", setting)
        os.fchmod(fd, 0o600)
    os.set_blocking(fd, True)


def _refuse_unless_plain(setting: str, status: os.stat_result) -> None:
    for is_kind, kind in _KINDS:
        if is_kind(status.st_mode):
            raise OutputFileError(setting, _problem(kind))
    if not stat.S_ISREG(status.st_mode):
        raise OutputFileError(setting, _problem("something other than a regular file"))


def _problem(kind: str) -> str:
    return f"names {kind}: give the path of a regular file of yours, or of one to create"


def _file_system(device: int) -> str | None:
    """The type of the file system mounted as ``device``, where the OS says (Linux)."""
    wanted = f"{os.major(device)}:{os.minor(device)}"
    try:
        with open(_MOUNTS, encoding="utf-8", errors="replace") as mounts:  # noqa: PTH123
            for line in mounts:
                fields = line.split()
                if len(fields) > 4 and fields[2] == wanted and " - " in line:  # noqa: PLR2004
                    return line.split(" - ", 1)[1].split()[0]
    except OSError:
        return None
    return None


class RejectedRecords:
    """Logs each rejected record without personal data, and keeps it in a file.

    The file is JSON lines, created readable by its owner only: it holds the
    people's data so they can be fixed and sent again.
    """

    LOGGED_PER_STREAM = 50
    SETTING = "rejected_records_path"

    def __init__(self, path: str | None) -> None:
        """Open ``path`` for appending now, at start-up; only log when None.

        Raises:
            OutputFileError: The path cannot be used (see :func:`open_checked`).
        """
        self.path = path
        self._lock = threading.Lock()
        self._logged: dict[str, int] = {}
        self._file = OutputFile(self.SETTING, path) if path else None

    def add(
        self,
        stream: str,
        record: t.Mapping[str, t.Any],
        lead: t.Any,
        outcome: Outcome,
    ) -> None:
        """Report one rejected record: its code and field in the log, all of it in the file."""
        with self._lock:
            seen = self._logged.get(stream, 0)
            self._logged[stream] = seen + 1
            level = logging.WARNING if seen < self.LOGGED_PER_STREAM else logging.DEBUG
            # Only the code and the field: Zoho's own message can quote the value.
            logger.log(
                level,
                "Stream '%s': record %s: %s on field %s",
                stream,
                "skipped" if outcome.kind == SKIPPED else "rejected",
                outcome.code,
                outcome.field or "-",
            )
            if seen + 1 == self.LOGGED_PER_STREAM:
                logger.warning(
                    "Stream '%s': further rejections are logged at DEBUG level "
                    "and counted in the summary",
                    stream,
                )
            if self._file is not None:
                self._file.write(_rejected_line(stream, record, lead, outcome))

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._file is not None:
                self._file.close()


def _rejected_line(
    stream: str, record: t.Mapping[str, t.Any], lead: t.Any, outcome: Outcome
) -> str:
    line = {
        "stream": stream,
        "code": outcome.code,
        "message": outcome.message,
        "field": outcome.field,
        **({"lead_ids": list(outcome.lead_ids)} if outcome.lead_ids is not None else {}),
        "lead": lead,
        "record": record,
    }
    return json.dumps(line, default=str, ensure_ascii=False) + "\n"


class OutcomesFile:
    """One JSON line per settled record: its outcome and Zoho lead id, for the CDP to join back.

    Lines are appended as records are confirmed, before their STATE passes
    on, so after a crash the file holds what was confirmed; a record the
    next run sends again gets a second line, and the later one is current.
    """

    SETTING = "outcomes_path"

    def __init__(self, path: str, run_id: str | None = None) -> None:
        """Open ``path`` for appending now, at start-up: every run adds its own lines.

        Raises:
            OutputFileError: The path cannot be used (see :func:`open_checked`).
        """
        self.path = path
        self.run_id = run_id or uuid.uuid4().hex
        self._keys: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self._file = OutputFile(self.SETTING, path)

    def key_properties(self, stream: str, keys: Sequence[str] | None) -> None:
        """Remember a stream's key properties (from its SCHEMA) to name each record by."""
        self._keys[stream] = tuple(keys or ())

    def write(
        self, stream: str, settled: Sequence[tuple[t.Mapping[str, t.Any], t.Any, Outcome]]
    ) -> None:
        """Append one line per (record, tracking id, outcome), all in one write."""
        keys = self._keys.get(stream, ())
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        text = "".join(
            json.dumps(
                _outcome_line(stream, {k: record.get(k) for k in keys}, tracking_id, outcome)
                | {"run_id": self.run_id, "time": now},
                default=str,
                ensure_ascii=False,
            )
            + "\n"
            for record, tracking_id, outcome in settled
        )
        with self._lock:
            self._file.write(text)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()


def record_line(  # noqa: PLR0913 - the record, and what is said of it
    stream: str,
    key: dict[str, t.Any],
    tracking_id: t.Any,
    outcome: Outcome,
    *,
    said: tuple[str, str],
    lead_id: str | None,
) -> dict[str, t.Any]:
    """The keys an outcome line and a plan line share, in the order both write them.

    ``said`` is the line's word for the record (``outcome`` or ``action``) and its value.
    """
    refused = outcome.kind in (REJECTED, SKIPPED)
    return {
        "stream": stream,
        "key": key,
        "tracking_id": tracking_id,
        said[0]: said[1],
        "lead_id": lead_id,
        "code": outcome.code if refused else None,
        "field": outcome.field if refused else None,
    }


def _outcome_line(
    stream: str, key: dict[str, t.Any], tracking_id: t.Any, outcome: Outcome
) -> dict[str, t.Any]:
    said = ("outcome", str(outcome.kind))
    line = record_line(stream, key, tracking_id, outcome, said=said, lead_id=outcome.lead_id)
    if outcome.lead_ids is not None:
        line["lead_ids"] = list(outcome.lead_ids)
    if outcome.fields is not None:
        line["fields"] = list(outcome.fields)
    if outcome.matched_by is not None:
        line["matched_by"] = outcome.matched_by
    return line


class DryRunFile:
    """Writes each mapped lead as a JSON line instead of sending it to Zoho."""

    SETTING = "dry_run_path"

    def __init__(self, path: str) -> None:
        """Open ``path`` now and empty it: a dry run shows this run's leads only.

        Raises:
            OutputFileError: The path cannot be used (see :func:`open_checked`).
        """
        self.path = path
        self._lock = threading.Lock()
        self._file = OutputFile(self.SETTING, path, truncate=True)

    def write(self, leads: Sequence[dict[str, t.Any]]) -> None:
        """Append ``leads``, one JSON object per line."""
        text = "".join(json.dumps(lead, default=str, ensure_ascii=False) + "\n" for lead in leads)
        with self._lock:
            self._file.write(text)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()
