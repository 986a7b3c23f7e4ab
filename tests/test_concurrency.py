"""The in-flight limit: AIMD arithmetic, Zoho's sub-concurrency, and a run above the org's limit."""

from __future__ import annotations

import collections
import re
import threading

import pytest

from target_zoho_leads.zoho.concurrency import AIMD, SUB_CONCURRENCY, InFlightLimit, is_heavy
from target_zoho_leads.zoho.retrying import BACKOFF_BASE_ENV
from tests.conftest import singer_lines

pytestmark = pytest.mark.slow


def succeed(aimd: AIMD, times: int) -> None:
    for _ in range(times):
        aimd.succeeded()


def test_the_limit_starts_at_five_or_lower_ceiling():
    """Every Zoho edition allows 5 at once: a higher max_concurrency is reached by growing."""
    assert AIMD(25).limit == 5
    assert AIMD(3).limit == 3
    assert AIMD(0).limit == 1


def test_a_run_of_successes_as_long_as_the_limit_adds_one():
    """Additive increase: 5 successes take 5 to 6, then 6 more take it to 7."""
    aimd = AIMD(25)
    succeed(aimd, 4)
    assert aimd.limit == 5
    aimd.succeeded()
    assert aimd.limit == 6
    succeed(aimd, 6)
    assert aimd.limit == 7


def test_the_limit_never_grows_past_max_concurrency():
    """At the ceiling, successes change nothing."""
    aimd = AIMD(6)
    succeed(aimd, 100)
    assert aimd.limit == 6


def test_a_429_halves_the_calls_that_were_in_flight():
    """Multiplicative decrease from what was in use: 6 in flight become 3."""
    aimd = AIMD(25, limit=9)
    assert aimd.refused(in_flight=6, admitted_after=0)
    assert (aimd.limit, aimd.refused_at, aimd.run) == (3, 6, 0)


def test_a_429_halves_the_limit_when_more_were_in_flight_than_it_allows():
    """Calls admitted under a higher limit do not stop it halving from the current one."""
    aimd = AIMD(25, limit=8)
    assert aimd.refused(in_flight=20, admitted_after=0)
    assert aimd.limit == 4


def test_the_limit_never_drops_below_one():
    """Halving 1 leaves 1: a call can always be made."""
    aimd = AIMD(25, limit=1)
    aimd.refused(in_flight=1, admitted_after=0)
    assert aimd.limit == 1


def test_429s_of_calls_sent_before_a_halving_halve_it_only_once():
    """One burst, one decrease: the refusals of calls admitted earlier are the same news."""
    aimd = AIMD(25, limit=10)
    assert aimd.refused(in_flight=10, admitted_after=0)
    assert not aimd.refused(in_flight=9, admitted_after=0)
    assert aimd.limit == 5
    assert aimd.refused(in_flight=5, admitted_after=1)  # admitted after it: news
    assert aimd.limit == 2


def test_growing_back_to_the_refused_level_takes_four_times_as_long():
    """Refused at 6: 3 to 4 and 4 to 5 at the usual pace, 5 to 6 four times slower."""
    aimd = AIMD(25, limit=6)
    aimd.refused(in_flight=6, admitted_after=0)
    succeed(aimd, 3)
    assert aimd.limit == 4
    succeed(aimd, 4)
    assert aimd.limit == 5
    succeed(aimd, 19)
    assert aimd.limit == 5
    aimd.succeeded()
    assert aimd.limit == 6


def test_a_429_starts_the_run_of_successes_afresh():
    """Successes before a refusal do not count toward growing after it."""
    aimd = AIMD(25, limit=8)
    succeed(aimd, 7)
    aimd.refused(in_flight=4, admitted_after=0)
    aimd.succeeded()
    assert aimd.limit == 2


@pytest.mark.parametrize(
    ("method", "path", "body", "heavy"),
    [
        ("POST", "/coql", {"select_query": "select id from Leads"}, True),
        ("POST", "/Leads", {"data": [{}] * 11}, True),
        ("PUT", "/Leads", {"data": [{}] * 100}, True),
        ("POST", "/Leads", {"data": [{}] * 10}, False),
        ("GET", "/Leads/search", None, False),
        ("GET", "/settings/fields", None, False),
    ],
)
def test_coql_and_writes_of_more_than_ten_records_are_heavy(method, path, body, heavy):
    """Zoho's sub-concurrency counts COQL and writes of over 10 records, nothing else."""
    assert is_heavy(method, path, body) is heavy


def in_flight_peaks(limit: InFlightLimit, *, heavy: bool, calls: int) -> int:
    """Run ``calls`` threads through ``limit`` at once; the most that held a place together."""
    state = {"now": 0, "peak": 0}
    lock = threading.Lock()
    everyone_waiting = threading.Barrier(calls)

    def call() -> None:
        everyone_waiting.wait()
        with limit.slot(heavy=heavy) as ticket:
            with lock:
                state["now"] += 1
                state["peak"] = max(state["peak"], state["now"])
            threading.Event().wait(0.02)
            with lock:
                state["now"] -= 1
            ticket.answered(200)

    threads = [threading.Thread(target=call) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return state["peak"]


def test_heavy_calls_never_exceed_ten_in_flight_whatever_the_limit():
    """Zoho's sub-concurrency of 10 holds even where the limit allows 25."""
    limit = InFlightLimit(25, start=25)  # as if it had grown there
    assert in_flight_peaks(limit, heavy=True, calls=40) == 10


def test_light_calls_are_held_to_the_current_limit():
    """Calls beyond the limit wait for a place instead of being sent."""
    limit = InFlightLimit(5)  # starts at 5 and cannot grow: the ceiling
    assert in_flight_peaks(limit, heavy=False, calls=20) == 5


def test_a_throttled_ticket_halves_the_limit_and_is_reported_as_settled():
    """A 429 answered to a call in a slot lowers the limit; settled() says where it stands."""
    limit = InFlightLimit(25)
    assert limit.settled() is None
    with limit.slot(heavy=False) as first, limit.slot(heavy=False):
        first.answered(429)
    assert limit.limit == 1  # two were in flight: halved to one
    assert limit.settled() == 1


@pytest.mark.sandbox_knobs(org_concurrency=5, sub_concurrency=10, latency_ms=20)
def test_a_run_above_the_orgs_concurrency_completes_with_few_429s(sandbox, config, run_target):
    """max_concurrency 25 against an org allowing 5: 5,000 leads, each once, under 10% refused."""
    people = [{"name": f"P{i}", "anonymous_id": f"a{i}"} for i in range(5000)]
    # One batch of 5,000: its 50 inserts are all ready to go at once.
    config.update(max_concurrency=25, write_method="records", batch_size_rows=5000)
    run = run_target(config, singer_lines("web", people), env={BACKOFF_BASE_ENV: "0.05"})
    stats = sandbox.stats()
    refused = stats["faults"]["429"]
    print(  # the figure for the report
        f"org limit 5, max_concurrency 25: {refused} of {stats['api_calls']} calls refused "
        f"({refused / stats['api_calls']:.1%}), {stats['concurrency_429']}; {run.summary('web')}"
    )
    assert run.returncode == 0, run.errors
    ids = collections.Counter(lead["CDP_ID"] for lead in sandbox.leads())
    assert ids == collections.Counter(person["anonymous_id"] for person in people)
    assert refused < 0.10 * stats["api_calls"]
    settled = re.search(r", concurrency settled at (\d+)$", run.summary("web"))
    assert settled or not refused  # said once a 429 has lowered the limit
    assert not settled or int(settled[1]) <= SUB_CONCURRENCY
