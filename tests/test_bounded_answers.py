"""Every Zoho answer bounded: in time, in bytes, and in shape (issue 20).

A loopback server plays Zoho byte by byte (:mod:`tests.bounded_answers_server`);
the client and Bulk Write writer are the real ones. The runs of the real
command, with their time and peak memory, are in ``test_bounded_answers_runs.py``.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import time
import zipfile

import pytest
import requests

from target_zoho_leads.zoho.auth import ZohoAuth
from target_zoho_leads.zoho.bulk.errors import BulkResultMismatchError, BulkWriteError
from target_zoho_leads.zoho.bulk.jobs import BulkWriter
from target_zoho_leads.zoho.bulk.result import MAX_CELL_CHARS, MAX_RESULT_BYTES, result_table
from target_zoho_leads.zoho.bulk.unavailable import BulkResultUnavailableError
from target_zoho_leads.zoho.client import ZohoCRMClient
from target_zoho_leads.zoho.errors import (
    ZohoAnswerTooLargeError,
    ZohoAPIError,
    ZohoAuthError,
    ZohoTransientError,
)
from target_zoho_leads.zoho.replies import call_error, retry_after
from target_zoho_leads.zoho.transport import NO_ANSWER_IN_TIME, Answer, Transport
from tests.bounded_answers_server import answer, dribble, raw, scripted

LEAD = {"Last_Name": "Lee", "Email": "lee@example.com"}


@pytest.fixture
def zoho():
    with scripted() as server:
        yield server


def client_of(url: str, *, timeout: float = 5, tries: int = 1) -> ZohoCRMClient:
    session = requests.Session()
    auth = ZohoAuth(
        accounts_url=url,
        client_id="cid",
        client_secret="secret",
        refresh_token="refresh",
        session=session,
        timeout=timeout,
    )
    return ZohoCRMClient(auth=auth, session=session, timeout=timeout, max_retries=tries)


# Deadlines -----------------------------------------------------------------


def test_a_close_delimited_answer_dribbled_past_the_deadline_is_no_answer(zoho):
    """No length, Connection: close, a byte every 0.5 s: the call ends at its 1 s deadline."""
    head = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
    zoho.routes["/slow"] = dribble(head, b'{"data": []}' + b" " * 100, 0.5)
    started = time.monotonic()
    with pytest.raises(ZohoTransientError, match=NO_ANSWER_IN_TIME):
        Transport(requests.Session(), 1).send("GET", zoho.url, "/slow", name="GET /slow")
    assert time.monotonic() - started < 5  # the deadline is 1 s; 5 for a busy machine


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b'{"data": []}',
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nc\r\n" + b'{"data": []}' + b"\r\n",
    ],
    ids=["shorter-than-content-length", "chunked-cut-short"],
)
def test_an_answer_cut_short_is_a_transient_failure_not_an_answer(zoho, data):
    """The connection closes before the body's end: retried as a dropped call, never read."""
    zoho.routes["/cut"] = raw(data)
    with pytest.raises(ZohoTransientError) as caught:
        Transport(requests.Session(), 5).send("GET", zoho.url, "/cut", name="GET /cut")
    assert str(caught.value).startswith("GET /cut: ")


# Sizes ---------------------------------------------------------------------


def test_a_content_length_of_ten_to_the_twelve_is_refused_before_reading(zoho):
    """Refused on its header: one line naming the call and the cap."""
    zoho.routes["/big"] = raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n{}")
    with pytest.raises(ZohoAnswerTooLargeError, match=r"^GET /big: .* 1,000 bytes"):
        Transport(requests.Session(), 5).send("GET", zoho.url, "/big", name="GET /big", limit=1000)


def test_a_close_delimited_answer_is_counted_as_it_is_read(zoho):
    """No length given: the read stops one chunk past the cap, not at the end."""
    zoho.routes["/long"] = raw(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 300_000)
    with pytest.raises(ZohoAnswerTooLargeError, match="100,000 bytes"):
        Transport(requests.Session(), 5).send(
            "GET", zoho.url, "/long", name="GET /long", limit=100_000
        )


def test_a_gzip_answer_is_neither_asked_for_nor_inflated(zoho):
    """Only `identity` is asked for; a gzip answer sent anyway stays as sent, so it is not JSON."""
    bomb = gzip.compress(b"0" * 10_000_000)
    zoho.routes["/gz"] = answer(200, bomb, {"Content-Encoding": "gzip"})
    got = Transport(requests.Session(), 5).send("GET", zoho.url, "/gz", name="GET /gz")
    assert got.body == bomb


def test_the_token_answer_has_a_cap_of_its_own(zoho):
    """A 1 MB token answer is refused by its size: one line, no read of the rest."""
    zoho.token = answer(200, b"{" + b" " * 1_000_000 + b"}")
    with pytest.raises(ZohoAuthError, match="more than 65,536 bytes"):
        client_of(zoho.url).fields()


def _zip(name: str, data: bytes, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        archive.writestr(name, data)
    return out.getvalue()


def test_a_result_zip_holding_more_than_the_cap_is_not_read_and_settled_by_lookup():
    """A small zip of a huge CSV: refused by its declared size; its records are settled."""
    bomb = _zip("r.csv", b"0" * (MAX_RESULT_BYTES + 1))
    assert len(bomb) < 200_000
    with pytest.raises(BulkResultUnavailableError, match="more than") as caught:
        result_table(bomb, "7")
    assert caught.value.ambiguous


def test_a_result_zip_whose_member_lies_about_its_size_is_read_no_further_than_the_cap():
    """The declared size says 10 bytes; the read stops there and the CRC check refuses it."""
    data = bytearray(_zip("r.csv", b"a,b\n" * 1000))
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")  # uncompressed size
    with pytest.raises((BulkResultMismatchError, BulkResultUnavailableError)):
        result_table(bytes(data), "7")


@pytest.mark.parametrize(("flag", "method"), [(0x1, 8), (0, 9)], ids=["encrypted", "deflate64"])
def test_an_encrypted_or_unusual_zip_member_is_refused_in_one_line(flag, method):
    """Not read at all: the job's result is unavailable, its records settled by lookup."""
    data = bytearray(_zip("r.csv", b"ID,STATUS\n1,ADDED\n"))
    for signature, at_flag, at_method in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = data.find(signature)
        data[start + at_flag : start + at_flag + 2] = flag.to_bytes(2, "little")
        data[start + at_method : start + at_method + 2] = method.to_bytes(2, "little")
    with pytest.raises(BulkResultUnavailableError, match="encrypted or compressed"):
        result_table(bytes(data), "7")


def test_a_result_cell_over_the_cell_cap_is_refused_in_one_line():
    """The CSV field limit, named: the result cannot be read, its records are settled."""
    data = _zip("r.csv", b"ID,STATUS\n1," + b"x" * (MAX_CELL_CHARS + 1) + b"\n")
    with pytest.raises(BulkResultUnavailableError, match="cannot be read as CSV"):
        result_table(data, "7")


# Shapes --------------------------------------------------------------------


def _bulk_script(zoho, **changes):
    """Org, upload, job and its status, as Zoho answers them; ``changes`` replace some."""
    routes = {
        "/crm/v8/org": answer(200, {"org": [{"zgid": "42"}]}),
        "/crm/v8/upload": answer(200, {"status": "success", "details": {"file_id": 4001}}),
        "/crm/bulk/v8/write": answer(201, {"status": "success", "details": {"id": "9"}}),
        "/crm/bulk/v8/write/9": answer(
            200,
            {"status": "COMPLETED", "result": {"download_url": f"{zoho.url}/result.zip"}},
        ),
        "/result.zip": answer(200, _zip("r.csv", b"Last_Name,Email,ID,STATUS,ERRORS\n")),
    }
    zoho.routes.update({**routes, **changes})


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/crm/v8/org", {"org": [{"zgid": "42\r\nX-Evil: 1"}]}, "$.org[0].zgid"),
        ("/crm/v8/upload", {"status": "success", "details": [1]}, "$.details"),
        ("/crm/bulk/v8/write/9", {"status": "COMPLETED", "result": "x"}, "$.result"),
        ("/crm/bulk/v8/write/9", [], "array"),
    ],
    ids=["zgid-crlf", "details-list", "result-string", "status-list"],
)
def test_a_bulk_answer_of_the_wrong_shape_is_one_line_naming_the_field(zoho, path, body, field):
    """Each a ZohoAPIError (here as the writer's BulkWriteError) naming the field, no traceback."""
    _bulk_script(zoho, **{path: answer(200, body)})
    writer = BulkWriter(client_of(zoho.url), poll_first=0.01, sleep=lambda _s: None)
    with pytest.raises(BulkWriteError) as caught:
        writer.insert([LEAD])
    assert caught.value.code == "UNEXPECTED_ANSWER"
    assert field in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_job_id_that_is_not_digits_never_goes_into_a_url(zoho):
    """``../../../v8/org`` as the job id: refused, the job left to settle by lookup."""
    _bulk_script(
        zoho,
        **{"/crm/bulk/v8/write": answer(201, {"details": {"id": "../../../v8/org"}})},
    )
    writer = BulkWriter(client_of(zoho.url), poll_first=0.01, sleep=lambda _s: None)
    with pytest.raises(BulkWriteError) as caught:
        writer.insert([LEAD])
    assert caught.value.ambiguous  # the job may exist: its records are looked up
    assert "$.details.id" in str(caught.value)
    assert zoho.seen.count("GET /crm/v8/org") == 1  # only the writer's own ask
    assert not any(line.startswith("GET /crm/bulk") for line in zoho.seen)


def test_a_result_download_over_its_cap_leaves_the_job_to_settle_by_lookup(zoho):
    """A Content-Length past MAX_RESULT_BYTES: not read; BulkResultUnavailableError, ambiguous."""
    huge = f"HTTP/1.1 200 OK\r\nContent-Length: {MAX_RESULT_BYTES + 1}\r\n\r\n".encode()
    _bulk_script(zoho, **{"/result.zip": raw(huge)})
    writer = BulkWriter(client_of(zoho.url), poll_first=0.01, sleep=lambda _s: None)
    with pytest.raises(BulkResultUnavailableError, match="longer than") as caught:
        writer.insert([LEAD])
    assert caught.value.ambiguous


@pytest.mark.parametrize(
    ("path", "body", "call"),
    [
        ("/crm/v8/coql", [1, 2], "coql"),
        ("/crm/v8/settings/fields", b"not json at all", "fields"),
        ("/crm/v8/settings/fields", {"fields": "Email"}, "fields"),
        ("/crm/v8/Leads/search", {"data": [], "info": {"more_records": "yes"}}, "search"),
    ],
    ids=["coql-list", "fields-text", "fields-string", "search-more-records"],
)
def test_a_records_answer_of_the_wrong_shape_is_one_line(zoho, path, body, call):
    """UNEXPECTED_ANSWER naming the call; no traceback."""
    zoho.routes[path] = answer(200, body)
    client = client_of(zoho.url)
    run = {
        "coql": lambda: client.coql_page("select id from Leads where Email = 'a' limit 1"),
        "fields": client.fields,
        "search": lambda: client.search("(Email:equals:a)"),
    }[call]
    with pytest.raises(ZohoAPIError) as caught:
        run()
    assert caught.value.code == "UNEXPECTED_ANSWER"
    assert str(caught.value).startswith(("POST /crm/v8/coql:", "GET /crm/v8/"))


@pytest.mark.parametrize("expires_in", ["abc", [1], {"a": 1}])
def test_a_token_answer_of_the_wrong_shape_is_one_line_naming_the_field(zoho, expires_in):
    """``expires_in`` of "abc": a ZohoAuthError naming it, not a ValueError's traceback."""
    zoho.token = answer(
        200, {"access_token": "tok", "api_domain": zoho.url, "expires_in": expires_in}
    )
    with pytest.raises(ZohoAuthError, match=r"expires_in") as caught:
        client_of(zoho.url).fields()
    assert caught.value.code == "UNEXPECTED_ANSWER"


@pytest.mark.parametrize(
    ("given", "seconds"),
    [("²", None), ("nan", None), ("inf", None), ("-5", None), ("1e3", None), ("12", 12.0)],
)
def test_retry_after_is_a_plain_number_of_seconds_or_ignored(given, seconds):
    """RFC 9110's delay-seconds only (or a date): float's other readings are not waits."""
    assert retry_after(Answer(429, {"Retry-After": given}, b"", "GET")) == seconds


def test_retry_after_as_an_http_date_is_the_seconds_until_then():
    """A date in the past is no wait at all."""
    assert (
        retry_after(Answer(429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, b"", "GET"))
        == 0.0
    )


def test_zoho_s_message_is_kept_out_of_a_failed_call_s_error():
    """It may quote a person's value: the error names the code and the field only."""
    body = {
        "code": "INVALID_DATA",
        "message": "invalid value lee@example.com",
        "details": {"api_name": "Email"},
    }
    error = call_error("POST /crm/v8/Leads", 400, body)
    assert str(error) == "POST /crm/v8/Leads: Zoho answered HTTP 400 INVALID_DATA (field Email)"


def test_a_code_that_is_not_one_of_zoho_s_is_not_put_in_the_message():
    """A ``code`` holding a value reads as the HTTP status instead."""
    error = call_error("GET /crm/v8/Leads", 400, {"code": "lee@example.com"})
    assert str(error) == "GET /crm/v8/Leads: Zoho answered HTTP 400"


def test_a_content_length_in_other_digits_is_not_a_length(zoho):
    """``²`` passes ``str.isdigit``; it is not a length, and the answer ends as the socket does."""
    zoho.routes["/odd"] = raw("HTTP/1.1 200 OK\r\nContent-Length: ²\r\n\r\n{}".encode())
    with contextlib.suppress(ZohoTransientError):
        got = Transport(requests.Session(), 5).send("GET", zoho.url, "/odd", name="GET /odd")
        assert got.body == b"{}"
