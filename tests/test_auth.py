"""Auth: refresh-token flow, token reuse, data-centre errors and URL safety."""

from __future__ import annotations

import threading

import pytest
import requests

from target_zoho_leads.auth import ZohoAuth, check_base_url, data_centre_name
from target_zoho_leads.exceptions import ZohoAuthError, ZohoTransientError


class FakeResponse:
    """Just enough of ``requests.Response`` for the token endpoint."""

    def __init__(self, status: int, body: object) -> None:
        self.status_code = status
        self._body = body

    def json(self) -> object:
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


class FakeSession:
    """Answers token requests from a queue and records what was sent."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls: list[dict] = []

    def post(self, url: str, **kwargs: object) -> FakeResponse:
        self.calls.append({"url": url, **kwargs})
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return t_response(answer)


def t_response(answer: object) -> FakeResponse:
    return answer if isinstance(answer, FakeResponse) else FakeResponse(200, answer)


def good(token: str = "tok-1", **extra: object) -> dict:
    return {
        "access_token": token,
        "api_domain": "https://www.zohoapis.eu",
        "token_type": "Bearer",
        "expires_in": 3600,
        **extra,
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_auth(
    session: FakeSession, clock: Clock | None = None, url: str = "https://accounts.zoho.eu"
) -> ZohoAuth:
    return ZohoAuth(
        accounts_url=url,
        client_id="cid",
        client_secret="csecret",
        refresh_token="rtoken",
        session=session,  # type: ignore[arg-type]
        timeout=5,
        clock=clock or Clock(),
    )


def test_the_credentials_travel_in_the_form_body_never_the_url():
    """The token request posts the refresh-token grant as form fields."""
    session = FakeSession(good())
    make_auth(session).token()
    call = session.calls[0]
    assert call["url"] == "https://accounts.zoho.eu/oauth/v2/token"
    assert call["data"] == {
        "grant_type": "refresh_token",
        "client_id": "cid",
        "client_secret": "csecret",
        "refresh_token": "rtoken",
    }
    assert "params" not in call
    assert call["timeout"] == 5


def test_the_api_domain_comes_from_the_token_answer():
    """The data centre's API server is the one Zoho names."""
    auth = make_auth(FakeSession(good(api_domain="https://www.zohoapis.in")))
    assert auth.api_domain == "https://www.zohoapis.in"


def test_a_refresh_that_omits_api_domain_keeps_the_last_known_one():
    """A later answer without api_domain does not lose the API server."""
    clock = Clock()
    answer = good()
    del answer["api_domain"]
    session = FakeSession(good(api_domain="https://www.zohoapis.jp"), answer)
    auth = make_auth(session, clock, url="https://accounts.zoho.jp")
    auth.token()
    clock.now += 3600
    auth.token()
    assert auth.api_domain == "https://www.zohoapis.jp"
    assert auth.tokens_minted == 2


def test_one_token_is_reused_until_near_expiry():
    """Zoho allows ten tokens per ten minutes: the token is reused, not re-minted."""
    clock = Clock()
    session = FakeSession(good("tok-1"), good("tok-2"))
    auth = make_auth(session, clock)
    assert {auth.token() for _ in range(50)} == {"tok-1"}
    clock.now += 3600 - 61
    assert auth.token() == "tok-1"
    clock.now += 2  # inside the last minute: refreshed early
    assert auth.token() == "tok-2"
    assert len(session.calls) == 2


def test_invalidating_a_refused_token_mints_one_new_token():
    """After a 401 the next call gets a fresh token, once for all threads."""
    session = FakeSession(good("tok-1"), good("tok-2"))
    auth = make_auth(session)
    old = auth.token()
    auth.invalidate(old)
    auth.invalidate(old)  # a second thread reporting the same token
    assert auth.token() == "tok-2"
    auth.invalidate(old)  # stale report: the current token stays
    assert auth.token() == "tok-2"
    assert len(session.calls) == 2


def test_threads_share_one_refresh():
    """Many threads asking at once cause one token request."""
    session = FakeSession(good())
    auth = make_auth(session)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(auth.token())) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(tokens) == {"tok-1"}
    assert len(session.calls) == 1


@pytest.mark.parametrize(
    ("answer", "code", "hint"),
    [
        ({"error": "invalid_client"}, "invalid_client", "client_id or client_secret"),
        ({"error": "invalid_code"}, "invalid_code", "refresh_token is wrong"),
        (
            FakeResponse(
                400,
                {
                    "error": "Access Denied",
                    "error_description": "You have made too many requests continuously.",
                },
            ),
            "Access Denied",
            "at most 10 access tokens",
        ),
        (FakeResponse(400, ValueError("not json")), "HTTP 400", "check client_id"),
    ],
)
def test_refused_credentials_fail_with_the_data_centre_named(answer, code, hint):
    """Each token error says what is wrong and which accounts server was asked."""
    auth = make_auth(FakeSession(answer))
    with pytest.raises(ZohoAuthError, match=hint) as caught:
        auth.token()
    assert caught.value.code == code
    assert "accounts.zoho.eu (EU data centre)" in str(caught.value)
    assert "csecret" not in str(caught.value)
    assert "rtoken" not in str(caught.value)


def test_a_server_error_at_the_accounts_server_is_transient():
    """A 5xx from the token endpoint is retried by the caller, not fatal."""
    auth = make_auth(FakeSession(FakeResponse(503, ValueError("html"))))
    with pytest.raises(ZohoTransientError, match="HTTP 503"):
        auth.token()


def test_an_unreachable_accounts_server_is_transient():
    """A connection failure to the token endpoint is retried by the caller."""
    auth = make_auth(FakeSession(requests.ConnectionError("refused")))
    with pytest.raises(ZohoTransientError, match="could not reach"):
        auth.token()


def test_an_api_domain_over_plain_http_is_refused():
    """A token answer cannot send the target's calls to an insecure host."""
    auth = make_auth(FakeSession(good(api_domain="http://www.zohoapis.com")))
    with pytest.raises(ZohoAuthError, match="https"):
        auth.token()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://accounts.zoho.com", "https://accounts.zoho.com"),
        ("https://accounts.zoho.eu/", "https://accounts.zoho.eu"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:9", "http://localhost:9"),
        ("http://[::1]:9", "http://[::1]:9"),
    ],
)
def test_https_urls_and_loopback_http_urls_are_accepted(url, expected):
    """Https anywhere, http only on this machine."""
    assert check_base_url(url, "accounts_url") == expected


@pytest.mark.parametrize(
    "url",
    ["http://accounts.zoho.com", "ftp://accounts.zoho.com", "accounts.zoho.com", "http://10.0.0.5"],
)
def test_other_urls_are_refused(url):
    """Plain http to a real host would expose tokens on the wire."""
    with pytest.raises(ValueError, match="must be an https:// URL"):
        check_base_url(url, "accounts_url")


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
    auth = make_auth(FakeSession(good()), url=url)
    assert auth._api_domain is not None  # noqa: SLF001
    assert auth._api_domain.startswith("https://www.zohoapis.")  # noqa: SLF001
