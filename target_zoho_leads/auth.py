"""Zoho OAuth: turn the refresh token into access tokens, one at a time."""

from __future__ import annotations

import ipaddress
import threading
import time
import typing as t
from urllib.parse import urlsplit

import requests

from target_zoho_leads.exceptions import (
    ZohoAuthError,
    ZohoTokenThrottledError,
    ZohoTransientError,
)

if t.TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_ACCOUNTS_URL = "https://accounts.zoho.com"

# Accounts server -> (data centre, API domain). The token answer's api_domain
# wins; this table names the data centre in error messages and is the
# fallback when Zoho omits api_domain.
DATA_CENTRES: dict[str, tuple[str, str]] = {
    "accounts.zoho.com": ("US", "https://www.zohoapis.com"),
    "accounts.zoho.eu": ("EU", "https://www.zohoapis.eu"),
    "accounts.zoho.in": ("India", "https://www.zohoapis.in"),
    "accounts.zoho.com.au": ("Australia", "https://www.zohoapis.com.au"),
    "accounts.zoho.jp": ("Japan", "https://www.zohoapis.jp"),
    "accounts.zoho.sa": ("Saudi Arabia", "https://www.zohoapis.sa"),
    "accounts.zoho.com.cn": ("China", "https://www.zohoapis.com.cn"),
    "accounts.zohocloud.ca": ("Canada", "https://www.zohoapis.ca"),
    "accounts.zoho.uk": ("UK", "https://www.zohoapis.uk"),
}

# Zoho tokens live an hour; refreshing a minute early keeps a call that starts
# just before expiry from failing on the way.
EXPIRY_MARGIN_SECONDS = 60.0
TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 - a path, not a secret
THROTTLED = "Access Denied"


def is_loopback_host(host: str) -> bool:
    """Tell whether ``host`` is this machine (where plain http is acceptable)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, what: str) -> str:
    """Return ``url`` without a trailing slash, or raise if it is not safe to use.

    Args:
        url: An accounts URL or API domain.
        what: The setting or answer it came from, for the message.

    Raises:
        ValueError: The URL is not https (http is allowed on loopback only).
    """
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url.strip().rstrip("/")
    if parts.scheme == "http" and is_loopback_host(host):
        return url.strip().rstrip("/")
    msg = (
        f"{what} must be an https:// URL such as {DEFAULT_ACCOUNTS_URL} "
        f"(http:// is accepted only for a local sandbox on 127.0.0.1 or localhost); "
        f"got {parts.scheme or 'no scheme'}://{host or '?'}"
    )
    raise ValueError(msg)


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
    ) -> None:
        """Keep the credentials; no call is made until a token is needed."""
        self.accounts_url = check_base_url(accounts_url, "accounts_url")
        self._form = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        self._session = session
        self._timeout = timeout
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
        try:
            response = self._session.post(
                f"{self.accounts_url}{TOKEN_PATH}",
                data=self._form,
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            msg = (
                f"could not reach the Zoho accounts server "
                f"{data_centre_name(self.accounts_url)}: {type(exc).__name__}"
            )
            raise ZohoTransientError(msg, code="CONNECTION") from None
        answer = self._json(response)
        if response.status_code >= 500:  # noqa: PLR2004
            msg = (
                f"the Zoho accounts server {data_centre_name(self.accounts_url)} "
                f"answered HTTP {response.status_code}"
            )
            raise ZohoTransientError(msg, status=response.status_code)
        if "access_token" not in answer:
            raise self._refusal(answer, response.status_code)
        self._accept(answer)

    def _accept(self, answer: dict[str, t.Any]) -> None:
        """Store a freshly minted token and the API domain that comes with it."""
        if answer.get("api_domain"):
            try:
                self._api_domain = check_base_url(
                    str(answer["api_domain"]), "the api_domain Zoho returned"
                )
            except ValueError as exc:
                raise ZohoAuthError(str(exc), code="INVALID_API_DOMAIN") from None
        if self._api_domain is None:
            msg = (
                "Zoho's token answer named no api_domain and "
                f"{data_centre_name(self.accounts_url)} is not a known data centre"
            )
            raise ZohoAuthError(msg, code="NO_API_DOMAIN")
        lifetime = float(answer.get("expires_in") or 3600)
        self._expires_at = self._clock() + max(lifetime - EXPIRY_MARGIN_SECONDS, 1.0)
        self._token = str(answer["access_token"])
        self.tokens_minted += 1

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

    @staticmethod
    def _json(response: requests.Response) -> dict[str, t.Any]:
        """Read a JSON object from ``response``, or an empty dict if it is not one."""
        try:
            answer = response.json()
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}
