"""Auth: refresh-token flow, token reuse, token errors, and where the credentials may go.

A scripted accounts server on loopback plays Zoho's token endpoint.
"""

from __future__ import annotations

import logging
import socket
import threading
from urllib.parse import parse_qs

import pytest
import requests

from target_zoho_leads.zoho.auth import ZohoAuth, data_centre_name
from target_zoho_leads.zoho.errors import ZohoAuthError, ZohoTransientError
from target_zoho_leads.zoho.hosts import check_accounts_url, check_api_domain
from tests.support.scripted_server import ScriptedServer


class Accounts(ScriptedServer):
    """Zoho's token endpoint: the scripted answers in order, the last one again and again."""

    @property
    def seen(self) -> list[tuple[str, str | None, bytes]]:
        """Each token request's path, content type and body."""
        return [(r.path, r.headers.get("Content-Type"), r.body) for r in self.requests]


@pytest.fixture
def accounts():
    with Accounts([(200, good(), {})], repeat_last=True) as server:
        yield server


def good(token: str = "tok-1", **extra: object) -> dict:
    return {
        "access_token": token,
        "api_domain": "https://www.zohoapis.eu",
        "token_type": "Bearer",
        "expires_in": 3600,
        **extra,
    }


def answers(*payloads: object, status: int = 200) -> list[tuple]:
    return [(status, payload, {}) for payload in payloads]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        """Pass the time instead of waiting for it."""
        self.slept.append(seconds)
        self.now += seconds


def make_auth(url: str, clock: Clock | None = None, **extra: object) -> ZohoAuth:
    clock = clock or Clock()
    return ZohoAuth(
        accounts_url=url,
        client_id="cid",
        client_secret="csecret",
        refresh_token="rtoken",
        session=requests.Session(),
        timeout=5,
        clock=clock,
        sleep=clock.sleep,
        **extra,  # type: ignore[arg-type]
    )


def test_the_credentials_travel_in_the_form_body_never_the_url(accounts):
    """The token request posts the refresh-token grant as form fields."""
    make_auth(accounts.url).token()
    path, content_type, body = accounts.seen[0]
    assert path == "/oauth/v2/token"
    assert content_type == "application/x-www-form-urlencoded"
    assert parse_qs(body.decode()) == {
        "grant_type": ["refresh_token"],
        "client_id": ["cid"],
        "client_secret": ["csecret"],
        "refresh_token": ["rtoken"],
    }


def test_the_api_domain_comes_from_the_token_answer(accounts):
    """The data centre's API server is the one Zoho names."""
    accounts.script = answers(good(api_domain="https://www.zohoapis.in"))
    assert make_auth(accounts.url).api_domain == "https://www.zohoapis.in"


def test_a_refresh_that_omits_api_domain_keeps_the_last_known_one(accounts):
    """A later answer without api_domain does not lose the API server."""
    clock = Clock()
    answer = good()
    del answer["api_domain"]
    accounts.script = answers(good(api_domain="https://www.zohoapis.jp"), answer)
    auth = make_auth(accounts.url, clock)
    auth.token()
    clock.now += 3600
    auth.token()
    assert auth.api_domain == "https://www.zohoapis.jp"
    assert auth.tokens_minted == 2


def test_one_token_is_reused_until_near_expiry(accounts):
    """Zoho allows ten tokens per ten minutes: the token is reused, not re-minted."""
    clock = Clock()
    accounts.script = answers(good("tok-1"), good("tok-2"))
    auth = make_auth(accounts.url, clock)
    assert {auth.token() for _ in range(50)} == {"tok-1"}
    clock.now += 3600 - 61
    assert auth.token() == "tok-1"
    clock.now += 2  # inside the last minute: refreshed early
    assert auth.token() == "tok-2"
    assert len(accounts.seen) == 2


def test_invalidating_a_refused_token_mints_one_new_token(accounts):
    """After a 401 the next call gets a fresh token, once for all threads."""
    accounts.script = answers(good("tok-1"), good("tok-2"))
    auth = make_auth(accounts.url)
    old = auth.token()
    auth.invalidate(old)
    auth.invalidate(old)  # a second thread reporting the same token
    assert auth.token() == "tok-2"
    auth.invalidate(old)  # stale report: the current token stays
    assert auth.token() == "tok-2"
    assert len(accounts.seen) == 2


def test_threads_share_one_refresh(accounts):
    """Many threads asking at once cause one token request."""
    auth = make_auth(accounts.url)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(auth.token())) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(tokens) == {"tok-1"}
    assert len(accounts.seen) == 1


@pytest.mark.parametrize(
    ("script", "code", "hint"),
    [
        (answers({"error": "invalid_client"}), "invalid_client", "client_id or client_secret"),
        (answers({"error": "invalid_code"}), "invalid_code", "refresh_token is wrong"),
        (
            answers(
                {
                    "error": "Access Denied",
                    "error_description": "You have made too many requests continuously.",
                },
                status=400,
            ),
            "Access Denied",
            "at most 10 access tokens",
        ),
        (answers(b"not json", status=400), "HTTP 400", "check client_id"),
    ],
)
def test_refused_credentials_fail_with_the_accounts_server_named(accounts, script, code, hint):
    """Each token error says what is wrong and which accounts server was asked."""
    accounts.script = script
    with pytest.raises(ZohoAuthError, match=hint) as caught:
        make_auth(accounts.url).token()
    assert caught.value.code == code
    assert "at 127.0.0.1" in str(caught.value)
    assert "csecret" not in str(caught.value)
    assert "rtoken" not in str(caught.value)


def test_a_server_error_at_the_accounts_server_is_transient(accounts):
    """A 5xx from the token endpoint is retried by the caller, not fatal."""
    accounts.script = answers(b"<html>", status=503)
    with pytest.raises(ZohoTransientError, match="HTTP 503"):
        make_auth(accounts.url).token()


def test_an_unreachable_accounts_server_is_transient():
    """A connection failure to the token endpoint is retried by the caller."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    with pytest.raises(ZohoTransientError, match="could not reach the Zoho accounts server"):
        make_auth(url).token()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_token_request_fails_naming_accounts_url_and_is_not_followed(accounts, status):
    """The secrets are not sent on to where a redirect points; one refusal, no retry."""
    with socket.create_server(("127.0.0.1", 0)) as elsewhere:
        elsewhere.settimeout(0.2)
        port = elsewhere.getsockname()[1]
        accounts.script = [(status, b"", {"Location": f"http://127.0.0.1:{port}/steal"})]
        with pytest.raises(ZohoAuthError, match="accounts_url") as caught:
            make_auth(accounts.url).token()
        with pytest.raises(TimeoutError):
            elsewhere.accept()
    assert caught.value.code == "REDIRECT"
    assert not isinstance(caught.value, ZohoTransientError)
    assert len(accounts.seen) == 1


@pytest.mark.parametrize(
    "api_domain",
    ["http://www.zohoapis.com", "https://evil.example", r"https://www.zohoapis.com\@evil.example"],
)
def test_a_token_answer_cannot_send_the_calls_elsewhere(accounts, api_domain):
    """An api_domain that is not https on a Zoho API host (or loopback) is refused."""
    accounts.script = answers(good(api_domain=api_domain))
    with pytest.raises(ZohoAuthError, match="api_domain") as caught:
        make_auth(accounts.url).token()
    assert caught.value.code == "INVALID_API_DOMAIN"


@pytest.mark.parametrize("token", ["tok\r\nX-Evil: 1", "tok en", ["tok"], ""])
def test_an_access_token_that_cannot_go_in_a_header_is_refused(accounts, token):
    """A token answer cannot add headers of its own to every call."""
    accounts.script = answers(good(token))
    with pytest.raises(ZohoAuthError, match="access_token") as caught:
        make_auth(accounts.url).token()
    assert "X-Evil" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://accounts.zoho.com", "https://accounts.zoho.com"),
        ("https://accounts.zoho.eu/", "https://accounts.zoho.eu"),
        ("HTTPS://Accounts.Zoho.In", "https://accounts.zoho.in"),
        ("https://accounts.zohocloud.ca:443", "https://accounts.zohocloud.ca:443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:9", "http://localhost:9"),
        ("http://[::1]:9", "http://[::1]:9"),
        ("https://127.0.0.2", "https://127.0.0.2"),
    ],
)
def test_zohos_accounts_servers_and_loopback_urls_are_accepted(url, expected):
    """Zoho's own accounts servers over https, and this machine over http or https."""
    assert check_accounts_url(url) == expected


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://accounts.zoho.com", "https://"),
        ("ftp://accounts.zoho.com", "https://"),
        ("accounts.zoho.com", "https://"),
        ("http://10.0.0.5", "https://"),
        ("https://accounts.zoho.com.evil.example", "one of Zoho's accounts servers"),
        ("https://evil.example", "one of Zoho's accounts servers"),
        ("https://accounts.zoho.com.", "one of Zoho's accounts servers"),
        (r"http://127.0.0.2\@127.0.0.1:9", "backslash"),
        ("http://user:pw@127.0.0.1:9", "password"),
        ("https://accounts.zoho.com@evil.example", "password"),
        ("https://accounts.zoho.com\t.evil.example", "control character"),
        ("https://accounts.zoho.com /x", "space"),
        ("https://accounts.zoho.com/oauth", "just https://host"),
        ("https://accounts.zoho.com?x=1", "just https://host"),
        ("https://accounts.zoho.com#x", "just https://host"),
        ("https://accounts.zoh\u043e.com", "plain URL"),  # a Cyrillic o
        ("http://127.0.0.1:99999", "can be read"),
        (None, "plain URL"),
    ],
)
def test_other_accounts_urls_are_refused_naming_the_setting_and_why(url, why):
    """Plain http to a real host, other hosts, and URLs two parsers could read differently."""
    with pytest.raises(ValueError, match="accounts_url") as caught:
        check_accounts_url(url)  # type: ignore[arg-type]
    assert why in str(caught.value)
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.zohoapis.com",
        "https://zohoapis.com",
        "https://sandbox.zohoapis.eu",
        "https://developer.zohoapis.com.au",
        "https://www.zohoapis.com.cn",
        "https://www.zohoapis.ca",
        "https://www.zohoapis.uk",
    ],
)
def test_zoho_api_hosts_are_accepted_as_api_domain(url):
    """Every data centre's API host, for production, sandbox and developer orgs."""
    assert check_api_domain(url, accounts_url="https://accounts.zoho.com") == url


@pytest.mark.parametrize(
    ("url", "accounts_url"),
    [
        ("http://127.0.0.1:9", "https://accounts.zoho.com"),
        ("https://www.zohoapis.com.evil.example", "https://accounts.zoho.com"),
        ("https://zohoapis.example", "http://127.0.0.1:9"),
        ("http://www.zohoapis.com", "http://127.0.0.1:9"),
        (r"http://127.0.0.2:8\@127.0.0.1:9", "http://127.0.0.1:9"),
    ],
)
def test_other_api_domains_are_refused(url, accounts_url):
    """Loopback only for a loopback accounts server; elsewhere https on Zoho's API hosts."""
    with pytest.raises(ValueError, match="api_domain"):
        check_api_domain(url, accounts_url=accounts_url)


def test_allowed_hosts_admit_a_gateway_and_the_log_says_so(accounts, caplog):
    """A host in allowed_hosts may receive the credentials and serve the API, with a warning."""
    assert check_accounts_url("https://Gateway.Example", ["gateway.example"])
    with pytest.raises(ValueError, match="allowed_hosts"):
        check_accounts_url("https://gateway.example")
    accounts.script = answers(good(api_domain="https://api-gateway.example"))
    with caplog.at_level(logging.WARNING):
        auth = make_auth(accounts.url, allowed_hosts=["api-gateway.example"])
        assert auth.api_domain == "https://api-gateway.example"
    assert "allowed_hosts lists it" in caplog.text
    with pytest.raises(ValueError, match="allowed_hosts"):
        make_auth("https://gateway.example", allowed_hosts=["other.example"])


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://accounts.zoho.com", "US"),
        ("https://accounts.zoho.eu", "EU"),
        ("https://accounts.zoho.in", "India"),
        ("https://accounts.zoho.com.au", "Australia"),
        ("https://accounts.zoho.jp", "Japan"),
        ("https://accounts.zoho.sa", "Saudi Arabia"),
        ("https://accounts.zoho.com.cn", "China"),
        ("https://accounts.zohocloud.ca", "Canada"),
        ("https://accounts.zoho.uk", "UK"),
    ],
)
def test_every_data_centre_is_named_and_has_an_api_domain(url, name):
    """Messages name the data centre; its API domain is known before any token."""
    assert data_centre_name(url).endswith(f"({name} data centre)")
    auth = make_auth(url)
    assert auth._api_domain is not None  # noqa: SLF001
    assert auth._api_domain.startswith("https://www.zohoapis.")  # noqa: SLF001
    assert check_api_domain(auth._api_domain, accounts_url=url)  # noqa: SLF001


# --- Zoho's token-mint block ----------------------------------------------------------

DENIED = {"error": "Access Denied", "error_description": "You have made too many requests."}


@pytest.fixture
def one_second_steps(monkeypatch):
    """The waits' first step is the real 1 s, whatever the environment asks."""
    monkeypatch.delenv("TARGET_ZOHO_LEADS_BACKOFF_BASE", raising=False)


@pytest.mark.parametrize("status", [200, 400])
def test_a_mint_block_is_asked_again_once_a_minute_until_it_passes(
    accounts, one_second_steps, status
):
    """Access Denied three times (HTTP 200 or 400), then a token: one ask a minute, no more."""
    accounts.script = [*answers(DENIED, DENIED, DENIED, status=status), (200, good("late"), {})]
    clock = Clock()
    assert make_auth(accounts.url, clock).token() == "late"
    assert clock.slept == [60.0, 60.0, 60.0]
    assert len(accounts.seen) == 4


@pytest.mark.parametrize("status", [200, 400])
@pytest.mark.parametrize("words", ["Accès refusé", "拒绝访问", "Zugriff verweigert"])
def test_a_mint_block_is_known_by_its_shape_in_any_language(
    accounts, words, one_second_steps, status
):
    """Zoho localises the words and may answer 200 (Kaizen #43): an error, no token, a block."""
    accounts.script = [*answers({"error": words}, status=status), (200, good("late"), {})]
    clock = Clock()
    assert make_auth(accounts.url, clock).token() == "late"
    assert clock.slept == [60.0]


@pytest.mark.parametrize("code", ["invalid_code", "invalid_client", "unsupported_grant_type"])
def test_oauth_error_codes_fail_at_once_even_with_http_400(accounts, code):
    """Refused credentials are not a block: no wait, one request, the code named."""
    accounts.script = answers({"error": code}, status=400)
    clock = Clock()
    with pytest.raises(ZohoAuthError) as caught:
        make_auth(accounts.url, clock).token()
    assert caught.value.code == code
    assert clock.slept == []
    assert len(accounts.seen) == 1


def test_a_block_past_token_wait_max_fails_with_the_throttle_line(accounts, one_second_steps):
    """Still blocked at token_wait_max: the throttle's own line, not a transient error."""
    accounts.script = answers(DENIED, status=400)
    clock = Clock()
    auth = make_auth(accounts.url, clock, token_wait_max=100)
    with pytest.raises(ZohoAuthError) as caught:
        auth.token()
    assert not isinstance(caught.value, ZohoTransientError)  # no retry waits it out again
    assert str(caught.value) == (
        "Zoho refused the token request at 127.0.0.1 (Access Denied): Zoho is throttling "
        "token requests (at most 10 access tokens per refresh token in 10 minutes); wait "
        "ten minutes and make sure no other job is refreshing the same token in a loop "
        "(still refused after waiting token_wait_max)"
    )
    assert clock.slept == [60.0, 40.0]  # asked at 0, 60 and 100 s: the last at token_wait_max
    assert len(accounts.seen) == 3


def test_after_a_failed_wait_every_token_request_fails_at_once(accounts, one_second_steps):
    """The run does not wait all over again for each thread that needs a token."""
    accounts.script = answers(DENIED, status=400)
    clock = Clock()
    auth = make_auth(accounts.url, clock, token_wait_max=10)
    with pytest.raises(ZohoAuthError):
        auth.token()
    asked, slept = len(accounts.seen), len(clock.slept)
    with pytest.raises(ZohoAuthError, match="still refused after waiting token_wait_max"):
        auth.token()
    assert (len(accounts.seen), len(clock.slept)) == (asked, slept)


def test_each_ask_during_the_wait_says_how_long_it_has_waited(accounts, caplog, one_second_steps):
    """A log line when the wait begins, then one at each later ask (a minute apart)."""
    accounts.script = [*answers(*[DENIED] * 3, status=400), (200, good(), {})]
    clock = Clock()
    with caplog.at_level(logging.INFO, logger="target_zoho_leads.zoho.auth"):
        make_auth(accounts.url, clock, token_wait_max=200).token()
    lines = [r.getMessage() for r in caplog.records if r.name == "target_zoho_leads.zoho.auth"]
    assert lines[0].startswith("Zoho refused the token request at 127.0.0.1 (Access Denied)")
    assert lines[0].endswith("waiting up to 200 s (token_wait_max) for the block to pass")
    # Asked at 0, 60, 120 and 180 s: each ask past 30 s says how long it has been.
    waiting = "Still waiting for Zoho's token-mint block to pass: {} s so far, at most 200 s"
    assert lines[1:] == [
        *(waiting.format(seconds) + " (token_wait_max)" for seconds in (60, 120)),
        "Zoho's token-mint block passed after 180 s",
    ]


def test_threads_needing_a_token_during_a_block_wait_on_the_one_minting(accounts):
    """Eight threads, a block of two refusals: three token requests in all, one token."""
    accounts.script = [*answers(DENIED, DENIED, status=400), (200, good("shared"), {})]
    auth = make_auth(accounts.url)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(auth.token())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tokens == ["shared"] * 8
    assert len(accounts.seen) == 3
