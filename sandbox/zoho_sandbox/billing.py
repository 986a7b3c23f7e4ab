"""Zoho's API credits: what each call costs the org (Kaizen #103, the v8 API-limits page).

Inserts, updates and upserts cost 1 credit per 10 records (rounded up); COQL
1, 2 or 3 credits for a LIMIT up to 200, 1,000 or 2,000; creating a Bulk Write
job 500; other calls 1. Calls refused before any work (429, 401, dropped)
cost nothing here.
"""

from __future__ import annotations

import math
import typing as t

from zoho_sandbox.gates import WRITE_HANDLERS, record_count

if t.TYPE_CHECKING:
    from zoho_sandbox.routing import Route

RECORDS_PER_CREDIT = 10
BULK_WRITE_JOB_CREDITS = 500
# (highest LIMIT, credits) for COQL, in rising order.
COQL_CREDITS = ((200, 1), (1000, 2), (2000, 3))


def coql_credits(limit: int) -> int:
    """The credits of a COQL query with this LIMIT."""
    for highest, cost in COQL_CREDITS:
        if limit <= highest:
            return cost
    return COQL_CREDITS[-1][1]


def call_credits(found: Route, body: object, coql_limit: int | None) -> int:
    """The credits of one call the API handled.

    Args:
        found: The call's route.
        body: Its JSON body (None when it had none or it was not JSON).
        coql_limit: The LIMIT of a COQL query that parsed, else None.

    Returns:
        The credits Zoho would charge.
    """
    if found.handler == "coql" and coql_limit is not None:
        return coql_credits(coql_limit)
    if found.handler in WRITE_HANDLERS:
        return max(1, math.ceil(record_count(body) / RECORDS_PER_CREDIT))
    if found.handler == "bulk_create":
        return BULK_WRITE_JOB_CREDITS
    return 1
