"""A Bulk Write job: its rows written through the records API's store, and its details."""

from __future__ import annotations

import dataclasses
import typing as t

from zoho_sandbox.bulk_files import ECHOED_COLUMNS, CsvFile, cell_value, result_zip
from zoho_sandbox.bulk_variants import ResultShape, shaped
from zoho_sandbox.field_catalog import LEADS_MODULE
from zoho_sandbox.items import MINIFIED_USER, error_item

if t.TYPE_CHECKING:
    from zoho_sandbox.duplicate_check import WriteRules
    from zoho_sandbox.store import RecordStore

ROW_STATUS = {"insert": "ADDED", "update": "UPDATED"}
DONE = frozenset({"COMPLETED", "FAILED"})


@dataclasses.dataclass
class Job:
    """One bulk write job and, once run, its result."""

    id: str
    operation: str
    file_id: str
    file: CsvFile
    mappings: list[dict[str, t.Any]]  # api_name and index, sorted by index
    find_by: str | None
    ignore_empty: bool
    callback: dict[str, t.Any] | None
    version: str
    fails: bool = False
    fails_after_write: bool = False
    runs_unpolled: bool = False  # its create answer was lost: it runs unread
    started: float = 0.0  # the sandbox clock's monotonic reading at creation
    created_time: str = ""
    status: str = "ADDED"
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    result: bytes | None = None


def run(job: Job, store: RecordStore, rules: WriteRules, shape: ResultShape) -> dict[str, int]:
    """Write the job's rows as the records API would; keep its counts and result file.

    A job with ``fails_after_write`` writes its rows, then ends FAILED with
    no counts and no result, as if Zoho lost track of it.

    Args:
        job: The job, not yet run.
        store: The Leads store written to.
        rules: The write rules its rows are checked against.
        shape: How the result file is written (id column, status case, row
            order, rows dropped off its end).

    Returns:
        How many rows were added, updated and skipped, reported or not.
    """
    records = [_record(job, row, store) for row in job.file.rows]
    items = _items(job, records, store, rules)
    rows = []
    for row, item in zip(job.file.rows, items, strict=True):
        echoed = [_cell(row, m["index"]) for m in job.mappings[:ECHOED_COLUMNS]]
        rows.append(echoed + _result_cells(item, job.operation))
    statuses = [row[-2] for row in rows]
    counts = {
        "added_count": statuses.count("ADDED"),
        "updated_count": statuses.count("UPDATED"),
        "skipped_count": statuses.count("SKIPPED"),
    }
    if job.fails_after_write:
        job.status = "FAILED"
        return counts
    job.counts = counts
    columns = [m["api_name"] for m in job.mappings[:ECHOED_COLUMNS]]
    header, kept = shaped(shape, job.id, columns, rows)
    stem = job.file.name.rsplit(".", 1)[0]
    job.result = result_zip(f"Leads-{stem}.csv", header, kept)
    job.status = "COMPLETED"
    return counts


def _record(job: Job, row: list[str], store: RecordStore) -> dict[str, t.Any]:
    """The records-API record a CSV row stands for."""
    record: dict[str, t.Any] = {}
    for mapping in job.mappings:
        name = mapping["api_name"]
        text = _cell(row, mapping["index"])
        if text.strip():
            record[name] = cell_value(text, store.fields[name].get("data_type", "text"))
        elif job.operation != "insert" and not job.ignore_empty:
            record[name] = None  # an empty cell clears the field, as Zoho documents
    return record


def _items(
    job: Job, records: list[dict[str, t.Any]], store: RecordStore, rules: WriteRules
) -> list[dict[str, t.Any]]:
    """The records API's answer item for each record."""
    if job.operation == "insert":
        return store.insert(records, rules)[0]
    find_by = job.find_by or "id"
    if job.operation == "upsert":
        return store.upsert(records, [find_by], rules)[0]
    if find_by == "id":
        return store.update(records, rules)[0]
    # Update by another field: a row it finds no lead by is skipped.
    items: list[dict[str, t.Any] | None] = []
    found = []
    for record in records:
        lead_id = store.find(find_by, record.get(find_by))
        if lead_id:
            found.append({**record, "id": lead_id})
            items.append(None)
        else:
            items.append(error_item("RESOURCE_NOT_FOUND", "", {"api_name": find_by}))
    written = iter(store.update(found, rules)[0])
    return [item if item is not None else next(written) for item in items]


def _cell(row: list[str], index: int) -> str:
    """A row's cell; a short row's missing cells are empty."""
    return row[index] if index < len(row) else ""


def _result_cells(item: dict[str, t.Any], operation: str) -> list[str]:
    """RECORD_ID, STATUS and ERRORS for one records-API answer item."""
    if item["status"] == "success":
        action = item.get("action") or operation
        return [str(item["details"]["id"]), ROW_STATUS.get(action, "UPDATED"), ""]
    field = (item.get("details") or {}).get("api_name")
    return ["", "SKIPPED", f"{item['code']}-{field}" if field else str(item["code"])]


def details(job: Job, origin: str, zgid: str) -> dict[str, t.Any]:
    """``GET /crm/bulk/vN/write/{id}``'s body: the job as Zoho describes it.

    Args:
        job: The job.
        origin: ``http://host:port`` the result is downloaded from.
        zgid: The org's group id, which the result's link names.
    """
    file = {"status": job.status, "name": job.file.name, "total_count": len(job.file.rows)}
    file.update(job.counts)
    resource: dict[str, t.Any] = {
        "status": job.status,
        "type": "data",
        "module": dict(LEADS_MODULE),
        "file_id": job.file_id,
        "field_mappings": [{"api_name": m["api_name"], "index": m["index"]} for m in job.mappings],
        "file": file,
    }
    if job.find_by:
        resource["find_by"] = job.find_by
    if job.status in DONE:
        resource["code"] = job.status
    body: dict[str, t.Any] = {
        "status": job.status,
        "character_encoding": "UTF-8",
        "resource": [resource],
        "id": job.id,
        "created_by": dict(MINIFIED_USER),
        "operation": job.operation,
        "created_time": job.created_time,
        "ignore_empty": job.ignore_empty,
    }
    if job.callback:
        body["callback"] = dict(job.callback)
    if job.result is not None:
        # The link's shape in the v8 Get Bulk Write Job Details page's example
        # (https://download-accl.zoho.com/v2/crm/{zgid}/bulk-write/{job}/{job}.zip).
        url = f"{origin}/v2/crm/{zgid}/bulk-write/{job.id}/{job.id}.zip"
        body["result"] = {"download_url": url}
    return body
