"""Bulk Write's calls, with the client's token, transport and retry policy.

They leave the records API's ``/crm/{version}`` paths: uploads go to the data
centre's content host, jobs live under ``/crm/bulk/{version}``, and results
come from a download link. So they are made here, the way
:class:`~target_zoho_leads.zoho.client.ZohoCRMClient` makes its own.
"""

from __future__ import annotations

import json
import re
import typing as t

from urllib3.util import parse_url

from target_zoho_leads.zoho.client import TOKEN_REFUSED_CODES
from target_zoho_leads.zoho.credits import bulk_call_credits, charged
from target_zoho_leads.zoho.errors import (
    ZohoAPIError,
    ZohoRetriesExhaustedError,
    ZohoScopeError,
    ZohoTransientError,
)
from target_zoho_leads.zoho.hosts import ZOHO_API_HOST, is_loopback_host
from target_zoho_leads.zoho.retrying import with_retries
from target_zoho_leads.zoho.transport import WRITE_METHODS

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from target_zoho_leads.zoho.client import ZohoCRMClient
    from target_zoho_leads.zoho.transport import Answer

HTTP_REDIRECTS = range(300, 400)
HTTP_UNAUTHORIZED = 401
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500
HTTP_BAD_REQUEST = 400
# Zoho's result links (download-accl.zoho.com/...) are on its own domains.
ZOHO_DOWNLOAD_HOST = re.compile(
    r"download(?:-accl)?\.(?:zoho\.(?:com|eu|in|com\.au|jp|sa|com\.cn|uk)|zohocloud\.ca)"
)
_API_HOST_PREFIX = re.compile(r"^(?:[a-z0-9-]+\.)?(zohoapis\..+)$")


def content_origin(api_domain: str) -> str:
    """Where uploads go: ``https://www.zohoapis.eu`` gives ``https://content.zohoapis.eu``.

    Any other API domain (a loopback sandbox, a host of ``allowed_hosts``)
    takes uploads itself.
    """
    parts = parse_url(api_domain)
    found = _API_HOST_PREFIX.match(parts.host or "")
    if parts.scheme == "https" and found and ZOHO_API_HOST.fullmatch(parts.host or ""):
        return f"https://content.{found.group(1)}"
    return api_domain


def split_download_url(url: str, api_domain: str) -> tuple[str, str]:
    """The origin and path of a result link, if the access token may go there.

    Raises:
        ZohoAPIError: The link is on a host that is not Zoho's (nor, for a
            loopback sandbox, loopback), or is not https.
    """
    parts = parse_url(url)
    host = parts.host or ""
    origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    local = is_loopback_host(parse_url(api_domain).host or "")
    allowed = origin in {api_domain, content_origin(api_domain)} or (
        local and is_loopback_host(host)
    )
    if not allowed and parts.scheme == "https":
        allowed = bool(ZOHO_API_HOST.fullmatch(host) or ZOHO_DOWNLOAD_HOST.fullmatch(host))
    if not allowed or parts.scheme not in {"http", "https"}:
        msg = (
            "a Bulk Write result link is not on a Zoho host (nor loopback for a local "
            "sandbox); the access token is not sent there"
        )
        raise ZohoAPIError(msg, code="UNTRUSTED_DOWNLOAD")
    return origin, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class BulkCalls:
    """Makes Bulk Write's calls through ``client``'s token, transport and retries."""

    def __init__(
        self,
        client: ZohoCRMClient,
        on_call: Callable[[], None] | None = None,
        on_credits: Callable[[int], None] | None = None,
    ) -> None:
        """Call through ``client``; tell ``on_call`` of each attempt, ``on_credits`` of its cost."""
        self.client = client
        self.on_call = on_call or (lambda: None)
        self.on_credits = on_credits or (lambda _credits: None)

    def send(  # noqa: PLR0913 - the parts of one request, and how to retry it
        self,
        method: str,
        url: tuple[str, str],
        *,
        name: str,
        scope: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        settle_ambiguous: bool = False,
        on_resend: Callable[[], None] | None = None,
    ) -> Answer:
        """Make one call, retried on transient failures; return its good answer.

        Args:
            method: HTTP method.
            url: Origin and path.
            name: Names the call in messages.
            scope: The OAuth scope it needs, named if Zoho says it is missing.
            headers: Besides the token.
            body: The request body.
            settle_ambiguous: Raise at once when a write's answer is lost
                (``ambiguous``) instead of sending it again.
            on_resend: Told each time a write whose answer was lost is sent again.

        Raises:
            ZohoScopeError: The token lacks ``scope``.
            ZohoAPIError: Zoho refused the call.
            ZohoTransientError: A lost write answer, with ``settle_ambiguous``.
            ZohoRetriesExhaustedError: Transient failures outlasted the retries.
        """

        def attempt() -> Answer:
            return self._attempt(method, url, name=name, scope=scope, headers=headers, body=body)

        def giveup(exc: Exception) -> bool:
            return settle_ambiguous and getattr(exc, "ambiguous", False)

        def on_retry(exc: Exception) -> None:
            if on_resend is not None and getattr(exc, "ambiguous", False):
                on_resend()

        tries = self.client.max_retries
        try:
            return with_retries(attempt, max_tries=tries, giveup=giveup, on_retry=on_retry)
        except ZohoTransientError as exc:
            if giveup(exc):
                raise
            msg = f"{name} still failing after {tries} tries: {exc}"
            raise ZohoRetriesExhaustedError(msg, code=exc.code, status=exc.status) from None

    def json(self, method: str, url: tuple[str, str], **kwargs: t.Any) -> dict[str, t.Any]:
        """Make a call (as :meth:`send`) whose answer is a JSON object."""
        answer = self.send(method, url, **kwargs)
        body = _json_or_none(answer.body)
        if not isinstance(body, dict):
            msg = f"{kwargs['name']}: Zoho answered HTTP {answer.status} without a JSON object"
            raise ZohoAPIError(msg, code="UNEXPECTED_ANSWER", status=answer.status)
        return body

    def _attempt(  # noqa: PLR0913 - the parts of one request
        self,
        method: str,
        url: tuple[str, str],
        *,
        name: str,
        scope: str,
        headers: Mapping[str, str] | None,
        body: bytes | None,
    ) -> Answer:
        """One try, repeated once with a new token if Zoho refused the old one."""
        auth, code = self.client.auth, ""
        for _ in range(2):
            token = auth.token()
            self.on_call()
            answer = self.client.transport.send(
                method,
                url[0],
                url[1],
                name=name,
                headers={"Authorization": f"Zoho-oauthtoken {token}", **(headers or {})},
                body=body,
            )
            code = _code_of(answer.body)
            refused = answer.status == HTTP_UNAUTHORIZED and code in TOKEN_REFUSED_CODES
            if charged(answer.status, token_refused=refused):
                self.on_credits(bulk_call_credits(method, url[1]))
            if not refused:
                return _checked(answer, name, scope, code)
            auth.invalidate(token)
        msg = f"{name}: Zoho refused a freshly minted access token ({code})"
        raise ZohoAPIError(msg, code=code, status=HTTP_UNAUTHORIZED)


def _checked(answer: Answer, name: str, scope: str, code: str) -> Answer:
    """``answer`` if it is a success; else the error it stands for."""
    status = answer.status
    if status in HTTP_REDIRECTS:
        msg = f"{name}: Zoho answered HTTP {status}, a redirect; the target follows none"
        raise ZohoAPIError(msg, code="REDIRECT", status=status)
    if status == HTTP_TOO_MANY_REQUESTS or status >= HTTP_SERVER_ERROR:
        msg = f"{name}: Zoho answered HTTP {status} {code or ''}".rstrip()
        retry_after = answer.headers.get("Retry-After", "")
        raise ZohoTransientError(
            msg,
            code=code or f"HTTP {status}",
            status=status,
            retry_after=float(retry_after) if retry_after.isdigit() else None,
            ambiguous=status >= HTTP_SERVER_ERROR and answer.method in WRITE_METHODS,
        )
    if code == "OAUTH_SCOPE_MISMATCH":
        msg = (
            f"{name}: the refresh token lacks the OAuth scope {scope}, which Bulk Write "
            f"needs (OAUTH_SCOPE_MISMATCH); make a new one that adds {scope}, or set "
            "write_method to records"
        )
        raise ZohoScopeError(msg, code=code, status=status)
    if status >= HTTP_BAD_REQUEST:
        body = _json_or_none(answer.body)
        said = _said(body)
        msg = f"{name}: Zoho answered HTTP {status} {code or ''}".rstrip() + (
            f" ({said})" if said else ""
        )
        raise ZohoAPIError(msg, code=code or f"HTTP {status}", status=status)
    return answer


def _json_or_none(body: bytes) -> t.Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _code_of(body: bytes) -> str:
    """The ``code`` of an error answer, if it is JSON with one."""
    if not body.startswith(b"{"):
        return ""  # a result file, or no body
    found = _json_or_none(body)
    return str(found.get("code") or "") if isinstance(found, dict) else ""


def _said(body: t.Any) -> str:
    """What an error answer says in words: its message, or Zoho's header complaint."""
    if not isinstance(body, dict):
        return ""
    for key in ("message", "x-error", "x-info"):
        if isinstance(body.get(key), str) and body[key]:
            return str(body[key])[:200]
    return ""
