"""A Bulk Write job's result file, read into one outcome per record sent, or None.

What Zoho documents (the v8 "Download Bulk Write Result" page, and
``bulk_write.json`` in Zoho's OpenAPI files): the result CSV repeats the first
three mapped columns of each row, then the record id, the status (added,
updated, skipped, unprocessed) and the errors (``CODE-Field``, several joined
by ``:``). What it leaves open, and so what is read in every way it allows:

- the id column is named ``RECORD_ID`` in the sample and ``ID`` in the text
  ("ID, Status, and Errors"): either is taken;
- the status words are written in capitals in the sample and in lower case in
  the text: any letter case is taken;
- nothing promises the rows come in upload order, or one per record: rows are
  matched to records by the cells they repeat (and, on update, by the record
  id sent), never by position.

A record whose row is missing, cannot be told apart from another's, or says
something this job cannot say gets None: its outcome is unknown, and the
caller settles it by looking it up before anything is sent again. Nothing is
guessed.
"""

from __future__ import annotations

import collections
import csv
import io
import typing as t
import zipfile
import zlib

from target_zoho_leads.zoho.bulk.csv_file import ECHOED, MAX_BYTES, MAX_ROWS
from target_zoho_leads.zoho.bulk.errors import BulkResultMismatchError
from target_zoho_leads.zoho.bulk.unavailable import BulkResultUnavailableError
from target_zoho_leads.zoho.outcomes import CREATED, REJECTED, UPDATED, Outcome

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_zoho_leads.zoho.bulk.csv_file import BulkFile

ID_COLUMNS = ("RECORD_ID", "ID")  # the page's sample, and its text
STATUS_COLUMN = "STATUS"
ERRORS_COLUMN = "ERRORS"
WRITTEN = {"ADDED": CREATED, "UPDATED": UPDATED}
NOT_WRITTEN = {"SKIPPED", "UNPROCESSED"}
# Rows Zoho did not get to, or refused for a limit rather than for the data:
# not final, so the record is sent again (a bounded number of times).
NOT_FINAL = frozenset({"UNPROCESSED", "CANNOT_PROCESS", "LIMIT_EXCEEDED"})
# The records API's words for the codes Bulk Write reports without a message.
MESSAGES = {
    "INVALID_DATA": "invalid data",
    "MANDATORY_NOT_FOUND": "required field not found",
    "DUPLICATE_DATA": "duplicate data",
    "CONVERTED_RECORD": "can't update the converted record",
    "UNPROCESSED": "Zoho's bulk job did not process this record",
    "CANNOT_PROCESS": "Zoho's bulk job could not process this record",
    "LIMIT_EXCEEDED": "a limit of Zoho's stopped this record",
}

Row = dict[str, str]

# A result row repeats three cells of the row sent, then an id, a status and
# the errors: all of it fits in the CSV uploaded (at most MAX_BYTES) and a
# kilobyte a row. A result past that is not read (a 1 MB zip once held a
# 1 GiB cell, and reading it took 6 GB): the download, and the CSV in it.
ROW_EXTRA_BYTES = 1024
MAX_RESULT_BYTES = MAX_BYTES + MAX_ROWS * ROW_EXTRA_BYTES
# Zoho's longest text field holds 32,000 characters (Multi-Line (Large));
# a cell of more is not Zoho's. csv's limit is process-wide: set once, here.
MAX_CELL_CHARS = 131_072
csv.field_size_limit(MAX_CELL_CHARS)
MAX_ZIP_ENTRIES = 16  # one CSV, maybe a folder; looked at before the zip is opened
_END_OF_DIRECTORY = b"PK\x05\x06"
_ENCRYPTED = 0x1  # general purpose flag bit 0 (APPNOTE.TXT 4.4.4)
_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})  # what Zoho's zips use


def result_table(data: bytes, job_id: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the one CSV in a result zip.

    Raises:
        BulkResultMismatchError: Not a zip holding one CSV.
        BulkResultUnavailableError: A CSV that cannot be read within the caps
            (:data:`MAX_RESULT_BYTES`, :data:`MAX_CELL_CHARS`), encrypted, or
            compressed by another method: the job's records are settled by lookup.
    """
    try:
        text = _csv_text(data, job_id).decode("utf-8-sig")
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError):
        msg = f"bulk job {job_id}: the result file is not a zipped UTF-8 CSV"
        raise BulkResultMismatchError(msg, code="RESULT_MISMATCH") from None
    try:
        table = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        why = f"cannot be read as CSV (a cell of more than {MAX_CELL_CHARS:,} characters?)"
        raise _unreadable(job_id, why) from None
    if not table:
        return [], []
    return table[0], table[1:]


def _csv_text(data: bytes, job_id: str) -> bytes:
    """The bytes of the one CSV in a result zip, read no further than the cap."""
    end = data.rfind(_END_OF_DIRECTORY, max(0, len(data) - 65_557))
    entries = int.from_bytes(data[end + 10 : end + 12], "little") if end >= 0 else 0
    if entries > MAX_ZIP_ENTRIES:
        raise _not_one_csv(job_id, entries)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            raise _not_one_csv(job_id, len(members))
        info = members[0]
        if info.flag_bits & _ENCRYPTED or info.compress_type not in _METHODS:
            raise _unreadable(job_id, "is encrypted or compressed by a method other than deflate")
        if info.file_size > MAX_RESULT_BYTES:
            raise _unreadable(job_id, f"says it holds more than {MAX_RESULT_BYTES:,} bytes")
        with archive.open(info) as member:
            # The declared size may lie: the read stops one byte past the cap.
            text = member.read(MAX_RESULT_BYTES + 1)
    if len(text) > MAX_RESULT_BYTES:
        raise _unreadable(job_id, f"holds more than {MAX_RESULT_BYTES:,} bytes")
    return text


def _not_one_csv(job_id: str, files: int) -> BulkResultMismatchError:
    msg = f"bulk job {job_id}: the result zip holds {files} files, not one CSV"
    return BulkResultMismatchError(msg, code="RESULT_MISMATCH")


def _unreadable(job_id: str, why: str) -> BulkResultUnavailableError:
    """The job ran but its result cannot be read: its records are settled by lookup."""
    msg = f"bulk job {job_id}: its result CSV {why}; its records' outcomes are unknown"
    return BulkResultUnavailableError(msg)


def read_errors(text: str) -> tuple[str, str | None, str]:
    """The first error's code and field, and a message naming every error.

    ``MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email`` gives
    ``MANDATORY_NOT_FOUND``, ``Company`` and ``required field not found
    (also DUPLICATE_DATA on Email)``.
    """
    errors = [part.strip() for part in text.split(":") if part.strip()]
    if not errors:
        return "UNKNOWN", None, "Zoho's bulk job skipped this record without a reason"
    code, _, fields = errors[0].partition("-")
    code = code.strip().upper()
    field = fields.split(",")[0].strip() or None
    message = MESSAGES.get(code, code.lower().replace("_", " "))
    others = ["{} on {}".format(*e.partition("-")[::2]) if "-" in e else e for e in errors[1:]]
    if others:
        message += f" (also {'; '.join(others)})"
    return code, field, message


def is_final(outcome: Outcome) -> bool:
    """False for a row Zoho did not get to (:data:`NOT_FINAL`): send it again."""
    return not (outcome.kind == REJECTED and outcome.code in NOT_FINAL)


def read_outcomes(
    file: BulkFile,
    columns: Sequence[str],
    table: tuple[list[str], list[list[str]]],
    *,
    ids: Sequence[str] | None = None,
) -> list[Outcome | None]:
    """One outcome per record of ``file``, in its order; None where unknown.

    Args:
        file: The file the job wrote.
        columns: The file's columns.
        table: The result's header and rows (:func:`result_table`).
        ids: On update, the lead id sent in each record of ``file``.
    """
    header = [name.strip().upper() for name in table[0]]
    rows = [_row(header, cells) for cells in table[1]]
    echoed = [name.upper() for name in columns[:ECHOED]]
    if not any(name in header for name in ID_COLUMNS) or STATUS_COLUMN not in header:
        return [None] * file.count
    rows_of = _rows_by_key(rows, echoed, by_id=ids is not None)
    keys = [
        _record_key(sent, ids[number] if ids else None) for number, sent in enumerate(file.echoed)
    ]
    wanted = collections.Counter(keys)
    outcomes: list[Outcome | None] = []
    taken: dict[tuple[str, ...], int] = collections.defaultdict(int)
    for number, key in enumerate(keys):
        found = rows_of.get(key, [])
        if len(found) != wanted[key]:
            # Rows missing, or more than were sent: which is whose is unknown.
            outcomes.append(None)
            continue
        row = found[taken[key]]
        taken[key] += 1
        outcomes.append(_outcome(row, ids[number] if ids else None))
    return _without_shared_ids(outcomes)


def _row(header: list[str], cells: list[str]) -> Row:
    """A result row by column name; the id under ``ID`` whichever name it had."""
    row = {name: (cells[at].strip() if at < len(cells) else "") for at, name in enumerate(header)}
    row["ID"] = row.get("RECORD_ID") or row.get("ID") or ""
    return row


def _rows_by_key(
    rows: list[Row], echoed: list[str], *, by_id: bool
) -> dict[tuple[str, ...], list[Row]]:
    """The rows grouped by what identifies their record: repeated cells, and the id on update."""
    grouped: dict[tuple[str, ...], list[Row]] = collections.defaultdict(list)
    for row in rows:
        cells = tuple(row.get(name, "") for name in echoed)
        grouped[(row["ID"], *cells) if by_id else cells].append(row)
    return grouped


def _record_key(sent: list[str], lead_id: str | None) -> tuple[str, ...]:
    cells = tuple(cell.strip() for cell in sent)
    return (lead_id or "", *cells) if lead_id is not None else cells


def _outcome(row: Row, wanted: str | None) -> Outcome | None:
    """One row's outcome; ``wanted`` is the lead id an update sent; None if it says nothing sure."""
    status = row.get(STATUS_COLUMN, "").upper()
    if status in NOT_WRITTEN:
        code, field, message = read_errors(row.get(ERRORS_COLUMN, "") or status)
        return Outcome(REJECTED, code=code, message=message, field=field)
    kind = WRITTEN.get(status)
    if kind is None or kind != (UPDATED if wanted is not None else CREATED):
        return None
    record_id = row["ID"]
    if not record_id.isdigit() or (wanted is not None and record_id != wanted):
        return None
    return Outcome(kind, lead_id=record_id)


def _without_shared_ids(outcomes: list[Outcome | None]) -> list[Outcome | None]:
    """No two records of a job may claim one created lead: both become unknown."""
    created = collections.Counter(o.lead_id for o in outcomes if o and o.kind == CREATED)
    return [None if o and o.kind == CREATED and created[o.lead_id] > 1 else o for o in outcomes]
