"""Zoho accounts imitation: refresh-token grants, access tokens, expiry, throttle."""

from __future__ import annotations

import collections
import dataclasses
import math
import secrets
import threading
import typing as t

if t.TYPE_CHECKING:
    from zoho_sandbox.clock import Clock
    from zoho_sandbox.state import Knobs

SCOPES = (
    "ZohoCRM.modules.leads.ALL",
    "ZohoCRM.settings.fields.READ",
    "ZohoCRM.coql.READ",
    "ZohoSearch.securesearch.READ",
)
CONTACTS_SCOPE = "ZohoCRM.modules.contacts.READ"
THROTTLED = {
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}
AUTHENTICATION_FAILURE = {
    "code": "AUTHENTICATION_FAILURE",
    "details": {},
    "message": "Authentication failed",
    "status": "error",
}
INVALID_TOKEN = {
    "code": "INVALID_TOKEN",
    "details": {},
    "message": "invalid oauth token",
    "status": "error",
}


@dataclasses.dataclass
class Credentials:
    """The one OAuth client and refresh token the sandbox accepts."""

    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 - a sandbox default
    refresh_token: str = "sandbox-refresh-token"  # noqa: S105 - a sandbox default


@dataclasses.dataclass
class _Token:
    expires_at: float
    calls: int = 0


class TokenIssuer:
    """Mints access tokens from the refresh token and checks them on API calls."""

    def __init__(self, credentials: Credentials, knobs: Knobs, clock: Clock) -> None:
        """Accept ``credentials``; read expiry and throttle settings from ``knobs``.

        ``clock`` times token lifetimes, the mint window and blocks.
        """
        self.credentials = credentials
        self.clock = clock
        self._knobs = knobs
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self._mints: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._blocked_until = 0.0

    def forget_throttle(self) -> None:
        """Clear the mint history and any block, so a reset sandbox is not throttled."""
        with self._lock:
            self._mints.clear()
            self._blocked_until = 0.0

    def block(self, seconds: float) -> None:
        """Refuse every mint as Access Denied for ``seconds`` from now."""
        with self._lock:
            self._blocked_until = self.clock.time() + seconds

    def _throttled(self, mints: collections.deque[float], now: float) -> bool:
        """Whether a mint now is refused; the lock is held.

        Zoho refuses mints past ``token_limit`` for the rest of the window;
        ``token_block_seconds`` makes that a block of a chosen length instead.
        """
        knobs = self._knobs
        if now < self._blocked_until:
            return True
        while mints and mints[0] <= now - knobs.token_window_seconds:
            mints.popleft()
        if len(mints) < knobs.token_limit:
            return False
        if knobs.token_block_seconds is not None:
            self._blocked_until = now + knobs.token_block_seconds
            mints.clear()
        return True

    def grant(self, form: dict[str, str], api_domain: str) -> tuple[int, dict[str, t.Any]]:
        """Answer ``POST /oauth/v2/token`` as Zoho does.

        Zoho reports bad credentials with HTTP 200 and an ``error`` key; only
        its throttle answers 400 (or 200: the ``mint_block_status`` knob).

        Args:
            form: The request's parameters, one value each.
            api_domain: The API domain to tell the client to use.

        Returns:
            The HTTP status and the JSON body.
        """
        if form.get("grant_type") != "refresh_token":
            return 200, {"error": "unsupported_grant_type"}
        if (
            form.get("client_id") != self.credentials.client_id
            or form.get("client_secret") != self.credentials.client_secret
        ):
            return 200, {"error": "invalid_client"}
        if form.get("refresh_token") != self.credentials.refresh_token:
            return 200, {"error": "invalid_code"}
        now = self.clock.time()
        knobs = self._knobs
        with self._lock:
            mints = self._mints[form["refresh_token"]]
            if self._throttled(mints, now):
                # HTTP 400 as the sandbox was seen to answer; Zoho's Kaizen #43
                # says the status stays 200 (knob mint_block_status).
                return knobs.mint_block_status, dict(THROTTLED)
            mints.append(now)
            token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
            self._tokens[token] = _Token(expires_at=now + knobs.token_ttl_seconds)
        scopes = [
            *(s for s in SCOPES if knobs.coql_scope or s != "ZohoCRM.coql.READ"),
            *([CONTACTS_SCOPE] if knobs.contacts_scope else []),
        ]
        return 200, {
            "access_token": token,
            "scope": " ".join(scopes),
            "api_domain": api_domain,
            "token_type": "Bearer",
            "expires_in": math.ceil(knobs.token_ttl_seconds),
        }

    def check(self, authorization: str | None) -> dict[str, t.Any] | None:
        """Check an API call's ``Authorization`` header and count the call.

        Args:
            authorization: The header's value, if any.

        Returns:
            None when the token is good, else Zoho's 401 body.
        """
        scheme, _, token = (authorization or "").partition(" ")
        if scheme != "Zoho-oauthtoken" or not token.strip():
            return dict(AUTHENTICATION_FAILURE)
        limit = self._knobs.token_expiry_calls
        with self._lock:
            issued = self._tokens.get(token.strip())
            if issued is None or issued.expires_at <= self.clock.time():
                return dict(INVALID_TOKEN)
            if limit and issued.calls >= limit:
                return dict(INVALID_TOKEN)
            issued.calls += 1
        return None
