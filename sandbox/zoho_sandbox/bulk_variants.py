"""The readings of Bulk Write that Zoho's docs leave open, each one a knob.

Zoho's v8 Bulk Write pages (Upload File, Create Job, Job Details, Download
Result) and ``bulk_write.json`` leave these open, so the sandbox can answer
every way (issue 18, item 8); the defaults are what it answered before:

- the result CSV's id column: the Download Result page names it both
  ``RECORD_ID`` and ``ID``;
- the case of the row statuses (``ADDED``, ``added``, ``Added``): the page
  shows upper case and documents no rule;
- the order of the result rows: nothing says they follow the upload's.
"""

from __future__ import annotations

import random
import typing as t

ID_COLUMNS = ("RECORD_ID", "ID")
STATUS_CASES = ("upper", "lower", "title")
ORDERS = ("input", "reversed", "shuffled")
STATUS_COLUMN = -2  # RECORD_ID/ID, STATUS, ERRORS end every result row


class ResultShape(t.NamedTuple):
    """How a job's result file is written: the knobs that shape it, read once."""

    id_column: str = "RECORD_ID"
    status_case: str = "upper"
    order: str = "input"
    seed: int | None = None
    drop_rows: int = 0


def _one_of(name: str, allowed: tuple[str, ...]) -> t.Callable[[object], object]:
    """A normaliser taking only ``allowed`` values for the knob ``name``."""

    def check(value: object) -> object:
        if value in allowed:
            return value
        msg = f"{name} must be one of {', '.join(allowed)}, not {value!r}"
        raise ValueError(msg)

    return check


def _count(name: str) -> t.Callable[[object], object]:
    """A normaliser taking a whole number from 0 (True counts as 1) for ``name``."""

    def check(value: object) -> object:
        if isinstance(value, int) and value >= 0:
            return int(value)
        msg = f"{name} must be a whole number from 0, not {value!r}"
        raise ValueError(msg)

    return check


def _mint_status(value: object) -> object:
    """400 or 200: the two statuses Zoho was documented to answer a mint block with."""
    if value in (200, 400) and not isinstance(value, bool):
        return value
    msg = f"mint_block_status must be 400 or 200, not {value!r}"
    raise ValueError(msg)


def _origin(value: object) -> object:
    """None, ``"other"`` (a second listener) or an ``http(s)://`` origin served by nobody."""
    if value in (None, "", "other"):
        return value or None
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return value.rstrip("/")
    msg = f"bulk_download_origin must be null, 'other' or an http(s):// origin, not {value!r}"
    raise ValueError(msg)


NORMALISERS: dict[str, t.Callable[[object], object]] = {
    "bulk_result_id_column": _one_of("bulk_result_id_column", ID_COLUMNS),
    "bulk_result_status_case": _one_of("bulk_result_status_case", STATUS_CASES),
    "bulk_result_order": _one_of("bulk_result_order", ORDERS),
    "bulk_fail_after_write": _count("bulk_fail_after_write"),
    "bulk_lose_create_answer": _count("bulk_lose_create_answer"),
    "mint_block_status": _mint_status,
    "bulk_download_origin": _origin,
}


def shaped(
    shape: ResultShape, job_id: str, columns: list[str], rows: list[list[str]]
) -> tuple[list[str], list[list[str]]]:
    """The result file's header and rows, as ``shape`` asks.

    Args:
        shape: The result knobs.
        job_id: The job's id; with the seed, it picks a shuffled order.
        columns: The echoed columns' names (before the id, status, errors).
        rows: The rows in input order, statuses upper-case.

    Returns:
        The header and the rows to write, short of ``drop_rows`` at the end.
    """
    header = [*columns, shape.id_column, "STATUS", "ERRORS"]
    out = [[*row[:STATUS_COLUMN], _cased(row[STATUS_COLUMN], shape), row[-1]] for row in rows]
    if shape.order == "reversed":
        out.reverse()
    elif shape.order == "shuffled":
        seed = None if shape.seed is None else f"{shape.seed}:{job_id}"
        random.Random(seed).shuffle(out)  # noqa: S311 - a row order, not crypto
    kept = out[: len(out) - shape.drop_rows] if shape.drop_rows > 0 else out
    return header, kept


def _cased(status: str, shape: ResultShape) -> str:
    """``ADDED`` in the case the knob asks for."""
    if shape.status_case == "lower":
        return status.lower()
    return status.title() if shape.status_case == "title" else status
