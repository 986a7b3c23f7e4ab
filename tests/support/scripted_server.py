"""A scripted HTTP server on loopback: the one fake the tests build their Zohos from.

It binds a free port, answers on threads, records every request (method,
path, headers, body) and every connection, and replies from a script: a list
of answers given in order, then ``default`` (or the last answer again, with
``repeat_last``). A subclass may override :meth:`ScriptedServer.answer` to
answer by request instead. Besides plain replies, a script may hold the raw
misbehaviours the trust and bounds tests need: drop the connection, hang,
or dribble bytes slowly.

Typical use::

    with ScriptedServer([Reply(503), Reply(200, {"ok": True})]) as server:
        call(server.url)
    assert [r.path for r in server.requests] == ["/x", "/x"]
"""

from __future__ import annotations

import contextlib
import json
import threading
import typing as t
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

if t.TYPE_CHECKING:
    from email.message import Message


@dataclass(frozen=True)
class Request:
    """One request as the server read it."""

    method: str
    path: str
    headers: Message
    body: bytes


@dataclass(frozen=True)
class Reply:
    """An HTTP answer; a body that is not bytes is sent as JSON (``None``: empty)."""

    status: int = 200
    body: object = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """The body as sent."""
        if self.body is None:
            return b""
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


@dataclass(frozen=True)
class Raw:
    """Bytes written as they are: ``head`` at once, then ``tail`` a byte every ``every`` s.

    Covers answers no HTTP library would write: a malformed header, an answer
    without a length that just stops, headers or a body dribbled slowly.
    The connection closes after the last byte, or when the server stops.
    """

    head: bytes = b""
    tail: bytes = b""
    every: float = 0.0


class Drop:
    """Close the connection without a word."""


class Hang:
    """Read the request, then say nothing until the server stops."""


DROP = Drop()
HANG = Hang()
Answer = Reply | Raw | Drop | Hang
Scripted = Answer | tuple[t.Any, ...]
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT")


def as_answer(scripted: Scripted) -> Answer:
    """An answer from the script: a tuple is ``Reply(status, body, headers)``."""
    return Reply(*scripted) if isinstance(scripted, tuple) else scripted


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, lets the server record and answer it, writes the answer."""

    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, self.headers, body)
        owner = self.server.owner
        with owner.lock:
            owner.requests.append(request)
        answer = as_answer(owner.answer(request))
        if isinstance(answer, Reply):
            self._reply(answer)
        elif isinstance(answer, Raw):
            self._raw(answer, owner.stopped)
        elif isinstance(answer, Hang):
            owner.stopped.wait()
        self.close_connection = True
        if not isinstance(answer, Reply):
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)

    def _reply(self, reply: Reply) -> None:
        data = reply.encoded()
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _raw(self, raw: Raw, stopped: threading.Event) -> None:
        with contextlib.suppress(OSError):
            self.wfile.write(raw.head)
            for byte in raw.tail:
                if raw.every and stopped.wait(raw.every):
                    return
                self.wfile.write(bytes([byte]))

    def log_message(self, *args: object) -> None:
        """Quiet: the tests read ``requests``, not the log."""


for _method in METHODS:
    setattr(_Handler, f"do_{_method}", _Handler._serve)  # noqa: SLF001


class _Server(ThreadingHTTPServer):
    """The listening socket; counts connections, even those that never form a request."""

    daemon_threads = True

    def __init__(self, owner: ScriptedServer, host: str) -> None:
        self.owner = owner
        super().__init__((host, 0), _Handler)

    def verify_request(self, request: t.Any, client_address: t.Any) -> bool:
        """Count the connection; every one is served."""
        del request, client_address
        with self.owner.lock:
            self.owner.connections += 1
        return True


class ScriptedServer:
    """An HTTP server on ``host`` (a free port) answering from ``script``.

    Attributes:
        script: Answers still to give, in order; tests may replace it at any time.
        default: The answer once the script is used up (unless ``repeat_last``).
        repeat_last: Give the script's last answer again instead of using it up.
        requests: Every request received, in order.
        connections: How many connections were made, requests or not.
    """

    def __init__(
        self,
        script: t.Iterable[Scripted] = (),
        *,
        host: str = "127.0.0.1",
        default: Scripted = Reply(200, {}),
        repeat_last: bool = False,
    ) -> None:
        """Bind the port now, so that ``url`` is known before the server starts."""
        self.script: list[Scripted] = list(script)
        self.default = default
        self.repeat_last = repeat_last
        self.requests: list[Request] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self._server = _Server(self, host)
        self.host = host
        self.port: int = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def answer(self, request: Request) -> Scripted:
        """The next scripted answer; override to answer by request."""
        del request
        with self.lock:
            if len(self.script) > 1 or (self.script and not self.repeat_last):
                return self.script.pop(0)
            return self.script[0] if self.script else self.default

    def __enter__(self) -> t.Self:
        """Start answering."""
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop: release hanging and dribbling answers, then close the port."""
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def request_line(request: Request) -> str:
    """``METHOD path``, as a proxy or host log would note it."""
    return f"{request.method} {request.path}"
