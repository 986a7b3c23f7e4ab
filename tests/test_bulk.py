"""Bulk Write: the CSV files, reading results into outcomes, and jobs against the sandbox."""

from __future__ import annotations

import csv
import io
import logging
import secrets
import zipfile

import pytest

from target_zoho_leads.zoho.auth import ZohoAuth
from target_zoho_leads.zoho.bulk.csv_file import (
    BulkFile,
    bulk_files,
    cell,
    columns_of,
    field_mappings,
)
from target_zoho_leads.zoho.bulk.errors import (
    BulkJobFailedError,
    BulkResultMismatchError,
    BulkWriteError,
)
from target_zoho_leads.zoho.bulk.jobs import BULK_SCOPE, FILES_SCOPE, ORG_SCOPE, BulkWriter
from target_zoho_leads.zoho.bulk.result import read_errors, result_table
from target_zoho_leads.zoho.client import ZohoCRMClient, new_session
from target_zoho_leads.zoho.errors import ZohoScopeError
from target_zoho_leads.zoho.hosts import split_link, token_may_go_to, upload_origin
from target_zoho_leads.zoho.outcomes import CREATED, REJECTED, UPDATED

LEAD = {"Last_Name": "Lee", "Email": "lee@example.com", "Interests": ["Demo"]}


def read_zip(file: BulkFile) -> list[list[str]]:
    """The CSV rows (header first) of a file's zip, which must hold exactly one CSV."""
    with zipfile.ZipFile(io.BytesIO(file.data)) as archive:
        (name,) = archive.namelist()
        text = archive.read(name).decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


# The CSV files ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (2.5, "2.5"),
        (1e20, "100000000000000000000"),
        ("2024-01-31T10:00:00+08:00", "2024-01-31T10:00:00+08:00"),
        (["Demo", "Trial"], "Demo;Trial"),
        ({"id": "5725767000000411001", "name": "x"}, "5725767000000411001"),
        ('Zoë, "quoted"\nline', 'Zoë, "quoted"\nline'),
    ],
)
def test_a_cell_holds_the_records_api_value_as_text(value, text):
    """Booleans, numbers without exponents, multi-select joined by ';', a lookup's id."""
    assert cell(value) == text


def test_columns_lead_with_the_given_ones_then_follow_first_use():
    """On update ``id`` comes first; then every field any lead sets, once."""
    payloads = [{"CDP_ID": "a", "id": "1"}, {"id": "2", "City": "X", "CDP_ID": "b"}]
    assert columns_of(payloads, ("id",)) == ["id", "CDP_ID", "City"]


def test_more_than_200_columns_is_an_error_before_any_call():
    """Zoho's column limit is checked locally, with the count in the message."""
    with pytest.raises(BulkWriteError, match="201 fields"):
        columns_of([{f"F{i}": 1 for i in range(201)}])


def test_files_split_at_max_rows_and_each_holds_one_utf8_csv_with_the_header():
    """Seven leads at three a file: three zips, every row once, in order, header on each."""
    payloads = [{**LEAD, "Last_Name": f"Zoë{i}"} for i in range(7)]
    columns = columns_of(payloads)
    files = list(bulk_files(payloads, columns, max_rows=3))
    assert [(f.start, f.count) for f in files] == [(0, 3), (3, 3), (6, 1)]
    rows = []
    for file in files:
        table = read_zip(file)
        assert table[0] == ["Last_Name", "Email", "Interests"]
        rows += table[1:]
        assert file.echoed == [row[:3] for row in table[1:]]
    assert [row[0] for row in rows] == [f"Zoë{i}" for i in range(7)]
    assert rows[0][2] == "Demo"


def test_files_split_before_they_pass_max_bytes():
    """Each CSV, header included, stays within max_bytes; no record is lost."""
    payloads = [{"Last_Name": "x" * 40} for _ in range(10)]
    files = list(bulk_files(payloads, ["Last_Name"], max_bytes=200))
    assert sum(f.count for f in files) == 10
    for file in files:
        with zipfile.ZipFile(io.BytesIO(file.data)) as archive:
            assert archive.infolist()[0].file_size <= 200


def test_a_record_larger_than_a_whole_file_is_an_error():
    """A lead that cannot fit any file is refused before anything is sent."""
    with pytest.raises(BulkWriteError, match="record 2 alone"):
        list(bulk_files([{"A": "x"}, {"A": "x" * 500}], ["A"], max_bytes=100))


def test_lookup_columns_are_mapped_to_be_found_by_id():
    """A column holding {"id": ...} values maps with find_by id; others by index only."""
    payloads = [{"Last_Name": "A", "Campaign_Source": {"id": "57"}}]
    assert field_mappings(["Last_Name", "Campaign_Source"], payloads) == [
        {"api_name": "Last_Name", "index": 0},
        {"api_name": "Campaign_Source", "index": 1, "find_by": "id"},
    ]


# Reading results ------------------------------------------------------------

HEADER = ["Last_Name", "Email", "Interests", "RECORD_ID", "STATUS", "ERRORS"]


@pytest.mark.parametrize(
    ("text", "code", "field", "message"),
    [
        ("INVALID_DATA-Email", "INVALID_DATA", "Email", "invalid data"),
        (
            "MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email",
            "MANDATORY_NOT_FOUND",
            "Company",
            "required field not found (also DUPLICATE_DATA on Email)",
        ),
        ("CONVERTED_RECORD", "CONVERTED_RECORD", None, "can't update the converted record"),
        ("", "UNKNOWN", None, "Zoho's bulk job skipped this record without a reason"),
    ],
)
def test_the_errors_column_gives_the_first_code_and_field(text, code, field, message):
    """ERRORS is CODE-Field, several joined by ':'; the message names the others."""
    assert read_errors(text) == (code, field, message)


def test_a_result_that_is_not_a_zipped_csv_is_an_error():
    """A download that is not a zip cannot be read as outcomes."""
    with pytest.raises(BulkResultMismatchError, match="not a zipped UTF-8 CSV"):
        result_table(b"<html>", "9")


# Hosts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_domain", "upload"),
    [
        ("https://www.zohoapis.com", "https://upload-accl.zoho.com"),
        ("https://www.zohoapis.eu", "https://upload-accl.zoho.eu"),
        ("https://sandbox.zohoapis.in", "https://upload-accl.zoho.in"),
        ("https://www.zohoapis.ca", "https://upload.zohocloud.ca"),
        ("https://www.zohoapis.sa", "https://files.zoho.sa"),
        ("https://www.zohoapis.com.au", "https://upload.zoho.com"),
        ("https://www.zohoapis.jp", "https://upload.zoho.com"),
        ("https://zohoapis.uk", "https://upload.zoho.com"),
        ("https://www.zohoapis.com.cn", "https://content.zohoapis.com.cn"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("https://proxy.example.com", "https://proxy.example.com"),
    ],
)
def test_uploads_go_to_the_upload_host_zoho_documents_for_the_data_centre(api_domain, upload):
    """Zoho's Upload File page and SDK: one host per data centre; any other API domain itself."""
    assert upload_origin(api_domain) == upload
    assert token_may_go_to(upload, api_domain=api_domain, allowed_hosts=["proxy.example.com"])


@pytest.mark.parametrize(
    ("url", "api_domain", "allowed"),
    [
        (
            "https://download-accl.zoho.com/v2/crm/1/bulk-write/2/2.zip",
            "https://www.zohoapis.com",
            True,
        ),
        ("https://download.zoho.eu/v2/crm/1/2.zip", "https://www.zohoapis.eu", True),
        ("https://download.zohocloud.ca/v2/crm/1/2.zip", "https://www.zohoapis.ca", True),
        ("https://www.zohoapis.eu/crm/x.zip", "https://www.zohoapis.eu", True),
        ("https://files.zoho.sa/x.zip", "https://www.zohoapis.sa", True),
        ("http://127.0.0.1:9/crm/bulk/v8/write/2/result.zip", "http://127.0.0.1:9", True),
        ("http://127.0.0.1:9/x.zip", "https://www.zohoapis.com", False),
        ("https://evil.example.com/x.zip", "https://www.zohoapis.com", False),
        ("https://download.zoho.com.evil.example/x.zip", "https://www.zohoapis.com", False),
        ("http://download-accl.zoho.com/x.zip", "https://www.zohoapis.com", False),
    ],
)
def test_a_result_link_gets_the_token_only_on_zoho_s_hosts(url, api_domain, allowed):
    """Zoho's API, upload and download hosts over https, or loopback for a loopback sandbox."""
    origin, path = split_link(url)
    assert origin + path == url
    assert token_may_go_to(origin, api_domain=api_domain) is allowed


@pytest.mark.parametrize(
    "url", ["https://user@download-accl.zoho.com/x.zip", "ftp://download.zoho.eu/x", 7, ""]
)
def test_a_result_link_that_is_not_a_plain_url_is_refused(url):
    """A link another parser could read as another host is not read at all."""
    with pytest.raises(ValueError, match="link"):
        split_link(url)


# Jobs against the sandbox -------------------------------------------------------


@pytest.fixture
def client(sandbox, monkeypatch):
    """A Zoho client of the sandbox whose retries wait a few milliseconds."""
    monkeypatch.setenv("TARGET_ZOHO_LEADS_BACKOFF_BASE", "0.01")
    session = new_session(4)
    auth = ZohoAuth(
        accounts_url=sandbox.accounts_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        refresh_token=sandbox.refresh_token,
        session=session,
        timeout=30,
    )
    yield ZohoCRMClient(auth=auth, session=session, timeout=30, max_retries=3)
    session.close()


def writer(client: ZohoCRMClient, **options) -> BulkWriter:
    """A writer that polls every few milliseconds."""
    return BulkWriter(client, poll_first=0.01, poll_max=0.05, **options)


def leads(count: int, bad_every: int = 0) -> list[dict]:
    """``count`` leads; every ``bad_every``-th has an email Zoho refuses."""
    return [
        {
            "Last_Name": f"Lead {i}",
            "Email": "not-an-email" if bad_every and i % bad_every == 0 else f"p{i}@example.com",
            "Interests": ["Demo"],
            "CDP_ID": f"cdp-{i}",
        }
        for i in range(count)
    ]


@pytest.mark.slow
def test_a_50000_lead_backfill_writes_every_good_lead_once_at_under_25_credits_per_1000(
    sandbox, client
):
    """Two full jobs: 49,980 created once each, the 20 bad ones rejected with Zoho's code."""
    payloads = leads(50_000, bad_every=2_500)
    outcomes = writer(client).insert(payloads)
    assert len(outcomes) == 50_000
    rejected = [i for i, o in enumerate(outcomes) if o.kind == REJECTED]
    assert rejected == list(range(0, 50_000, 2_500))
    assert {(outcomes[i].code, outcomes[i].field) for i in rejected} == {("INVALID_DATA", "Email")}
    stored = sandbox.leads()
    assert sorted(lead["CDP_ID"] for lead in stored) == sorted(
        p["CDP_ID"] for i, p in enumerate(payloads) if i not in set(rejected)
    )
    by_id = {lead["id"]: lead["CDP_ID"] for lead in stored}
    assert all(
        by_id[o.lead_id] == payloads[i]["CDP_ID"] for i, o in enumerate(outcomes) if o.lead_id
    )
    stats = sandbox.stats()
    assert stats["calls"]["POST /crm/bulk/v8/write"] == 2
    assert stats["credits"] / 50 <= 25


def test_every_field_type_arrives_as_the_records_api_would_have_stored_it(sandbox, client):
    """A lead of every type written by bulk equals the same lead written by POST /Leads."""
    lead = {
        "Last_Name": 'Zoë "Z", of\nLine two',
        "Email": "zoe@example.com",
        "No_of_Employees": 12,
        "Annual_Revenue": 1234.5,
        "Lead_Score": 1e20,
        "Discount": 7,
        "Email_Opt_Out": False,
        "Visit_Time": "2024-01-31T10:00:00+08:00",
        "Event_Date": "2024-02-29",
        "Interests": ["Demo", "Trial"],
        "Big_Number": "9007199254740993",
    }
    (outcome,) = writer(client).insert([lead])
    by_records = client.write_leads("POST", [lead], None)[0]
    assert (outcome.kind, by_records.status) == (CREATED, "success")
    bulk_lead, records_lead = sandbox.leads()
    stamped = {"id", "Created_Time", "Modified_Time"}
    assert {k: v for k, v in bulk_lead.items() if k not in stamped} == {
        k: v for k, v in records_lead.items() if k not in stamped
    }


def test_updates_go_by_id_and_come_back_in_order(sandbox, client):
    """Tracking-id updates: UPDATED for each lead, REJECTED for an id Zoho does not know."""
    ids = sandbox.seed([{"Last_Name": "A"}, {"Last_Name": "B"}])
    rows = [{"id": ids[1], "CDP_ID": "new-b"}, {"id": "5725767000009999999", "CDP_ID": "x"}]
    rows.append({"id": ids[0], "CDP_ID": "new-a"})
    outcomes = writer(client).update(rows)
    assert [(o.kind, o.lead_id, o.code, o.field) for o in outcomes] == [
        (UPDATED, ids[1], "", None),
        (REJECTED, None, "INVALID_DATA", "id"),
        (UPDATED, ids[0], "", None),
    ]
    assert [lead.get("CDP_ID") for lead in sandbox.leads()] == ["new-a", "new-b"]


def test_a_failed_job_is_a_clear_error_and_settles_nothing(sandbox, client):
    """A FAILED job: one line saying so, no outcome for any of its records."""
    sandbox.configure(bulk_fail_jobs=1)
    with pytest.raises(
        BulkJobFailedError, match="ended FAILED; its records may or may not be written"
    ) as caught:
        writer(client).insert(leads(5))
    assert caught.value.settled == []
    assert sandbox.leads() == []


def test_a_later_failed_job_keeps_the_outcomes_of_the_jobs_before_it(sandbox, client):
    """Jobs of 3: the second FAILS, so the first three records are settled, the rest not."""
    calls: list[int] = []

    def on_call() -> None:
        calls.append(1)
        if len(calls) == 6:  # org, upload, job, poll, result: the next is the 2nd upload
            sandbox.configure(bulk_fail_jobs=1)

    with pytest.raises(BulkJobFailedError) as caught:
        writer(client, max_rows=3, on_call=on_call).insert(leads(5))
    assert [o.kind for o in caught.value.settled] == [CREATED] * 3
    assert len(sandbox.leads()) == 3


def test_a_result_with_missing_rows_is_a_clear_error_and_settles_only_rows_it_matches(
    sandbox, client
):
    """A result one row short: the rows it matches are known, the missing one is not."""
    sandbox.configure(bulk_drop_result_rows=1)
    with pytest.raises(
        BulkResultMismatchError, match="does not say what became of 1 records"
    ) as caught:
        writer(client).insert(leads(5))
    assert [o.kind for o in caught.value.settled] == [CREATED] * 4
    assert "\n" not in str(caught.value)


def test_an_upload_refused_for_size_keeps_only_the_earlier_jobs_outcomes(sandbox, client):
    """Jobs of 10: the second file is refused (413), so only the first ten are settled."""
    payloads = leads(25)
    for payload in payloads[10:20]:
        payload["Description"] = secrets.token_hex(400)
    sandbox.configure(bulk_max_upload_bytes=3_000)
    with pytest.raises(BulkWriteError, match="HTTP 413 FILE_TOO_LARGE") as caught:
        writer(client, max_rows=10).insert(payloads)
    assert caught.value.code == "FILE_TOO_LARGE"
    assert [o.kind for o in caught.value.settled] == [CREATED] * 10
    assert len(sandbox.leads()) == 10


def test_the_org_is_asked_once_per_writer(sandbox, client):
    """X-CRM-ORG comes from one GET /org, however many jobs follow."""
    bulk = writer(client)
    bulk.insert(leads(2))
    bulk.insert(leads(2))
    assert sandbox.stats()["calls"]["GET /crm/v8/org"] == 1


@pytest.mark.parametrize("scope", [BULK_SCOPE, FILES_SCOPE, ORG_SCOPE])
def test_the_start_up_check_names_a_missing_scope(sandbox, client, scope):
    """check_scopes fails with the name of the scope the token lacks."""
    sandbox.configure(missing_scopes=[scope])
    with pytest.raises(ZohoScopeError, match=f"lacks the OAuth scope {scope}, which Bulk Write"):
        writer(client).check_scopes()


def test_the_start_up_check_passes_and_creates_nothing(sandbox, client):
    """With every scope: no error, no lead, no job, and three calls."""
    writer(client).check_scopes()
    assert sandbox.leads() == []
    assert sandbox.api.bulk.jobs_created == 0
    assert sandbox.stats()["api_calls"] == 3


def test_a_running_job_logs_its_progress_every_30_seconds(sandbox, client, caplog):
    """While a job is ADDED or IN PROGRESS a line says so every 30 s, then it completes."""
    sandbox.configure(bulk_job_seconds=600)
    now = [0.0]

    def sleep(_seconds: float) -> None:
        now[0] += 20
        if now[0] >= 80:  # the job ends at the fourth check
            sandbox.configure(bulk_job_seconds=0)

    bulk = BulkWriter(client, sleep=sleep, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="target_zoho_leads.zoho.bulk.jobs"):
        outcomes = bulk.insert(leads(3))
    assert [o.kind for o in outcomes] == [CREATED] * 3
    lines = [r.getMessage() for r in caplog.records if r.name == "target_zoho_leads.zoho.bulk.jobs"]
    assert len(lines) == 1
    assert lines[0].endswith("of 3 records: ADDED after 40 s")


def test_a_job_that_runs_past_its_timeout_is_an_error(sandbox, client):
    """A job still ADDED after job_timeout seconds stops the write with one line."""
    sandbox.configure(bulk_job_seconds=600)
    now = [0.0]

    def sleep(_seconds: float) -> None:
        now[0] += 20

    bulk = BulkWriter(client, sleep=sleep, clock=lambda: now[0], job_timeout=50)
    with pytest.raises(BulkWriteError, match="still ADDED after 60 s") as caught:
        bulk.insert(leads(3))
    assert caught.value.code == "JOB_TIMEOUT"


def test_a_lost_job_answer_is_sent_again_and_counted_in_insert_mode(sandbox, client):
    """The job was created but its answer lost: sent again, so Zoho runs it twice; told."""
    sandbox.lose_answer("POST /crm/bulk/v8/write")
    resent: list[int] = []
    outcomes = writer(client, on_resend=resent.append).insert(leads(3))
    assert [o.kind for o in outcomes] == [CREATED] * 3
    assert resent == [3]
    assert sandbox.api.bulk.jobs_created == 2


def test_a_lost_job_answer_is_handed_back_when_the_caller_settles_it(sandbox, client):
    """settle_ambiguous: no second job; the error says the records may be written."""
    sandbox.lose_answer("POST /crm/bulk/v8/write")
    with pytest.raises(BulkWriteError, match="no answer came back") as caught:
        writer(client, settle_ambiguous=True).insert(leads(3))
    assert caught.value.ambiguous
    assert sandbox.api.bulk.jobs_created == 1
