"""The HTTP layer: a threaded server whose handler injects faults and dispatches."""

from __future__ import annotations

import contextlib
import http.server
import json
import math
import socket
import sys
import threading
import traceback
import typing as t
import urllib.parse
from http import HTTPStatus

from zoho_sandbox.admin import admin_answer
from zoho_sandbox.billing import call_credits
from zoho_sandbox.gates import is_heavy
from zoho_sandbox.items import error_item
from zoho_sandbox.routing import INVALID_URL, Answer, Call, Route, route

if t.TYPE_CHECKING:
    from zoho_sandbox.core import ZohoSandbox

TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 - a URL path, not a secret
ADMIN_PREFIX = "/__sandbox/"
POLL_SECONDS = 0.01  # how soon a serving loop notices stop(); tests stop often
SECRET_PARAMS = {"client_secret", "refresh_token", "code"}
TOO_MANY_REQUESTS = error_item("TOO_MANY_REQUESTS", "too many requests", {})
INTERNAL_ERROR = error_item("INTERNAL_ERROR", "Internal server error occurred.", {})


def masked(params: dict[str, list[str]]) -> dict[str, list[str]]:
    """Parameters with secret values replaced by ``***``, fit for the request log."""
    return {
        name: ["***"] * len(values) if name in SECRET_PARAMS else list(values)
        for name, values in params.items()
    }


class SandboxServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server that can close its open connections to stop promptly."""

    # Handler threads are joined on close, so no test leaves one running.
    daemon_threads = False
    block_on_close = True

    def __init__(
        self,
        address: tuple[str, int],
        sandbox: ZohoSandbox,
        handler: type[SandboxHandler] | None = None,
    ) -> None:
        """Bind ``address`` and serve ``sandbox`` with ``handler`` (default: the API's)."""
        self.sandbox = sandbox
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler or SandboxHandler)

    def serve_in_thread(self, name: str) -> threading.Thread:
        """Serve from a daemon thread named ``name`` and the port; return it, started."""
        thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name=f"{name}-{self.server_address[1]}",
            daemon=True,
        )
        thread.start()
        return thread

    def track(self, connection: socket.socket, *, open_: bool) -> None:
        """Note a connection opening or closing; close at once if stopping."""
        with self._connections_lock:
            if not open_:
                self._connections.discard(connection)
                return
            self._connections.add(connection)
            if self.stopping.is_set():
                _hang_up(connection)

    def close_connections(self) -> None:
        """Wake every handler waiting on a kept-alive connection, so it ends."""
        self.stopping.set()
        with self._connections_lock:
            for connection in self._connections:
                _hang_up(connection)

    def handle_error(
        self,
        request: socket.socket | tuple[bytes, socket.socket],
        client_address: object,
    ) -> None:
        """Stay quiet when a client hangs up: several knobs make that happen."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


def _hang_up(connection: socket.socket) -> None:
    # The other side may have closed it already: nothing to do then.
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


class SandboxHandler(http.server.BaseHTTPRequestHandler):
    """Routes admin, token and ``/crm`` requests; faults only the ``/crm`` ones."""

    protocol_version = "HTTP/1.1"
    server_version = "ZGS"
    sys_version = ""
    server: SandboxServer

    def setup(self) -> None:
        """Register the connection so ``stop()`` can close it."""
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm
        # and delayed ACKs add some 40 ms to every kept-alive call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        """Unregister the connection."""
        self.server.track(self.connection, open_=False)
        # The client may be gone, leaving nothing to flush to.
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base name
        """Log nothing: request lines carry search terms, which are personal data."""

    def do_GET(self) -> None:
        """Dispatch a GET."""
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

    def dispatch(self) -> None:
        """Read the request and hand it to the admin, token or API handling."""
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        try:
            body = self.read_body()
            if url.path.startswith(ADMIN_PREFIX):
                self.send(admin_answer(self.server.sandbox, self.command, url.path, body))
            elif url.path == TOKEN_PATH:
                self.token_call(query, body)
            elif url.path.startswith(("/crm/", "/v2/crm/")):  # /v2/crm/: Bulk Write results
                self.api_call(url.path, query, body)
            else:
                self.send(Answer(404, dict(INVALID_URL)))
        except OSError:
            self.close_connection = True
        except Exception:  # noqa: BLE001 - a sandbox bug must not kill the thread
            traceback.print_exc(file=sys.stderr)
            self.send(Answer(500, dict(INTERNAL_ERROR)))

    def read_body(self) -> bytes:
        """The request body, by its Content-Length."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, answer: Answer) -> None:
        """Write ``answer`` as JSON (or with no body for a 204)."""
        raw = isinstance(answer.body, bytes)  # a file: Bulk Write's result zip
        payload = (
            b"" if answer.body is None else answer.body if raw else json.dumps(answer.body).encode()
        )
        self.send_response(answer.status)
        if answer.status != HTTPStatus.NO_CONTENT:  # which has no body to describe
            self.send_header(
                "Content-Type", "application/zip" if raw else "application/json;charset=UTF-8"
            )
            self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)
        self.wfile.flush()

    def token_call(self, query: dict[str, list[str]], body: bytes) -> None:
        """Answer ``POST /oauth/v2/token`` from its form body or query string."""
        sandbox = self.server.sandbox
        form_lists = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        params = {name: values[-1] for name, values in {**query, **form_lists}.items()}
        sandbox.recorder.add("token_requests")
        entry = sandbox.recorder.log(
            {
                "method": self.command,
                "path": TOKEN_PATH,
                "query": masked(query),
                "json": None,
                "form": {name: values[-1] for name, values in masked(form_lists).items()},
                "status": None,
            }
        )
        if sandbox.dice.token_fails(sandbox.knobs):
            sandbox.recorder.fault("5xx")
            answer = Answer(500, {"error": "internal_error"})
        else:
            status, result = sandbox.issuer.grant(params, sandbox.url)
            if "access_token" in result:
                sandbox.recorder.minted(result["access_token"], sandbox.clock.time())
            elif result.get("error") == "Access Denied":  # 400, or 200 by mint_block_status
                sandbox.recorder.add("token_denials")
            answer = Answer(status, result)
        entry["status"] = answer.status
        self.send(answer)

    def api_call(self, path: str, query: dict[str, list[str]], body: bytes) -> None:
        """Answer a ``/crm`` call, counting it in flight until the answer is written."""
        recorder = self.server.sandbox.recorder
        recorder.begin_call()
        try:
            self.api_call_in_flight(path, query, body)
        finally:
            recorder.end_call()

    def api_call_in_flight(self, path: str, query: dict[str, list[str]], body: bytes) -> None:
        """Log the call, apply the concurrency limits, then do it."""
        sandbox = self.server.sandbox
        found = route(self.command, path)
        sandbox.recorder.count_route(found.key)
        entry = sandbox.recorder.log(_log_entry(self.command, path, query, body))
        heavy = is_heavy(found, entry["json"])
        refused = sandbox.gates.enter(sandbox.knobs, heavy=heavy)
        if refused:
            sandbox.recorder.refused(refused)
            self.answer(entry, Answer(429, dict(TOO_MANY_REQUESTS), self.retry_after()))
            return
        try:
            call = Call(self.command, path, query, body, headers=dict(self.headers.items()))
            self.admitted_call(found, entry, call)
        finally:
            sandbox.gates.leave(heavy=heavy)

    def admitted_call(self, found: Route, entry: dict[str, t.Any], call: Call) -> None:
        """Apply the faults, check the token, run the endpoint, maybe lose its answer."""
        sandbox = self.server.sandbox
        dealt_with, drop_after = self.fault_before(entry)
        if dealt_with:
            return
        problem = sandbox.issuer.check(self.headers.get("Authorization"))
        if problem:
            self.answer(entry, Answer(401, problem))
            return
        answer = sandbox.api.handle(found, call)
        if found.handler is not None:
            sandbox.recorder.spend(found.key, call_credits(found, entry["json"], answer.coql_limit))
        if answer.notes:
            entry["unknown_fields"] = sorted(set(answer.notes.unknown_fields))
            entry["read_only_fields"] = sorted(set(answer.notes.read_only_fields))
        lost_now = sandbox.loser.take(found.key) or answer.lost
        lost = "lost_answer" if lost_now else None
        lost = lost or ("drop_after" if drop_after else None)
        if lost:
            # The work is done and kept; only the answer is lost, as on a real
            # network failure after the server committed.
            sandbox.recorder.fault(lost)
            self.close_connection = True
            return
        self.answer(entry, answer)

    def retry_after(self) -> dict[str, str]:
        """The Retry-After header for 429s, if the knob asks for one."""
        after = self.server.sandbox.knobs.retry_after
        return {"Retry-After": str(math.ceil(after))} if after else {}

    def fault_before(self, entry: dict[str, t.Any]) -> tuple[bool, bool]:
        """Apply the latency and the faults drawn for a call.

        Args:
            entry: The call's request-log entry.

        Returns:
            Whether the call was already answered or dropped, and whether its
            answer is to be dropped after the work.
        """
        knobs, recorder = self.server.sandbox.knobs, self.server.sandbox.recorder
        if knobs.latency_ms:
            self.server.stopping.wait(knobs.latency_ms / 1000)
        before, drop_after, status_5xx = self.server.sandbox.dice.draw(knobs)
        if before is None:
            return False, drop_after
        recorder.fault(before)
        if before == "429":
            self.answer(entry, Answer(429, dict(TOO_MANY_REQUESTS), self.retry_after()))
        elif before == "5xx":
            self.answer(entry, Answer(status_5xx, dict(INTERNAL_ERROR)))
        else:
            if before == "hang":
                # Bounded, and cut short by stop(), so no thread outlives a test.
                self.server.stopping.wait(knobs.hang_seconds)
            self.close_connection = True
        return True, False

    def answer(self, entry: dict[str, t.Any], answer: Answer) -> None:
        """Note ``answer``'s status in the request log, then send it."""
        entry["status"] = answer.status
        self.send(answer)


def _log_entry(
    method: str, path: str, query: dict[str, list[str]], body: bytes
) -> dict[str, t.Any]:
    """A request-log entry for a ``/crm`` call; never the Authorization header."""
    return {
        "method": method,
        "path": path,
        "query": query,
        "json": _json_or_none(body),
        "form": None,
        "status": None,
        "unknown_fields": [],
        "read_only_fields": [],
    }


def _json_or_none(body: bytes) -> object:
    """The body parsed as JSON for the request log, or None."""
    try:
        return json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None
