"""Sending requests: the connection pool per host, a deadline per call, network failures named.

Knows nothing of Zoho: the client above it builds each request and reads
each answer. Nothing here follows a redirect, retries, or logs a URL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import logging
import re
import socket
import threading
import time
import typing as t

import requests
import requests.adapters
import urllib3
import urllib3.connection
import urllib3.exceptions

from target_zoho_leads.zoho.errors import ZohoAnswerTooLargeError, ZohoTransientError
from target_zoho_leads.zoho.hosts import is_loopback_host

if t.TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NO_ANSWER_IN_TIME = "no answer within request_timeout"
DROPPED = "connection failed or dropped"
CUT = "the answer was cut short"
MAX_JSON_BYTES = 4 * 1024 * 1024  # an answer's bytes when the caller names no cap
READ_CHUNK = 64 * 1024
# Asked of every server: a compressed answer would be inflated whole by
# urllib3 before any cap could count it (a 1 MB gzip answer became 2 GB).
# An answer compressed anyway is not inflated: its bytes are not JSON.
PLAIN = {"Accept-Encoding": "identity"}


class Answer(t.NamedTuple):
    """One HTTP answer, read whole."""

    status: int
    headers: Mapping[str, str]  # names in any case
    body: bytes
    method: str  # of the request it answers


@dataclasses.dataclass(frozen=True)
class _Route:
    """The session's way to one host, as worked out for its first call."""

    pool: urllib3.HTTPConnectionPool  # the connection pool, direct or by proxy
    absolute: bool  # the request line names the whole URL (a plain-HTTP proxy)
    headers: dict[str, str]  # the session's default headers


class Transport:
    """Sends each request straight to the urllib3 pool the session picks for its host.

    The session decides as it always does (proxy variables, ``no_proxy``,
    ``REQUESTS_CA_BUNDLE``, its adapters and default headers), except that a
    loopback host is never reached through a proxy. ``Session.request``
    would work all that out again on every call and wrap each answer in
    objects nobody reads: about a millisecond of CPU per call. Here it is
    worked out once per host and each call goes straight to the pool.

    Every call, connecting, sending and reading included, ends by its
    deadline of ``timeout`` seconds: per-read timeouts alone would let a
    server that sends a byte now and then hold a call for ever.
    """

    def __init__(self, session: requests.Session, timeout: float) -> None:
        """Send through ``session``'s adapters; each call gets ``timeout`` seconds in all."""
        self.session = session
        self.timeout = timeout
        self._per_step = urllib3.Timeout(connect=timeout, read=timeout)
        self._routes: dict[str, _Route] = {}  # scheme://host[:port] -> how to reach it
        hide_urls_in_urllib3_logs()

    def send(  # noqa: PLR0913 - the parts of one request
        self,
        method: str,
        origin: str,
        target: str,
        *,
        name: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        limit: int = MAX_JSON_BYTES,
    ) -> Answer:
        """Send one request and read its whole answer; redirects are answers too.

        Args:
            method: HTTP method.
            origin: ``scheme://host[:port]``, as checked by :mod:`hosts`.
            target: Path and query, starting with ``/``.
            name: Names the call in a failure's message (no URL, no body).
            headers: Added to the session's default headers.
            body: The request body.
            limit: The most bytes the answer's body may have.

        Raises:
            ZohoTransientError: The network failed, the deadline passed or
                the answer was cut short; ``ambiguous`` when a write may have
                reached the server.
            ZohoAnswerTooLargeError: The answer is longer than ``limit``.
        """
        route = self._route(origin)
        call = _Call(time.monotonic() + self.timeout)
        _DEADLINES.watch(call)
        _current.call = call
        raw: urllib3.BaseHTTPResponse | None = None
        data: bytes | None = None
        try:
            raw = route.pool.urlopen(
                method,
                origin + target if route.absolute else target,
                body=body,
                headers={**route.headers, **PLAIN, **(headers or {})},
                retries=False,
                redirect=False,
                assert_same_host=False,
                timeout=self._per_step,
                preload_content=False,
                decode_content=False,
            )
            data = _read(raw, limit, name)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            failure: tuple[str, bool] = (
                (NO_ANSWER_IN_TIME, True) if call.cut else _network_failure(exc)
            )
            raise _transient(name, method, *failure) from None
        finally:
            _current.call = None
            _DEADLINES.unwatch(call)
            if raw is not None:
                _release(raw, whole=data is not None)
        if call.cut or data is None or raw is None:
            # The deadline shut the socket: a close-delimited body ends there
            # as if whole, yet is only what came before the deadline.
            raise _transient(name, method, NO_ANSWER_IN_TIME, sent=True)
        return Answer(raw.status, raw.headers, data, method)

    def _route(self, origin: str) -> _Route:
        """How to reach ``origin``: worked out once, then reused."""
        route = self._routes.get(origin)
        if route is None:
            route = self._routes[origin] = self._new_route(origin)
        return route

    def _new_route(self, origin: str) -> _Route:
        session = self.session
        probe = requests.Request("GET", origin + "/").prepare()
        settings = session.merge_environment_settings(
            origin, {}, stream=False, verify=None, cert=None
        )
        proxies: MutableMapping[str, str] = settings["proxies"]
        if is_loopback_host(urllib3.util.parse_url(origin).host or ""):
            proxies = {}  # a proxy would see a local sandbox's credentials
        adapter = session.get_adapter(origin)
        if isinstance(adapter, requests.adapters.HTTPAdapter):
            pool = adapter.get_connection_with_tls_context(
                probe, settings["verify"], proxies, settings["cert"]
            )
        if not isinstance(adapter, requests.adapters.HTTPAdapter) or not isinstance(
            pool, urllib3.HTTPConnectionPool
        ):
            msg = f"the session's adapter for {origin} is not a requests HTTPAdapter"
            raise TypeError(msg)
        _watch_connections(pool)
        return _Route(
            pool=pool,
            absolute=not adapter.request_url(probe, proxies).startswith("/"),
            headers={
                key: value.decode("latin-1") if isinstance(value, bytes) else value
                for key, value in session.headers.items()
            },
        )


POOL_HOSTS = 8


def new_session(pool_size: int) -> requests.Session:
    """A session whose connection pool fits ``pool_size`` concurrent calls."""
    session = requests.Session()
    # One pool per host a run talks to: accounts, the API, and for Bulk Write
    # the content and download hosts. A pool pushed out of the adapter's cache
    # would be closed under a route that still holds it.
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=POOL_HOSTS, pool_maxsize=max(pool_size, 1) + 2
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _read(raw: urllib3.BaseHTTPResponse, limit: int, name: str) -> bytes:
    """The answer's body, read as it comes and refused once longer than ``limit``.

    A body shorter than its ``Content-Length``, or a chunked one cut short,
    raises urllib3's ``ProtocolError``: a cut answer is never an answer.

    Raises:
        ZohoAnswerTooLargeError: Declared or found longer than ``limit``.
    """
    declared = raw.headers.get("Content-Length", "").strip()
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(name, limit)
    parts: list[bytes] = []
    size = 0
    while chunk := raw.read(READ_CHUNK, decode_content=False):
        size += len(chunk)
        if size > limit:
            raise _too_large(name, limit)
        parts.append(chunk)
    return b"".join(parts)


def _too_large(name: str, limit: int) -> ZohoAnswerTooLargeError:
    msg = f"{name}: the answer is longer than the {limit:,} bytes this call may have"
    return ZohoAnswerTooLargeError(msg, code="ANSWER_TOO_LARGE", limit=limit)


def _release(raw: urllib3.BaseHTTPResponse, *, whole: bool) -> None:
    """Give the connection back to its pool; closed first if its answer was not read whole."""
    if not whole:
        with contextlib.suppress(Exception):
            raw.close()  # the rest of the answer would be read as the next one
    raw.release_conn()


def _transient(name: str, method: str, what: str, sent: bool) -> ZohoTransientError:  # noqa: FBT001
    ambiguous = sent and method in WRITE_METHODS
    return ZohoTransientError(
        f"{name}: {what}",
        code="NETWORK",
        ambiguous=ambiguous,
        still_working=ambiguous and what == NO_ANSWER_IN_TIME,
    )


def _network_failure(exc: Exception) -> tuple[str, bool]:
    """Name a request's failure (no URL, no body); tell if it may have reached the server.

    Only a connection never made (refused, timed out connecting) is known
    not to have reached the server; any later failure may have followed a write.
    """
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return DROPPED, False
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return NO_ANSWER_IN_TIME, False
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return NO_ANSWER_IN_TIME, True
    if isinstance(
        exc,
        urllib3.exceptions.ProtocolError
        | urllib3.exceptions.SSLError
        | urllib3.exceptions.ProxyError,
    ):
        return CUT if _cut(exc) else DROPPED, True
    if isinstance(exc, OSError):
        return DROPPED, True
    return type(exc).__name__, True


def _cut(exc: Exception) -> bool:
    """Whether a protocol error is a body shorter than announced (not a dropped connection)."""
    return isinstance(exc.__context__ or exc.__cause__, http.client.IncompleteRead) or (
        "IncompleteRead" in str(exc)
    )


# urllib3's log lines ----------------------------------------------------

# printf-style placeholders, so that a line keeps its words but not its values.
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifr]")


class _WithoutValues(logging.Filter):
    """Keeps urllib3's log lines but not their values, which hold URLs.

    A search URL holds an email, and urllib3's header-parse warning prints
    it whole.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = _PLACEHOLDER.sub("...", str(record.msg)).replace("%%", "%")
            record.args = None
        record.exc_info = record.exc_text = None  # exception text may hold the URL
        return True


def hide_urls_in_urllib3_logs() -> None:
    """Put :class:`_WithoutValues` on every urllib3 logger, once.

    Done when a transport is built rather than on import, so that importing
    the package changes no other program's logging.
    """
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] == "urllib3"]
    for name in ["urllib3", *names]:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _WithoutValues) for f in logger.filters):
            logger.addFilter(_WithoutValues())


# Deadlines ---------------------------------------------------------------


class _Call:
    """One call in flight: when it must end, and the connection carrying it."""

    __slots__ = ("cut", "deadline", "sock")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        # The socket itself, not the connection: http.client lets go of a
        # connection's socket once it reads a close-delimited answer, and a
        # deadline that looked for it there found nothing to shut (a call
        # held 46 s past a 3 s request_timeout).
        self.sock: socket.socket | None = None
        self.cut = False  # the deadline passed and its socket was shut


class _Deadlines:
    """One thread that shuts the connection of every call still running at its deadline.

    A timer thread per call would cost more CPU than the call itself; this
    one sleeps until the soonest deadline and is woken only when a call
    comes due sooner than that.
    """

    def __init__(self) -> None:
        self._calls: set[_Call] = set()
        self._changed = threading.Condition()
        self._until = float("inf")  # when the thread wakes next
        self._thread: threading.Thread | None = None

    def watch(self, call: _Call) -> None:
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="request-deadlines", daemon=True
                )
                self._thread.start()
            self._calls.add(call)
            if call.deadline < self._until:
                self._changed.notify()

    def unwatch(self, call: _Call) -> None:
        with self._changed:
            self._calls.discard(call)

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for call in [call for call in self._calls if call.deadline <= now]:
                    self._calls.discard(call)
                    call.cut = True  # before reading sock: see _attach
                    _shut(call.sock)
                self._until = min((call.deadline for call in self._calls), default=float("inf"))
                self._changed.wait(self._until - now if self._calls else None)


_DEADLINES = _Deadlines()
_current = threading.local()  # .call: the _Call this thread is making


def _attach(conn: urllib3.connection.HTTPConnection) -> None:
    """Tell this thread's call which socket carries it; shut it if already late."""
    call: _Call | None = getattr(_current, "call", None)
    if call is not None and conn.sock is not None:
        call.sock = conn.sock
        if call.cut:
            _shut(conn.sock)


def _shut(sock: socket.socket | None) -> None:
    """End the socket so that a read blocked on it returns at once."""
    if sock is not None:
        with contextlib.suppress(OSError):
            # The plain socket's shutdown: an SSLSocket's own would also drop
            # its TLS state under the thread still reading from it.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watched(urllib3.connection.HTTPConnection):
    """A connection that tells the call using it who it is, so its deadline can end it."""

    def connect(self) -> None:
        _attach(self)
        super().connect()
        _attach(self)

    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPConnection(_Watched):
    """A plain-http connection under the call's deadline."""


class _WatchedHTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    """The https form of :class:`_WatchedHTTPConnection`."""


_WATCHED: dict[type, type] = {
    urllib3.connection.HTTPConnection: _WatchedHTTPConnection,
    urllib3.connection.HTTPSConnection: _WatchedHTTPSConnection,
}


def _watch_connections(pool: urllib3.HTTPConnectionPool) -> None:
    """Have ``pool`` open connections its calls' deadlines can end."""
    watched = _WATCHED.get(pool.ConnectionCls)
    if watched is not None:
        pool.ConnectionCls = watched
