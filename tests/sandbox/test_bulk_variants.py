"""The readings of Bulk Write and the token mint Zoho's docs leave open, one knob each."""

from __future__ import annotations

import http.client
import json
import typing as t
import urllib.error
import urllib.request

import pytest
from zoho_sandbox import ZohoSandbox
from zoho_sandbox.clock import ManualClock
from zoho_sandbox.org import ORG_ZGID

from .conftest import Zoho
from .test_bulk import GOOD, HEADER, bulk, check, csv_zip, job_body, result_rows, run_job, upload

if t.TYPE_CHECKING:
    import requests

JOB = "/crm/bulk/v8/write/{job_id}"
ROWS = [[f"Lee{i}", f"lee{i}@example.com", "", ""] for i in range(6)] + [["", "", "", ""]]


def _file_id(zoho: Zoho, rows: list[list[str]]) -> str:
    return str(upload(zoho, csv_zip(HEADER, rows)).json()["details"]["file_id"])


@pytest.mark.parametrize("column", ["RECORD_ID", "ID"])
def test_the_result_s_id_column_is_named_as_the_knob_says(zoho: Zoho, column: str):
    """bulk_result_id_column: RECORD_ID (default) or ID, carrying the new lead's id."""
    zoho.sandbox.configure(bulk_result_id_column=column)
    job, result = run_job(zoho, [GOOD])
    assert result is not None
    assert list(result[0]) == [*HEADER[:3], column, "STATUS", "ERRORS"]
    assert result[0][column] == zoho.sandbox.leads()[0]["id"]
    check(bulk(zoho, "GET", f"/{job['id']}"), JOB, "get")


@pytest.mark.parametrize(
    ("case", "added", "skipped"),
    [("upper", "ADDED", "SKIPPED"), ("lower", "added", "skipped"), ("title", "Added", "Skipped")],
)
def test_the_result_s_statuses_are_in_the_knob_s_case(zoho: Zoho, case, added, skipped):
    """bulk_result_status_case: the statuses' case varies; the job's counts do not."""
    zoho.sandbox.configure(bulk_result_status_case=case)
    job, result = run_job(zoho, [GOOD, ["", "", "", ""]])
    assert result is not None
    assert [row["STATUS"] for row in result] == [added, skipped]
    counts = job["resource"][0]["file"]
    assert (counts["added_count"], counts["skipped_count"]) == (1, 1)


def test_the_result_rows_come_in_input_order_by_default(zoho: Zoho):
    """bulk_result_order=input: row i of the result is row i of the upload."""
    _, result = run_job(zoho, ROWS)
    assert result is not None
    assert [row["Last_Name"] for row in result] == [row[0] for row in ROWS]


def test_the_result_rows_can_come_reversed(zoho: Zoho):
    """bulk_result_order=reversed: last row first."""
    zoho.sandbox.configure(bulk_result_order="reversed")
    _, result = run_job(zoho, ROWS)
    assert result is not None
    assert [row["Last_Name"] for row in result] == [row[0] for row in reversed(ROWS)]


def _shuffled_names(zoho: Zoho) -> list[str]:
    _, result = run_job(zoho, ROWS)
    assert result is not None
    assert all(row["STATUS"] in {"ADDED", "SKIPPED"} for row in result)
    return [row["Last_Name"] for row in result]


def test_the_result_rows_can_come_shuffled_by_the_seed(zoho: Zoho, http: requests.Session):
    """bulk_result_order=shuffled: every row once, in an order a fresh sandbox repeats."""
    zoho.sandbox.configure(bulk_result_order="shuffled", seed=7)
    first = _shuffled_names(zoho)
    assert sorted(first) == sorted(row[0] for row in ROWS)
    assert first != [row[0] for row in ROWS]
    with ZohoSandbox(clock=ManualClock(), bulk_result_order="shuffled", seed=7) as again:
        assert _shuffled_names(Zoho(again, http)) == first


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("bulk_result_id_column", "Id"),
        ("bulk_result_status_case", "UPPER"),
        ("bulk_result_order", "random"),
        ("mint_block_status", 429),
        ("bulk_download_origin", "ftp://x"),
        ("bulk_lose_create_answer", -1),
    ],
)
def test_a_knob_refuses_a_reading_it_does_not_know(zoho: Zoho, knob: str, value: object):
    """Only the listed readings are taken."""
    with pytest.raises(ValueError, match=knob):
        zoho.sandbox.configure(**{knob: value})


def test_a_job_can_write_its_rows_then_report_failed(zoho: Zoho):
    """bulk_fail_after_write=1: the leads exist, the job says FAILED, no counts, no link."""
    zoho.sandbox.configure(bulk_fail_after_write=1)
    job, result = run_job(zoho, [GOOD, GOOD])
    assert (job["status"], job["resource"][0]["status"], result) == ("FAILED", "FAILED", None)
    assert "added_count" not in job["resource"][0]["file"]
    assert len(zoho.sandbox.leads()) == 2
    check(bulk(zoho, "GET", f"/{job['id']}"), JOB, "get")
    assert run_job(zoho, [GOOD])[0]["status"] == "COMPLETED"  # only the next job


def _create_raw(zoho: Zoho, file_id: str) -> tuple[int, dict[str, t.Any]] | None:
    """POST a create over urllib: (status, body), or None when the connection drops."""
    request = urllib.request.Request(  # noqa: S310 - the sandbox's loopback URL
        f"{zoho.sandbox.url}/crm/bulk/v8/write",
        data=json.dumps(job_body(file_id)).encode(),
        headers={"Authorization": f"Zoho-oauthtoken {zoho.token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            return answer.status, json.load(answer)
    except (http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError):
        return None


def test_a_lost_create_answer_still_runs_the_job_after_its_delay(zoho: Zoho):
    """bulk_lose_create_answer=2: the second create is hung up on; its job writes later."""
    zoho.sandbox.configure(bulk_lose_create_answer=2, bulk_job_seconds=60)
    first = _create_raw(zoho, _file_id(zoho, [GOOD]))
    assert first is not None
    assert first[0] == 201
    assert _create_raw(zoho, _file_id(zoho, [["Kim", "kim@example.com", "", ""]])) is None
    assert zoho.sandbox.stats()["faults"]["lost_answer"] == 1
    assert zoho.sandbox.leads() == []  # neither job has run yet
    zoho.sandbox.advance_clock(60)
    assert [lead["Last_Name"] for lead in zoho.sandbox.leads()] == ["Kim"]  # read by nobody
    job = bulk(zoho, "GET", f"/{first[1]['details']['id']}").json()  # the answered one, polled
    assert job["status"] == "COMPLETED"
    assert sorted(lead["Last_Name"] for lead in zoho.sandbox.leads()) == ["Kim", "Lee"]
    third = _create_raw(zoho, _file_id(zoho, [GOOD]))
    assert third is not None  # the rule fired once


def test_a_blind_resend_after_a_lost_create_makes_a_second_job(zoho: Zoho):
    """Re-sending the lost create makes another job: the lead is written twice."""
    zoho.sandbox.configure(bulk_lose_create_answer=1)
    file_id = _file_id(zoho, [GOOD])
    assert _create_raw(zoho, file_id) is None
    resent = _create_raw(zoho, file_id)
    assert resent is not None
    assert resent[0] == 201
    job = bulk(zoho, "GET", f"/{resent[1]['details']['id']}").json()  # the client polls it
    assert job["status"] == "COMPLETED"
    assert [lead["Email"] for lead in zoho.sandbox.leads()] == [GOOD[1], GOOD[1]]


@pytest.mark.parametrize("status", [400, 200])
def test_the_mint_block_answers_with_the_knob_s_status(zoho: Zoho, status: int):
    """mint_block_status: Access Denied with no token, at 400 or 200; counted as a denial."""
    zoho.sandbox.configure(mint_block_status=status)
    zoho.sandbox.block_tokens(60)
    answer = zoho.mint()
    assert answer.status_code == status
    assert answer.json()["error"] == "Access Denied"
    assert "access_token" not in answer.json()
    assert zoho.sandbox.stats()["token_denials"] == 1


def test_a_result_link_can_name_another_listener_that_logs_tokens(
    zoho: Zoho, http: requests.Session
):
    """bulk_download_origin=other: the link names another port, served without a token."""
    zoho.sandbox.configure(bulk_download_origin="other")
    job, _ = run_job(zoho, [GOOD])  # run_job downloads with the token: logged as such
    url = job["result"]["download_url"]
    origin = url.split("/v2/", 1)[0]
    assert origin.startswith("http://127.0.0.1:")
    assert origin != zoho.sandbox.url
    assert url.endswith(f"/v2/crm/{ORG_ZGID}/bulk-write/{job['id']}/{job['id']}.zip")
    fetched = http.get(url, timeout=5)
    assert fetched.status_code == 200
    assert fetched.headers["Content-Type"] == "application/zip"
    downloads = [e for e in zoho.sandbox.requests() if e.get("listener") == "download"]
    assert [(e["authorization"], e["status"]) for e in downloads] == [(True, 200), (False, 200)]
    check(bulk(zoho, "GET", f"/{job['id']}"), JOB, "get")


def test_a_result_link_can_name_an_origin_the_test_gives(zoho: Zoho):
    """bulk_download_origin=<URL>: the link names that origin; the sandbox serves nothing there."""
    zoho.sandbox.configure(bulk_download_origin="http://127.0.0.1:9/")
    file_id = _file_id(zoho, [GOOD])
    job_id = bulk(zoho, "POST", json=job_body(file_id)).json()["details"]["id"]
    job = bulk(zoho, "GET", f"/{job_id}").json()
    link = f"http://127.0.0.1:9/v2/crm/{ORG_ZGID}/bulk-write/{job_id}/{job_id}.zip"
    assert job["result"]["download_url"] == link
    path = link.removeprefix("http://127.0.0.1:9")
    assert len(result_rows(zoho, f"{zoho.sandbox.url}{path}")) == 1  # still served at home
