"""A Bulk Write job's result file, read into one outcome per record sent, in order.

Zoho's result CSV repeats the first three mapped columns of each row, then
``RECORD_ID``, ``STATUS`` (ADDED, UPDATED, SKIPPED or UNPROCESSED) and
``ERRORS`` (``CODE-Field``, several joined by ``:``). Rows are matched to the
records sent by position, and checked by the repeated cells and, on update,
by the record id: a result that does not match is an error, never a guess.
"""

from __future__ import annotations

import csv
import io
import typing as t
import zipfile

from target_zoho_leads.zoho.bulk.csv_file import ECHOED
from target_zoho_leads.zoho.bulk.errors import BulkResultMismatchError
from target_zoho_leads.zoho.outcomes import CREATED, REJECTED, UPDATED, Outcome

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_zoho_leads.zoho.bulk.csv_file import BulkFile

RESULT_COLUMNS = ("RECORD_ID", "STATUS", "ERRORS")
WRITTEN = {"ADDED": CREATED, "UPDATED": UPDATED}
NOT_WRITTEN = {"SKIPPED", "UNPROCESSED"}
# The records API's words for the codes Bulk Write reports without a message.
MESSAGES = {
    "INVALID_DATA": "invalid data",
    "MANDATORY_NOT_FOUND": "required field not found",
    "DUPLICATE_DATA": "duplicate data",
    "CONVERTED_RECORD": "can't update the converted record",
    "UNPROCESSED": "Zoho's bulk job did not process this record",
}


def result_table(data: bytes, job_id: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the one CSV in a result zip.

    Raises:
        BulkResultMismatchError: Not a zip holding one CSV.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [info for info in archive.infolist() if not info.is_dir()]
            if len(names) != 1:
                msg = f"bulk job {job_id}: the result zip holds {len(names)} files, not one CSV"
                raise BulkResultMismatchError(msg, code="RESULT_MISMATCH")
            text = archive.read(names[0]).decode("utf-8-sig")
    except (zipfile.BadZipFile, UnicodeDecodeError):
        msg = f"bulk job {job_id}: the result file is not a zipped UTF-8 CSV"
        raise BulkResultMismatchError(msg, code="RESULT_MISMATCH") from None
    table = list(csv.reader(io.StringIO(text, newline="")))
    if not table:
        return [], []
    return table[0], table[1:]


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
    field = fields.split(",")[0].strip() or None
    message = MESSAGES.get(code, code.lower().replace("_", " "))
    others = ["{} on {}".format(*e.partition("-")[::2]) if "-" in e else e for e in errors[1:]]
    if others:
        message += f" (also {'; '.join(others)})"
    return code, field, message


def outcomes_of(
    file: BulkFile,
    columns: Sequence[str],
    table: tuple[list[str], list[list[str]]],
    *,
    job_id: str,
    ids: Sequence[str] | None = None,
) -> list[Outcome]:
    """One outcome per record of ``file``, in order, from its job's result.

    Args:
        file: The file the job wrote.
        columns: The file's columns.
        table: The result's header and rows (:func:`result_table`).
        job_id: The job, for messages.
        ids: On update, the lead id sent in each record of ``file``.

    Raises:
        BulkResultMismatchError: Rows missing or extra, a row that does not
            repeat its record's cells, an unknown status, or a record id that
            is not the one sent or is given to two records.
    """
    header, rows = table
    where = {name: header.index(name) for name in RESULT_COLUMNS if name in header}
    if len(where) < len(RESULT_COLUMNS):
        msg = f"bulk job {job_id}: the result file lacks the columns {', '.join(RESULT_COLUMNS)}"
        raise _mismatch(msg)
    if len(rows) != file.count:
        msg = f"bulk job {job_id}: the result file has {len(rows)} rows for {file.count} records"
        raise _mismatch(msg)
    first = {name: index for index, name in enumerate(columns[:ECHOED])}
    echoes = [(at, first[name]) for at, name in enumerate(header) if name in first]
    outcomes = []
    for number, (row, sent) in enumerate(zip(rows, file.echoed, strict=True), start=1):
        cells = [row[at] if at < len(row) else "" for at in range(len(header))]
        if any(cells[at].strip() != sent[column].strip() for at, column in echoes):
            msg = f"bulk job {job_id}: row {number} of the result is not record {number} sent"
            raise _mismatch(msg)
        record_id, status, errors = (cells[where[name]].strip() for name in RESULT_COLUMNS)
        wanted = ids[number - 1] if ids is not None else None
        outcomes.append(_outcome(status, record_id, errors, wanted, f"{job_id} row {number}"))
    _check_unique(outcomes, job_id)
    return outcomes


def _outcome(status: str, record_id: str, errors: str, wanted: str | None, row: str) -> Outcome:
    """One row's outcome; ``wanted`` is the lead id an update sent."""
    if status in NOT_WRITTEN:
        code, field, message = read_errors(errors or status)
        return Outcome(REJECTED, code=code, message=message, field=field)
    kind = WRITTEN.get(status)
    if kind is None or kind != (UPDATED if wanted is not None else CREATED):
        msg = f"bulk job {row}: status {status[:20]!r} is not one this job can give"
        raise _mismatch(msg)
    if not record_id.isdigit() or (wanted is not None and record_id != wanted):
        msg = f"bulk job {row}: the record id is not the one sent" if wanted else ""
        raise _mismatch(msg or f"bulk job {row}: an added record has no record id")
    return Outcome(kind, lead_id=record_id)


def _check_unique(outcomes: list[Outcome], job_id: str) -> None:
    """No two records of a job may claim the same created lead."""
    created = [o.lead_id for o in outcomes if o.kind == CREATED]
    if len(created) != len(set(created)):
        msg = f"bulk job {job_id}: the result gives one record id to two records"
        raise _mismatch(msg)


def _mismatch(message: str) -> BulkResultMismatchError:
    return BulkResultMismatchError(message, code="RESULT_MISMATCH")
