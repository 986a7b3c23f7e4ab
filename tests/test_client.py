"""HTTP client: retries, give-ups, token refresh on 401 and reading Zoho's answers.

A scripted HTTP server on loopback plays Zoho's part, answer by answer, and
``time.sleep`` is patched so that backoff waits are recorded, not slept.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from target_zoho_leads.zoho.auth import ZohoAuth
from target_zoho_leads.zoho.client import ItemDetails, WriteItem, ZohoCRMClient
from target_zoho_leads.zoho.errors import (
    ZohoAPIError,
    ZohoRetriesExhaustedError,
    ZohoScopeError,
    ZohoTransientError,
)
from tests.support.scripted_server import DROP, Reply, Request, Scripted, ScriptedServer


class Zoho(ScriptedServer):
    """Answers each /crm call with the next scripted answer; tokens always work."""

    tokens = 0

    def answer(self, request: Request) -> Scripted:
        """A fresh token for each token request, the script for the rest."""
        if not request.path.startswith("/oauth"):
            return super().answer(request)
        self.tokens += 1
        token = {"access_token": f"tok-{self.tokens}", "api_domain": self.url}
        return Reply(200, {**token, "expires_in": 3600})

    @property
    def seen(self) -> list[tuple[str, str, str | None, bytes]]:
        """Each /crm call's method, path, Authorization header and body."""
        return [
            (r.method, r.path, r.headers.get("Authorization"), r.body)
            for r in self.requests
            if not r.path.startswith("/oauth")
        ]


@pytest.fixture
def zoho():
    with Zoho(default=(200, {"data": []}, {})) as server:
        yield server


@pytest.fixture
def waits(monkeypatch):
    """Backoff waits, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


@pytest.fixture
def client(zoho):
    session = requests.Session()
    auth = ZohoAuth(
        accounts_url=zoho.url,
        client_id="cid",
        client_secret="secret",
        refresh_token="refresh",
        session=session,
        timeout=5,
    )
    calls: list[int] = []
    crm = ZohoCRMClient(
        auth=auth,
        session=session,
        timeout=5,
        max_retries=4,
        on_call=lambda cost, _limit: calls.append(cost),
    )
    crm.calls = calls  # type: ignore[attr-defined]
    yield crm
    session.close()


def ok(data: object = None) -> tuple:
    return (200, {"data": data or [{"id": "1"}]}, {})


def test_calls_carry_the_zoho_oauth_token_header(zoho, client):
    """Every call is authorised with ``Zoho-oauthtoken <token>``."""
    zoho.script = [ok()]
    client.coql_page("select id from Leads where id = 1")
    assert zoho.seen[0][2] == "Zoho-oauthtoken tok-1"
    assert zoho.seen[0][1] == "/crm/v8/coql"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_until_they_pass(zoho, client, waits, status):
    """429 and 5xx are retried with growing, jittered waits."""
    zoho.script = [(status, {"code": "X"}, {}), (status, {"code": "X"}, {}), ok()]
    assert client.coql_page("select id from Leads where id = 1")[0] == [{"id": "1"}]
    assert len(waits) == 2
    assert 0.5 <= waits[0] <= 1.0
    assert 1.0 <= waits[1] <= 2.0
    assert len(client.calls) == 3


def test_retry_after_is_honoured_exactly(zoho, client, waits):
    """A Retry-After header sets the wait, without jitter."""
    zoho.script = [(429, {"code": "TOO_MANY_REQUESTS"}, {"Retry-After": "7"}), ok()]
    client.coql_page("select id from Leads where id = 1")
    assert waits == [7.0]


def test_a_dropped_connection_is_retried(zoho, client, waits):
    """A connection closed without an answer is transient."""
    zoho.script = [DROP, ok()]
    assert client.coql_page("select id from Leads where id = 1")[0] == [{"id": "1"}]
    assert len(waits) == 1


def test_retries_stop_at_max_retries_with_a_message_naming_the_call(zoho, client, waits):
    """After max_retries tries the run fails clearly, not forever."""
    zoho.script = [(503, {"code": "INTERNAL_ERROR"}, {})] * 10
    with pytest.raises(
        ZohoRetriesExhaustedError, match=r"POST /crm/v8/coql still failing after 4 tries"
    ):
        client.coql_page("select id from Leads where id = 1")
    assert len(zoho.seen) == 4
    assert len(waits) == 3


def test_a_lost_write_answer_is_handed_back_when_the_caller_settles_it(zoho, client, waits):
    """With settle_ambiguous, a dropped write is not re-sent blindly."""
    zoho.script = [DROP, ok()]
    with pytest.raises(ZohoTransientError) as caught:
        client.write_leads("POST", [{"Last_Name": "A"}], None, settle_ambiguous=True)
    assert caught.value.ambiguous
    assert len(zoho.seen) == 1
    assert waits == []


def test_a_lost_write_answer_is_resent_in_insert_mode(zoho, client, waits):
    """Without settle_ambiguous the write is retried (insert mode)."""
    zoho.script = [
        DROP,
        (
            201,
            {
                "data": [
                    {
                        "code": "SUCCESS",
                        "status": "success",
                        "details": {"id": "9"},
                        "message": "record added",
                    }
                ]
            },
            {},
        ),
    ]
    items = client.write_leads("POST", [{"Last_Name": "A"}], None)
    assert items[0].details.id == "9"
    assert len(zoho.seen) == 2


def test_an_expired_token_is_refreshed_once_and_the_call_repeated(zoho, client, waits):
    """401 INVALID_TOKEN mints one new token and repeats the call."""
    zoho.script = [(401, {"code": "INVALID_TOKEN", "status": "error"}, {}), ok()]
    assert client.coql_page("select id from Leads where id = 1")[0] == [{"id": "1"}]
    assert [s[2] for s in zoho.seen] == ["Zoho-oauthtoken tok-1", "Zoho-oauthtoken tok-2"]
    assert waits == []


def test_a_token_refused_twice_fails_instead_of_looping(zoho, client, waits):
    """A freshly minted token refused again is a clear error, not a token storm."""
    zoho.script = [(401, {"code": "AUTHENTICATION_FAILURE"}, {})] * 3
    with pytest.raises(ZohoAPIError, match="refused a freshly minted access token"):
        client.coql_page("select id from Leads where id = 1")
    assert zoho.tokens == 2


def test_a_missing_scope_names_the_scopes_to_grant(zoho, client):
    """OAUTH_SCOPE_MISMATCH says which scopes the refresh token needs."""
    zoho.script = [(401, {"code": "OAUTH_SCOPE_MISMATCH", "message": "invalid oauth scope"}, {})]
    with pytest.raises(ZohoScopeError, match=r"ZohoCRM\.coql\.READ"):
        client.coql_page("select id from Leads where id = 1")


def test_no_content_means_no_rows(zoho, client):
    """COQL and search answer 204 when nothing matches."""
    zoho.script = [(204, None, {}), (204, None, {})]
    assert client.coql_page("select id from Leads where id = 1") == ([], False)
    assert client.search("(Email:equals:a@b.c)") == ([], False)


def test_an_all_failed_insert_returns_its_items_rather_than_raising(zoho, client):
    """HTTP 400 with per-record items is record outcomes, not a failed call."""
    item = {
        "code": "MANDATORY_NOT_FOUND",
        "details": {"api_name": "Last_Name"},
        "message": "required field not found",
        "status": "error",
    }
    zoho.script = [(400, {"data": [item]}, {})]
    assert client.write_leads("POST", [{"Email": "x"}], ["workflow"]) == [
        WriteItem(
            code="MANDATORY_NOT_FOUND",
            status="error",
            message="required field not found",
            details=ItemDetails(api_name="Last_Name"),
        )
    ]
    assert json.loads(zoho.seen[0][3]) == {"data": [{"Email": "x"}], "trigger": ["workflow"]}


def test_answer_items_of_an_unexpected_shape_are_still_read_one_per_record(zoho, client):
    """An item whose details are not an object, or that is not an object: read, not a crash."""
    items = [
        {"code": "SUCCESS", "status": "success", "details": "odd"},
        "odd",
        {"code": 5, "details": {"id": 7}},
    ]
    zoho.script = [(201, {"data": items}, {})]
    answer = client.write_leads("POST", [{"Last_Name": "A"}] * 3, None)
    assert answer == [
        WriteItem(code="SUCCESS", status="success"),
        WriteItem(),
        WriteItem(code=5, details=ItemDetails(id=7)),
    ]


def test_trigger_is_left_out_when_unset(zoho, client):
    """No trigger setting: Zoho's default automation, so no trigger key."""
    zoho.script = [
        (201, {"data": [{"code": "SUCCESS", "status": "success", "details": {"id": "1"}}]}, {})
    ]
    client.write_leads("POST", [{"Last_Name": "A"}], None)
    assert json.loads(zoho.seen[0][3]) == {"data": [{"Last_Name": "A"}]}


def test_an_answer_with_the_wrong_number_of_items_is_an_error(zoho, client):
    """Every record must get its own answer item; anything else is not trusted."""
    zoho.script = [(201, {"data": []}, {})]
    with pytest.raises(ZohoAPIError, match="0 items for 1 records"):
        client.write_leads("POST", [{"Last_Name": "A"}], None)


def test_a_client_error_is_not_retried(zoho, client, waits):
    """A 400 that is not per-record is reported at once."""
    zoho.script = [(400, {"code": "SYNTAX_ERROR", "message": "bad query"}, {})]
    with pytest.raises(ZohoAPIError, match="SYNTAX_ERROR"):
        client.coql_page("select")
    assert waits == []


def test_calls_in_flight_never_exceed_max_concurrency(zoho):
    """The concurrency cap holds across threads."""
    in_flight = {"now": 0, "max": 0}
    lock = threading.Lock()
    session = requests.Session()
    auth = ZohoAuth(
        accounts_url=zoho.url,
        client_id="c",
        client_secret="s",
        refresh_token="r",
        session=session,
        timeout=5,
    )

    def on_call(_cost: int, _limit: int | None) -> None:
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        time.sleep(0.02)
        with lock:
            in_flight["now"] -= 1

    client = ZohoCRMClient(auth=auth, session=session, max_concurrency=3, on_call=on_call)
    threads = [
        threading.Thread(target=client.coql_page, args=("select id from Leads where id = 1",))
        for _ in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session.close()
    assert in_flight["max"] == 3


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_an_api_call_answered_with_a_redirect_fails_and_is_not_followed(
    zoho, client, waits, status
):
    """A 3xx is an error naming the call, even with a body of items; nothing is re-sent."""
    moved = (status, {"data": [{"id": "1"}]}, {"Location": f"{zoho.url}/crm/v8/elsewhere"})
    zoho.script = [moved]
    with pytest.raises(ZohoAPIError, match=r"POST /crm/v8/coql: .*redirect") as caught:
        client.coql_page("select id from Leads where id = 1")
    assert caught.value.code == "REDIRECT"
    assert [seen[1] for seen in zoho.seen] == ["/crm/v8/coql"]
    assert waits == []


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ("select id from Leads where id = 1", 1),
        ("select id from Leads where id = 1 limit 200 offset 400", 1),
        ("select id from Leads where Email = 'limit 2000' limit 1000", 2),
        ("select id from Leads where id = 1 limit 400, 2000", 3),
    ],
)
def test_each_coql_call_reports_the_credits_its_limit_costs(zoho, client, query, cost):
    """COQL costs 1, 2 or 3 credits by LIMIT (200 when none); a quoted 'limit' is a value."""
    client.coql_page(query)
    assert client.calls == [cost]


@pytest.mark.parametrize(("records", "cost"), [(1, 1), (10, 1), (11, 2), (100, 10)])
def test_each_write_reports_one_credit_per_ten_records(zoho, client, records, cost):
    """Insert and update cost a credit per 10 records, rounded up, per call."""
    zoho.script = [(201, {"data": [{"code": "SUCCESS", "status": "success"}] * records}, {})]
    client.write_leads("POST", [{"Last_Name": "x"}] * records, None)
    assert client.calls == [cost]


def test_refused_calls_cost_nothing_and_the_one_done_costs_its_credits(zoho, client, waits):
    """429, 5xx and a refused token are counted as calls but not charged."""
    expired = (401, {"code": "INVALID_TOKEN"}, {})
    zoho.script = [(429, {"code": "TOO_MANY_REQUESTS"}, {}), (503, {}, {}), expired, ok()]
    client.coql_page("select id from Leads where id = 1 limit 2000")
    assert client.calls == [0, 0, 0, 3]


def test_a_429_that_outlasts_the_retries_says_why_zoho_refuses_in_one_line(zoho, client, waits):
    """The last 429's line names the call, the tries, and what spends Zoho's allowance."""
    zoho.script = [(429, {"code": "TOO_MANY_REQUESTS"}, {})] * 4
    with pytest.raises(ZohoRetriesExhaustedError) as caught:
        client.coql_page("select id from Leads where id = 1")
    assert str(caught.value) == (
        "POST /crm/v8/coql still failing after 4 tries: POST /crm/v8/coql: Zoho answered "
        "HTTP 429 TOO_MANY_REQUESTS (Zoho refuses calls once the org's API credits of the "
        "last 24 hours are spent, or while other programs hold its concurrency)"
    )


def test_a_429_halves_the_clients_in_flight_limit(zoho, client, waits):
    """The limit starts at max_concurrency (4 here), and one refused call alone leaves 1."""
    assert client.in_flight.limit == 4
    assert client.in_flight.settled() is None
    zoho.script = [(429, {"code": "TOO_MANY_REQUESTS"}, {}), ok()]
    client.coql_page("select id from Leads where id = 1")
    assert client.in_flight.settled() == 1
