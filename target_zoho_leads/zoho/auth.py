"""Zoho OAuth: the refresh token into access tokens, one at a time; Zoho's mint block waited out."""

from __future__ import annotations

import logging
import re
import threading
import time
import typing as t
from urllib.parse import urlencode, urlsplit

import msgspec

from target_zoho_leads.zoho.errors import (
    ZohoAnswerTooLargeError,
    ZohoAuthError,
    ZohoTransientError,
)
from target_zoho_leads.zoho.hosts import (
    DATA_CENTRES,
    admitted_only_by,
    check_accounts_url,
    check_api_domain,
)
from target_zoho_leads.zoho.retrying import BASE_WAIT_SECONDS, base_wait_seconds
from target_zoho_leads.zoho.shapes import TokenAnswer, problem
from target_zoho_leads.zoho.transport import Transport

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
# Zoho's mint block outlasts this only if something else mints with the same
# refresh token all the time: its window is 10 minutes.
DEFAULT_TOKEN_WAIT_MAX = 660.0
WAIT_LOG_SECONDS = 30.0  # how often a wait for the mint block says how long it has been
# While minting is blocked the token is asked again at most this often: each
# refused ask is one more of the "too many requests" that Zoho's block is
# about (SPEC §5), and the block lasts minutes, not seconds.
MINT_POLL_SECONDS = 60.0
HTTP_OK = 200
HTTP_BAD_REQUEST = 400
# OAuth's error codes (invalid_client, invalid_code, ...) are lower-case words
# joined by underscores; the mint block is a phrase in the user's language.
_OAUTH_CODE = re.compile(r"[a-z]+(?:_[a-z]+)*")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HTTP_REDIRECTS = range(300, 400)
HTTP_SERVER_ERROR = 500
# What a token must look like to go into a header: anything else (a line
# break above all) would let a token answer write headers of its own.
_TOKEN = re.compile(r"[\x21-\x7e]+")
# A token answer is a few hundred bytes (Zoho's OAuth page); an error page a few KB.
MAX_TOKEN_ANSWER_BYTES = 64 * 1024
_decode = msgspec.json.Decoder().decode


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
        token_wait_max: float = DEFAULT_TOKEN_WAIT_MAX,
        sleep: Callable[[float], None] | None = None,
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
            clock: Monotonic seconds, for token expiry and the mint block's wait.
            allowed_hosts: Hosts besides Zoho's and loopback that may receive
                the credentials (and serve the API), for users behind a gateway.
            token_wait_max: Seconds to wait for Zoho's token-mint block to
                pass before the run fails.
            sleep: Pauses between token requests while minting is blocked
                (``time.sleep`` when not given).

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
        self._sleep = sleep or time.sleep
        self._wait_max = max(0.0, token_wait_max)
        self._blocked_since: float | None = None  # when Zoho began refusing mints
        self._refused_at = 0.0  # when Zoho last refused a mint, while blocked
        self._blocked: ZohoAuthError | None = None  # a block outlasted token_wait_max
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

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        """Hosts besides Zoho's and loopback that may receive the credentials."""
        return self._allowed_hosts

    def token(self) -> str:
        """Return a valid access token, minting a new one only when needed.

        One thread mints (or waits out Zoho's mint block) while the others
        needing a token wait for it under the lock: never a mint each.
        """
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
        """Mint an access token, waiting out Zoho's mint block up to ``token_wait_max``.

        The wait is not a retry: it spends none of ``max_retries``. Once a
        block has outlasted it, every later token request of the run fails
        at once with the same line rather than waiting all over again.

        Raises:
            ZohoAuthError: The credentials were refused, or minting stayed
                blocked past ``token_wait_max``.
        """
        if self._blocked is not None:
            raise ZohoAuthError(
                str(self._blocked), code=self._blocked.code, status=self._blocked.status
            )
        next_log = 0.0
        while True:
            self._pause_before_asking()
            block = self._mint()
            if block is None:
                break
            # A server error met during the wait goes to the caller's retries;
            # the wait then goes on from when the block began, not afresh.
            self._refused_at = self._clock()
            if self._blocked_since is None:
                self._blocked_since = self._refused_at
            waited = self._refused_at - self._blocked_since
            if waited >= self._wait_max:
                self._blocked = self._past_wait_max(block)
                raise self._blocked
            if waited >= next_log:
                next_log = self._log_wait(block, waited)
        if self._blocked_since is not None:
            waited = self._clock() - self._blocked_since
            logger.info("Zoho's token-mint block passed after %.0f s", waited)
            self._blocked_since = None

    def _pause_before_asking(self) -> None:
        """While minting is blocked, wait until a minute after the last refusal (or wait_max)."""
        if self._blocked_since is None:
            return
        # TARGET_ZOHO_LEADS_BACKOFF_BASE shortens this pause in proportion,
        # so the tests that meet a block of seconds wait fractions of one.
        poll = MINT_POLL_SECONDS * base_wait_seconds() / BASE_WAIT_SECONDS
        now = self._clock()
        until = min(self._refused_at + poll, self._blocked_since + self._wait_max)
        if until > now:
            self._sleep(until - now)

    def _log_wait(self, block: ZohoAuthError, waited: float) -> float:
        """Say that the run waits for the mint block, and for how long so far.

        Returns:
            How long into the wait to say it next.
        """
        if waited < WAIT_LOG_SECONDS:
            logger.warning(
                "%s; waiting up to %.0f s (token_wait_max) for the block to pass",
                block,
                self._wait_max,
            )
        else:
            logger.warning(
                "Still waiting for Zoho's token-mint block to pass: %.0f s so far, "
                "at most %.0f s (token_wait_max)",
                waited,
                self._wait_max,
            )
        return (waited // WAIT_LOG_SECONDS + 1) * WAIT_LOG_SECONDS

    def _past_wait_max(self, block: ZohoAuthError) -> ZohoAuthError:
        """The line a run fails with when minting stayed blocked past ``token_wait_max``."""
        msg = f"{block} (still refused after waiting token_wait_max)"
        return ZohoAuthError(msg, code=block.code, status=block.status)

    def _mint(self) -> ZohoAuthError | None:
        """Ask for an access token once; None when minted, else Zoho's mint-block refusal.

        Raises:
            ZohoAuthError: The credentials were refused.
            ZohoTransientError: The accounts server failed or could not be reached.
        """
        where = data_centre_name(self.accounts_url)
        try:
            response = self._transport.send(
                "POST",
                self.accounts_url,
                TOKEN_PATH,
                name=f"could not reach the Zoho accounts server {where}",
                headers=FORM,
                body=self._form,
                limit=MAX_TOKEN_ANSWER_BYTES,
            )
        except ZohoAnswerTooLargeError as exc:
            msg = (
                f"the accounts server {where} answered the token request with more than "
                f"{exc.limit:,} bytes, which no token answer needs"
            )
            raise ZohoAuthError(msg, code=exc.code) from None
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
            refusal = self._refusal(answer, response.status)
            if is_mint_block(response.status, answer):
                return refusal
            raise refusal
        self._accept(_token_answer(answer))
        return None

    def _accept(self, answer: TokenAnswer) -> None:
        """Store a freshly minted token and the API domain that comes with it."""
        if answer.api_domain:
            self._api_domain = self._checked_api_domain(answer.api_domain)
        if self._api_domain is None:
            msg = (
                "Zoho's token answer named no api_domain and "
                f"{data_centre_name(self.accounts_url)} is not a known data centre"
            )
            raise ZohoAuthError(msg, code="NO_API_DOMAIN")
        token = answer.access_token
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            msg = "Zoho's token answer held an access_token that cannot be sent in a header"
            raise ZohoAuthError(msg, code="INVALID_TOKEN_ANSWER")
        lifetime = answer.expires_in or 3600.0
        if not 0 < lifetime < float("inf"):
            lifetime = 3600.0  # Zoho's tokens live an hour; the margin below still applies
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
        # One line, however Zoho words (or localises) its error.
        code = " ".join(str(answer.get("error") or f"HTTP {status}").split())[:80]
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
        elif is_mint_block(status, answer):
            hint = (
                "Zoho is throttling token requests (at most 10 access tokens per "
                "refresh token in 10 minutes); wait ten minutes and make sure no "
                "other job is refreshing the same token in a loop"
            )
        else:
            hint = "check client_id, client_secret, refresh_token and accounts_url"
        msg = f"Zoho refused the token request at {where} ({code}): {hint}"
        return ZohoAuthError(msg, code=code, status=status)


def is_mint_block(status: int, answer: dict[str, t.Any]) -> bool:
    """Whether a token answer is Zoho's mint block, known by its shape, not its words.

    The block is an ``error`` and no token, on HTTP 400 or, as Kaizen #43
    says, 200; Zoho words the error ("Access Denied") in the account's
    language. OAuth's own codes (``invalid_client``, ``invalid_code``, ...),
    also sent with 200, are refused credentials, which waiting does not mend.
    """
    error = answer.get("error")
    if "access_token" in answer or not isinstance(error, str) or not error:
        return False
    return error == THROTTLED or (
        status in {HTTP_OK, HTTP_BAD_REQUEST} and not _OAUTH_CODE.fullmatch(error)
    )


def _json_object(body: bytes) -> dict[str, t.Any]:
    """Read a JSON object from an answer's body, or an empty dict if it is not one."""
    try:
        answer = _decode(body)
    except msgspec.MsgspecError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _token_answer(answer: dict[str, t.Any]) -> TokenAnswer:
    """A token answer read into its typed form; a wrong shape is one line naming the field.

    Raises:
        ZohoAuthError: A member is of another type (``expires_in`` of ``"abc"``).
    """
    try:
        return msgspec.convert(answer, TokenAnswer)
    except msgspec.MsgspecError as exc:
        msg = f"Zoho's token answer is not of the expected shape ({problem(exc)})"
        raise ZohoAuthError(msg, code="UNEXPECTED_ANSWER") from None
