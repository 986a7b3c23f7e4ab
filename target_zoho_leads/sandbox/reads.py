"""The read endpoints: COQL, record search and field metadata."""

from __future__ import annotations

import copy
import typing as t

from target_zoho_leads.sandbox import coql
from target_zoho_leads.sandbox.items import error_item
from target_zoho_leads.sandbox.query_error import QueryError
from target_zoho_leads.sandbox.routing import Answer, Call, error_answer, json_body
from target_zoho_leads.sandbox.search import (
    MAX_PER_PAGE,
    MAX_RECORDS,
    parse_criteria,
    simple_matcher,
)

if t.TYPE_CHECKING:
    from target_zoho_leads.sandbox.state import Knobs
    from target_zoho_leads.sandbox.store import LeadStore

SEARCH_PARAMS = ("criteria", "email", "phone", "word")
SCOPE_MISMATCH = error_item("OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL")


def run_coql(call: Call, store: LeadStore, knobs: Knobs) -> Answer:
    """``POST /coql``: run a COQL ``select`` over the leads (no search lag).

    Args:
        call: The request.
        store: The leads.
        knobs: The sandbox knobs (``coql_scope``).

    Returns:
        200 with rows, 204 when none match, or Zoho's error.
    """
    if not knobs.coql_scope:
        return Answer(401, dict(SCOPE_MISMATCH))
    body = json_body(call)
    if isinstance(body, Answer):
        return body
    query = body.get("select_query")
    if not isinstance(query, str) or not query.strip():
        details = {"param_name": "select_query"}
        return error_answer(400, "REQUIRED_PARAM_MISSING", "mandatory param missing", details)
    try:
        result = coql.run(query, store.all(), store.fields)
    except QueryError as error:
        return Answer(400, error.body())
    return Answer(200, result) if result else Answer(204, None)


def _paging(call: Call) -> tuple[int, int] | Answer:
    """``page`` and ``per_page`` of a search, or the 400 refusing them."""
    try:
        page = int(call.param("page") or 1)
        per_page = int(call.param("per_page") or MAX_PER_PAGE)
    except ValueError:
        return error_answer(400, "INVALID_DATA", "invalid data", {"param_name": "page"})
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        details = {"param_name": "per_page"}
        return error_answer(400, "INVALID_DATA", "invalid data", details)
    if page * per_page > MAX_RECORDS:
        message = "maximum response iteration limit reached"
        details = {"limit": str(MAX_RECORDS)}
        return error_answer(400, "LIMIT_REACHED", message, details)
    return page, per_page


def search(call: Call, store: LeadStore, knobs: Knobs) -> Answer:
    """``GET /Leads/search``: criteria, email, phone or word search.

    Args:
        call: The request.
        store: The leads; those younger than the search lag are not seen.
        knobs: The sandbox knobs (``search_lag_seconds``).

    Returns:
        200 with whole records, 204 when none match, or Zoho's error.
    """
    given = {name: value for name in SEARCH_PARAMS if (value := call.param(name))}
    if not given:
        message = "One of the expected parameter is missing"
        details = {"param_names": list(SEARCH_PARAMS)}
        return error_answer(400, "REQUIRED_PARAM_MISSING", message, details)
    paging = _paging(call)
    if isinstance(paging, Answer):
        return paging
    page, per_page = paging
    try:
        test = (
            parse_criteria(given["criteria"], store.fields)
            if "criteria" in given
            else simple_matcher(given, store.fields)
        )
    except QueryError as error:
        return Answer(400, error.body())
    matched = [lead for lead in store.visible(knobs.search_lag_seconds) if test(lead)]
    start = (page - 1) * per_page
    data = matched[start : start + per_page]
    if not data:
        return Answer(204, None)
    wanted = call.param("fields")
    if wanted:
        names = ["id", *wanted.split(",")]
        data = [{name: lead.get(name) for name in names} for lead in data]
    more = len(matched) > start + per_page
    info = {
        "per_page": per_page,
        "count": len(data),
        "page": page,
        "more_records": more,
    }
    return Answer(200, {"data": data, "info": info})


def fields(call: Call, store: LeadStore, knobs: Knobs) -> Answer:
    """``GET /settings/fields?module=Leads``: the Leads field metadata.

    Args:
        call: The request.
        store: Holds the field metadata.
        knobs: The sandbox knobs (``unique_fields`` shows in ``unique``).

    Returns:
        200 with ``fields``, or Zoho's error for a missing or other module.
    """
    module = call.param("module")
    if not module:
        details = {"param_name": "module"}
        return error_answer(400, "REQUIRED_PARAM_MISSING", "mandatory param missing", details)
    if module.lower() != "leads":
        message = "the module name given seems to be invalid"
        return error_answer(400, "INVALID_MODULE", message, {"api_name": "module"})
    answer = []
    for field in store.fields.values():
        copied = copy.deepcopy(field)
        if field["api_name"] in knobs.unique_fields:
            copied["unique"] = {"casesensitive": "false"}
        answer.append(copied)
    return Answer(200, {"fields": answer})
