"""The read endpoints: COQL, record search and field metadata."""

from __future__ import annotations

import copy
import typing as t

from zoho_sandbox import coql, coql_plan
from zoho_sandbox.coql_eval import EvalRules, Query
from zoho_sandbox.duplicate_check import is_converted
from zoho_sandbox.field_catalog import CONVERTED_FLAG
from zoho_sandbox.items import error_item
from zoho_sandbox.query_error import QueryError
from zoho_sandbox.routing import (
    SERVED_MODULES,
    Answer,
    Call,
    error_answer,
    json_body,
)
from zoho_sandbox.search import (
    MAX_PER_PAGE,
    MAX_RECORDS,
    Test,
    parse_criteria,
    simple_matcher,
)

if t.TYPE_CHECKING:
    from zoho_sandbox.state import Knobs
    from zoho_sandbox.store import RecordStore

    Stores = dict[str, RecordStore]

SEARCH_PARAMS = ("criteria", "email", "phone", "word")
# Search's ``converted`` parameter: which leads it answers (Zoho's default: false).
CONVERTED_CHOICES: dict[str, Test] = {
    "false": lambda record: not is_converted(record),
    "true": is_converted,
    "both": lambda _record: True,
}
# The ``crypt`` block of an encrypted field, as Zoho's field metadata gives it.
ENCRYPTED = {"mode": "decryption", "status": 1}
SCOPE_MISMATCH = error_item("OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL")


def run_coql(call: Call, stores: Stores, knobs: Knobs) -> Answer:
    """``POST /coql``: run a COQL ``select`` over Leads or Contacts (no search lag).

    Args:
        call: The request.
        stores: The records by lower-cased module name.
        knobs: The sandbox knobs (``coql_scope``, ``contacts_scope``,
            ``coql_case_sensitive``, ``coql_hides_converted``).

    Returns:
        200 with rows, 204 when none match, or Zoho's error.
    """
    if not knobs.coql_scope:
        return Answer(401, dict(SCOPE_MISMATCH))
    body = json_body(call)
    if isinstance(body, Answer):
        return body
    text = body.get("select_query")
    if not isinstance(text, str) or not text.strip():
        details = {"param_name": "select_query"}
        return error_answer(400, "REQUIRED_PARAM_MISSING", "mandatory param missing", details)
    try:
        query = coql.parse(text)
        module = _coql_module(query)
        if module == "Contacts" and not knobs.contacts_scope:
            return Answer(401, dict(SCOPE_MISMATCH))
        store = stores[module.lower()]
        rules = EvalRules(knobs.coql_case_sensitive, frozenset(knobs.encrypted_fields))
        result = query.run(_coql_records(store, query, knobs), store.fields, rules)
    except QueryError as error:
        return Answer(400, error.body())
    answer = Answer(200, result) if result else Answer(204, None)
    answer.coql_limit = query.limit
    return answer


def _coql_module(query: Query) -> str:
    """The served module a query reads, or Zoho's INVALID_QUERY."""
    module = SERVED_MODULES.get(query.module.lower())
    if module is None:
        raise QueryError(
            code="INVALID_QUERY",
            message="invalid query formed",
            details={"module": query.module},
        )
    return module


def _coql_records(store: RecordStore, query: Query, knobs: Knobs) -> list[dict[str, t.Any]]:
    """The records a query reads: converted leads only if its criteria name their flag.

    Zoho's views and reports leave converted leads out; COQL was seen doing the
    same unless the ``where`` clause tests ``Converted__s``
    (``coql_hides_converted`` turns this off).
    """
    records = store.select(lambda lookup: coql_plan.candidates(query.where, store.fields, lookup))
    if knobs.coql_hides_converted and CONVERTED_FLAG.lower() not in query.names():
        return [record for record in records if not is_converted(record)]
    return records


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


def search(call: Call, stores: Stores, knobs: Knobs) -> Answer:
    """``GET /{module}/search``: criteria, email, phone or word search.

    Converted leads are left out unless ``converted`` is ``true`` (only them)
    or ``both``, as Zoho documents.

    Args:
        call: The request.
        stores: The records by module; those younger than the search lag are not seen.
        knobs: The sandbox knobs (``search_lag_seconds``).

    Returns:
        200 with whole records, 204 when none match, or Zoho's error.
    """
    store = stores[call.module.lower()]
    given = {name: value for name in SEARCH_PARAMS if (value := call.param(name))}
    if not given:
        message = "One of the expected parameter is missing"
        details = {"param_names": list(SEARCH_PARAMS)}
        return error_answer(400, "REQUIRED_PARAM_MISSING", message, details)
    paging = _paging(call)
    if isinstance(paging, Answer):
        return paging
    page, per_page = paging
    converted = CONVERTED_CHOICES.get(call.param("converted") or "false")
    if converted is None:
        return error_answer(400, "INVALID_DATA", "invalid data", {"param_name": "converted"})
    try:
        test = (
            parse_criteria(given["criteria"], store.fields, set(knobs.encrypted_fields))
            if "criteria" in given
            else simple_matcher(given, store.fields)
        )
    except QueryError as error:
        return Answer(400, error.body())
    # No index here: ``equals`` matches text *containing* the value, which an
    # exact-value index cannot answer; testing before copying keeps it cheap.
    matched = store.visible(knobs.search_lag_seconds, lambda lead: converted(lead) and test(lead))
    start = (page - 1) * per_page
    data = matched[start : start + per_page]
    if not data:
        return Answer(204, None)
    if call.module == "Leads":
        # A whole lead says whether it was converted, so converted=both can be told apart.
        data = [{**lead, CONVERTED_FLAG: is_converted(lead)} for lead in data]
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


def fields(call: Call, stores: Stores, knobs: Knobs) -> Answer:
    """``GET /settings/fields?module=Leads`` (or Contacts): the module's field metadata.

    Args:
        call: The request.
        stores: The stores, which hold the field metadata.
        knobs: The sandbox knobs (``unique_fields`` shows in Leads' ``unique``,
            ``encrypted_fields`` in ``crypt``).

    Returns:
        200 with ``fields``, or Zoho's error for a missing or other module.
    """
    module = call.param("module")
    if not module:
        details = {"param_name": "module"}
        return error_answer(400, "REQUIRED_PARAM_MISSING", "mandatory param missing", details)
    if module.lower() not in SERVED_MODULES:
        message = "the module name given seems to be invalid"
        return error_answer(400, "INVALID_MODULE", message, {"api_name": "module"})
    if module.lower() == "contacts" and not knobs.contacts_scope:
        return Answer(401, dict(SCOPE_MISMATCH))
    leads = module.lower() == "leads"
    answer = []
    for field in stores[module.lower()].fields.values():
        copied = copy.deepcopy(field)
        if leads and field["api_name"] in knobs.unique_fields:
            copied["unique"] = {"casesensitive": "false"}
        if field["api_name"] in knobs.encrypted_fields:
            copied["crypt"] = dict(ENCRYPTED)
        answer.append(copied)
    return Answer(200, {"fields": answer})
