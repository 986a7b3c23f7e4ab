"""Zoho CRM calls, every one of them: the token, its hosts, calls in flight, retries, credits."""

from __future__ import annotations

import copy
import dataclasses
import logging
import typing as t
from urllib.parse import urlencode

import msgspec

from target_zoho_leads.zoho.concurrency import InFlightLimit, is_heavy
from target_zoho_leads.zoho.credits import CreditMeter, api_call_credits, call_kind, charged
from target_zoho_leads.zoho.errors import (
    ZohoAPIError,
    ZohoRetriesExhaustedError,
    ZohoTransientError,
    ZohoUntrustedHostError,
)
from target_zoho_leads.zoho.hosts import token_may_go_to, upload_origin
from target_zoho_leads.zoho.org_clock import OrgClock
from target_zoho_leads.zoho.replies import (
    HTTP_TOO_MANY_REQUESTS,
    HTTP_UNAUTHORIZED,
    TOO_MANY_REQUESTS_HINT,
    answer_code,
    checked,
    json_of,
    token_refused,
)
from target_zoho_leads.zoho.retrying import with_retries
from target_zoho_leads.zoho.scopes import scope_for
from target_zoho_leads.zoho.shapes import FIELDS, ROWS, Fields, Rows
from target_zoho_leads.zoho.transport import MAX_JSON_BYTES, Answer, Transport, new_session
from target_zoho_leads.zoho.write_items import WRITE_ANSWER, ItemDetails, ItemsAnswer, WriteItem

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import requests

    from target_zoho_leads.zoho.auth import ZohoAuth

logger = logging.getLogger(__name__)

_encode = msgspec.json.Encoder().encode

MAX_RECORDS_PER_WRITE = 100  # Zoho's limit for one insert or update call
# The most bytes each kind of answer may have; nothing Zoho documents comes
# near. A 100-record write answer, a COQL or search page of 200 rows, a job's
# status: tens of kilobytes. A module's field metadata, picklists included,
# is the largest JSON answer: a few MB for an org with hundreds of fields.
MAX_ANSWER_BYTES = MAX_JSON_BYTES
MAX_FIELDS_BYTES = 32 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class _Call:
    """One request as every try of it is sent."""

    method: str
    origin: str | None  # None: the API domain, read at each try (a new token may move it)
    target: str  # path and query
    name: str  # METHOD path, for messages (no query: it may hold an email)
    scope: str  # named if Zoho says the token lacks it
    headers: Mapping[str, str]
    body: bytes | None
    credits: int  # what Zoho charges if it does the call
    heavy: bool  # counts against Zoho's sub-concurrency
    limit: int  # the most bytes its answer may have


class ZohoCRMClient:
    """Makes every Zoho call with one session, an adaptive in-flight limit and one retry policy.

    Every call, of the records API or of Bulk Write (uploads, jobs, result
    downloads), goes through :meth:`request`: across all threads no more
    are in flight than the limit, which starts at 5 (or ``max_concurrency``
    if lower), halves on a 429 and grows back towards ``max_concurrency``;
    COQL and writes of more than 10 records never exceed Zoho's 10 at once.
    Each call carries the current access token, only to a host that may
    have it; a refused token is refreshed once and the call repeated, and
    transient failures are retried with backoff.
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
        self.org_clock = OrgClock()  # shared by the counting clones
        # Calls and credits by kind, and max_credits; shared by the clones too.
        self.meter = CreditMeter()
        self._on_call = on_call or _count_nothing

    def counting_calls_with(self, on_call: Callable[[int, int | None], None]) -> ZohoCRMClient:
        """A client sharing this one's token, session and in-flight limit, counting elsewhere.

        Each stream gets one, so its summary line reports its own API calls
        and credits while the in-flight limit still holds across all streams.
        """
        clone = copy.copy(self)
        clone._on_call = on_call  # noqa: SLF001
        return clone

    def upload_origin(self) -> str:
        """Where Bulk Write uploads go for this account (see :func:`hosts.upload_origin`)."""
        return upload_origin(self.auth.api_domain)

    def request(  # noqa: PLR0913 - each keyword is one caller's need
        self,
        method: str,
        path: str,
        *,
        origin: str | None = None,
        scope: str = "",
        json: t.Any = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: dict[str, t.Any] | None = None,
        settle_ambiguous: bool = False,
        on_resend: Callable[[], None] | None = None,
        items: msgspec.json.Decoder[ItemsAnswer] | None = None,
        shape: msgspec.json.Decoder[t.Any] | None = None,
        raw: bool = False,
        limit: int = MAX_ANSWER_BYTES,
    ) -> t.Any:
        """Make one Zoho call and return its JSON answer (``None`` for 204).

        Args:
            method: HTTP method.
            path: Below ``/crm/{version}`` (``/Leads``) on the API domain;
                with ``origin``, the whole path on that origin.
            origin: ``scheme://host[:port]`` of a call off the records API
                (a Bulk Write job, an upload, a result link). The token goes
                there only if :func:`hosts.token_may_go_to` allows it.
            scope: The OAuth scope the call needs, named if Zoho says it is
                missing (default: by the path, :func:`scopes.scope_for`).
            json: Request body, as JSON.
            body: Request body, as bytes (with its ``Content-Type`` in ``headers``).
            headers: Sent besides the token.
            params: Query parameters.
            settle_ambiguous: When a write's answer is lost, raise the
                ``ZohoTransientError`` (``ambiguous=True``) at once instead of
                re-sending, so the caller can find out what happened first.
            on_resend: Told each time a write whose answer was lost is sent
                again (it may then be applied twice).
            items: Reads an answer of per-record items straight into their
                typed form (see :class:`WriteItem`); other answers are JSON.
            shape: Reads the answer into this typed form (:mod:`shapes`).
            raw: Return the answer's bytes instead of its JSON (a result file).
            limit: The most bytes the answer may have.

        Raises:
            ZohoUntrustedHostError: ``origin`` may not receive the token; nothing was sent.
            ZohoTransientError: A lost write answer, with ``settle_ambiguous``.
            ZohoRetriesExhaustedError: Transient failures outlasted the retries.
            ZohoAnswerTooLargeError: The answer was longer than ``limit``.
            ZohoAPIError: Zoho refused the call, or its answer is not of ``shape``
                (``UNEXPECTED_ANSWER``).
        """
        call = self._call(
            method,
            path,
            origin=origin,
            scope=scope,
            json=json,
            body=body,
            headers=headers,
            params=params,
            limit=limit,
        )

        def attempt() -> t.Any:
            answer = self._attempt(call)
            return answer.body if raw else json_of(answer, call.name, items, shape)

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
            msg = f"{call.name} still failing after {self.max_retries} tries: {exc}"
            if exc.status == HTTP_TOO_MANY_REQUESTS:
                msg += f" ({TOO_MANY_REQUESTS_HINT})"
            raise ZohoRetriesExhaustedError(msg, code=exc.code, status=exc.status) from None

    def _call(  # noqa: PLR0913 - the parts of one request
        self,
        method: str,
        path: str,
        *,
        origin: str | None,
        scope: str,
        json: t.Any,
        body: bytes | None,
        headers: Mapping[str, str] | None,
        params: dict[str, t.Any] | None,
        limit: int,
    ) -> _Call:
        """Build the request once; refuse an origin the token may not go to."""
        if origin is None:
            path = f"/crm/{self.api_version}{path}"
        else:
            self._check_origin(origin, f"{method} {path}")
        name = f"{method} {path.split('?', 1)[0]}"
        extra = dict(headers or {})
        if json is not None:
            # msgspec encodes a 100-lead body several times faster than the
            # json module; every insert call pays that.
            body = _encode(json)
            extra["Content-Type"] = "application/json"
        return _Call(
            method=method,
            origin=origin,
            target=path + ("?" + urlencode(params) if params else ""),
            name=name,
            scope=scope or scope_for(name),
            headers=extra,
            body=body,
            credits=api_call_credits(method, path, json),
            heavy=is_heavy(method, path, json),
            limit=limit,
        )

    def _check_origin(self, origin: str, name: str) -> None:
        """Raise unless the access token may go to ``origin``."""
        api_domain = self.auth.api_domain
        if not token_may_go_to(
            origin, api_domain=api_domain, allowed_hosts=self.auth.allowed_hosts
        ):
            msg = (
                f"{name}: the host is not one of Zoho's (nor loopback for a local sandbox, "
                "nor in allowed_hosts); the access token is not sent there"
            )
            raise ZohoUntrustedHostError(msg, code="UNTRUSTED_HOST")

    def _attempt(self, call: _Call) -> Answer:
        """One try, repeated once with a new token if Zoho refused the old one."""
        code = ""
        for _ in range(2):
            token = self.auth.token()
            answer = self._send(call, token)
            if not token_refused(answer):
                return checked(answer, call.name, call.scope)
            code = answer_code(answer)
            logger.info("Access token refused (%s); refreshing it once", code)
            self.auth.invalidate(token)
        msg = f"{call.name}: Zoho refused a freshly minted access token ({code})"
        raise ZohoAPIError(msg, code=code, status=HTTP_UNAUTHORIZED)

    def _send(self, call: _Call, token: str) -> Answer:
        """Send the request within a place in flight; count it and its credits."""
        headers = {"Authorization": f"Zoho-oauthtoken {token}", **call.headers}
        origin = call.origin or self.auth.api_domain
        kind = call_kind(call.method, call.target.split("?", 1)[0])
        self.meter.reserve(kind, call.credits)  # raises before a call past max_credits
        status: int | None = None
        with self.in_flight.slot(heavy=call.heavy) as ticket:
            cost = 0
            try:
                answer = self.transport.send(
                    call.method,
                    origin,
                    call.target,
                    name=call.name,
                    headers=headers,
                    body=call.body,
                    limit=call.limit,
                )
                status = answer.status
                ticket.answered(answer.status)
                self.org_clock.saw(answer.headers)
                if charged(answer.status, token_refused=token_refused(answer)):
                    cost = call.credits
            finally:
                self.meter.settle(kind, call.credits, cost, status)
                self._on_call(cost, self.in_flight.settled())
        return answer

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
        """Run a COQL select; return its rows and whether more pages follow.

        Raises:
            ZohoAPIError: As for :meth:`request`; ``UNEXPECTED_ANSWER`` for
                an answer that is not a page of rows.
        """
        return rows_of(self.request("POST", "/coql", json={"select_query": query}, shape=ROWS))

    def search(
        self, criteria: str, page: int = 1, module: str = "Leads", **extra: str
    ) -> tuple[list[dict[str, t.Any]], bool]:
        """Run a search of ``module``; return the rows and whether more pages follow.

        Raises:
            ZohoAPIError: As for :meth:`coql_page`.
        """
        params = {"criteria": criteria, "page": page, "per_page": 200, **extra}
        return rows_of(self.request("GET", f"/{module}/search", params=params, shape=ROWS))

    def fields(self, module: str = "Leads") -> list[dict[str, t.Any]]:
        """Return the module's field metadata.

        Raises:
            ZohoAPIError: As for :meth:`coql_page`.
        """
        answer: Fields | None = self.request(
            "GET",
            "/settings/fields",
            params={"module": module},
            shape=FIELDS,
            limit=MAX_FIELDS_BYTES,
        )
        return list(answer.fields or []) if answer else []


def rows_of(answer: Rows | None) -> tuple[list[dict[str, t.Any]], bool]:
    """The rows of a page (none for 204) and whether Zoho has more."""
    if answer is None:
        return [], False
    return list(answer.data or []), bool(answer.info and answer.info.more_records)


def _count_nothing(cost: int, concurrency: int | None) -> None:
    del cost, concurrency


__all__ = [
    "MAX_RECORDS_PER_WRITE",
    "ItemDetails",
    "WriteItem",
    "ZohoCRMClient",
    "new_session",
]
