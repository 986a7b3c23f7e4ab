"""A Bulk Write job's files: leads as zipped UTF-8 CSVs within Zoho's limits.

Cells carry what the records API would get, as text: dates and date-times
already in Zoho's formats (``yyyy-MM-dd``, ``yyyy-MM-ddTHH:mm:ss±HH:mm``,
which Bulk Write takes too), multi-select lists joined with ``;``, booleans
as ``true``/``false``, a lookup as its id.
"""

from __future__ import annotations

import csv
import dataclasses
import decimal
import io
import json
import typing as t
import zipfile

from target_zoho_leads.zoho.bulk.errors import BulkWriteError

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

MAX_ROWS = 25_000  # records in one file, and so in one job
MAX_COLUMNS = 200
MAX_BYTES = 25 * 1024 * 1024  # one CSV, and so its zip
ECHOED = 3  # Zoho's result file repeats the first three mapped columns
CSV_NAME = "leads.csv"
MULTI_SELECT_SEPARATOR = ";"


@dataclasses.dataclass(frozen=True)
class BulkFile:
    """One zipped CSV: a run of the input's records, for one job.

    Attributes:
        start: The position in the input of its first record.
        count: How many records it holds.
        data: The zip file.
        echoed: Each record's first :data:`ECHOED` cells, as written, to
            match the result file's rows against.
    """

    start: int
    count: int
    data: bytes
    echoed: list[list[str]]


def cell(value: object) -> str:
    """A payload value as the text of its CSV cell (None: empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        # 1e+20 would be read as text: Zoho wants plain digits.
        return format(decimal.Decimal(text), "f") if "e" in text else text
    if isinstance(value, (list, tuple)):
        return MULTI_SELECT_SEPARATOR.join(cell(item) for item in value)
    if isinstance(value, dict):
        # A lookup, found by its id (see field_mappings).
        return cell(value["id"]) if "id" in value else json.dumps(value, sort_keys=True)
    return str(value)


def columns_of(payloads: Sequence[Mapping[str, t.Any]], first: Sequence[str] = ()) -> list[str]:
    """Every field any payload sets, ``first`` leading, then in order of first use.

    Raises:
        BulkWriteError: More than Zoho's 200 columns.
    """
    columns = dict.fromkeys(first)
    for payload in payloads:
        columns.update(dict.fromkeys(payload))
    if len(columns) > MAX_COLUMNS:
        msg = (
            f"the leads set {len(columns)} fields; a Bulk Write file takes at most "
            f"{MAX_COLUMNS} columns (write_method records has no such limit)"
        )
        raise BulkWriteError(msg, code="HEADER_LIMIT_EXCEEDED")
    return list(columns)


def field_mappings(
    columns: Sequence[str], payloads: Sequence[Mapping[str, t.Any]]
) -> list[dict[str, t.Any]]:
    """The job's ``field_mappings``: each column by index, lookups found by id."""
    lookups = {
        name
        for payload in payloads
        for name, value in payload.items()
        if isinstance(value, dict) and "id" in value
    }
    mappings: list[dict[str, t.Any]] = []
    for index, name in enumerate(columns):
        mapping: dict[str, t.Any] = {"api_name": name, "index": index}
        if name in lookups:
            mapping["find_by"] = "id"
        mappings.append(mapping)
    return mappings


class _LineWriter:
    """Writes one CSV line at a time, so each line's size is known before it is kept."""

    def __init__(self) -> None:
        self._buffer = io.StringIO(newline="")
        self._writer = csv.writer(self._buffer)

    def line(self, cells: Sequence[str]) -> bytes:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(cells)
        return self._buffer.getvalue().encode("utf-8")


def bulk_files(
    payloads: Sequence[Mapping[str, t.Any]],
    columns: Sequence[str],
    *,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_BYTES,
) -> Iterator[BulkFile]:
    """Split ``payloads`` into zipped CSVs of at most ``max_rows`` records and ``max_bytes``.

    Args:
        payloads: The leads, as the records API would get them.
        columns: The CSV's columns (see :func:`columns_of`).
        max_rows: Records per file.
        max_bytes: Bytes per CSV, header included.

    Raises:
        BulkWriteError: One record alone is larger than ``max_bytes``.
    """
    writer = _LineWriter()
    header = writer.line(columns)
    lines: list[bytes] = []
    echoed: list[list[str]] = []
    size = len(header)
    start = 0
    for index, payload in enumerate(payloads):
        cells = [cell(payload.get(name)) for name in columns]
        line = writer.line(cells)
        if lines and (len(lines) >= max_rows or size + len(line) > max_bytes):
            yield BulkFile(start, len(lines), _zip(header, lines), echoed)
            lines, echoed, size, start = [], [], len(header), index
        if size + len(line) > max_bytes:
            msg = f"record {index + 1} alone is larger than a Bulk Write file may be"
            raise BulkWriteError(msg, code="FILE_TOO_LARGE")
        lines.append(line)
        echoed.append(cells[:ECHOED])
        size += len(line)
    if lines:
        yield BulkFile(start, len(lines), _zip(header, lines), echoed)


def _zip(header: bytes, lines: list[bytes]) -> bytes:
    """A zip holding one CSV of ``header`` and ``lines``."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CSV_NAME, header + b"".join(lines))
    return data.getvalue()
