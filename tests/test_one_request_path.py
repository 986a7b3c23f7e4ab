"""One request path: Bulk Write's calls are retried, limited and counted as records calls are.

A scripted loopback server plays Zoho (accounts, API, uploads and results on
one origin, as the sandbox serves them); a second one plays a host that is
not Zoho's and records whatever reaches it. Backoff waits are recorded, not
slept.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from target_zoho_leads.zoho.auth import ZohoAuth
from target_zoho_leads.zoho.bulk.errors import BulkWriteError
from target_zoho_leads.zoho.bulk.jobs import BulkWriter
from target_zoho_leads.zoho.bulk.unavailable import BulkResultUnavailableError
from target_zoho_leads.zoho.client import ZohoCRMClient
from target_zoho_leads.zoho.errors import ZohoUntrustedHostError
from target_zoho_leads.zoho.outcomes import CREATED, Outcome
from tests.support.result_zip import result_zip

LEAD = {"Last_Name": "Lee", "Email": "lee@example.com"}


class Scripted(BaseHTTPRequestHandler):
    """Answers each path with the next answer scripted for it; tokens always work."""

    def _answer(self) -> None:
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?")[0]
        server.seen.append((self.command, path, self.headers.get("Authorization")))  # type: ignore[attr-defined]
        if path == "/oauth/v2/token":
            answer = (200, {"access_token": "tok", "api_domain": server.url, "expires_in": 3600})  # type: ignore[attr-defined]
        else:
            script = server.script.get(path) or [(404, {"code": "NOT_FOUND"})]  # type: ignore[attr-defined]
            answer = script.pop(0) if len(script) > 1 else script[0]
        status, payload = answer
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def servers():
    """Two scripted loopback servers: Zoho's part, and a host that is not Zoho's."""
    started = []
    for _ in range(2):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
        server.daemon_threads = True
        server.url = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
        server.script = {}  # type: ignore[attr-defined]
        server.seen = []  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        started.append((server, thread))
    yield [server for server, _ in started]
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def waits(monkeypatch):
    """Backoff waits, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


@pytest.fixture
def client(servers):
    """A client of the first server, counting the credits of each attempt."""
    session = requests.Session()
    auth = ZohoAuth(
        accounts_url=servers[0].url,
        client_id="cid",
        client_secret="secret",
        refresh_token="refresh",
        session=session,
        timeout=5,
    )
    costs: list[int] = []
    crm = ZohoCRMClient(
        auth=auth,
        session=session,
        timeout=5,
        max_retries=4,
        max_concurrency=4,
        on_call=lambda cost, _limit: costs.append(cost),
    )
    crm.costs = costs  # type: ignore[attr-defined]
    yield crm
    session.close()


def script_a_job(zoho, download_url: str, *, throttled: bool = False) -> None:
    """Org, upload, job and its status; with ``throttled``, each first answered 429 or 503."""
    busy = [(429, {"code": "TOO_MANY_REQUESTS"})] if throttled else []
    zoho.script = {
        "/crm/v8/org": [(200, {"org": [{"zgid": "42"}]})],
        "/crm/v8/upload": [
            *busy,
            (200, {"status": "success", "details": {"file_id": "4001"}}),
        ],
        "/crm/bulk/v8/write": [*busy, (201, {"status": "success", "details": {"id": "9"}})],
        "/crm/bulk/v8/write/9": [
            *([(503, {"code": "INTERNAL_ERROR"})] if throttled else []),
            (200, {"status": "COMPLETED", "result": {"download_url": download_url}}),
        ],
        "/crm/bulk/v8/write/9/result.zip": [
            *([(503, {"code": "INTERNAL_ERROR"})] if throttled else []),
            (
                200,
                result_zip(
                    [
                        ["Last_Name", "Email", "RECORD_ID", "STATUS", "ERRORS"],
                        ["Lee", "lee@example.com", "111", "ADDED", ""],
                    ]
                ),
            ),
        ],
    }


def test_bulk_calls_retried_on_429_and_5xx_are_limited_and_counted_as_records_calls_are(
    servers, client, waits
):
    """Each Bulk Write attempt takes a place in flight, counts its credits; 429s lower the limit."""
    zoho = servers[0]
    script_a_job(zoho, f"{zoho.url}/crm/bulk/v8/write/9/result.zip", throttled=True)
    writer = BulkWriter(client, poll_first=0.01, sleep=lambda _s: None)
    assert writer.insert([LEAD]) == [Outcome(CREATED, "111")]
    # org 1; upload 429 then 1; job 429 then 500; status 503 then 1; result 503 then 1.
    assert client.costs == [1, 0, 1, 0, 500, 0, 1, 0, 1]
    assert len(waits) == 4  # every retry waited through the one policy (patched, not slept)
    assert client.in_flight.limit < 4  # the 429s halved the limit shared with records calls
    calls = [(m, p) for m, p, _ in zoho.seen if p != "/oauth/v2/token"]
    assert all(auth == "Zoho-oauthtoken tok" for _, p, auth in zoho.seen if p != "/oauth/v2/token")
    assert calls.count(("POST", "/crm/bulk/v8/write")) == 2

    zoho.script["/crm/v8/Leads"] = [
        (429, {"code": "TOO_MANY_REQUESTS"}),
        (201, {"data": [{"code": "SUCCESS", "status": "success", "details": {"id": "2"}}]}),
    ]
    client.costs.clear()
    client.write_leads("POST", [LEAD], None)
    assert client.costs == [0, 1]  # the records call: the same counting, the same retries


def test_a_result_link_off_zoho_s_hosts_never_gets_the_token_and_the_job_is_left_to_settle(
    servers, client, waits
):
    """A link to another host (here another loopback program): nothing sent, an ambiguous error."""
    zoho, elsewhere = servers
    script_a_job(zoho, f"{elsewhere.url}/crm/bulk/v8/write/9/result.zip")
    writer = BulkWriter(client, poll_first=0.01, sleep=lambda _s: None)
    with pytest.raises(BulkResultUnavailableError) as caught:
        writer.insert([LEAD])
    assert isinstance(caught.value, BulkWriteError)
    assert caught.value.ambiguous  # its records may be written: settle them by lookup
    assert caught.value.settled == []
    assert "not on a Zoho host" in str(caught.value)
    assert elsewhere.seen == []  # not even a connection attempt reached it
    assert not waits


def test_a_call_to_a_host_off_the_allow_list_is_refused_before_anything_is_sent(servers, client):
    """The client's one path checks every origin: the token never leaves for an unknown host."""
    elsewhere = servers[1]
    with pytest.raises(ZohoUntrustedHostError, match="the access token is not sent there"):
        client.request("GET", "/x", origin=elsewhere.url)
    with pytest.raises(ZohoUntrustedHostError):
        client.request("GET", "/x", origin="http://download-accl.zoho.com")
    assert elsewhere.seen == []
