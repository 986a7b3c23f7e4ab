"""Bulk Write in the sandbox: uploads, jobs, their result files, limits and knobs."""

from __future__ import annotations

import csv
import io
import typing as t
import zipfile

import pytest
from zoho_sandbox.org import ORG_ZGID

from .oas import response_schema, validate

if t.TYPE_CHECKING:
    import requests

    from .conftest import Zoho

BULK = "bulk_write.json"
# Errors bulk_write.json gives a schema of their own, with a free-text message.
OWN_SCHEMAS = {"MANDATORY_NOT_FOUND", "INVALID_CALLBACK_METHOD"}
HEADER = ["Last_Name", "Email", "Interests", "Visit_Time"]
GOOD = ["Lee", "lee@example.com", "Demo;Trial", "2024-01-31T10:00:00+08:00"]


def csv_zip(header: list[str], rows: list[list[str]], name: str = "leads.csv") -> bytes:
    """A zip of one CSV."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr(name, text.getvalue())
    return data.getvalue()


def upload(zoho: Zoho, data: bytes, **headers: str) -> requests.Response:
    """POST /crm/v8/upload with Bulk Write's headers (overridable)."""
    sent = {"feature": "bulk-write", "X-CRM-ORG": ORG_ZGID, **headers}
    files = {"file": ("leads.zip", data, "application/zip")}
    return zoho.call("POST", "upload", headers=sent, files=files)


def bulk(zoho: Zoho, method: str, rest: str = "", **kwargs: t.Any) -> requests.Response:
    """An authenticated call to /crm/bulk/v8/write<rest>."""
    headers = {"Authorization": f"Zoho-oauthtoken {zoho.token}"}
    url = f"{zoho.sandbox.url}/crm/bulk/v8/write{rest}"
    return zoho.session.request(method, url, headers=headers, timeout=5, **kwargs)


def job_body(file_id: str, operation: str = "insert", **resource: t.Any) -> dict[str, t.Any]:
    """A create-job body mapping HEADER's columns by index."""
    mappings = [{"api_name": name, "index": index} for index, name in enumerate(HEADER)]
    return {
        "operation": operation,
        "resource": [
            {
                "type": "data",
                "module": {"api_name": "Leads"},
                "file_id": file_id,
                "field_mappings": mappings,
                **resource,
            }
        ],
    }


def run_job(zoho: Zoho, rows: list[list[str]], header: list[str] | None = None, **body: t.Any):
    """Upload ``rows``, create a job of them and read it; return (details, result rows)."""
    file_id = str(upload(zoho, csv_zip(header or HEADER, rows)).json()["details"]["file_id"])
    created = bulk(zoho, "POST", json={**job_body(file_id), **body})
    assert created.status_code == 201, created.text
    job = bulk(zoho, "GET", f"/{created.json()['details']['id']}").json()
    if "result" not in job:
        return job, None
    return job, result_rows(zoho, job["result"]["download_url"])


def result_rows(zoho: Zoho, url: str) -> list[dict[str, str]]:
    """The rows of a job's result file, by column name."""
    answer = zoho.session.get(url, headers={"Authorization": f"Zoho-oauthtoken {zoho.token}"})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        (name,) = archive.namelist()
        assert name == "Leads-leads.csv"
        text = archive.read(name).decode()
    return list(csv.DictReader(io.StringIO(text)))


def check(answer: requests.Response, path: str, method: str, file: str = BULK) -> None:
    """Validate an answer against the OAS schema for its status."""
    schema = response_schema(file, path, method, answer.status_code)
    assert schema is not None
    validate(answer.json(), schema)


def check_error(answer: requests.Response, path: str, method: str) -> None:
    """Validate an error answer, its ``message`` aside.

    bulk_write.json enumerates a handful of sample messages for all its
    errors ("Requested module 'asdf' is not available."); the code, status
    and details are checked against the schema, the message only for being words.
    """
    body = answer.json()
    assert isinstance(body.get("message"), str)
    assert body["message"]
    schema = response_schema(BULK, path, method, answer.status_code)
    assert schema is not None
    if body["code"] in OWN_SCHEMAS:
        validate(body, schema)
    else:
        validate({key: value for key, value in body.items() if key != "message"}, schema)


# The records API and Bulk Write refuse the same rows with the same codes.
BAD_ROWS = [
    (["Lee", "not-an-email", "", ""], "INVALID_DATA", "Email"),
    (["", "a@example.com", "", ""], "MANDATORY_NOT_FOUND", "Last_Name"),
    (["Lee", "", "", "31/01/2024"], "INVALID_DATA", "Visit_Time"),
    (["x" * 81, "", "", ""], "INVALID_DATA", "Last_Name"),
]


def test_a_job_writes_good_rows_and_skips_bad_ones_as_the_records_api_would(zoho: Zoho):
    """Each bad row is SKIPPED with the code and field a records-API insert answers."""
    rows = [GOOD] + [row for row, _, _ in BAD_ROWS]
    job, result = run_job(zoho, rows)
    assert job["status"] == "COMPLETED"
    assert result is not None
    assert [r["STATUS"] for r in result] == ["ADDED"] + ["SKIPPED"] * len(BAD_ROWS)
    assert list(result[0]) == [*HEADER[:3], "RECORD_ID", "STATUS", "ERRORS"]
    assert result[0]["Email"] == "lee@example.com"  # the first three columns, repeated
    (lead,) = zoho.sandbox.leads()
    assert result[0]["RECORD_ID"] == lead["id"]
    assert lead["Interests"] == ["Demo", "Trial"]
    assert lead["Visit_Time"] == GOOD[3]
    for (row, code, field), got in zip(BAD_ROWS, result[1:], strict=True):
        record = {name: value for name, value in zip(HEADER, row, strict=True) if value}
        item = zoho.insert(record).json()["data"][0]
        assert (item["code"], item["details"]["api_name"]) == (code, field)
        assert got["ERRORS"] == f"{code}-{field}"
        assert got["RECORD_ID"] == ""
    counts = job["resource"][0]["file"]
    assert (counts["added_count"], counts["skipped_count"], counts["total_count"]) == (1, 4, 5)
    assert zoho.sandbox.stats()["records_created"] == 1


def test_an_update_job_finds_leads_by_id_and_refuses_unknown_and_converted_ones(zoho: Zoho):
    """find_by id: UPDATED; INVALID_DATA-id for no such lead; CONVERTED_RECORD if converted."""
    first, converted = zoho.sandbox.seed([{"Last_Name": "A"}, {"Last_Name": "B"}])
    zoho.sandbox.convert_lead(converted)
    header = ["id", "City"]
    rows = [[first, "Paris"], ["5725767000009999999", "Oslo"], [converted, "Rome"]]
    file_id = str(upload(zoho, csv_zip(header, rows)).json()["details"]["file_id"])
    mappings = [{"api_name": "id", "index": 0}, {"api_name": "City", "index": 1}]
    body = job_body(file_id, "update", find_by="id", field_mappings=mappings)
    job_id = bulk(zoho, "POST", json=body).json()["details"]["id"]
    job = bulk(zoho, "GET", f"/{job_id}").json()
    result = result_rows(zoho, job["result"]["download_url"])
    assert [(r["RECORD_ID"], r["STATUS"], r["ERRORS"]) for r in result] == [
        (first, "UPDATED", ""),
        ("", "SKIPPED", "INVALID_DATA-id"),
        ("", "SKIPPED", "CONVERTED_RECORD"),
    ]
    assert zoho.sandbox.store.get(first)["City"] == "Paris"


def test_a_job_costs_500_credits(zoho: Zoho):
    """Creating a job is charged 500 credits, whatever its size."""
    run_job(zoho, [GOOD])
    assert zoho.sandbox.stats()["credits_by_call"]["POST /crm/bulk/v8/write"] == 500


def test_a_job_stays_added_until_its_delay_has_passed(zoho: Zoho):
    """With bulk_job_seconds the job is ADDED, writes nothing and has no result yet."""
    zoho.sandbox.configure(bulk_job_seconds=600)
    job, result = run_job(zoho, [GOOD])
    assert (job["status"], result) == ("ADDED", None)
    assert zoho.sandbox.leads() == []
    zoho.sandbox.configure(bulk_job_seconds=0)
    assert bulk(zoho, "GET", f"/{job['id']}").json()["status"] == "COMPLETED"
    assert len(zoho.sandbox.leads()) == 1


def test_the_fail_knob_ends_the_next_job_failed_with_nothing_written(zoho: Zoho):
    """bulk_fail_jobs=1: that job is FAILED, writes nothing and has no result; the next runs."""
    zoho.sandbox.configure(bulk_fail_jobs=1)
    job, result = run_job(zoho, [GOOD])
    assert (job["status"], job["resource"][0]["status"], result) == ("FAILED", "FAILED", None)
    assert zoho.sandbox.leads() == []
    assert run_job(zoho, [GOOD])[0]["status"] == "COMPLETED"


def test_the_drop_knob_leaves_rows_off_the_result_but_writes_them(zoho: Zoho):
    """bulk_drop_result_rows: the result file is short; the leads are written all the same."""
    zoho.sandbox.configure(bulk_drop_result_rows=2)
    _, result = run_job(zoho, [GOOD, GOOD, GOOD])
    assert result is not None
    assert len(result) == 1
    assert len(zoho.sandbox.leads()) == 3


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"not a zip", 400, "INVALID_FILE_FORMAT"),
        (csv_zip(["Last_Name"], [["x"]] * 25_001), 400, "LIMIT_EXCEEDED"),
        (csv_zip([f"F{i}" for i in range(201)], []), 400, "HEADER_LIMIT_EXCEEDED"),
    ],
)
def test_an_upload_over_zoho_s_limits_is_refused(zoho: Zoho, data: bytes, status: int, code: str):
    """Not a zip, more than 25,000 rows, more than 200 columns: Zoho's error each."""
    answer = upload(zoho, data)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    check_error(answer, "/crm/v8/upload", "post")


def test_a_zip_of_two_csvs_is_refused(zoho: Zoho):
    """A Leads upload holds exactly one CSV."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("a.csv", "Last_Name\nx\n")
        archive.writestr("b.csv", "Last_Name\ny\n")
    answer = upload(zoho, data.getvalue())
    assert answer.json()["code"] == "FILE_NOT_SUPPORTED"


def test_the_size_knob_refuses_an_upload_as_too_large(zoho: Zoho):
    """bulk_max_upload_bytes below the file's size: 413 FILE_TOO_LARGE."""
    zoho.sandbox.configure(bulk_max_upload_bytes=100)
    answer = upload(zoho, csv_zip(HEADER, [GOOD] * 20))
    assert (answer.status_code, answer.json()["code"]) == (413, "FILE_TOO_LARGE")
    check_error(answer, "/crm/v8/upload", "post")


@pytest.mark.parametrize("headers", [{"feature": ""}, {"X-CRM-ORG": "1"}])
def test_an_upload_without_bulk_write_s_headers_is_refused(zoho: Zoho, headers):
    """feature: bulk-write and the org's X-CRM-ORG are required."""
    answer = upload(zoho, csv_zip(HEADER, [GOOD]), **headers)
    assert answer.status_code == 400
    assert "X-CRM-ORG" in answer.json()["x-error"]
    check(answer, "/crm/v8/upload", "post")


@pytest.mark.parametrize(
    ("scope", "method", "path"),
    [
        ("ZohoCRM.org.READ", "GET", "/crm/v8/org"),
        ("ZohoFiles.files.ALL", "POST", "/crm/v8/upload"),
        ("ZohoCRM.bulk.ALL", "POST", "/crm/bulk/v8/write"),
        ("ZohoCRM.bulk.ALL", "GET", "/crm/bulk/v8/write/1"),
    ],
)
def test_a_missing_scope_answers_oauth_scope_mismatch(zoho: Zoho, scope, method, path):
    """missing_scopes: the calls that need the scope answer 401 OAUTH_SCOPE_MISMATCH."""
    zoho.sandbox.configure(missing_scopes=[scope])
    headers = {"Authorization": f"Zoho-oauthtoken {zoho.token}"}
    answer = zoho.session.request(method, f"{zoho.sandbox.url}{path}", headers=headers, timeout=5)
    assert (answer.status_code, answer.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH")


def test_answers_conform_to_bulk_write_json(zoho: Zoho):
    """Upload, create, ADDED and COMPLETED details match bulk_write.json; org matches org.json."""
    org = zoho.call("GET", "org")
    check(org, "/crm/v8/org", "get", "org.json")
    assert org.json()["org"][0]["zgid"] == ORG_ZGID
    uploaded = upload(zoho, csv_zip(HEADER, [GOOD]))
    check(uploaded, "/crm/v8/upload", "post")
    file_id = str(uploaded.json()["details"]["file_id"])
    zoho.sandbox.configure(bulk_job_seconds=600)
    created = bulk(zoho, "POST", json=job_body(file_id))
    check(created, "/crm/bulk/v8/write", "post")
    job_id = created.json()["details"]["id"]
    check(bulk(zoho, "GET", f"/{job_id}"), "/crm/bulk/v8/write/{job_id}", "get")
    zoho.sandbox.configure(bulk_job_seconds=0)
    done = bulk(zoho, "GET", f"/{job_id}")
    link = f"/v2/crm/{ORG_ZGID}/bulk-write/{job_id}/{job_id}.zip"
    assert done.json()["result"]["download_url"] == f"{zoho.sandbox.url}{link}"
    check(done, "/crm/bulk/v8/write/{job_id}", "get")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"operation": None}, "MANDATORY_NOT_FOUND"),
        ({"operation": "merge"}, "INVALID_DATA"),
        ({"callback": {"url": "https://example.com/", "method": "get"}}, "INVALID_CALLBACK_METHOD"),
        ({"file_id": "1"}, "INVALID_FILE_ID"),
        ({"module": {"api_name": "Deals"}}, "MODULE_NOT_AVAILABLE"),
        ({"field_mappings": [{"api_name": "Email", "index": 1}]}, "MANDATORY_FIELDS_NOT_MAPPED"),
        ({"field_mappings": [{"api_name": "Nope", "index": 0}]}, "INVALID_FIELD"),
        ({"field_mappings": [{"api_name": "Last_Name", "index": 9}]}, "COLUMN_INDEX_NOT_FOUND"),
        ({"operation": "update"}, "MANDATORY_NOT_FOUND"),  # no find_by
    ],
)
def test_a_job_request_zoho_would_refuse_answers_400(zoho: Zoho, change, code):
    """Each refusal is a 400 with Zoho's code, in bulk_write.json's shape."""
    file_id = str(upload(zoho, csv_zip(HEADER, [GOOD])).json()["details"]["file_id"])
    body = job_body(file_id)
    for key, value in change.items():
        target = body if key in {"operation", "callback"} else body["resource"][0]
        if value is None:
            del target[key]
        else:
            target[key] = value
    answer = bulk(zoho, "POST", json=body)
    assert (answer.status_code, answer.json()["code"]) == (400, code)
    check_error(answer, "/crm/bulk/v8/write", "post")
    assert zoho.sandbox.leads() == []


def test_an_unknown_job_is_resource_not_found_and_its_link_is_not_valid(zoho: Zoho):
    """GET of no such job: 400 RESOURCE_NOT_FOUND; its result link: 403."""
    answer = bulk(zoho, "GET", "/5725767000000000000")
    assert (answer.status_code, answer.json()["code"]) == (400, "RESOURCE_NOT_FOUND")
    check_error(answer, "/crm/bulk/v8/write/{job_id}", "get")
    headers = {"Authorization": f"Zoho-oauthtoken {zoho.token}"}
    path = f"/v2/crm/{ORG_ZGID}/bulk-write/5725767000000000000/5725767000000000000.zip"
    link = zoho.session.get(f"{zoho.sandbox.url}{path}", headers=headers, timeout=5)
    assert (link.status_code, link.json()["x-info"]) == (403, "Link not valid")


def test_a_result_link_needs_the_access_token(zoho: Zoho, http: requests.Session):
    """The download is an API call like the others: no token, 401."""
    job, _ = run_job(zoho, [GOOD])
    answer = http.get(job["result"]["download_url"], timeout=5)
    assert answer.status_code == 401
