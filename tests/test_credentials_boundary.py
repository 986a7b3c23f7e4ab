"""The credentials go only where the settings say: no redirects, no parser tricks, no proxies.

Each test runs the real command against servers it starts on loopback: an
accounts server that misbehaves, and a capture server standing for the
attacker's host, which must receive nothing at all.
"""

from __future__ import annotations

import time

import pytest

from target_zoho_leads.zoho.hosts import check_accounts_url
from tests.conftest import singer_lines
from tests.support.scripted_server import Raw, Reply, ScriptedServer

PERSON = {"name": "Person", "email": "boundary@example.com", "anonymous_id": "t1"}
NO_PROXY_SET = {"NO_PROXY": "", "no_proxy": ""}


@pytest.fixture
def capture():
    """The attacker's host, on a loopback address of its own: any connection is a leak."""
    with ScriptedServer(host="127.0.0.2") as server:
        yield server


def accounts_server(status: int, headers: dict, payload: object) -> ScriptedServer:
    """An accounts server on loopback giving one answer to every token request."""
    return ScriptedServer(default=Reply(status, payload, headers))


def assert_one_line_failure(run, *words: str) -> None:
    """Exit 1, one ERROR line holding ``words``, no traceback, no secret."""
    assert run.returncode == 1, run.stderr[-3000:]
    assert len(run.errors) == 1, run.stderr[-3000:]
    for word in words:
        assert word in run.errors[0]
    assert "Traceback" not in run.stderr
    assert "boundary@example.com" not in run.stderr


def test_a_redirected_token_request_fails_naming_accounts_url_and_sends_the_secrets_nowhere(
    config, run_target, capture
):
    """A 307 to another host: one line naming accounts_url; that host receives nothing."""
    moved = {"Location": f"{capture.url}/steal"}
    with accounts_server(307, moved, None) as server:
        config.update(accounts_url=server.url, max_retries=3)
        run = run_target(config, singer_lines("web", [PERSON]))
    assert_one_line_failure(run, "accounts_url", "redirect")
    assert len(server.requests) == 1
    assert capture.connections == 0
    assert config["client_secret"] not in run.stderr


@pytest.mark.parametrize(
    "api_domain",
    [
        r"http://127.0.0.2:{port}\@127.0.0.1:{port}",
        "http://127.0.0.1:{port}@127.0.0.2:{port}",
        "https://evil.example",
        "https://www.zohoapis.com.evil.example",
    ],
    ids=["backslash", "userinfo", "other-host", "lookalike"],
)
def test_a_token_answer_cannot_send_the_api_calls_elsewhere(
    config, run_target, capture, api_domain
):
    """An api_domain that is not Zoho's (nor plain loopback) stops the run; no call is made."""
    answer = {"access_token": "minted", "api_domain": api_domain.format(port=capture.port)}
    with accounts_server(200, {}, {**answer, "expires_in": 3600}) as server:
        config.update(accounts_url=server.url, max_retries=3)
        run = run_target(config, singer_lines("web", [PERSON]))
    assert_one_line_failure(run, "api_domain")
    assert capture.connections == 0
    assert "minted" not in run.stderr


@pytest.mark.parametrize(
    "accounts_url",
    [
        r"http://127.0.0.2:{port}\@127.0.0.1:{port}",
        "https://accounts.zoho.com.evil.example",
        "http://127.0.0.1:{port}@127.0.0.2:{port}",
    ],
    ids=["backslash", "lookalike", "userinfo"],
)
def test_an_accounts_url_the_credentials_may_not_go_to_stops_the_run_at_start_up(
    config, run_target, capture, accounts_url
):
    """Refused before any input is read or request made, with a message naming accounts_url."""
    config["accounts_url"] = accounts_url.format(port=capture.port)
    run = run_target(config, singer_lines("web", [PERSON]))
    assert run.returncode != 0
    assert "accounts_url" in run.stderr
    assert "Traceback" not in run.stderr
    assert capture.connections == 0
    with pytest.raises(ValueError, match="accounts_url"):
        check_accounts_url(config["accounts_url"])


def dribbling_server() -> ScriptedServer:
    """Answers a byte every 0.3 s, for a minute: each read is quick, the answer never ends."""
    return ScriptedServer(default=Raw(tail=b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200, every=0.3))


def test_a_server_dribbling_its_answer_cannot_hold_the_run_past_request_timeout(config, run_target):
    """request_timeout bounds the whole call: the run fails with the timeout named, not a hang."""
    with dribbling_server() as server:
        config.update(accounts_url=server.url, request_timeout=1, max_retries=2)
        started = time.monotonic()
        run = run_target(config, singer_lines("web", [PERSON]), env={"LOGLEVEL": "INFO"})
        seconds = time.monotonic() - started
    print(f"dribbling accounts server: exit {run.returncode} after {seconds:.1f} s")
    assert_one_line_failure(run, "no answer within request_timeout", "still failing after 2 tries")


def test_proxy_variables_are_not_used_for_the_loopback_sandbox(
    sandbox, config, run_target, capture
):
    """HTTP_PROXY and HTTPS_PROXY point at the capture server: the sandbox gets every call."""
    proxy = dict.fromkeys(("HTTP_PROXY", "http_proxy", "HTTPS_PROXY"), capture.url)
    run = run_target(config, singer_lines("web", [PERSON]), env={**proxy, **NO_PROXY_SET})
    assert run.returncode == 0, run.stderr[-3000:]
    assert [lead["Email"] for lead in sandbox.leads()] == [PERSON["email"]]
    assert capture.connections == 0
