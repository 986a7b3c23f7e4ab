"""The Python API and the /__sandbox admin endpoints another process drives."""

from __future__ import annotations

import time
import typing as t

import pytest
from zoho_sandbox import ZohoSandbox
from zoho_sandbox.clock import ManualClock, SystemClock

from .conftest import TIMEOUT, Zoho

if t.TYPE_CHECKING:
    import requests


def admin(
    http: requests.Session, sandbox: ZohoSandbox, method: str, name: str, **kwargs
) -> requests.Response:
    """One admin call."""
    return http.request(method, f"{sandbox.url}/__sandbox/{name}", timeout=TIMEOUT, **kwargs)


def test_admin_endpoints_seed_read_and_reset_leads(sandbox, http):
    """POST /leads seeds, GET /leads lists, POST /reset clears."""
    seeded = admin(http, sandbox, "POST", "leads", json=[{"Last_Name": "A"}]).json()
    leads = admin(http, sandbox, "GET", "leads").json()
    assert [lead["id"] for lead in leads] == seeded["ids"]
    assert admin(http, sandbox, "POST", "reset").json() == {"ok": True}
    assert admin(http, sandbox, "GET", "leads").json() == []


def test_admin_config_sets_knobs_and_refuses_unknown_ones(sandbox, http):
    """POST /config changes knobs; a typo answers 400 rather than being ignored."""
    answer = admin(http, sandbox, "POST", "config", json={"latency_ms": 5})
    assert answer.json()["config"]["latency_ms"] == 5
    assert sandbox.knobs.latency_ms == 5
    bad = admin(http, sandbox, "POST", "config", json={"latncy_ms": 5})
    assert bad.status_code == 400
    assert "latncy_ms" in bad.json()["error"]


def test_unknown_knobs_are_refused_by_the_python_api_too():
    """A misspelt knob raises instead of silently doing nothing."""
    with pytest.raises(ValueError, match="fail_492_rate"):
        ZohoSandbox(fail_492_rate=1)


def test_admin_reads_stats_requests_and_tokens_without_being_counted(zoho: Zoho, http):
    """Admin calls are neither API calls nor logged."""
    zoho.insert({"Last_Name": "A"})
    sandbox = zoho.sandbox
    stats = admin(http, sandbox, "GET", "stats").json()
    assert stats["api_calls"] == 1
    assert stats["calls"] == {"POST /crm/v8/Leads": 1}
    assert admin(http, sandbox, "GET", "tokens").json() == [zoho.token]
    logged = admin(http, sandbox, "GET", "requests").json()
    assert [entry["path"] for entry in logged] == ["/oauth/v2/token", "/crm/v8/Leads"]
    assert sandbox.stats()["api_calls"] == 1


def test_reset_clears_stats_and_log_but_tokens_stay_valid(zoho: Zoho):
    """After reset() nothing is counted or logged, and the old token still works."""
    zoho.insert({"Last_Name": "A"})
    zoho.sandbox.reset()
    assert zoho.sandbox.leads() == []
    assert zoho.sandbox.requests() == []
    assert zoho.sandbox.stats()["api_calls"] == 0
    assert zoho.sandbox.minted_tokens() == []
    assert zoho.insert({"Last_Name": "B"}).status_code == 201


def test_seeded_leads_keep_a_given_id_and_are_not_api_calls(sandbox):
    """seed() stores leads as they are, without counting a call."""
    ids = sandbox.seed([{"id": "5725767000000000042", "Last_Name": "A"}, {"Last_Name": "B"}])
    assert ids[0] == "5725767000000000042"
    assert len(ids[1]) == 19
    assert sandbox.stats()["api_calls"] == 0
    assert sandbox.leads()[1]["Created_By"]["name"] == "Sandbox User"


def test_the_request_log_never_holds_the_authorization_header(zoho: Zoho):
    """Access tokens never reach the request log."""
    zoho.insert({"Last_Name": "A"})
    assert zoho.token not in str(zoho.sandbox.requests())


def test_the_url_is_only_known_once_started():
    """Before start() there is no port to name."""
    sandbox = ZohoSandbox()
    with pytest.raises(RuntimeError):
        _ = sandbox.url
    with sandbox:
        assert sandbox.url.startswith("http://127.0.0.1:")
        assert sandbox.accounts_url == sandbox.url


def test_admin_clock_advances_time_so_a_token_dies_without_waiting(zoho: Zoho, http):
    """POST /clock {"advance": N} moves the sandbox's clock: a token past its TTL is refused."""
    zoho.sandbox.configure(token_ttl_seconds=3600)
    fields = {"module": "Leads"}
    assert zoho.call("GET", "settings/fields", params=fields).status_code == 200
    before = zoho.sandbox.clock.time()
    moved = admin(http, zoho.sandbox, "POST", "clock", json={"advance": 3600})
    assert moved.status_code == 200
    assert moved.json() == {"ok": True, "time": before + 3600}
    assert zoho.call("GET", "settings/fields", params=fields).json()["code"] == "INVALID_TOKEN"


@pytest.mark.parametrize("payload", [{"advance": -1}, {"advance": "1"}, {"advance": True}, [1]])
def test_admin_clock_refuses_anything_but_seconds_forward(sandbox, http, payload):
    """Time only moves forward, by a number of seconds."""
    before = sandbox.clock.time()
    answer = admin(http, sandbox, "POST", "clock", json=payload)
    assert answer.status_code == 400
    assert "advance" in answer.json()["error"]
    assert sandbox.clock.time() == before


def test_the_real_time_clock_can_be_skipped_ahead_too():
    """A sandbox on real time (make sandbox) still lets a test skip a wait."""
    clock = SystemClock()
    clock.advance(600)
    assert clock.time() - time.time() == pytest.approx(600, abs=5)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_a_manual_clock_stands_still_until_advanced():
    """ManualClock reads the same until advance() moves both readings."""
    clock = ManualClock(start=1_000.0)
    assert (clock.time(), clock.monotonic()) == (1_000.0, 0.0)
    clock.advance(2.5)
    assert (clock.time(), clock.monotonic()) == (1_002.5, 2.5)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-0.1)
