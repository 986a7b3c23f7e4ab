"""Zoho OAuth: turn the refresh token into access tokens, one at a time."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import typing as t
from urllib.parse import urlencode, urlsplit

from target_zoho_leads.exceptions import (
    ZohoAuthError,
    ZohoTokenThrottledError,
    ZohoTransientError,
)
from target_zoho_leads.hosts import (
    DATA_CENTRES,
    admitted_only_by,
    check_accounts_url,
    check_api_domain,
)
from target_zoho_leads.transport import Transport

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import requests

logger = logging.getLogger(__name__)

DEFAULT_ACCOUNTS_URL = "https://accounts.zoho.com"
# Zoho tokens live an hour; refreshing a minute early keeps a call that starts
# just before expiry from failing on the way.
EXPIRY_MARGIN_SECONDS = 60.0
TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 - a path, not a secret
THROTTLED = "Access Denied"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HTTP_REDIRECTS = range(300, 400)
HTTP_SERVER_ERROR = 500
# What a token must look like to go into a header: anything else (a line
# break above all) would let a token answer write headers of its own.
_TOKEN = re.compile(r"[\x21-\x7e]+")


def check_base_url(url: str, what: str = "accounts_url") -> str:
    """The settings' old name for :func:`check_accounts_url` (``what`` is always accounts_url)."""
    del what
    return check_accounts_url(url)


def data_centre_name(accounts_url: str) -> str:
    """Describe the data centre behind ``accounts_url`` for error messages."""
    host = urlsplit(accounts_url).hostname or accounts_url
    known = DATA_CENTRES.get(host)
    return f"{host} ({known[0]} data centre)" if known else host


class ZohoAuth:
    """Hands out one access token at a time, refreshing it only when needed.

    Zoho lets a refresh token mint at most ten access tokens in ten minutes,
    so the token is shared by every thread and refreshed once, under a lock,
    when it is near expiry or Zoho has refused it.
    """

    def __init__(  # noqa: PLR0913
        self,
        *,
        accounts_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        session: requests.Session,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        allowed_hosts: Sequence[str] = (),
    ) -> None:
        """Keep the credentials; no call is made until a token is needed.

        Args:
            accounts_url: Zoho's accounts server, a loopback one, or one on
                a host of ``allowed_hosts``; see :func:`check_accounts_url`.
            client_id: The OAuth client.
            client_secret: Its secret.
            refresh_token: Mints the access tokens.
            session: Sends the token requests (its proxies, CA bundle).
            timeout: Seconds one token request may take in all.
            clock: Monotonic seconds, for token expiry.
            allowed_hosts: Hosts besides Zoho's and loopback that may receive
                the credentials (and serve the API), for users behind a gateway.

        Raises:
            ValueError: ``accounts_url`` may not receive the credentials.
        """
        self.accounts_url = check_accounts_url(accounts_url, allowed_hosts)
        self._allowed_hosts = tuple(allowed_hosts)
        if admitted_only_by(self._allowed_hosts, self.accounts_url):
            logger.warning(
                "accounts_url %s is not a Zoho accounts server; the credentials go "
                "there because allowed_hosts lists it",
                data_centre_name(self.accounts_url),
            )
        self._form = urlencode(
            {
                "grant_type": "refresh_token",
                "client_id": client_id,
                "client_secret": client_secret,
                "refresh_token": refresh_token,
            }
        ).encode()
        self._transport = Transport(session, timeout)
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        known = DATA_CENTRES.get(urlsplit(self.accounts_url).hostname or "")
        self._api_domain: str | None = known[1] if known else None
        self.tokens_minted = 0

    @property
    def api_domain(self) -> str:
        """The API server of the account's data centre, from the last token answer."""
        if self._token is None:
            self.token()
        return t.cast("str", self._api_domain)

    def token(self) -> str:
        """Return a valid access token, minting a new one only when needed."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._refresh()
            return t.cast("str", self._token)

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after Zoho refused it, unless another thread already has."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _refresh(self) -> None:
        """Mint an access token; the credentials travel in the form body only."""
        where = data_centre_name(self.accounts_url)
        response = self._transport.send(
            "POST",
            self.accounts_url,
            TOKEN_PATH,
            name=f"could not reach the Zoho accounts server {where}",
            headers=FORM,
            body=self._form,
        )
        if response.status in HTTP_REDIRECTS:
            # Following it would re-send the secrets to wherever it points.
            msg = (
                f"the accounts server {where} answered the token request with a "
                f"redirect (HTTP {response.status}), which the target never follows: "
                "set accounts_url to the accounts server itself"
            )
            raise ZohoAuthError(msg, code="REDIRECT", status=response.status)
        if response.status >= HTTP_SERVER_ERROR:
            msg = f"the Zoho accounts server {where} answered HTTP {response.status}"
            raise ZohoTransientError(msg, status=response.status)
        answer = _json_object(response.body)
        if "access_token" not in answer:
            raise self._refusal(answer, response.status)
        self._accept(answer)

    def _accept(self, answer: dict[str, t.Any]) -> None:
        """Store a freshly minted token and the API domain that comes with it."""
        if answer.get("api_domain"):
            self._api_domain = self._checked_api_domain(answer["api_domain"])
        if self._api_domain is None:
            msg = (
                "Zoho's token answer named no api_domain and "
                f"{data_centre_name(self.accounts_url)} is not a known data centre"
            )
            raise ZohoAuthError(msg, code="NO_API_DOMAIN")
        token = answer["access_token"]
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            msg = "Zoho's token answer held an access_token that cannot be sent in a header"
            raise ZohoAuthError(msg, code="INVALID_TOKEN_ANSWER")
        lifetime = float(answer.get("expires_in") or 3600)
        self._expires_at = self._clock() + max(lifetime - EXPIRY_MARGIN_SECONDS, 1.0)
        self._token = token
        self.tokens_minted += 1

    def _checked_api_domain(self, given: t.Any) -> str:
        """The token answer's api_domain, if the API calls may go there."""
        try:
            api_domain = check_api_domain(
                given, accounts_url=self.accounts_url, allowed_hosts=self._allowed_hosts
            )
        except ValueError as exc:
            raise ZohoAuthError(str(exc), code="INVALID_API_DOMAIN") from None
        if api_domain != self._api_domain and admitted_only_by(self._allowed_hosts, api_domain):
            logger.warning(
                "The token answer's api_domain %s is not a Zoho API host; the API "
                "calls go there because allowed_hosts lists it",
                data_centre_name(api_domain),
            )
        return api_domain

    def _refusal(self, answer: dict[str, t.Any], status: int) -> ZohoAuthError:
        """Word Zoho's token error for the person who has to fix the settings."""
        code = str(answer.get("error") or f"HTTP {status}")
        where = data_centre_name(self.accounts_url)
        if code == "invalid_client":
            hint = (
                "the client_id or client_secret is wrong, or the client was "
                "created in another data centre: set accounts_url to the "
                "accounts server where you created it"
            )
        elif code == "invalid_code":
            hint = (
                "the refresh_token is wrong, revoked, or belongs to another data "
                "centre: make a new one in the API console of the account's data "
                "centre and check accounts_url"
            )
        elif code == THROTTLED:
            hint = (
                "Zoho is throttling token requests (at most 10 access tokens per "
                "refresh token in 10 minutes); wait ten minutes and make sure no "
                "other job is refreshing the same token in a loop"
            )
            msg = f"Zoho refused the token request at {where} ({code}): {hint}"
            return ZohoTokenThrottledError(msg, code=code, status=status)
        else:
            hint = "check client_id, client_secret, refresh_token and accounts_url"
        msg = f"Zoho refused the token request at {where} ({code}): {hint}"
        return ZohoAuthError(msg, code=code, status=status)


def _json_object(body: bytes) -> dict[str, t.Any]:
    """Read a JSON object from an answer's body, or an empty dict if it is not one."""
    try:
        answer = json.loads(body)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
