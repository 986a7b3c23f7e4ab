"""Bulk Write's files: the multipart upload, its zipped CSV, typed cells, the result zip."""

from __future__ import annotations

import csv
import email.parser
import email.policy
import io
import re
import typing as t
import zipfile

from zoho_sandbox.validation import DIGITS_RE

MAX_ROWS = 25_000  # records per file, and so per job
MAX_COLUMNS = 200
MAX_BYTES = 25 * 1024 * 1024  # per uploaded file, zipped or not
ECHOED_COLUMNS = 3  # the result repeats the first three mapped columns
NUMBER_RE = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
NUMBER_TYPES = {"double", "currency", "percent"}
LOOKUP_TYPES = {"lookup", "ownerlookup"}


class FileRefused(Exception):  # noqa: N818 - named for what the answer says
    """An upload Zoho would refuse: its HTTP status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        """Keep what the refusal answers with."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class CsvFile(t.NamedTuple):
    """An uploaded CSV, read: its name, header and rows of text."""

    name: str
    header: list[str]
    rows: list[list[str]]


def multipart_file(content_type: str, body: bytes) -> bytes:
    """The bytes of the ``file`` part of a ``multipart/form-data`` body.

    Raises:
        FileRefused: No such part (Zoho's 400 for a missing file).
    """
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if message.is_multipart():
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    return payload
    msg = "required key file is not found in request body."
    raise FileRefused(400, "MISSING_REQUIRED_KEY", msg)


def read_upload(data: bytes, max_bytes: int = MAX_BYTES) -> CsvFile:
    """Check an uploaded zip as Zoho does and read the one CSV in it.

    Args:
        data: The uploaded bytes.
        max_bytes: The largest file taken, zipped and unzipped alike.

    Raises:
        FileRefused: Too large, not a zip, not one CSV, or over the row or
            column limit.
    """
    too_large = FileRefused(413, "FILE_TOO_LARGE", "File size too large to process")
    if len(data) > max_bytes:
        raise too_large
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [info for info in archive.infolist() if not info.is_dir()]
    except zipfile.BadZipFile:
        msg = "invalid file format. only zip format is supported"
        raise FileRefused(400, "INVALID_FILE_FORMAT", msg) from None
    if len(entries) != 1 or not entries[0].filename.lower().endswith(".csv"):
        raise FileRefused(400, "FILE_NOT_SUPPORTED", "File not supported for bulk write")
    if entries[0].file_size > max_bytes:
        raise too_large
    text = archive.read(entries[0]).decode("utf-8-sig", errors="replace")
    table = list(csv.reader(io.StringIO(text, newline="")))
    if not table:
        raise FileRefused(400, "FILE_NOT_SUPPORTED", "File not supported for bulk write")
    if len(table[0]) > MAX_COLUMNS:
        msg = f"the file has more than {MAX_COLUMNS} columns"
        raise FileRefused(400, "HEADER_LIMIT_EXCEEDED", msg)
    if len(table) - 1 > MAX_ROWS:
        msg = f"the file has more than {MAX_ROWS} records"
        raise FileRefused(400, "LIMIT_EXCEEDED", msg)
    return CsvFile(entries[0].filename.rsplit("/", 1)[-1], table[0], table[1:])


def cell_value(text: str, data_type: str) -> object:
    """The JSON value a records-API write would carry for a CSV cell.

    Text that does not read as the field's type stays text, so the records
    API's own validation refuses it with the same code.

    Args:
        text: The cell, not blank.
        data_type: The field's Zoho data type.
    """
    if data_type == "multiselectpicklist":
        return [item.strip() for item in text.split(";") if item.strip()]
    if data_type == "boolean" and text.strip().lower() in {"true", "false"}:
        return text.strip().lower() == "true"
    if data_type == "integer" and DIGITS_RE.match(text.strip()):
        return int(text.strip())
    if data_type in NUMBER_TYPES and NUMBER_RE.match(text.strip()):
        number = float(text.strip())
        return int(number) if number.is_integer() and "." not in text else number
    if data_type in LOOKUP_TYPES:
        return {"id": text.strip()}
    return text


def result_zip(name: str, header: list[str], rows: list[list[str]]) -> bytes:
    """The result zip: one CSV of the echoed columns, RECORD_ID, STATUS and ERRORS."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, out.getvalue().encode("utf-8"))
    return data.getvalue()
