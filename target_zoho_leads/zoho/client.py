"""Zoho CRM calls: the auth header, calls in flight, retries, credits, answers and error codes."""

from __future__ import annotations

import contextlib
import copy
import logging
import typing as t
from urllib.parse import urlencode

import msgspec

from target_zoho_leads.zoho.concurrency import InFlightLimit, is_heavy
from target_zoho_leads.zoho.credits import api_call_credits, charged
from target_zoho_leads.zoho.errors import (
    ZohoAPIError,
    ZohoRetriesExhaustedError,
    ZohoScopeError,
    ZohoTransientError,
)
from target_zoho_leads.zoho.retrying import with_retries
from target_zoho_leads.zoho.scopes import SCOPES, scope_for
from target_zoho_leads.zoho.transport import WRITE_METHODS, Answer, Transport, new_session
from target_zoho_leads.zoho.write_items import WRITE_ANSWER, ItemDetails, ItemsAnswer, WriteItem

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import requests

    from target_zoho_leads.zoho.auth import ZohoAuth

logger = logging.getLogger(__name__)

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

MAX_RECORDS_PER_WRITE = 100  # Zoho's limit for one insert or update call
TOKEN_REFUSED_CODES = frozenset({"INVALID_TOKEN", "AUTHENTICATION_FAILURE"})
HTTP_NO_CONTENT = 204
HTTP_REDIRECTS = range(300, 400)
HTTP_UNAUTHORIZED = 401
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500
TOO_MANY_REQUESTS_HINT = (
    "Zoho refuses calls once the org's API credits of the last 24 hours are spent, "
    "or while other programs hold its concurrency"
)


class ZohoCRMClient:
    """Makes Zoho CRM calls with one session, an adaptive in-flight limit and one retry policy.

    Every call goes through :meth:`request`: across all threads no more are
    in flight than the limit, which starts at 5 (or ``max_concurrency`` if
    lower), halves on a 429 and grows back towards ``max_concurrency``;
    COQL and writes of more than 10 records never exceed Zoho's 10 at once.
    Each call carries the current access token, a refused token is
    refreshed once and the call repeated, and transient failures are
    retried with backoff.
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
        on_call: Callable[[int, int | None], None] | None = None,
    ) -> None:
        """Build the client around an injected session and token source.

        Args:
            auth: Hands out access tokens.
            session: The HTTP session (tests point it at the sandbox).
            api_version: Zoho REST version in the path, e.g. ``v8``.
            timeout: Seconds one HTTP call may take in all, answer read included.
            max_retries: Tries for one call on transient failures.
            max_concurrency: Most calls in flight at once.
            on_call: Told of each HTTP attempt as it ends: the API credits
                Zoho charged for it, and the in-flight limit if a 429 has
                ever lowered it (else None).
        """
        self.auth = auth
        self.transport = Transport(session, timeout)
        self.api_version = api_version
        self.max_retries = max_retries
        self.in_flight = InFlightLimit(max_concurrency)
        self._on_call = on_call or _count_nothing

    def counting_calls_with(self, on_call: Callable[[int, int | None], None]) -> ZohoCRMClient:
        """A client sharing this one's token, session and in-flight limit, counting elsewhere.

        Each stream gets one, so its summary line reports its own API calls
        and credits while the in-flight limit still holds across all streams.
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
        items: msgspec.json.Decoder[ItemsAnswer] | None = None,
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
            if exc.status == HTTP_TOO_MANY_REQUESTS:
                msg += f" ({TOO_MANY_REQUESTS_HINT})"
            raise ZohoRetriesExhaustedError(msg, code=exc.code, status=exc.status) from None

    def _attempt(
        self,
        method: str,
        path: str,
        name: str,
        items: msgspec.json.Decoder[ItemsAnswer] | None,
        **kwargs: t.Any,
    ) -> t.Any:
        """One try, repeated once with a new token if Zoho refused the old one."""
        for _ in range(2):
            token = self.auth.token()
            response = self._send(method, path, name, token, **kwargs)
            if not _token_refused(response):
                return self._read(response, name, items)
            code = _answer_code(response)
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
        """Send the request within a place in flight; count it and its credits."""
        target = f"/crm/{self.api_version}{path}"
        if params:
            target += "?" + urlencode(params)
        headers = {"Authorization": f"Zoho-oauthtoken {token}"}
        body = None
        if json is not None:
            # msgspec encodes a 100-lead body several times faster than the
            # json module; every insert call pays that.
            body = _encode(json)
            headers["Content-Type"] = "application/json"
        origin = self.auth.api_domain
        with self.in_flight.slot(heavy=is_heavy(method, path, json)) as ticket:
            cost = 0
            try:
                answer = self.transport.send(
                    method, origin, target, name=name, headers=headers, body=body
                )
                ticket.answered(answer.status)
                if charged(answer.status, token_refused=_token_refused(answer)):
                    cost = api_call_credits(method, path, json)
            finally:
                self._on_call(cost, self.in_flight.settled())
        return answer

    def _read(
        self,
        response: Answer,
        name: str,
        items: msgspec.json.Decoder[ItemsAnswer] | None = None,
    ) -> t.Any:
        """Return the answer's JSON, or raise the error it holds.

        With ``items``, an answer holding per-record items is returned as
        their typed list; any other answer is read as JSON, as without.
        """
        status = response.status
        if status == HTTP_NO_CONTENT:
            return None
        if status in HTTP_REDIRECTS:
            # Following it would send the token and the body to another host.
            msg = f"{name}: Zoho answered HTTP {status}, a redirect; the target follows none"
            raise ZohoAPIError(msg, code="REDIRECT", status=status)
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
            items=WRITE_ANSWER,
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

    def search(self, criteria: str, page: int = 1) -> tuple[list[dict[str, t.Any]], bool]:
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


def _count_nothing(cost: int, concurrency: int | None) -> None:
    del cost, concurrency


def _token_refused(response: Answer) -> bool:
    """Whether Zoho refused the call's access token (not its scope, not the call)."""
    return response.status == HTTP_UNAUTHORIZED and _answer_code(response) in TOKEN_REFUSED_CODES


def _call_error(name: str, status: int, body: t.Any) -> ZohoAPIError:
    """Turn a failed call's answer into the error to raise."""
    code = _code_of(body) or f"HTTP {status}"
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    if code == "OAUTH_SCOPE_MISMATCH":
        missing = scope_for(name)
        msg = (
            f"{name}: the refresh token lacks the OAuth scope {missing}, "
            "which this call needs (OAUTH_SCOPE_MISMATCH); make a new one with "
            f"the scopes {','.join(dict.fromkeys([*SCOPES, missing]))}"
        )
        return ZohoScopeError(msg, code=code, status=status)
    msg = f"{name}: Zoho answered HTTP {status} {code}" + (f" ({message})" if message else "")
    return ZohoAPIError(msg, code=code, status=status)


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


__all__ = [
    "MAX_RECORDS_PER_WRITE",
    "ItemDetails",
    "WriteItem",
    "ZohoCRMClient",
    "new_session",
]
