"""Transport: proxies as requests picks them, none for loopback, whole-call deadlines, no redirects.

Every server is a real one on this machine. A host that is not loopback is
needed to see a proxy used at all (loopback never is), so those tests talk to
this machine's own network address and are skipped where it has none.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import socket
import time

import pytest
import requests

from target_zoho_leads.zoho.errors import ZohoTransientError
from target_zoho_leads.zoho.transport import NO_ANSWER_IN_TIME, Transport
from tests.support.scripted_server import (
    Raw,
    Reply,
    Request,
    Scripted,
    ScriptedServer,
    request_line,
)

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def own_address() -> str | None:
    """This machine's address on its network, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


class Recorder(ScriptedServer):
    """Answers every request with ``default``; refuses tunnels, having seen the ask."""

    def answer(self, request: Request) -> Scripted:
        """No tunnels: seeing the CONNECT is enough."""
        return Reply(403) if request.method == "CONNECT" else super().answer(request)

    @property
    def origin(self) -> str:
        """Where the server listens, as a URL."""
        return self.url

    @property
    def server_port(self) -> int:
        """The port it listens on."""
        return self.port

    @property
    def seen(self) -> list[str]:
        """Each request line, in order."""
        return [request_line(request) for request in self.requests]


def recorder(host: str = "127.0.0.1", answer: Reply | None = None) -> Recorder:
    """A server on ``host`` that notes each request line in ``.seen``."""
    return Recorder(host=host, default=answer or Reply(200, b'{"ok": true}'))


@pytest.fixture
def proxy_env(monkeypatch):
    """Set proxy variables (in both cases), with every other proxy variable unset."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)

    def set_proxies(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
            monkeypatch.setenv(name.upper(), value)

    return set_proxies


@pytest.fixture
def address():
    """This machine's own network address, where a test server can listen."""
    found = own_address()
    if found is None:
        pytest.skip("this machine has no network address besides loopback")
    try:
        socket.create_server((found, 0)).close()
    except OSError:
        pytest.skip("cannot listen on this machine's network address")
    return found


def transport(timeout: float = 5) -> Transport:
    return Transport(requests.Session(), timeout)


def through_requests(url: str) -> None:
    """Make the same call with requests itself, for comparison."""
    with contextlib.suppress(requests.RequestException), requests.Session() as session:
        session.get(url, timeout=5)


def test_http_proxy_carries_the_call_as_requests_would(proxy_env, address):
    """HTTP_PROXY set: the proxy gets the whole URL in its request line, the host nothing."""
    with recorder("127.0.0.1") as proxy, recorder(address) as host:
        proxy_env(http_proxy=proxy.origin)
        answer = transport().send("GET", host.origin, "/crm/v8/x?a=1", name="GET x")
        through_requests(f"{host.origin}/crm/v8/x?a=1")
    assert answer.status == 200
    assert proxy.seen == [f"GET {host.origin}/crm/v8/x?a=1"] * 2
    assert host.seen == []


def test_https_proxy_is_asked_for_a_tunnel_as_requests_would(proxy_env, address):
    """HTTPS_PROXY set: the proxy is asked to CONNECT to the host; refusing fails the call."""
    with recorder("127.0.0.1") as proxy, recorder(address) as host:
        port = host.server_port
        proxy_env(https_proxy=proxy.origin)
        with pytest.raises(ZohoTransientError) as caught:
            transport().send("GET", f"https://{address}:{port}", "/crm", name="GET crm")
        through_requests(f"https://{address}:{port}/crm")
    assert caught.value.code == "NETWORK"
    assert proxy.seen == [f"CONNECT {address}:{port}"] * 2
    assert host.seen == []


def test_no_proxy_sends_the_call_straight_to_the_host_as_requests_would(proxy_env, address):
    """A host listed in NO_PROXY is called directly, the proxy never."""
    with recorder("127.0.0.1") as proxy, recorder(address) as host:
        proxy_env(http_proxy=proxy.origin, https_proxy=proxy.origin, no_proxy=address)
        answer = transport().send("GET", host.origin, "/crm/v8/x", name="GET x")
        through_requests(f"{host.origin}/crm/v8/x")
    assert answer.status == 200
    assert host.seen == ["GET /crm/v8/x"] * 2
    assert proxy.seen == []


def test_a_loopback_host_is_never_reached_through_a_proxy(proxy_env):
    """HTTP_PROXY without NO_PROXY: a loopback server still gets the call, the proxy nothing."""
    with recorder("127.0.0.1") as proxy, recorder("127.0.0.2") as host:
        proxy_env(http_proxy=proxy.origin, https_proxy=proxy.origin)
        answer = transport().send("POST", host.origin, "/oauth/v2/token", name="token")
    assert answer.status == 200
    assert host.seen == ["POST /oauth/v2/token"]
    assert proxy.seen == []


def test_a_redirect_is_handed_back_not_followed(proxy_env):
    """A 307 is the answer: the place it points to receives nothing."""
    with recorder("127.0.0.2") as elsewhere:
        moved = Reply(307, b"", {"Location": f"{elsewhere.origin}/steal"})
        with recorder(answer=moved) as host:
            answer = transport().send("POST", host.origin, "/t", name="t", body=b"secret=1")
    assert answer.status == 307
    assert elsewhere.seen == []


def dribbler(head: bytes, tail: bytes) -> ScriptedServer:
    """A server that sends ``head`` at once, then ``tail`` one byte every 0.25 s, for 30 s."""
    return ScriptedServer(default=Raw(head, tail[:120], every=0.25))


@pytest.mark.parametrize(
    ("head", "tail"),
    [
        (b"", b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 200),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n", b"a" * 200),
    ],
    ids=["headers", "body"],
)
def test_a_server_dribbling_bytes_cannot_hold_a_call_past_its_timeout(head, tail):
    """A byte every 0.25 s beats each read's 1 s timeout, but the call ends by its deadline."""
    with dribbler(head, tail) as server:
        origin = server.url
        started = time.monotonic()
        with pytest.raises(ZohoTransientError) as caught:
            transport(timeout=1).send("GET", origin, "/", name="GET slow")
        seconds = time.monotonic() - started
    assert str(caught.value) == f"GET slow: {NO_ANSWER_IN_TIME}"
    assert caught.value.code == "NETWORK"
    print(f"dribbling {'body' if head else 'headers'}: ended after {seconds:.1f} s")


def test_a_deadline_cuts_only_its_own_call():
    """Calls that finish in time, before and after a cut one, are answered."""
    client = transport(timeout=1)
    with recorder() as host:
        assert client.send("GET", host.origin, "/a", name="a").status == 200
        slow_answer = b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * 100
        with dribbler(b"", slow_answer) as slow, pytest.raises(ZohoTransientError):
            client.send("GET", slow.url, "/", name="slow")
        assert client.send("GET", host.origin, "/b", name="b").status == 200
    assert host.seen == ["GET /a", "GET /b"]


def test_urllib3_log_lines_keep_no_url(caplog):
    """A malformed answer header makes urllib3 warn; the search URL (an email) is not logged."""
    broken = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nnot a header\r\nX-A: b\r\n\r\n{}"
    target = "/crm/v8/Leads/search?criteria=%28Email%3Aequals%3Aperson%40example.com%29"
    with ScriptedServer(default=Raw(broken)) as server, caplog.at_level(logging.DEBUG):
        answer = transport().send("GET", server.url, target, name="GET search")
    assert json.loads(answer.body) == {}
    from_urllib3 = [r for r in caplog.records if r.name.startswith("urllib3")]
    assert any(r.levelno == logging.WARNING for r in from_urllib3)
    assert "person" not in caplog.text
    assert "127.0.0.1" not in "".join(r.getMessage() for r in from_urllib3)
