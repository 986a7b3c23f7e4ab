"""Sending requests: the connection pool per host, a deadline per call, network failures named.

Knows nothing of Zoho: the client above it builds each request and reads
each answer. Nothing here follows a redirect, retries, or logs a URL.
"""

from __future__ import annotations

import contextlib
import dataclasses
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

from target_zoho_leads.zoho.errors import ZohoTransientError
from target_zoho_leads.zoho.hosts import is_loopback_host

if t.TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NO_ANSWER_IN_TIME = "no answer within request_timeout"
DROPPED = "connection failed or dropped"


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
    ) -> Answer:
        """Send one request and read its whole answer; redirects are answers too.

        Args:
            method: HTTP method.
            origin: ``scheme://host[:port]``, as checked by :mod:`hosts`.
            target: Path and query, starting with ``/``.
            name: Names the call in a failure's message (no URL, no body).
            headers: Added to the session's default headers.
            body: The request body.

        Raises:
            ZohoTransientError: The network failed or the deadline passed;
                ``ambiguous`` when a write may have reached the server.
        """
        route = self._route(origin)
        call = _Call(time.monotonic() + self.timeout)
        _DEADLINES.watch(call)
        _current.call = call
        try:
            raw = route.pool.urlopen(
                method,
                origin + target if route.absolute else target,
                body=body,
                headers={**route.headers, **headers} if headers else route.headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                timeout=self._per_step,
                preload_content=True,
            )
        except urllib3.exceptions.HTTPError as exc:
            what, sent = (NO_ANSWER_IN_TIME, True) if call.cut else _network_failure(exc)
            msg = f"{name}: {what}"
            raise ZohoTransientError(
                msg, code="NETWORK", ambiguous=sent and method in WRITE_METHODS
            ) from None
        finally:
            _current.call = None
            _DEADLINES.unwatch(call)
        return Answer(raw.status, raw.headers, raw.data, method)

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


def _network_failure(exc: urllib3.exceptions.HTTPError) -> tuple[str, bool]:
    """Name a request's failure (no URL, no body); tell if it may have reached the server.

    Only a connection never made (refused, timed out connecting) is known
    not to have reached the server; any later failure may have followed a write.
    """
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason  # type: ignore[assignment]
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
        return DROPPED, True
    return type(exc).__name__, True


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

    __slots__ = ("conn", "cut", "deadline")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.conn: urllib3.connection.HTTPConnection | None = None
        self.cut = False  # the deadline passed and its connection was shut


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
                    call.cut = True  # before reading conn: see _attach
                    _shut(call.conn)
                self._until = min((call.deadline for call in self._calls), default=float("inf"))
                self._changed.wait(self._until - now if self._calls else None)


_DEADLINES = _Deadlines()
_current = threading.local()  # .call: the _Call this thread is making


def _attach(conn: urllib3.connection.HTTPConnection) -> None:
    """Tell this thread's call which connection carries it; shut it if already late."""
    call: _Call | None = getattr(_current, "call", None)
    if call is not None:
        call.conn = conn
        if call.cut:
            _shut(conn)


def _shut(conn: urllib3.connection.HTTPConnection | None) -> None:
    """End the connection's socket so that a read blocked on it returns at once."""
    sock = conn.sock if conn is not None else None
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
