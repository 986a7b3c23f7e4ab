"""The sandbox's token endpoint and the token check on every API call."""

from __future__ import annotations

import re

import pytest
from zoho_sandbox import ZohoSandbox

from .conftest import TIMEOUT, Zoho


def test_a_valid_refresh_token_mints_a_bearer_token_for_the_sandbox_domain(zoho: Zoho):
    """A good grant answers Zoho's token shape, with the sandbox as api_domain."""
    answer = zoho.mint()
    assert answer.status_code == 200
    body = answer.json()
    assert re.fullmatch(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}", body["access_token"])
    assert body["api_domain"] == zoho.sandbox.url
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert "ZohoCRM.coql.READ" in body["scope"]


@pytest.mark.parametrize("field", ["client_id", "client_secret"])
def test_a_wrong_client_id_or_secret_is_invalid_client_with_http_200(zoho: Zoho, field):
    """Zoho reports a bad client with HTTP 200 and an error key."""
    answer = zoho.mint(**{field: "wrong"})
    assert (answer.status_code, answer.json()) == (200, {"error": "invalid_client"})


def test_a_wrong_refresh_token_is_invalid_code_with_http_200(zoho: Zoho):
    """A bad refresh token is ``invalid_code``, also with HTTP 200."""
    answer = zoho.mint(refresh_token="1000.nope")
    assert (answer.status_code, answer.json()) == (200, {"error": "invalid_code"})


def test_a_grant_other_than_refresh_token_is_unsupported(zoho: Zoho):
    """Only the refresh-token grant is served."""
    answer = zoho.mint(grant_type="authorization_code")
    assert answer.json() == {"error": "unsupported_grant_type"}


def test_the_token_endpoint_also_reads_query_parameters(zoho: Zoho, http):
    """Like Zoho, the grant may come in the query string."""
    sb = zoho.sandbox
    params = {
        "grant_type": "refresh_token",
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
        "refresh_token": sb.refresh_token,
    }
    answer = http.post(f"{sb.url}/oauth/v2/token", params=params, timeout=TIMEOUT)
    assert "access_token" in answer.json()
    logged = sb.requests()[-1]["query"]
    assert logged["client_secret"] == ["***"]
    assert logged["refresh_token"] == ["***"]


def test_credentials_can_be_chosen_by_the_constructor(http):
    """Constructor kwargs replace the default credentials."""
    credentials = {"client_id": "cid", "client_secret": "sec", "refresh_token": "rt"}
    with ZohoSandbox(**credentials) as sb:
        zoho = Zoho(sb, http)
        assert (sb.client_id, sb.client_secret, sb.refresh_token) == (
            "cid",
            "sec",
            "rt",
        )
        assert "access_token" in zoho.mint().json()


def test_more_mints_than_the_limit_in_the_window_are_access_denied(zoho: Zoho):
    """The per-refresh-token throttle answers 400 Access Denied, then lifts."""
    zoho.sandbox.configure(token_limit=2, token_window_seconds=600)
    assert "access_token" in zoho.mint().json()
    assert "access_token" in zoho.mint().json()
    throttled = zoho.mint()
    assert throttled.status_code == 400
    assert throttled.json() == {
        "error_description": "You have made too many requests continuously. "
        "Please try again after some time.",
        "error": "Access Denied",
        "status": "failure",
    }
    zoho.sandbox.advance_clock(599)
    assert zoho.mint().status_code == 400, "the window has not passed yet"
    zoho.sandbox.advance_clock(1)
    assert "access_token" in zoho.mint().json()
    stats = zoho.sandbox.stats()
    assert (stats["token_requests"], stats["tokens_minted"]) == (5, 3)
    assert len(stats["token_mint_times"]) == 3


def test_the_request_log_masks_the_client_secret_and_refresh_token(zoho: Zoho):
    """Secrets sent to the token endpoint never reach the request log."""
    zoho.mint()
    entry = zoho.sandbox.requests()[-1]
    masked = {"client_secret": "***", "refresh_token": "***"}
    assert {key: entry["form"][key] for key in masked} == masked
    assert entry["form"]["client_id"] == zoho.sandbox.client_id
    assert entry["status"] == 200
    assert zoho.sandbox.client_secret not in str(zoho.sandbox.requests())


@pytest.mark.parametrize("header", [None, "Bearer abc", "Zoho-oauthtoken ", "abc"])
def test_a_call_without_a_zoho_oauthtoken_header_is_authentication_failure(sandbox, http, header):
    """A missing or malformed Authorization header is AUTHENTICATION_FAILURE."""
    headers = {"Authorization": header} if header else {}
    answer = http.get(
        f"{sandbox.url}/crm/v8/settings/fields",
        params={"module": "Leads"},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "AUTHENTICATION_FAILURE",
        "details": {},
        "message": "Authentication failed",
        "status": "error",
    }


def test_an_unknown_token_is_invalid_token(sandbox, http):
    """A well-formed token the sandbox never minted answers 401 INVALID_TOKEN."""
    answer = http.get(
        f"{sandbox.url}/crm/v8/settings/fields",
        params={"module": "Leads"},
        headers={"Authorization": "Zoho-oauthtoken 1000.abc.def"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "INVALID_TOKEN",
        "details": {},
        "message": "invalid oauth token",
        "status": "error",
    }


def test_a_token_stops_working_after_token_expiry_calls(zoho: Zoho):
    """With token_expiry_calls=2 the third call with a token is INVALID_TOKEN."""
    zoho.sandbox.configure(token_expiry_calls=2)
    statuses = [
        zoho.call("GET", "settings/fields", params={"module": "Leads"}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 401]
    assert zoho.call("GET", "settings/fields").json()["code"] == "INVALID_TOKEN"


def test_a_token_expires_after_its_ttl(zoho: Zoho):
    """A token older than token_ttl_seconds is INVALID_TOKEN."""
    zoho.sandbox.configure(token_ttl_seconds=3600)
    assert zoho.call("GET", "settings/fields", params={"module": "Leads"}).status_code == 200
    zoho.sandbox.advance_clock(3599)
    assert zoho.call("GET", "settings/fields", params={"module": "Leads"}).status_code == 200
    zoho.sandbox.advance_clock(1)
    answer = zoho.call("GET", "settings/fields", params={"module": "Leads"})
    assert (answer.status_code, answer.json()["code"]) == (401, "INVALID_TOKEN")


def test_minted_tokens_lists_every_token_minted(zoho: Zoho):
    """minted_tokens() gives every access token, so tests can look for leaks."""
    tokens = [zoho.mint().json()["access_token"] for _ in range(2)]
    assert zoho.sandbox.minted_tokens() == tokens
