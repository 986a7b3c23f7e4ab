"""Sending requests: the connection pool per host, network failures named.

Knows nothing of Zoho: the client above it builds each request and reads
each answer. Nothing here follows a redirect, retries, or logs a URL.
"""

from __future__ import annotations

import dataclasses
import typing as t

import requests
import requests.adapters
import urllib3
import urllib3.exceptions

from target_zoho_leads.exceptions import ZohoTransientError

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
    ``REQUESTS_CA_BUNDLE``, its adapters and default headers). ``Session.request``
    would work all that out again on every call and wrap each answer in
    objects nobody reads: about a millisecond of CPU per call. Here it is
    worked out once per host and each call goes straight to the pool.
    """

    def __init__(self, session: requests.Session, timeout: float) -> None:
        """Send through ``session``'s adapters; ``timeout`` bounds connecting and each read."""
        self.session = session
        self.timeout = timeout
        self._per_step = urllib3.Timeout(connect=timeout, read=timeout)
        self._routes: dict[str, _Route] = {}  # scheme://host[:port] -> how to reach it

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
            ZohoTransientError: The network failed or timed out; ``ambiguous``
                when a write may have reached the server.
        """
        route = self._route(origin)
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
            what, sent = _network_failure(exc)
            msg = f"{name}: {what}"
            raise ZohoTransientError(
                msg, code="NETWORK", ambiguous=sent and method in WRITE_METHODS
            ) from None
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
        return _Route(
            pool=pool,
            absolute=not adapter.request_url(probe, proxies).startswith("/"),
            headers={
                key: value.decode("latin-1") if isinstance(value, bytes) else value
                for key, value in session.headers.items()
            },
        )


def new_session(pool_size: int) -> requests.Session:
    """A session whose connection pool fits ``pool_size`` concurrent calls."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=max(pool_size, 1) + 2)
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
