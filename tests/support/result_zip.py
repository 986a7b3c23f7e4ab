"""A Bulk Write result file as Zoho sends it: one CSV in a zip."""

from __future__ import annotations

import csv
import io
import zipfile


def result_zip(rows: list[list[str]]) -> bytes:
    """A result zip of ``rows`` (header first)."""
    text = io.StringIO(newline="")
    csv.writer(text).writerows(rows)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("Leads-leads.csv", text.getvalue())
    return data.getvalue()
