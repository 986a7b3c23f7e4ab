"""Zoho's limits: org and sub-concurrency, the token-mint block, API credits, encrypted fields."""

from __future__ import annotations

import concurrent.futures
import typing as t

import pytest
import requests
from zoho_sandbox.gates import ConcurrencyGates
from zoho_sandbox.state import Knobs

from .conftest import TIMEOUT
from .oas import response_schema, validate

if t.TYPE_CHECKING:
    from .conftest import Zoho

TOO_MANY = {
    "code": "TOO_MANY_REQUESTS",
    "details": {},
    "message": "too many requests",
    "status": "error",
}
ACCESS_DENIED = {
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


def at_once(zoho: Zoho, count: int, method: str, path: str, **kwargs: t.Any) -> list[int]:
    """Make ``count`` identical calls at once, each on its own session; their statuses."""
    token, url = zoho.token, zoho.sandbox.url

    def one(_: int) -> int:
        with requests.Session() as session:
            return session.request(
                method,
                f"{url}/crm/v8/{path}",
                headers={"Authorization": f"Zoho-oauthtoken {token}"},
                timeout=TIMEOUT,
                **kwargs,
            ).status_code

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return sorted(pool.map(one, range(count)))


def records(count: int) -> dict[str, t.Any]:
    """A write body of ``count`` leads."""
    return {"data": [{"Last_Name": f"L{i}"} for i in range(count)]}


def test_the_gates_admit_up_to_each_limit_and_count_only_heavy_calls_as_heavy():
    """Org limit for every call, sub-concurrency only for heavy ones; leave frees a place."""
    gates, knobs = ConcurrencyGates(), Knobs(org_concurrency=3, sub_concurrency=1)
    assert gates.enter(knobs, heavy=True) is None
    assert gates.enter(knobs, heavy=True) == "sub"
    assert gates.enter(knobs, heavy=False) is None
    assert gates.enter(knobs, heavy=False) is None
    assert gates.enter(knobs, heavy=False) == "org"
    gates.leave(heavy=True)
    assert gates.enter(knobs, heavy=True) is None


def test_zoho_allows_ten_heavy_calls_at_once_by_default():
    """sub_concurrency is 10, as on every Zoho edition; org_concurrency is off."""
    knobs = Knobs()
    assert (knobs.sub_concurrency, knobs.org_concurrency) == (10, 0)


def test_coql_calls_beyond_the_sub_concurrency_answer_429(zoho: Zoho):
    """With sub_concurrency=1, COQL arriving while one runs is refused; other calls are not."""
    zoho.sandbox.configure(latency_ms=1000, sub_concurrency=1)
    query = {"select_query": "select id from Leads where Email = 'a@x.com'"}
    assert at_once(zoho, 3, "POST", "coql", json=query) == [204, 429, 429]
    fields = at_once(zoho, 3, "GET", "settings/fields", params={"module": "Leads"})
    assert fields == [200, 200, 200]
    stats = zoho.sandbox.stats()
    assert stats["concurrency_429"] == {"org": 0, "sub": 2}
    assert stats["faults"]["429"] == 2


@pytest.mark.parametrize(("size", "expected"), [(11, [201, 429, 429]), (10, [201, 201, 201])])
def test_only_writes_of_more_than_ten_records_count_against_the_sub_concurrency(
    zoho: Zoho, size, expected
):
    """Kaizen #203: inserts of 11 records are heavy, inserts of 10 are not."""
    zoho.sandbox.configure(latency_ms=1000, sub_concurrency=1)
    assert at_once(zoho, 3, "POST", "Leads", json=records(size)) == expected


def test_the_org_concurrency_429_has_zoho_s_body_and_is_counted(zoho: Zoho):
    """org_concurrency refuses any call beyond it with TOO_MANY_REQUESTS."""
    zoho.sandbox.configure(latency_ms=1000, org_concurrency=2)
    assert at_once(zoho, 3, "GET", "settings/fields", params={"module": "Leads"}) == [
        200,
        200,
        429,
    ]
    zoho.sandbox.configure(latency_ms=0, org_concurrency=0, fail_429_rate=1)
    answer = zoho.call("GET", "settings/fields", params={"module": "Leads"})
    assert (answer.status_code, answer.json()) == (429, TOO_MANY)
    stats = zoho.sandbox.stats()
    assert (stats["concurrency_429"]["org"], stats["faults"]["429"]) == (1, 2)


def test_mints_past_the_limit_are_access_denied_for_the_rest_of_the_window(zoho: Zoho):
    """Zoho's block: HTTP 400 with its exact body, counted as a token denial."""
    zoho.sandbox.configure(token_limit=2)
    assert [zoho.mint().status_code for _ in range(2)] == [200, 200]
    denied = zoho.mint()
    assert (denied.status_code, denied.json()) == (400, ACCESS_DENIED)
    stats = zoho.sandbox.stats()
    assert (stats["tokens_minted"], stats["token_denials"]) == (2, 1)


def test_token_block_seconds_blocks_minting_for_that_long_then_lifts(zoho: Zoho):
    """Past the limit the block lasts token_block_seconds, even after the window passed."""
    zoho.sandbox.configure(token_limit=1, token_window_seconds=60, token_block_seconds=300)
    assert zoho.mint().status_code == 200
    assert zoho.mint().status_code == 400
    zoho.sandbox.advance_clock(61)
    assert zoho.mint().status_code == 400, "the window passed, the block has not"
    zoho.sandbox.advance_clock(238)
    assert zoho.mint().status_code == 400, "the block lasts 300 s from the refused mint"
    zoho.sandbox.advance_clock(1)
    assert "access_token" in zoho.mint().json()


def test_a_token_block_can_be_started_over_admin_and_reset_lifts_it(zoho: Zoho):
    """POST /__sandbox/token_block blocks minting at once; reset() clears it."""
    url = f"{zoho.sandbox.url}/__sandbox/token_block"
    assert zoho.session.post(url, json={"seconds": 60}, timeout=TIMEOUT).json() == {"ok": True}
    assert zoho.mint().json() == ACCESS_DENIED
    assert zoho.session.post(url, json={"seconds": "x"}, timeout=TIMEOUT).status_code == 400
    zoho.sandbox.reset()
    assert "access_token" in zoho.mint().json()


@pytest.mark.parametrize(
    ("method", "path", "body", "cost"),
    [
        ("POST", "Leads", records(25), 3),
        ("POST", "Leads", records(10), 1),
        ("POST", "Leads/upsert", records(11), 2),
        ("POST", "coql", {"select_query": "select id from Leads where Last_Name = 'x'"}, 1),
        ("POST", "coql", {"select_query": "select id from Leads limit 200"}, 1),
        ("POST", "coql", {"select_query": "select id from Leads limit 201"}, 2),
        ("POST", "coql", {"select_query": "select id from Leads limit 1000"}, 2),
        ("POST", "coql", {"select_query": "select id from Leads limit 1001"}, 3),
        ("POST", "coql", {"select_query": "select id from Leads limit 10, 2000"}, 3),
        ("POST", "coql", {"select_query": "select id from"}, 1),
        ("GET", "settings/fields?module=Leads", None, 1),
    ],
)
def test_each_call_costs_zoho_s_credits(zoho: Zoho, method, path, body, cost):
    """1 per 10 records written; COQL 1/2/3 by LIMIT; other calls 1."""
    zoho.call(method, path, json=body)
    stats = zoho.sandbox.stats()
    route = next(iter(stats["calls"]))
    assert (stats["credits"], stats["credits_by_call"]) == (cost, {route: cost})


def test_updates_cost_credits_and_refused_calls_cost_none(zoho: Zoho, http):
    """An update of 12 costs 2; a 401 or a 429 costs nothing; admin reports the total."""
    ids = zoho.sandbox.seed([{"Last_Name": str(i)} for i in range(12)])
    zoho.call("PUT", "Leads", json={"data": [{"id": lead_id} for lead_id in ids]})
    http.post(f"{zoho.sandbox.url}/crm/v8/Leads", json=records(1), timeout=TIMEOUT)
    zoho.sandbox.configure(fail_429_rate=1)
    assert zoho.insert({"Last_Name": "x"}).status_code == 429
    stats = http.get(f"{zoho.sandbox.url}/__sandbox/stats", timeout=TIMEOUT).json()
    assert (stats["credits"], stats["credits_by_call"]) == (2, {"PUT /crm/v8/Leads": 2})


def test_encrypted_fields_are_marked_crypt_in_the_field_metadata(zoho: Zoho):
    """encrypted_fields fills the field's crypt block; others keep theirs empty."""
    zoho.sandbox.configure(encrypted_fields=["Email"])
    answer = zoho.call("GET", "settings/fields", params={"module": "Leads"})
    fields = {field["api_name"]: field for field in answer.json()["fields"]}
    assert fields["Email"]["crypt"] == {"mode": "decryption", "status": 1}
    assert fields["Phone"]["crypt"] == {"mode": None, "status": None}
    schema = response_schema("fields.json", "/crm/v8/settings/fields", "get", 200)
    validate(answer.json(), schema)


@pytest.mark.sandbox_knobs(encrypted_fields=["Email", "No_of_Employees"])
@pytest.mark.parametrize(
    ("where", "status"),
    [
        ("Email = 'a@x.com'", 400),
        ("Email in ('a@x.com', 'b@x.com')", 400),
        ("Email like 'a%'", 400),
        ("Email is not null", 200),
        ("No_of_Employees = 5", 200),
        ("No_of_Employees > 5", 400),
        ("Phone = '+1 555'", 200),
    ],
)
def test_coql_tests_an_encrypted_field_only_for_emptiness(zoho: Zoho, where, status):
    """Zoho: encrypted text fields take is [not] null only; numbers also = and !=."""
    zoho.sandbox.seed(
        [{"Last_Name": "A", "Email": "a@x.com", "No_of_Employees": 5, "Phone": "+1 555"}]
    )
    answer = zoho.coql(f"select id from Leads where {where}")  # noqa: S608
    assert answer.status_code == status
    validate(answer.json(), response_schema("coql.json", "/crm/v8/coql", "post", status))
    if status == 400:
        assert answer.json()["code"] == "INVALID_QUERY"
        assert answer.json()["details"]["column_name"] in {"Email", "No_of_Employees"}


@pytest.mark.sandbox_knobs(encrypted_fields=["Email"])
def test_search_matches_an_encrypted_field_with_equals_only(zoho: Zoho):
    """Zoho's search supports equals alone on encrypted fields."""
    zoho.sandbox.seed([{"Last_Name": "A", "Email": "a@x.com"}])
    assert zoho.search(criteria="(Email:equals:a@x.com)").status_code == 200
    refused = zoho.search(criteria="(Email:starts_with:a)")
    assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_QUERY")


def test_coql_takes_a_limit_of_2000_but_not_2001(zoho: Zoho):
    """LIMIT above 2,000 is LIMIT_EXCEEDED."""
    assert zoho.coql("select id from Leads limit 2000").status_code == 204
    too_many = zoho.coql("select id from Leads limit 2001")
    assert (too_many.status_code, too_many.json()["code"]) == (400, "LIMIT_EXCEEDED")


def test_more_records_is_false_on_the_page_that_ends_exactly_at_the_last_row(zoho: Zoho):
    """Paging by more_records visits every row once and stops."""
    ids = zoho.sandbox.seed([{"Last_Name": str(i)} for i in range(6)])
    seen, offset, more = [], 0, True
    while more:
        answer = zoho.coql(f"select id from Leads limit 3 offset {offset}")  # noqa: S608
        seen += [row["id"] for row in answer.json()["data"]]
        more, offset = answer.json()["info"]["more_records"], offset + 3
    assert (seen, offset) == (ids, 6)
