"""Hangs, slow answers, refused and throttled credentials, missing scopes, TLS and private files.

Every run is the real command at DEBUG level against the sandbox (or a socket
that never answers), with a subprocess timeout: a run that hung would fail
the test instead of stalling the suite. Each also checks that no secret and
no input email or phone reached its output.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import time

import pytest
from zoho_sandbox.reads import SCOPE_MISMATCH
from zoho_sandbox.routing import Answer

from target_zoho_leads.zoho.client import new_session
from target_zoho_leads.zoho.errors import ZohoScopeError, ZohoTransientError
from target_zoho_leads.zoho.replies import call_error
from target_zoho_leads.zoho.retrying import BACKOFF_BASE_ENV, base_wait_seconds, wait_times
from tests.conftest import ROOT, target_command
from tests.reliability_helpers import (
    DEBUG_ENV,
    TRACEBACK,
    assert_nothing_leaks,
    error_lines,
    states,
)

pytestmark = pytest.mark.slow

PEOPLE = [
    {
        "name": f"Person {i}",
        "email": f"rel{i}@example.com",
        "phone": f"+86 139 2222 {i:04d}",
        "anonymous_id": f"t{i}",
    }
    for i in range(250)
]
REAL_BACKOFF = {"LOGLEVEL": "DEBUG"}  # the target's own 1 s backoff base


def singer(records: list[dict], state_every: int = 50) -> str:
    """SCHEMA, the records, a STATE every ``state_every``."""
    lines = [
        json.dumps(
            {
                "type": "SCHEMA",
                "stream": "web",
                "schema": {"type": "object", "properties": {}},
                "key_properties": [],
            }
        )
    ]
    for index, record in enumerate(records, start=1):
        lines.append(json.dumps({"type": "RECORD", "stream": "web", "record": record}))
        if index % state_every == 0:
            lines.append(json.dumps({"type": "STATE", "value": {"done": index}}))
    return "\n".join(lines) + "\n"


@pytest.fixture
def run(tmp_path, sandbox):
    """The real command, timed, at DEBUG level; every output checked for leaks."""

    def run(
        config: dict, records: list[dict], *, env: dict | None = None, timeout: float = 30
    ) -> tuple[int, str, str, float]:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        started = time.monotonic()
        done = subprocess.run(
            [*target_command(), "--config", str(path)],
            input=singer(records).encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **(env if env is not None else DEBUG_ENV)},
        )
        seconds = time.monotonic() - started
        stdout, stderr = done.stdout.decode(), done.stderr.decode(errors="replace")
        assert_nothing_leaks(
            sandbox,
            stdout=stdout,
            stderr=stderr,
            records=records,
            files=[tmp_path / "rejected.jsonl"],
        )
        assert not TRACEBACK.search(stderr), stderr[-3000:]
        assert "DEBUG" in stderr
        return done.returncode, stdout, stderr, seconds

    return run


# Hangs and slow answers.


def test_a_zoho_that_never_answers_fails_after_max_retries_naming_the_call(sandbox, config, run):
    """Every call hangs: request_timeout holds, 3 tries, then one line naming the call; no hang."""
    sandbox.configure(hang_rate=1.0, hang_seconds=30)
    config.update(request_timeout=0.4, max_retries=3)
    code, stdout, stderr, seconds = run(config, PEOPLE[:5], env=REAL_BACKOFF)
    print(f"never answers: exit {code} after {seconds:.1f} s, {sandbox.stats()['api_calls']} calls")
    assert code == 1
    errors = error_lines(stderr)
    assert len(errors) == 1
    assert (
        "GET /crm/v8/settings/fields still failing after 3 tries: "
        "GET /crm/v8/settings/fields: no answer within request_timeout"
    ) in errors[0]
    assert sandbox.stats()["api_calls"] == 3
    assert sandbox.stats()["faults"]["hang"] == 3
    # 3 x 0.4 s of timeouts and two backoff waits (0.5-1 s, then 1-2 s).
    assert seconds < 10
    assert states(stdout) == []


def test_writes_that_hang_and_are_never_applied_fail_the_run_without_advancing_state(
    sandbox, config, run
):
    """Every write hangs and Zoho keeps none: looked up, sent again, then exit 1, no STATE."""
    sandbox.configure(latency_ms=0)
    config.update(request_timeout=0.3, max_retries=2, batch_size_rows=50)
    original = sandbox.api.handle

    def hang_writes(found, call):
        if found.handler == "insert":
            time.sleep(1.0)  # the client gave up after 0.3 s; nothing is written
            return Answer(500, {"code": "INTERNAL_ERROR", "status": "error"})
        return original(found, call)

    sandbox.api.handle = hang_writes
    code, stdout, stderr, _ = run(config, PEOPLE[:100])
    assert code == 1
    assert "leads were sent but their outcome is unknown" in error_lines(stderr)[-1]
    assert len(error_lines(stderr)) == 1
    assert states(stdout) == []
    assert sandbox.leads() == []


@pytest.mark.parametrize("unique_lead", [False, True], ids=["insert", "unique"])
def test_writes_that_hang_but_are_applied_are_settled_by_lookup_not_sent_again(
    sandbox, config, run, unique_lead
):
    """Every write hangs past the timeout, yet Zoho applies it: found by lookup, kept once."""
    sandbox.configure(latency_ms=0)
    config.update(request_timeout=0.3, max_retries=2, batch_size_rows=50, unique_lead=unique_lead)
    original = sandbox.api.handle

    def hang_writes(found, call):
        if found.handler == "insert":
            time.sleep(1.0)  # the client gave up after 0.3 s; the write still happens
        return original(found, call)

    sandbox.api.handle = hang_writes
    code, stdout, stderr, _ = run(config, PEOPLE[:100])
    assert code == 0, error_lines(stderr)
    ids = [lead["CDP_ID"] for lead in sandbox.leads()]
    assert sorted(ids) == sorted(p["anonymous_id"] for p in PEOPLE[:100])
    assert states(stdout)[-1] == {"done": 100}


def test_calls_slower_than_the_timeout_now_and_then_are_retried_and_every_lead_lands_once(
    sandbox, config, run
):
    """A third of the calls hang: with Unique Lead on, each of 250 people has one lead."""
    sandbox.configure(hang_rate=0.3, hang_seconds=5, seed=3)
    config.update(request_timeout=0.3, max_retries=8, unique_lead=True, batch_size_rows=50)
    code, stdout, stderr, seconds = run(config, PEOPLE)
    stats = sandbox.stats()
    print(
        f"30% hang: exit {code} in {seconds:.1f} s, {stats['faults']['hang']} of "
        f"{stats['api_calls']} calls hung, {len(sandbox.leads())} leads"
    )
    assert code == 0, error_lines(stderr)
    assert sorted(lead["Email"] for lead in sandbox.leads()) == sorted(p["email"] for p in PEOPLE)
    assert sandbox.stats()["faults"]["hang"] > 0
    assert states(stdout)[-1] == {"done": 250}


def test_an_accounts_server_that_accepts_and_never_answers_fails_clearly(config, run):
    """The token request times out: retried, then one line naming the accounts server; no hang."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts connections; nobody ever answers
        config.update(
            accounts_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
            request_timeout=0.4,
            max_retries=2,
        )
        code, _, stderr, seconds = run(config, PEOPLE[:5])
    print(f"silent accounts server: exit {code} after {seconds:.1f} s")
    assert code == 1
    errors = error_lines(stderr)
    assert len(errors) == 1
    assert (
        "still failing after 2 tries: could not reach the Zoho accounts server 127.0.0.1"
        in errors[0]
    )
    assert seconds < 10


# Credentials.


@pytest.mark.parametrize(
    "case",
    [
        ("client_secret", "invalid_client", "the client_id or client_secret is wrong"),
        ("refresh_token", "invalid_code", "the refresh_token is wrong"),
    ],
    ids=["invalid_client", "invalid_code"],
)
def test_refused_credentials_fail_at_once_with_the_data_centre_and_no_retry(
    sandbox, config, run, case
):
    """One token request, no API call, exit 1, the server named, the wrong value never shown."""
    setting, code, hint = case
    config[setting] = f"wrong-{setting}-value"
    config["max_retries"] = 8
    exit_code, _, stderr, seconds = run(config, PEOPLE[:5])
    stats = sandbox.stats()
    print(
        f"{code}: exit {exit_code} after {seconds:.1f} s, "
        f"{stats['token_requests']} token requests, {stats['api_calls']} API calls"
    )
    assert exit_code == 1
    errors = error_lines(stderr)
    assert len(errors) == 1
    assert f"Zoho refused the token request at 127.0.0.1 ({code}): {hint}" in errors[0]
    assert sandbox.stats()["token_requests"] == 1
    assert sandbox.stats()["api_calls"] == 0
    assert f"wrong-{setting}-value" not in stderr
    assert seconds < 10  # no backoff: a retry storm would take far longer


def test_a_short_token_throttle_is_waited_out_without_spending_retries(sandbox, config, run):
    """'Access Denied' for a second and a half: the token waits, the run completes, exit 0."""
    # One token per 1.5 s, each good for two calls: every third call meets the throttle.
    sandbox.configure(token_limit=1, token_window_seconds=1.5, token_expiry_calls=2)
    config.update(max_retries=1, batch_size_rows=100)  # no retry at all: only the wait
    # The wait asks again once a minute; the backoff base shortens that minute to 0.6 s.
    quick_wait = {**REAL_BACKOFF, BACKOFF_BASE_ENV: "0.01"}
    code, stdout, stderr, seconds = run(config, PEOPLE, env=quick_wait, timeout=60)
    stats = sandbox.stats()
    print(
        f"short throttle: exit {code} in {seconds:.1f} s, "
        f"{stats['token_requests']} token requests, {stats['tokens_minted']} minted"
    )
    assert code == 0, error_lines(stderr)
    assert len(sandbox.leads()) == 250
    assert stats["token_requests"] > stats["tokens_minted"] >= 2  # some were throttled
    assert "Access Denied" in stderr  # the waits are logged
    assert "Zoho's token-mint block passed after" in stderr
    assert states(stdout)[-1] == {"done": 250}


def test_a_long_token_throttle_fails_clearly_after_the_retry_budget_without_a_storm(
    sandbox, config, run
):
    """Throttled for ten minutes, token_wait_max 1 s: a few spaced token requests, one line."""
    sandbox.configure(token_limit=1, token_expiry_calls=2)
    config.update(max_retries=3, batch_size_rows=50, max_concurrency=4, token_wait_max=1)
    code, stdout, stderr, seconds = run(config, PEOPLE[:200])
    print(
        f"long throttle: exit {code} after {seconds:.1f} s, "
        f"{sandbox.stats()['token_requests']} token requests"
    )
    assert code == 1
    errors = error_lines(stderr)
    assert len(errors) == 1
    assert "Zoho refused the token request at 127.0.0.1 (Access Denied)" in errors[0]
    assert "at most 10 access tokens per refresh token in 10 minutes" in errors[0]
    assert errors[0].endswith("(still refused after waiting token_wait_max)")
    # The first token, then one thread asking at 0 s and at token_wait_max (1 s).
    assert sandbox.stats()["token_requests"] <= 1 + 10
    assert states(stdout) == [{"done": 50}]
    assert len(sandbox.leads()) == 50


def test_a_write_without_its_scope_fails_at_once_naming_the_missing_scope(sandbox, config, run):
    """OAUTH_SCOPE_MISMATCH on the insert: one call, one line naming ZohoCRM.modules.leads.ALL."""
    original = sandbox.api.handle

    def no_write_scope(found, call):
        return (
            Answer(401, dict(SCOPE_MISMATCH))
            if found.handler == "insert"
            else original(found, call)
        )

    sandbox.api.handle = no_write_scope
    code, stdout, stderr, _ = run(config, PEOPLE[:5])
    assert code == 1
    errors = error_lines(stderr)
    assert len(errors) == 1
    assert (
        "POST /crm/v8/Leads: the refresh token lacks the OAuth scope ZohoCRM.modules.leads.ALL"
        in errors[0]
    )
    assert sandbox.stats()["calls"]["POST /crm/v8/Leads"] == 1
    assert states(stdout) == []


# TLS and private files.


def test_tls_verification_is_never_turned_off():
    """No verify=False, no unverified SSL context anywhere in the package; sessions verify."""
    forbidden = re.compile(
        r"verify\s*=\s*False|CERT_NONE|_create_unverified_context|check_hostname\s*=\s*False|disable_warnings"
    )
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "target_zoho_leads").rglob("*.py")
        for number, text in enumerate(path.read_text().splitlines(), start=1)
        if forbidden.search(text)
    ]
    assert offenders == []
    session = new_session(4)
    try:
        assert session.verify is True
    finally:
        session.close()


def test_the_rejected_records_file_is_owner_only_even_with_an_open_umask(config, tmp_path):
    """Umask 000 and a file someone left world-readable: the records land in a 0600 file."""
    folder = tmp_path / "new"
    config["rejected_records_path"] = str(folder / "rejected.jsonl")
    left_open = tmp_path / "old.jsonl"
    left_open.write_text("")
    left_open.chmod(0o644)
    for path in (folder / "rejected.jsonl", left_open):
        config["rejected_records_path"] = str(path)
        (tmp_path / "config.json").write_text(json.dumps(config))
        command = " ".join([*target_command(), "--config", str(tmp_path / "config.json")])
        done = subprocess.run(
            ["/bin/sh", "-c", f"umask 000; exec {command}"],
            input=singer(
                [{"name": "Bad", "email": "bad at example", "anonymous_id": "x"}]
            ).encode(),
            capture_output=True,
            timeout=30,
            check=False,
            env={**os.environ, **DEBUG_ENV},
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert "bad at example" in path.read_text()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "bad at example" not in done.stderr.decode()


# The test-only backoff base, and the scope named for each call.


@pytest.mark.parametrize(
    ("value", "base"),
    [
        ("0.02", 0.02),
        ("0.5", 0.5),
        ("1", 1.0),
        ("30", 1.0),
        ("0", 1.0),
        ("-1", 1.0),
        ("fast", 1.0),
        ("", 1.0),
    ],
)
def test_the_backoff_base_variable_can_only_shorten_the_first_wait(monkeypatch, value, base):
    """TARGET_ZOHO_LEADS_BACKOFF_BASE below 1 s shortens the first step; else it is ignored."""
    monkeypatch.setenv(BACKOFF_BASE_ENV, value)
    assert base_wait_seconds() == base
    waits = wait_times()
    next(waits)
    first = waits.send(ZohoTransientError("HTTP 503"))
    assert base / 2 <= first <= base


def test_the_backoff_base_variable_never_shortens_retry_after(monkeypatch):
    """Zoho's Retry-After is waited in full whatever the variable says."""
    monkeypatch.setenv(BACKOFF_BASE_ENV, "0.01")
    waits = wait_times()
    next(waits)
    assert waits.send(ZohoTransientError("HTTP 429", retry_after=7)) == 7


@pytest.mark.parametrize(
    ("call", "scope"),
    [
        ("POST /crm/v8/Leads", "ZohoCRM.modules.leads.ALL"),
        ("PUT /crm/v8/Leads", "ZohoCRM.modules.leads.ALL"),
        ("POST /crm/v8/coql", "ZohoCRM.coql.READ"),
        ("GET /crm/v8/settings/fields", "ZohoCRM.settings.fields.READ"),
        ("GET /crm/v8/Leads/search", "ZohoSearch.securesearch.READ"),
    ],
)
def test_a_scope_mismatch_names_the_scope_of_the_call(call, scope):
    """Each call's OAUTH_SCOPE_MISMATCH names the one scope it lacks."""
    error = call_error(
        call, 401, {"code": "OAUTH_SCOPE_MISMATCH", "message": "invalid oauth scope"}
    )
    assert isinstance(error, ZohoScopeError)
    assert f"lacks the OAuth scope {scope}," in str(error)
