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
import typing as t

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
