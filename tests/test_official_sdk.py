"""Zoho's official Python SDK (``zohocrmsdk8-0``) against the sandbox, flow by flow.

The target and the sandbox were written by the same people and may share a
wrong guess about Zoho's answers. The SDK was not: each flow the target uses
(token, field metadata, insert, update, COQL, search, org, and Bulk Write's
upload, job, status and download) runs through it here, and a test checks the
typed objects it built from the sandbox's answers and what the sandbox then
holds. The SDK keeps a process-global ``Initializer``, so each flow runs in a
subprocess (``tests/official_sdk_flows.py``) with its token file and log in
``tmp_path``.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import typing as t
import urllib.parse
from pathlib import Path

import pytest
from zoho_sandbox.org import ORG_ID, ORG_ZGID

if t.TYPE_CHECKING:
    from zoho_sandbox import ZohoSandbox

# Every test starts a Python with the SDK (some two seconds each).
pytestmark = pytest.mark.slow

FLOWS = Path(__file__).with_name("official_sdk_flows.py")
LEAD = {"Last_Name": "Okafor", "Email": "ada.okafor@example.com", "Phone": "+15550100"}
BULK_CSV = "Last_Name,Email\nNwosu,chidi.nwosu@example.com\n"


def sdk(flow: str, sandbox: ZohoSandbox, tmp_path: Path, **arguments: t.Any) -> dict[str, t.Any]:
    """Run one flow of the official SDK against ``sandbox``; its report."""
    done = subprocess.run(
        [sys.executable, str(FLOWS), flow, sandbox.url, str(tmp_path), json.dumps(arguments)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    log = tmp_path / "sdk.log"
    assert done.returncode == 0, done.stderr + (log.read_text() if log.exists() else "")
    return t.cast("dict[str, t.Any]", json.loads(done.stdout))


def only_success(report: dict[str, t.Any], code: str = "SUCCESS") -> dict[str, t.Any]:
    """The one item of an action answer, checked to be the SDK's SuccessResponse."""
    (item,) = report["items"]
    assert (item["class"], item["status"], item["code"]) == ("SuccessResponse", "success", code)
    return t.cast("dict[str, t.Any]", item["details"])


def runs(statuses: list[str]) -> list[str]:
    """``statuses`` with repeats in a row left out."""
    return [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]


def test_the_sdk_mints_its_access_token_from_the_sandboxs_token_endpoint(sandbox, tmp_path):
    """OAuthToken trades the refresh token for an access token the sandbox minted."""
    report = sdk("token", sandbox, tmp_path)
    assert sandbox.minted_tokens() == [report["access_token"]]
    assert (tmp_path / "tokens.csv").exists()


def test_the_sdk_reads_every_leads_field_with_its_data_type(sandbox, tmp_path):
    """get_fields builds a Fields object for each of the sandbox's Leads fields."""
    report = sdk("fields", sandbox, tmp_path)
    assert (report["http_status"], report["wrapper"]) == (200, "ResponseWrapper")
    assert {f["class"] for f in report["fields"]} == {"Fields"}
    built = {f["api_name"]: f["data_type"] for f in report["fields"]}
    assert built == {name: f["data_type"] for name, f in sandbox.store.fields.items()}


def test_a_lead_inserted_through_the_sdk_is_a_success_whose_id_is_in_the_sandbox(sandbox, tmp_path):
    """create_records answers an ActionWrapper of one SuccessResponse naming the new lead."""
    report = sdk("insert", sandbox, tmp_path, leads=[LEAD])
    assert (report["http_status"], report["wrapper"]) == (201, "ActionWrapper")
    details = only_success(report)
    (lead,) = sandbox.leads()
    assert details["id"] == lead["id"]
    assert {name: lead[name] for name in LEAD} == LEAD
    assert details["Created_By"] == "MinifiedUser"


def test_a_lead_updated_through_the_sdk_is_a_success_and_holds_the_new_value(sandbox, tmp_path):
    """update_records answers a SuccessResponse for the lead, which now holds the value."""
    (lead_id,) = sandbox.seed([LEAD])
    report = sdk("update", sandbox, tmp_path, leads=[{"id": lead_id, "First_Name": "Ada"}])
    assert (report["http_status"], report["wrapper"]) == (200, "ActionWrapper")
    assert only_success(report)["id"] == lead_id
    (lead,) = sandbox.leads()
    assert (lead["id"], lead["First_Name"], lead["Email"]) == (lead_id, "Ada", LEAD["Email"])


def test_a_coql_query_through_the_sdk_returns_the_matching_lead_as_a_record(sandbox, tmp_path):
    """CoqlOperations.get_records builds Record objects with the selected fields."""
    (lead_id,) = sandbox.seed([LEAD])
    sandbox.seed([{"Last_Name": "Other", "Email": "other@example.com"}])
    query = "select Last_Name, Email from Leads where Email = 'ada.okafor@example.com'"
    report = sdk("coql", sandbox, tmp_path, query=query)
    assert (report["http_status"], report["wrapper"]) == (200, "ResponseWrapper")
    (record,) = report["records"]
    assert (record["class"], record["id"]) == ("Record", lead_id)
    assert {k: record["values"][k] for k in ("Last_Name", "Email")} == {
        "Last_Name": LEAD["Last_Name"],
        "Email": LEAD["Email"],
    }


@pytest.mark.parametrize(
    "params",
    [
        {"criteria": f"(Email:equals:{LEAD['Email']})"},
        {"email": LEAD["Email"]},
        {"phone": LEAD["Phone"]},
    ],
    ids=["criteria", "email", "phone"],
)
def test_a_search_through_the_sdk_finds_the_lead(sandbox, tmp_path, params):
    """search_records by criteria, email or phone builds the one matching Record."""
    (lead_id,) = sandbox.seed([LEAD])
    sandbox.seed([{"Last_Name": "Other", "Email": "other@example.com", "Phone": "+15550199"}])
    report = sdk("search", sandbox, tmp_path, params=params)
    assert (report["http_status"], report["wrapper"]) == (200, "ResponseWrapper")
    (record,) = report["records"]
    assert (record["class"], record["id"], record["values"]["Email"]) == (
        "Record",
        lead_id,
        LEAD["Email"],
    )


def test_the_sdk_reads_the_org_with_its_group_id(sandbox, tmp_path):
    """get_organization builds an Org whose zgid is what Bulk Write's X-CRM-ORG carries."""
    report = sdk("org", sandbox, tmp_path)
    assert (report["http_status"], report["wrapper"]) == (200, "ResponseWrapper")
    assert report["orgs"] == [{"class": "Org", "id": ORG_ID, "zgid": ORG_ZGID}]


def test_a_file_uploaded_through_the_sdk_answers_its_file_id(sandbox, tmp_path):
    """upload_file (to the environment's upload URL) answers FILE_UPLOAD_SUCCESS and an id."""
    report = sdk("bulk", sandbox, tmp_path, csv_text=BULK_CSV, until="upload")
    upload = report["upload"]
    assert (upload["http_status"], upload["wrapper"]) == (200, "SuccessResponse")
    details = only_success(upload, "FILE_UPLOAD_SUCCESS")
    assert str(details["file_id"]).isdigit()
    assert sandbox.stats()["calls"] == {"POST /crm/v8/upload": 1}


def test_a_job_created_through_the_sdk_answers_its_id(sandbox, tmp_path):
    """create_bulk_write_job answers 201 and a SuccessResponse naming the job."""
    report = sdk("bulk", sandbox, tmp_path, csv_text=BULK_CSV, until="job")
    job = report["job"]
    assert (job["http_status"], job["wrapper"]) == (201, "SuccessResponse")
    assert only_success(job)["id"].isdigit()
    assert sandbox.stats()["calls"]["POST /crm/bulk/v8/write"] == 1


@pytest.mark.sandbox_knobs(bulk_job_seconds=3)
def test_the_sdk_sees_a_job_pass_through_added_and_in_progress_before_completed(sandbox, tmp_path):
    """Polled through the SDK, a job is ADDED, then IN PROGRESS, then COMPLETED with counts."""
    report = sdk("bulk", sandbox, tmp_path, csv_text=BULK_CSV, until="status")
    polls = report["polls"]
    assert {poll["class"] for poll in polls} == {"BulkWriteResponse"}
    assert runs([poll["status"] for poll in polls]) == ["ADDED", "IN PROGRESS", "COMPLETED"]
    assert [poll["resource_status"] for poll in polls] == [poll["status"] for poll in polls]
    assert polls[-1]["file"] == {
        "name": "leads.csv",
        "total_count": 1,
        "added_count": 1,
        "skipped_count": 0,
    }
    assert all(poll["download_url"] is None for poll in polls[:-1])


def test_the_sdk_downloads_the_result_as_a_named_zip_holding_the_result_csv(sandbox, tmp_path):
    """The result link is Zoho's /v2/crm/{zgid}/bulk-write/{job}/{job}.zip; the SDK wraps it."""
    report = sdk("bulk", sandbox, tmp_path, csv_text=BULK_CSV)
    job_id = only_success(report["job"])["id"]
    link = urllib.parse.urlsplit(report["polls"][-1]["download_url"])
    assert link.path == f"/v2/crm/{ORG_ZGID}/bulk-write/{job_id}/{job_id}.zip"
    download = report["download"]
    assert (download["http_status"], download["class"], download["file_class"]) == (
        200,
        "FileBodyWrapper",
        "StreamWrapper",
    )
    assert download["file_name"] == f"{job_id}.zip"  # from Content-Disposition
    (lead,) = sandbox.leads()
    rows = list(csv.DictReader(io.StringIO(download["members"]["Leads-leads.csv"])))
    assert rows == [
        {
            "Last_Name": "Nwosu",
            "Email": "chidi.nwosu@example.com",
            "RECORD_ID": lead["id"],
            "STATUS": "ADDED",
            "ERRORS": "",
        }
    ]
