"""Zoho API credits: what each call costs the org (Kaizen #103, the v8 API-limits page).

Inserts, updates and upserts cost 1 credit per 10 records, rounded up, per
call; COQL 1, 2 or 3 credits for a LIMIT up to 200, 1,000 or 2,000;
creating a Bulk Write job 500; any other call 1. A call Zoho turns away
before doing any work costs nothing: refused for concurrency or spent
credits (429), for its access token (401 ``INVALID_TOKEN``), a server error,
or one that got no answer. Token requests are not API calls.
"""

from __future__ import annotations

import math
import re
import threading
import typing as t

from target_zoho_leads.zoho.errors import ZohoAPIError

RECORDS_PER_CREDIT = 10
BULK_WRITE_JOB_CREDITS = 500
# (highest LIMIT, credits) for COQL, in rising order; no LIMIT means 200.
COQL_CREDITS = ((200, 1), (1000, 2), (2000, 3))
COQL_DEFAULT_LIMIT = 200
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500

_BULK_JOBS = re.compile(r"/crm/bulk/[^/]+/write/?")
_QUOTED = re.compile(r"'(?:[^']|'')*'")
# ``limit N``, ``limit N offset M`` or ``limit M, N`` (offset first).
_LIMIT = re.compile(r"\blimit\s+(\d+)(?:\s*,\s*(\d+))?", re.IGNORECASE)


def coql_limit(query: str) -> int:
    """The LIMIT of a COQL select (200 when it names none); quoted values are skipped."""
    found = _LIMIT.findall(_QUOTED.sub("''", query))
    if not found:
        return COQL_DEFAULT_LIMIT
    first, second = found[-1]
    return int(second or first)


def coql_credits(limit: int) -> int:
    """The credits of a COQL query with this LIMIT."""
    for highest, cost in COQL_CREDITS:
        if limit <= highest:
            return cost
    return COQL_CREDITS[-1][1]


def api_call_credits(method: str, path: str, body: t.Any) -> int:
    """The credits of one call that Zoho handled, whatever host it went to.

    Args:
        method: HTTP method.
        path: Its path, whole (``/crm/v8/coql``) or below ``/crm/{version}``
            (``/coql``).
        body: The JSON body sent, if any.
    """
    if path.endswith("/coql"):
        query = body.get("select_query") if isinstance(body, dict) else None
        return coql_credits(coql_limit(query if isinstance(query, str) else ""))
    if method == "POST" and _BULK_JOBS.fullmatch(path):
        return BULK_WRITE_JOB_CREDITS
    data = body.get("data") if isinstance(body, dict) else None
    if method in WRITE_METHODS and isinstance(data, list):
        return max(1, math.ceil(len(data) / RECORDS_PER_CREDIT))
    return 1


def charged(status: int, *, token_refused: bool) -> bool:
    """Whether Zoho charges for a call it answered with ``status``.

    Args:
        status: The HTTP status of the answer.
        token_refused: Zoho refused the access token itself (401
            ``INVALID_TOKEN`` or ``AUTHENTICATION_FAILURE``).
    """
    return not (token_refused or status == HTTP_TOO_MANY_REQUESTS or status >= HTTP_SERVER_ERROR)


# What the run report counts calls and credits by.
CALL_KINDS = ("records", "coql", "bulk", "other")
_RECORDS = re.compile(r"/crm/[^/]+/(?:Leads|Contacts)(?:/|$)")


def call_kind(method: str, path: str) -> str:
    """Which kind a call is, for the report: records, coql, bulk (jobs, uploads, results), other.

    Args:
        method: HTTP method (a Bulk Write upload is a POST like any other).
        path: The whole path (``/crm/v8/Leads``, ``/crm/bulk/v8/write/1``).
    """
    del method  # the path alone tells; kept so the kind reads as the cost does
    if path.endswith("/coql"):
        return "coql"
    if "/bulk" in path.lower() or path.endswith("/upload"):
        return "bulk"
    return "records" if _RECORDS.match(path) else "other"


class CreditBudgetSpentError(ZohoAPIError):
    """A call was not sent: it could take the run past ``max_credits``."""


class CreditMeter:
    """The run's calls and credits by kind, and the budget no call may pass.

    Every attempt is reserved at its full cost before it is sent (calls run
    in parallel, so what is in flight counts), and settled at what Zoho
    charged once it ends. Once a call is refused the budget is closed: a
    cheaper call after it would write records past ones left unwritten.
    """

    def __init__(self, max_credits: int | None = None) -> None:
        """Start at nothing spent; ``max_credits`` None: no budget."""
        self.max_credits = max_credits
        self.calls: dict[str, int] = dict.fromkeys(CALL_KINDS, 0)
        self.credits: dict[str, int] = dict.fromkeys(CALL_KINDS, 0)
        self.too_many_requests = 0
        self.stopped = False
        self._reserved = 0
        self._lock = threading.Lock()

    def reserve(self, kind: str, cost: int) -> None:
        """Hold ``cost`` credits for a call about to be sent.

        Raises:
            CreditBudgetSpentError: The call could pass ``max_credits``; it must not be sent.
        """
        with self._lock:
            limit = self.max_credits
            if limit is not None and (self.stopped or self.spent + self._reserved + cost > limit):
                self.stopped = True
                msg = f"max_credits {limit} reached: a {kind} call of {cost} credits was not sent"
                raise CreditBudgetSpentError(msg, code="MAX_CREDITS")
            self._reserved += cost

    def settle(self, kind: str, reserved: int, charged: int, status: int | None) -> None:
        """A reserved call ended: count it at what Zoho charged (0 for a 429, 5xx, no answer)."""
        with self._lock:
            self._reserved -= reserved
            self.calls[kind] += 1
            self.credits[kind] += charged
            self.too_many_requests += status == HTTP_TOO_MANY_REQUESTS

    @property
    def spent(self) -> int:
        """Credits Zoho charged so far, all kinds."""
        return sum(self.credits.values())
