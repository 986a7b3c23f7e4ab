"""HTTP client for the Zoho CRM REST API: auth header, limits, retries, answers."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import threading
import typing as t
from urllib.parse import urlencode

import msgspec
import requests
import urllib3
import urllib3.exceptions

from target_zoho_leads.auth import ZohoAuth, check_base_url
from target_zoho_leads.exceptions import (
    ZohoAPIError,
    ZohoRetriesExhaustedError,
    ZohoScopeError,
    ZohoTransientError,
)
from target_zoho_leads.retrying import with_retries

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

logger = logging.getLogger(__name__)

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

MAX_RECORDS_PER_WRITE = 100  # Zoho's limit for one insert or update call
TOKEN_REFUSED_CODES = frozenset({"INVALID_TOKEN", "AUTHENTICATION_FAILURE"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HTTP_NO_CONTENT = 204
HTTP_UNAUTHORIZED = 401
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500
SCOPES = (
    "ZohoCRM.modules.leads.ALL",
    "ZohoCRM.settings.fields.READ",
    "ZohoCRM.coql.READ",
)
# Which scope a call needs, by a part of its path; Leads writes need the first.
SCOPE_OF_PATH = (
    ("/coql", "ZohoCRM.coql.READ"),
    ("/settings/fields", "ZohoCRM.settings.fields.READ"),
    ("/Leads/search", "ZohoSearch.securesearch.READ"),
    ("/Leads", "ZohoCRM.modules.leads.ALL"),
)


class ItemDetails(msgspec.Struct):
    """What the target reads of an answer item's ``details``; the rest is skipped."""

    id: t.Any = None  # the lead written
    api_name: t.Any = None  # the field at fault
    json_path: t.Any = None  # or its path in the request
    duplicate_record: t.Any = None  # the lead a DUPLICATE_DATA item names


class WriteItem(msgspec.Struct):
    """One record's item in an insert or update answer.

    Read straight from the answer's bytes: a 100-lead answer decoded into
    dicts costs several times more, most of it in fields never read.
    """

    code: t.Any = None
    status: t.Any = None
    message: t.Any = None
    details: ItemDetails | None = None

    @classmethod
    def from_json(cls, item: t.Any) -> WriteItem:
        """Build one from an item already decoded as JSON, whatever its shape."""
        if not isinstance(item, dict):
            return cls()
        details = item.get("details")
        return cls(
            code=item.get("code"),
            status=item.get("status"),
            message=item.get("message"),
            details=ItemDetails(**{k: details[k] for k in _DETAIL_KEYS if k in details})
            if isinstance(details, dict)
            else None,
        )


_DETAIL_KEYS = tuple(ItemDetails.__struct_fields__)


class _ItemsAnswer(msgspec.Struct):
    data: list[WriteItem] | None = None


_WRITE_ANSWER = msgspec.json.Decoder(_ItemsAnswer)


class Answer(t.NamedTuple):
    """One HTTP answer, read whole."""

    status: int
    headers: t.Mapping[str, str]  # names in any case
    body: bytes
    method: str  # of the request it answers


@dataclasses.dataclass(frozen=True)
class _Route:
    """The session's way to one Zoho host, as worked out for its first call."""

    pool: urllib3.HTTPConnectionPool  # the connection pool, direct or by proxy
    absolute: bool  # the request line names the whole URL (a plain-HTTP proxy)
    origin_length: int  # of ``scheme://host``, cut off when not ``absolute``
    headers: dict[str, str]  # the session's default headers
    timeout: urllib3.Timeout


class ZohoCRMClient:
    """Makes Zoho CRM calls with one session, a concurrency cap and one retry policy.

    Every call goes through :meth:`request`: at most ``max_concurrency`` are in
    flight at once across all threads, each carries the current access token,
    a refused token is refreshed once and the call repeated, and transient
    failures are retried with backoff.
    """

    def __init__(  # noqa: PLR0913
        self,
        *,
        auth: ZohoAuth,
        session: requests.Session,
        api_version: str = "v8",
        timeout: float = 60.0,
        max_retries: int = 8,
        max_concurrency: int = 4,
        on_call: Callable[[], None] | None = None,
    ) -> None:
        """Build the client around an injected session and token source.

        Args:
            auth: Hands out access tokens.
            session: The HTTP session (tests point it at the sandbox).
            api_version: Zoho REST version in the path, e.g. ``v8``.
            timeout: Seconds for one HTTP request.
            max_retries: Tries for one call on transient failures.
            max_concurrency: Most calls in flight at once.
            on_call: Called once per HTTP attempt, for call counting.
        """
        self.auth = auth
        self.session = session
        self.api_version = api_version
        self.timeout = timeout
        self.max_retries = max_retries
        self._slots = threading.BoundedSemaphore(max(1, max_concurrency))
        self._routes: dict[str, _Route] = {}  # scheme://host -> how to reach it
        self._on_call = on_call or (lambda: None)

    def counting_calls_with(self, on_call: Callable[[], None]) -> ZohoCRMClient:
        """A client sharing this one's token, session and slots, counting elsewhere.

        Each stream gets one, so its summary line reports its own API calls
        while the concurrency cap still holds across all streams.
        """
        clone = copy.copy(self)
        clone._on_call = on_call  # noqa: SLF001
        return clone

    def request(  # noqa: PLR0913 - each keyword is one caller's need
        self,
        method: str,
        path: str,
        *,
        json: t.Any = None,
        params: dict[str, t.Any] | None = None,
        settle_ambiguous: bool = False,
        on_resend: Callable[[], None] | None = None,
        items: msgspec.json.Decoder[_ItemsAnswer] | None = None,
    ) -> t.Any:
        """Make one Zoho call and return its JSON answer (``None`` for 204).

        Args:
            method: HTTP method.
            path: Path below ``/crm/{version}``, e.g. ``/Leads``.
            json: Request body.
            params: Query parameters.
            settle_ambiguous: When a write's answer is lost, raise the
                ``ZohoTransientError`` (``ambiguous=True``) at once instead of
                re-sending, so the caller can find out what happened first.
            on_resend: Told each time a write whose answer was lost is sent
                again (it may then be applied twice).
            items: Reads an answer of per-record items straight into their
                typed form (see :class:`WriteItem`); other answers are JSON.

        Raises:
            ZohoTransientError: A lost write answer, with ``settle_ambiguous``.
            ZohoRetriesExhaustedError: Transient failures outlasted the retries.
        """
        name = f"{method} /crm/{self.api_version}{path}"

        def attempt() -> t.Any:
            return self._attempt(method, path, name, items, json=json, params=params)

        def giveup(exc: Exception) -> bool:
            return settle_ambiguous and getattr(exc, "ambiguous", False)

        def on_retry(exc: Exception) -> None:
            if on_resend is not None and getattr(exc, "ambiguous", False):
                on_resend()

        try:
            return with_retries(
                attempt, max_tries=self.max_retries, giveup=giveup, on_retry=on_retry
            )
        except ZohoTransientError as exc:
            if giveup(exc):
                raise
            msg = f"{name} still failing after {self.max_retries} tries: {exc}"
            raise ZohoRetriesExhaustedError(msg, code=exc.code, status=exc.status) from None

    def _attempt(
        self,
        method: str,
        path: str,
        name: str,
        items: msgspec.json.Decoder[_ItemsAnswer] | None,
        **kwargs: t.Any,
    ) -> t.Any:
        """One try, repeated once with a new token if Zoho refused the old one."""
        for _ in range(2):
            token = self.auth.token()
            response = self._send(method, path, name, token, **kwargs)
            if response.status != HTTP_UNAUTHORIZED:
                return self._read(response, name, items)
            code = _answer_code(response)
            if code not in TOKEN_REFUSED_CODES:
                return self._read(response, name, items)
            logger.info("Access token refused (%s); refreshing it once", code)
            self.auth.invalidate(token)
        msg = f"{name}: Zoho refused a freshly minted access token ({code})"
        raise ZohoAPIError(msg, code=code, status=HTTP_UNAUTHORIZED)

    def _send(  # noqa: PLR0913 - the parts of one request
        self,
        method: str,
        path: str,
        name: str,
        token: str,
        *,
        json: t.Any = None,
        params: dict[str, t.Any] | None = None,
    ) -> Answer:
        """Send the request within a concurrency slot; classify network failures."""
        url = f"{self.auth.api_domain}/crm/{self.api_version}{path}"
        if params:
            url += "?" + urlencode(params)
        route = self._route(url)
        headers = {**route.headers, "Authorization": f"Zoho-oauthtoken {token}"}
        body = None
        if json is not None:
            # msgspec encodes a 100-lead body several times faster than the
            # json module; every insert call pays that.
            body = _encode(json)
            headers["Content-Type"] = "application/json"
        target = url if route.absolute else url[route.origin_length :] or "/"
        with self._slots:
            self._on_call()
            try:
                raw = route.pool.urlopen(
                    method,
                    target,
                    body=body,
                    headers=headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    timeout=route.timeout,
                    preload_content=True,
                )
            except urllib3.exceptions.HTTPError as exc:
                what, sent = _network_failure(exc)
                msg = f"{name}: {what}"
                raise ZohoTransientError(
                    msg,
                    code="NETWORK",
                    ambiguous=sent and method in WRITE_METHODS,
                ) from None
        return Answer(raw.status, raw.headers, raw.data, method)

    def _route(self, url: str) -> _Route:
        """How to reach the host of ``url``: worked out once per host, then reused.

        The session decides as it always does (proxy variables, ``no_proxy``,
        ``REQUESTS_CA_BUNDLE``, its adapters and default headers), but
        ``Session.request`` works all that out again on every call and wraps
        each answer in objects this client does not need: about a millisecond
        of CPU per call. Here the session's own connection pool for the host
        is kept and each call goes straight to it. Zoho's API answers with no
        redirects and needs no cookies.
        """
        origin = "/".join(url.split("/", 3)[:3])
        route = self._routes.get(origin)
        if route is None:
            session = self.session
            settings = session.merge_environment_settings(
                origin, {}, stream=False, verify=None, cert=None
            )
            probe = requests.Request("GET", origin + "/").prepare()
            adapter = session.get_adapter(origin)
            route = _Route(
                pool=adapter.get_connection_with_tls_context(
                    probe, settings["verify"], settings["proxies"], settings["cert"]
                ),
                absolute=not adapter.request_url(probe, settings["proxies"]).startswith("/"),
                origin_length=len(origin),
                headers=dict(session.headers),
                timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
            )
            self._routes[origin] = route
        return route

    def _read(
        self,
        response: Answer,
        name: str,
        items: msgspec.json.Decoder[_ItemsAnswer] | None = None,
    ) -> t.Any:
        """Return the answer's JSON, or raise the error it holds.

        With ``items``, an answer holding per-record items is returned as
        their typed list; any other answer is read as JSON, as without.
        """
        status = response.status
        if status == HTTP_NO_CONTENT:
            return None
        if items is not None and status < HTTP_TOO_MANY_REQUESTS:
            with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
                typed = items.decode(response.body).data
                if typed is not None:
                    return typed
        body = _json_or_none(response)
        if status == HTTP_TOO_MANY_REQUESTS or status >= HTTP_SERVER_ERROR:
            code = _code_of(body) or f"HTTP {status}"
            msg = f"{name}: Zoho answered HTTP {status} {code}"
            raise ZohoTransientError(
                msg,
                code=code,
                status=status,
                retry_after=_retry_after(response),
                ambiguous=status >= HTTP_SERVER_ERROR and response.method in WRITE_METHODS,
            )
        # Insert and update answer 400 with per-record items when all failed:
        # those are record outcomes, not a failed call.
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            return body
        if status >= 400:  # noqa: PLR2004
            raise _call_error(name, status, body)
        if body is None:
            msg = f"{name}: Zoho answered HTTP {status} with a body that is not JSON"
            raise ZohoAPIError(msg, status=status)
        return body

    # Zoho calls -----------------------------------------------------------

    def write_leads(
        self,
        method: str,
        records: Sequence[dict[str, t.Any]],
        trigger: Sequence[str] | None,
        *,
        settle_ambiguous: bool = False,
        on_resend: Callable[[], None] | None = None,
    ) -> list[WriteItem]:
        """Insert (``POST``) or update (``PUT``) up to 100 leads; one item per record.

        ``settle_ambiguous`` and ``on_resend`` are as for :meth:`request`.

        Raises:
            ZohoAPIError: Zoho's answer did not hold one item per record.
        """
        body: dict[str, t.Any] = {"data": list(records)}
        if trigger is not None:
            body["trigger"] = list(trigger)
        answer = self.request(
            method,
            "/Leads",
            json=body,
            settle_ambiguous=settle_ambiguous,
            on_resend=on_resend,
            items=_WRITE_ANSWER,
        )
        if isinstance(answer, list):
            items: list[WriteItem] | None = answer
        elif isinstance(answer, dict) and isinstance(answer.get("data"), list):
            items = [WriteItem.from_json(item) for item in answer["data"]]
        else:
            items = None
        if items is None or len(items) != len(records):
            msg = (
                f"{method} /crm/{self.api_version}/Leads: Zoho answered "
                f"{len(items) if isinstance(items, list) else 'no'} items "
                f"for {len(records)} records"
            )
            raise ZohoAPIError(msg, code="UNEXPECTED_ANSWER")
        return items

    def coql_page(self, query: str) -> tuple[list[dict[str, t.Any]], bool]:
        """Run a COQL select; return its rows and whether more pages follow."""
        answer = self.request("POST", "/coql", json={"select_query": query})
        if not answer:
            return [], False
        more = bool((answer.get("info") or {}).get("more_records"))
        return list(answer.get("data") or []), more

    def search(self, criteria: str, page: int = 1) -> tuple[list[dict], bool]:
        """Run a Leads search; return the rows and whether more pages follow."""
        params = {"criteria": criteria, "page": page, "per_page": 200}
        answer = self.request("GET", "/Leads/search", params=params)
        if not answer:
            return [], False
        more = bool((answer.get("info") or {}).get("more_records"))
        return list(answer.get("data") or []), more

    def fields(self, module: str = "Leads") -> list[dict[str, t.Any]]:
        """Return the module's field metadata."""
        answer = self.request("GET", "/settings/fields", params={"module": module})
        return list(answer.get("fields") or []) if answer else []


def _call_error(name: str, status: int, body: t.Any) -> ZohoAPIError:
    """Turn a failed call's answer into the error to raise."""
    code = _code_of(body) or f"HTTP {status}"
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    if code == "OAUTH_SCOPE_MISMATCH":
        msg = (
            f"{name}: the refresh token lacks the OAuth scope {_scope_for(name)}, "
            "which this call needs (OAUTH_SCOPE_MISMATCH); make a new one with "
            f"the scopes {','.join(SCOPES)}"
        )
        return ZohoScopeError(msg, code=code, status=status)
    msg = f"{name}: Zoho answered HTTP {status} {code}" + (f" ({message})" if message else "")
    return ZohoAPIError(msg, code=code, status=status)


def _scope_for(name: str) -> str:
    """The OAuth scope a call (``METHOD /crm/v8/path``) needs."""
    path = name.split(" ", 1)[-1]
    for part, scope in SCOPE_OF_PATH:
        if part in path:
            return scope
    return SCOPES[0]


def _json_or_none(response: Answer) -> t.Any:
    try:
        return _decode(response.body)
    except (msgspec.DecodeError, ValueError):
        return None


def _code_of(body: t.Any) -> str:
    return str(body.get("code") or "") if isinstance(body, dict) else ""


def _answer_code(response: Answer) -> str:
    return _code_of(_json_or_none(response))


def _retry_after(response: Answer) -> float | None:
    """Seconds from a numeric ``Retry-After`` header, if there is one."""
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _network_failure(exc: urllib3.exceptions.HTTPError) -> tuple[str, bool]:
    """Name a request's failure (no URL, no body); tell if it may have reached Zoho.

    Only a connection never made (refused, timed out connecting) is known
    not to have reached Zoho; any later failure may have followed a write.
    """
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason  # type: ignore[assignment]
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "connection failed or dropped", False
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return "no answer within request_timeout", False
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return "no answer within request_timeout", True
    if isinstance(
        exc,
        urllib3.exceptions.ProtocolError
        | urllib3.exceptions.SSLError
        | urllib3.exceptions.ProxyError,
    ):
        return "connection failed or dropped", True
    return type(exc).__name__, True


def new_session(pool_size: int) -> requests.Session:
    """A session whose connection pool fits ``pool_size`` concurrent calls."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=max(pool_size, 1) + 2)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


__all__ = [
    "MAX_RECORDS_PER_WRITE",
    "WriteItem",
    "ZohoCRMClient",
    "check_base_url",
    "new_session",
]
