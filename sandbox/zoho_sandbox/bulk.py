"""Zoho's Bulk Write: uploaded files, jobs that write them after a delay, result files.

A job's rows go through the records API's own store and validation, so a row
an insert call would refuse is skipped with the same code; the result file
names it as Zoho's does (``INVALID_DATA-Email``).
"""

from __future__ import annotations

import itertools
import threading
import typing as t

from zoho_sandbox import bulk_jobs
from zoho_sandbox.bulk_files import CsvFile, FileRefused, multipart_file, read_upload
from zoho_sandbox.bulk_jobs import Job
from zoho_sandbox.bulk_variants import ResultShape
from zoho_sandbox.clock import iso
from zoho_sandbox.field_catalog import LEADS_MODULE
from zoho_sandbox.items import MINIFIED_USER, error_item
from zoho_sandbox.org import ORG_ZGID, org_answer
from zoho_sandbox.routing import Answer, Call, error_answer, json_body

if t.TYPE_CHECKING:
    from zoho_sandbox.duplicate_check import WriteRules
    from zoho_sandbox.state import Knobs, Recorder
    from zoho_sandbox.store import RecordStore

BULK_SCOPE = "ZohoCRM.bulk.ALL"
FILES_SCOPE = "ZohoFiles.files.ALL"
ORG_SCOPE = "ZohoCRM.org.READ"
SCOPE_OF = {
    "org": ORG_SCOPE,
    "bulk_upload": FILES_SCOPE,
    "bulk_create": BULK_SCOPE,
    "bulk_job": BULK_SCOPE,
    "bulk_result": BULK_SCOPE,
}
HANDLERS = frozenset(SCOPE_OF)
OPERATIONS = ("insert", "update", "upsert")
BAD_HEADERS = {
    "ERROR_CODE": 400,
    "ERROR_MESSAGE": "Bad Request",
    "x-error": "check if headers [feature, X-CRM-ORG] are present and valid",
    "http_status": "400",
}
LINK_NOT_VALID = {"info": "Forbidden", "x-info": "Link not valid"}


class BulkWrite:
    """Answers ``/crm/vN/org``, ``/crm/vN/upload`` and ``/crm/bulk/vN/write[/{id}]``."""

    def __init__(self, store: RecordStore, knobs: Knobs, recorder: Recorder) -> None:
        """Write jobs into ``store``; delays and faults come from ``knobs``."""
        self.store = store
        self.clock = store.clock  # job delays pass on the sandbox's clock
        self.knobs = knobs
        self.recorder = recorder
        self._lock = threading.Lock()
        self._files: dict[str, CsvFile] = {}
        self._jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self.jobs_created = 0
        self._created_since_armed = 0  # for bulk_lose_create_answer
        self.other_origin: str | None = None  # the download listener's, when it runs

    def arm_lost_create(self) -> None:
        """Count jobs afresh for ``bulk_lose_create_answer``, from now."""
        with self._lock:
            self._created_since_armed = 0

    def settle(self, rules: WriteRules) -> None:
        """Run the jobs whose create answer was lost, once their delay is over.

        Their client never reads them, yet Zoho runs them: their leads must
        appear all the same. Other jobs still run when their details are
        read, as before (tests rely on a job lost by ``lose_answers`` never
        running).
        """
        with self._lock:
            for job in self._jobs.values():
                if job.runs_unpolled:
                    self._advance(job, rules)

    def handle(self, handler: str, call: Call, params: dict[str, str], rules: WriteRules) -> Answer:
        """Answer one authenticated call routed to ``handler``.

        Args:
            handler: One of :data:`HANDLERS`.
            call: The request.
            params: The path's parameters (``version``, ``id``).
            rules: The Leads write rules a job's rows are checked against.
        """
        missing = self.knobs.missing_scopes
        if SCOPE_OF[handler] in ([missing] if isinstance(missing, str) else missing):
            message = "invalid oauth scope to access this URL"
            return Answer(401, error_item("OAUTH_SCOPE_MISMATCH", message))
        if handler == "org":
            return Answer(200, org_answer())
        if handler == "bulk_upload":
            return self._upload(call)
        if handler == "bulk_create":
            return self._create(call)
        return self._read_job(handler, call, params, rules)

    def advance_all(self, rules: WriteRules) -> None:
        """Move every job on by the time passed, as Zoho runs jobs nobody polls."""
        with self._lock:
            for job in list(self._jobs.values()):
                self._advance(job, rules)

    def _read_job(
        self, handler: str, call: Call, params: dict[str, str], rules: WriteRules
    ) -> Answer:
        """A job's details, or its result file; either first moves the job on."""
        with self._lock:
            job = self._jobs.get(params.get("id", ""))
            if job is not None:
                self._advance(job, rules)
        if handler == "bulk_job":
            if job is None:
                return _not_found()
            return Answer(200, bulk_jobs.details(job, self._origin(call), ORG_ZGID))
        return self.download(params)

    def _origin(self, call: Call) -> str:
        """The origin a job's result link names (``bulk_download_origin``)."""
        wanted = self.knobs.bulk_download_origin
        if wanted == "other" and self.other_origin:
            return self.other_origin
        if wanted and wanted != "other":
            return wanted
        host = {k.lower(): v for k, v in call.headers.items()}.get("host", "127.0.0.1")
        return f"http://{host}"

    def download(self, params: dict[str, str]) -> Answer:
        """A job's result zip by its link's parts, or Zoho's 403 for a link not valid."""
        with self._lock:
            job = self._jobs.get(params.get("id", ""))
        link = (params.get("zgid"), params.get("file"))
        if job is None or job.result is None or link != (ORG_ZGID, f"{job.id}.zip"):
            return Answer(403, dict(LINK_NOT_VALID))
        # Zoho's official SDK (zohocrmsdk8-0, util/downloader.py) reads the file
        # name from Content-Disposition and fails on an answer without one.
        disposition = {"Content-Disposition": f'attachment; filename="{job.id}.zip"'}
        return Answer(200, job.result, disposition)

    def _new_id(self) -> str:
        return f"5725767{900_000_000_000 + next(self._ids):012d}"

    # Upload ---------------------------------------------------------------

    def _upload(self, call: Call) -> Answer:
        """``POST /crm/vN/upload``: keep a zipped CSV and answer its file id."""
        headers = {name.lower(): value for name, value in call.headers.items()}
        if headers.get("feature") != "bulk-write" or headers.get("x-crm-org") != ORG_ZGID:
            return Answer(400, dict(BAD_HEADERS))
        try:
            data = multipart_file(headers.get("content-type", ""), call.body)
            upload = read_upload(data, self.knobs.bulk_max_upload_bytes)
        except FileRefused as refused:
            when = {"created_time": iso(self.clock)}
            return Answer(refused.status, error_item(refused.code, refused.message, when))
        with self._lock:
            file_id = self._new_id()
            self._files[file_id] = upload
        details: dict[str, t.Any] = {
            "file_id": int(file_id),  # an integer in bulk_write.json, a string in Zoho's docs
            "id": file_id,
            "created_time": iso(self.clock),
            "created_by": dict(MINIFIED_USER),
        }
        body = {
            "status": "success",
            "code": "FILE_UPLOAD_SUCCESS",
            "message": "file uploaded.",
            "details": details,
        }
        return Answer(200, body)

    # Job creation ---------------------------------------------------------

    def _create(self, call: Call) -> Answer:
        """``POST /crm/bulk/vN/write``: check the request and queue the job."""
        body = json_body(call)
        if isinstance(body, Answer):
            return body
        job = self._job_of(body, call.path.split("/")[3])
        if isinstance(job, Answer):
            return job
        knobs = self.knobs
        with self._lock:
            if knobs.bulk_fail_jobs > 0:
                knobs.bulk_fail_jobs -= 1
                job.fails = True
            elif knobs.bulk_fail_after_write > 0:
                knobs.bulk_fail_after_write -= 1
                job.fails_after_write = True
            self._jobs[job.id] = job
            self.jobs_created += 1
            self._created_since_armed += 1
            lost = self._created_since_armed == knobs.bulk_lose_create_answer
            job.runs_unpolled = lost
        details = {"id": job.id, "created_by": dict(MINIFIED_USER)}
        body = {"status": "success", "code": "SUCCESS", "message": "success", "details": details}
        return Answer(201, body, lost=lost)

    def _job_of(self, body: dict[str, t.Any], version: str) -> Job | Answer:  # noqa: PLR0911
        """The job a create request asks for, or Zoho's 400 refusing it."""
        operation = body.get("operation")
        if operation is None:
            return _mandatory("operation", "required key operation is not found in request body.")
        if operation not in OPERATIONS:
            return _invalid("operation")
        resources = body.get("resource")
        if not isinstance(resources, list) or len(resources) != 1:
            return _invalid("resource") if resources else _mandatory("resource")
        resource = resources[0]
        if not isinstance(resource, dict) or resource.get("type", "data") != "data":
            return _invalid("resource[0].type")
        module = (resource.get("module") or {}).get("api_name")
        if module != LEADS_MODULE["api_name"]:
            message = f"Requested module '{module}' is not available."
            return error_answer(400, "MODULE_NOT_AVAILABLE", message, {})
        callback = body.get("callback")
        if callback is not None and (
            not isinstance(callback, dict) or callback.get("method") != "post"
        ):
            details = {"supported_callback_methods": ["post"]}
            return error_answer(400, "INVALID_CALLBACK_METHOD", "invalid callback method", details)
        file_id = str(resource.get("file_id") or "")
        with self._lock:
            upload = self._files.get(file_id)
        if upload is None:
            return error_answer(400, "INVALID_FILE_ID", "improper file id", {})
        mappings = self._mappings(resource, upload, operation)
        if isinstance(mappings, Answer):
            return mappings
        return Job(
            id=self._new_id(),
            operation=operation,
            file_id=file_id,
            file=upload,
            mappings=mappings,
            find_by=resource.get("find_by"),
            ignore_empty=bool(body.get("ignore_empty", False)),
            callback=callback,
            version=version,
            fails=False,
            started=self.clock.monotonic(),
            created_time=iso(self.clock),
        )

    def _mappings(
        self, resource: dict[str, t.Any], upload: CsvFile, operation: str
    ) -> list[dict[str, t.Any]] | Answer:
        """The field mappings (by default the header's names), checked, sorted by index."""
        given = resource.get("field_mappings")
        if given is None:
            given = [{"api_name": name, "index": index} for index, name in enumerate(upload.header)]
        if not isinstance(given, list) or not all(isinstance(m, dict) for m in given):
            return _invalid("field_mappings")
        for mapping in given:
            refused = self._mapping_refused(mapping, len(upload.header))
            if refused:
                return refused
        fields = self.store.fields
        mapped = {mapping["api_name"] for mapping in given}
        find_by = resource.get("find_by")
        if operation == "insert":
            mandatory = [
                n for n, f in fields.items() if f.get("system_mandatory") and not f.get("read_only")
            ]
            if not set(mandatory) <= mapped:
                message = "All mandatory fields are not mapped for the layout"
                return error_answer(400, "MANDATORY_FIELDS_NOT_MAPPED", message, {})
        elif find_by is None:
            return _mandatory("find_by")
        elif find_by not in mapped:
            return _invalid("find_by")
        return sorted(given, key=lambda mapping: mapping["index"])

    def _mapping_refused(self, mapping: dict[str, t.Any], columns: int) -> Answer | None:
        """Zoho's 400 for a field mapping naming no field or no column, if it does."""
        name = mapping.get("api_name")
        if name not in self.store.fields:
            message = f"invalid mapping. invalid api_name {name}."
            return error_answer(400, "INVALID_FIELD", message, {"api_name": str(name)})
        index = mapping.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            message = f"required key index for field {name} is not found in request body."
            return error_answer(400, "MISSING_REQUIRED_KEY", message, {"api_name": name})
        if not 0 <= index < columns:
            details = {"api_name": name, "index": index}
            return error_answer(400, "COLUMN_INDEX_NOT_FOUND", "column index not found", details)
        return None

    # Running a job --------------------------------------------------------

    def _advance(self, job: Job, rules: WriteRules) -> None:
        """Move a job on by the time passed; run it once its delay is over. Lock held."""
        if job.status in bulk_jobs.DONE:
            return
        elapsed = self.clock.monotonic() - job.started
        delay = self.knobs.bulk_job_seconds
        if elapsed < delay:
            job.status = "ADDED" if elapsed < delay / 2 else "IN PROGRESS"
            return
        if job.fails:
            job.status = "FAILED"
            return
        knobs = self.knobs
        shape = ResultShape(
            knobs.bulk_result_id_column,
            knobs.bulk_result_status_case,
            knobs.bulk_result_order,
            knobs.seed,
            int(knobs.bulk_drop_result_rows),
        )
        counts = bulk_jobs.run(job, self.store, rules, shape)
        self.recorder.add("records_created", counts["added_count"])
        self.recorder.add("records_updated", counts["updated_count"])


def _not_found() -> Answer:
    message = "The requested resource doesn't exist."
    return error_answer(400, "RESOURCE_NOT_FOUND", message, {})


def _mandatory(name: str, message: str = "required field not found") -> Answer:
    details = {"api_name": name, "json_path": f"$.{name}"}
    return error_answer(400, "MANDATORY_NOT_FOUND", message, details)


def _invalid(name: str) -> Answer:
    details = {"api_name": name, "json_path": f"$.{name}"}
    return error_answer(400, "INVALID_DATA", "invalid data", details)
