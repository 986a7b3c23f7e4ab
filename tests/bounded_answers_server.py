"""A loopback server that plays Zoho byte by byte, for the bounded-answer tests.

Each path is answered by a function that writes raw bytes to the socket, so
a test can send what no well-behaved HTTP server would: a body cut short, an
answer dribbled a byte at a time with no length, a length of 10^12.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import typing as t

Handler = t.Callable[[socket.socket, threading.Event], None]


def answer(status: int, body: bytes | object, headers: dict[str, str] | None = None) -> Handler:
    """A handler sending one whole answer with its Content-Length."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    given = {"Content-Length": str(len(data)), **(headers or {})}

    def send(conn: socket.socket, _stop: threading.Event) -> None:
        head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in given.items())
        conn.sendall(head.encode("latin-1") + b"\r\n" + data)

    return send


def raw(data: bytes) -> Handler:
    """A handler sending ``data`` as it is, then closing the connection."""

    def send(conn: socket.socket, _stop: threading.Event) -> None:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)

    return send


def dribble(head: bytes, body: bytes, every: float) -> Handler:
    """``head`` at once, then ``body`` a byte every ``every`` seconds, then close."""

    def send(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head)
        for byte in body:
            if stop.wait(every):
                return
            conn.sendall(bytes([byte]))

    return send


class Scripted:
    """Answers each path with its handler; the token path with a token for this origin."""

    def __init__(self) -> None:
        """Listen on loopback; nothing is answered until :meth:`start`."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.routes: dict[str, Handler] = {}
        self.seen: list[str] = []  # request lines, in order
        self.asked_at: list[float] = []  # time.monotonic() of each request
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.token = answer(
            200, {"access_token": "tok", "api_domain": self.url, "expires_in": 3600}
        )

    def start(self) -> Scripted:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            reader = conn.makefile("rb")
            while True:
                line = reader.readline()
                if not line:
                    return
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                reader.read(length)
                method, target = line.decode("latin-1").split()[:2]
                path = target.split("?", 1)[0]
                self.seen.append(f"{method} {path}")
                self.asked_at.append(time.monotonic())
                handler = self.token if path == "/oauth/v2/token" else self.routes.get(path)
                (handler or answer(404, {"code": "NOT_FOUND"}))(conn, self._stop)


@contextlib.contextmanager
def scripted() -> t.Iterator[Scripted]:
    """A :class:`Scripted` server for the length of a test."""
    server = Scripted().start()
    try:
        yield server
    finally:
        server.close()
