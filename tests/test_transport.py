"""Transport: proxies and no_proxy as requests honours them, and no redirects followed.

Every server is a real one on this machine. The proxy tests talk to this
machine's own network address and are skipped where it has none.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from target_zoho_leads.exceptions import ZohoTransientError
from target_zoho_leads.transport import Transport

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


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with who it is, and notes the request line."""

    def _answer(self) -> None:
        self.server.seen.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        if self.command == "CONNECT":  # no tunnels: seeing the ask is enough
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, headers, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_CONNECT = _answer

    def log_message(self, *args: object) -> None:
        """Quiet."""


@contextlib.contextmanager
def recorder(host: str = "127.0.0.1", answer: tuple | None = None):
    """A server on ``host`` that notes each request line in ``.seen``."""
    server = ThreadingHTTPServer((host, 0), Recorder)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    server.answer = answer or (200, {}, b'{"ok": true}')  # type: ignore[attr-defined]
    server.origin = f"http://{host}:{server.server_port}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


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


def test_a_redirect_is_handed_back_not_followed(proxy_env):
    """A 307 is the answer: the place it points to receives nothing."""
    with recorder("127.0.0.2") as elsewhere:
        moved = (307, {"Location": f"{elsewhere.origin}/steal"}, b"")
        with recorder(answer=moved) as host:
            answer = transport().send("POST", host.origin, "/t", name="t", body=b"secret=1")
    assert answer.status == 307
    assert elsewhere.seen == []
