"""Fault knobs: 429s, 5xx, dropped and hanging connections, latency, concurrency."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest
import requests
from zoho_sandbox import ZohoSandbox

from .conftest import TIMEOUT, Zoho

TOO_MANY = {
    "code": "TOO_MANY_REQUESTS",
    "details": {},
    "message": "too many requests",
    "status": "error",
}


def fields_call(zoho: Zoho) -> requests.Response:
    """A cheap read call."""
    return zoho.call("GET", "settings/fields", params={"module": "Leads"})


def test_a_429_rate_of_one_answers_too_many_requests_without_retry_after(zoho: Zoho):
    """Zoho promises no Retry-After, so by default none is sent."""
    zoho.token  # noqa: B018 - mint before the fault knob is on
    zoho.sandbox.configure(fail_429_rate=1, seed=1)
    answer = zoho.insert({"Last_Name": "A"})
    assert (answer.status_code, answer.json()) == (429, TOO_MANY)
    assert "Retry-After" not in answer.headers
    assert zoho.sandbox.leads() == []
    assert zoho.sandbox.stats()["faults"]["429"] == 1


def test_retry_after_adds_the_header_to_429_answers(zoho: Zoho):
    """With retry_after set, 429 answers carry Retry-After."""
    zoho.sandbox.configure(fail_429_rate=1, retry_after=2)
    assert fields_call(zoho).headers["Retry-After"] == "2"


def test_a_5xx_rate_of_one_answers_a_server_error_with_a_zoho_body(zoho: Zoho):
    """5xx faults are 500, 502 or 503 with Zoho's INTERNAL_ERROR body."""
    zoho.sandbox.configure(fail_5xx_rate=1, seed=3)
    statuses = {fields_call(zoho).status_code for _ in range(6)}
    assert statuses <= {500, 502, 503}
    assert fields_call(zoho).json()["code"] == "INTERNAL_ERROR"
    assert zoho.sandbox.stats()["faults"]["5xx"] == 7


def test_faults_spare_the_token_endpoint_and_the_admin_endpoints(zoho: Zoho, http):
    """Only /crm calls are faulted; token faults need token_fail_rate."""
    zoho.sandbox.configure(fail_5xx_rate=1, drop_before_rate=1)
    assert "access_token" in zoho.mint().json()
    leads = http.get(f"{zoho.sandbox.url}/__sandbox/leads", timeout=TIMEOUT)
    assert leads.status_code == 200
    zoho.sandbox.configure(token_fail_rate=1)
    assert zoho.mint().status_code == 500


def test_drop_before_closes_the_connection_and_writes_nothing(zoho: Zoho):
    """The client sees a connection error and no lead is created."""
    zoho.token  # noqa: B018
    zoho.sandbox.configure(drop_before_rate=1)
    with pytest.raises(requests.ConnectionError):
        zoho.insert({"Last_Name": "A"})
    assert zoho.sandbox.leads() == []
    assert zoho.sandbox.stats()["faults"]["drop_before"] == 1
    assert zoho.sandbox.requests()[-1]["status"] is None


def test_drop_after_writes_the_lead_but_loses_the_answer(zoho: Zoho):
    """The write happened although the client only saw a connection error."""
    zoho.token  # noqa: B018
    zoho.sandbox.configure(drop_after_rate=1)
    with pytest.raises(requests.ConnectionError):
        zoho.insert({"Last_Name": "A"})
    assert [lead["Last_Name"] for lead in zoho.sandbox.leads()] == ["A"]
    stats = zoho.sandbox.stats()
    assert (stats["faults"]["drop_after"], stats["records_created"]) == (1, 1)
    assert zoho.sandbox.requests()[-1]["status"] is None


def test_a_hanging_call_times_out_and_stop_does_not_wait_for_it(http):
    """hang_rate keeps the client waiting; stop() ends the hang at once."""
    with ZohoSandbox(hang_rate=1, hang_seconds=5) as sb:
        zoho = Zoho(sb, http)
        zoho.token  # noqa: B018
        with pytest.raises(requests.Timeout):
            zoho.call("GET", "settings/fields", timeout=0.2)
        started = time.monotonic()
    assert time.monotonic() - started < 2
    assert sb.stats()["faults"]["hang"] == 1


def test_latency_delays_every_api_call(zoho: Zoho):
    """latency_ms is slept inside each call."""
    zoho.token  # noqa: B018
    zoho.sandbox.configure(latency_ms=100)
    started = time.monotonic()
    fields_call(zoho)
    assert time.monotonic() - started >= 0.1


def test_the_same_seed_gives_the_same_faults(http):
    """Fault draws are reproducible from the seed."""

    def statuses(seed: int) -> list[int]:
        with ZohoSandbox(fail_429_rate=0.5, seed=seed) as sb:
            zoho = Zoho(sb, http)
            return [fields_call(zoho).status_code for _ in range(12)]

    first = statuses(7)
    assert first == statuses(7)
    assert set(first) == {200, 429}


def concurrent_calls(zoho: Zoho, count: int) -> list[int]:
    """Make ``count`` calls at once, each on its own session; their statuses."""
    token, url = zoho.token, zoho.sandbox.url

    def one(_: int) -> int:
        with requests.Session() as session:
            return session.get(
                f"{url}/crm/v8/settings/fields",
                params={"module": "Leads"},
                headers={"Authorization": f"Zoho-oauthtoken {token}"},
                timeout=TIMEOUT,
            ).status_code

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_max_in_flight_counts_concurrent_calls(zoho: Zoho):
    """Calls overlapping in time show in max_in_flight."""
    # Each call is held until all three are in flight: overlap by design, not by timing.
    arrived = threading.Barrier(3, timeout=30)
    original = zoho.sandbox.api.handle

    def held(found, call):
        arrived.wait()
        return original(found, call)

    zoho.sandbox.api.handle = held
    assert concurrent_calls(zoho, 3) == [200, 200, 200]
    assert zoho.sandbox.stats()["max_in_flight"] == 3


def test_calls_beyond_the_org_concurrency_answer_429(zoho: Zoho):
    """With org_concurrency=1, calls arriving while one is in flight are refused."""
    zoho.sandbox.configure(latency_ms=300, org_concurrency=1, retry_after=1)
    statuses = concurrent_calls(zoho, 3)
    assert sorted(statuses) == [200, 429, 429]
    assert zoho.sandbox.stats()["faults"]["429"] == 2


def test_a_lost_answer_applies_the_nth_matching_call_then_hangs_up(zoho: Zoho):
    """The 2nd insert is stored but unanswered; the 1st and 3rd are answered."""
    zoho.token  # noqa: B018 - mint before the rule, so the token call is not in the way
    zoho.sandbox.lose_answer("POST /crm/v8/Leads", nth=2)
    assert zoho.insert({"Last_Name": "A"}).status_code == 201
    with pytest.raises(requests.ConnectionError):
        zoho.insert({"Last_Name": "B"})
    assert zoho.insert({"Last_Name": "C"}).status_code == 201
    assert [lead["Last_Name"] for lead in zoho.sandbox.leads()] == ["A", "B", "C"]
    stats = zoho.sandbox.stats()
    assert (stats["faults"]["lost_answer"], stats["records_created"]) == (1, 3)
    assert [entry["status"] for entry in zoho.sandbox.requests()[-3:]] == [201, None, 201]


def test_a_lost_answer_counts_only_calls_of_its_route_that_were_handled(zoho: Zoho, http):
    """Other routes and calls refused for their token do not move the count."""
    lead_id = zoho.sandbox.seed([{"Last_Name": "A"}])[0]
    answer = http.post(
        f"{zoho.sandbox.url}/__sandbox/config",
        json={"lose_answers": [f"PUT /crm/v8/Leads/{{id}}#{1}"]},
        timeout=TIMEOUT,
    )
    assert answer.json()["config"]["lose_answers"] == [{"call": "PUT /crm/v8/Leads/{id}", "nth": 1}]
    assert zoho.insert({"Last_Name": "B"}).status_code == 201
    unauthorised = http.put(
        f"{zoho.sandbox.url}/crm/v8/Leads/{lead_id}", json={"data": [{}]}, timeout=TIMEOUT
    )
    assert unauthorised.status_code == 401
    with pytest.raises(requests.ConnectionError):
        zoho.call("PUT", f"Leads/{lead_id}", json={"data": [{"City": "Cork"}]})
    assert zoho.sandbox.leads()[0]["City"] == "Cork"


@pytest.mark.parametrize(
    "rule",
    [{"call": "/crm/v8/Leads", "nth": 1}, {"call": "POST /crm/v8/Leads", "nth": 0}, "POST x#2"],
)
def test_a_malformed_lost_answer_rule_is_refused(sandbox, http, rule):
    """A rule without a method and path, or with nth below 1, is a 400, not ignored."""
    answer = http.post(
        f"{sandbox.url}/__sandbox/config", json={"lose_answers": [rule]}, timeout=TIMEOUT
    )
    assert answer.status_code == 400
    assert "lost answer" in answer.json()["error"]
    with pytest.raises(ValueError, match="lost answer"):
        sandbox.configure(lose_answers=[rule])
    assert sandbox.knobs.lose_answers == []


@pytest.mark.sandbox_knobs(lose_answers=["POST /crm/v8/Leads#1"])
def test_the_sandbox_knobs_marker_starts_the_fixture_with_its_knobs(zoho: Zoho):
    """@pytest.mark.sandbox_knobs(...) reaches the sandbox fixture's knobs."""
    with pytest.raises(requests.ConnectionError):
        zoho.insert({"Last_Name": "A"})
    assert [lead["Last_Name"] for lead in zoho.sandbox.leads()] == ["A"]
