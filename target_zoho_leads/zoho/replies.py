"""Reading Zoho's answers: the value of a good one, the error a failed one stands for."""

from __future__ import annotations

import contextlib
import email.utils
import re
import time
import typing as t

import msgspec

from target_zoho_leads.zoho.errors import ZohoAPIError, ZohoScopeError, ZohoTransientError
from target_zoho_leads.zoho.scopes import BULK_SCOPES, SCOPES, scope_for
from target_zoho_leads.zoho.shapes import problem
from target_zoho_leads.zoho.transport import WRITE_METHODS

if t.TYPE_CHECKING:
    from target_zoho_leads.zoho.transport import Answer
    from target_zoho_leads.zoho.write_items import ItemsAnswer

_decode = msgspec.json.Decoder().decode

TOKEN_REFUSED_CODES = frozenset({"INVALID_TOKEN", "AUTHENTICATION_FAILURE"})
HTTP_NO_CONTENT = 204
HTTP_REDIRECTS = range(300, 400)
HTTP_BAD_REQUEST = 400
HTTP_UNAUTHORIZED = 401
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500
# Zoho's error codes are upper-case words (INVALID_DATA, OAUTH_SCOPE_MISMATCH);
# anything else in ``code`` is not put in a message, which it might fill with
# a value. Zoho's ``message`` never is: it may quote the value at fault.
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_$]{0,99}")  # a field's API name
_SECONDS = re.compile(r"[0-9]{1,9}")  # RFC 9110: Retry-After = HTTP-date / delay-seconds
TOO_MANY_REQUESTS_HINT = (
    "Zoho refuses calls once the org's API credits of the last 24 hours are spent, "
    "or while other programs hold its concurrency"
)


def token_refused(answer: Answer) -> bool:
    """Whether Zoho refused the call's access token (not its scope, not the call)."""
    return answer.status == HTTP_UNAUTHORIZED and answer_code(answer) in TOKEN_REFUSED_CODES


def answer_code(answer: Answer) -> str:
    """The ``code`` of an answer that is a JSON object with one; else empty."""
    if not answer.body.lstrip().startswith(b"{"):
        return ""  # a result file, or no body: not worth decoding
    return _code_of(_json_or_none(answer))


def checked(answer: Answer, name: str, scope: str) -> Answer:
    """``answer`` if Zoho did the call; else the error it stands for.

    Args:
        answer: Zoho's answer.
        name: Names the call in messages (``METHOD path``).
        scope: The OAuth scope the call needs, named if Zoho says it is missing.

    Raises:
        ZohoTransientError: 429 or 5xx, worth retrying (``ambiguous`` for a write).
        ZohoScopeError: The token lacks ``scope``.
        ZohoAPIError: A redirect (never followed), or any other refusal.
    """
    status = answer.status
    if status in HTTP_REDIRECTS:
        # Following it would send the token and the body to another host.
        msg = f"{name}: Zoho answered HTTP {status}, a redirect; the target follows none"
        raise ZohoAPIError(msg, code="REDIRECT", status=status)
    if status == HTTP_TOO_MANY_REQUESTS or status >= HTTP_SERVER_ERROR:
        code = answer_code(answer) or f"HTTP {status}"
        msg = f"{name}: Zoho answered HTTP {status} {code}"
        raise ZohoTransientError(
            msg,
            code=code,
            status=status,
            retry_after=retry_after(answer),
            ambiguous=status >= HTTP_SERVER_ERROR and answer.method in WRITE_METHODS,
        )
    if status >= HTTP_BAD_REQUEST and not _holds_items(answer):
        raise call_error(name, status, _json_or_none(answer), scope)
    return answer


def json_of(
    answer: Answer,
    name: str,
    items: msgspec.json.Decoder[ItemsAnswer] | None = None,
    shape: msgspec.json.Decoder[t.Any] | None = None,
) -> t.Any:
    """The JSON of a checked answer (``None`` for 204).

    With ``items``, an answer holding per-record items is returned as their
    typed list; any other answer is read as JSON, as without. With
    ``shape``, the answer is read into that typed form (:mod:`shapes`).

    Raises:
        ZohoAPIError: The body is not JSON, or not of ``shape``
            (``UNEXPECTED_ANSWER``, naming the field).
    """
    if answer.status == HTTP_NO_CONTENT:
        return None
    if shape is not None:
        try:
            return shape.decode(answer.body)
        except msgspec.MsgspecError as exc:
            msg = f"{name}: Zoho's answer is not of the expected shape ({problem(exc)})"
            raise ZohoAPIError(msg, code="UNEXPECTED_ANSWER", status=answer.status) from None
    if items is not None:
        with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
            typed = items.decode(answer.body).data
            if typed is not None:
                return typed
    body = _json_or_none(answer)
    if body is None:
        msg = f"{name}: Zoho answered HTTP {answer.status} with a body that is not JSON"
        raise ZohoAPIError(msg, status=answer.status)
    return body


def retry_after(answer: Answer) -> float | None:
    """Seconds from ``Retry-After``: delay-seconds or an HTTP date; anything else is ignored.

    ``float`` alone would take ``nan``, ``inf`` and digits of other scripts.
    """
    value = answer.headers.get("Retry-After", "").strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None  # RFC 9110 dates are GMT; one without a zone is not one
    return max(0.0, when.timestamp() - time.time())


def _holds_items(answer: Answer) -> bool:
    """Insert and update answer 400 with per-record items when all failed: record outcomes."""
    body = _json_or_none(answer)
    return isinstance(body, dict) and isinstance(body.get("data"), list)


def call_error(name: str, status: int, body: t.Any, scope: str = "") -> ZohoAPIError:
    """Turn a failed call's answer into the error to raise.

    Args:
        name: The call, ``METHOD path``.
        status: Its HTTP status.
        body: Its JSON body, if it had one.
        scope: The OAuth scope it needs (default: by its path, :func:`scopes.scope_for`).
    """
    scope = scope or scope_for(name)
    code = _code_of(body) or f"HTTP {status}"
    if code == "OAUTH_SCOPE_MISMATCH" and scope in BULK_SCOPES:
        msg = (
            f"{name}: the refresh token lacks the OAuth scope {scope}, which Bulk Write "
            f"needs (OAUTH_SCOPE_MISMATCH); make a new one that adds {scope}, or set "
            "write_method to records"
        )
        return ZohoScopeError(msg, code=code, status=status)
    if code == "OAUTH_SCOPE_MISMATCH":
        msg = (
            f"{name}: the refresh token lacks the OAuth scope {scope}, "
            "which this call needs (OAUTH_SCOPE_MISMATCH); make a new one with "
            f"the scopes {','.join(dict.fromkeys([*SCOPES, scope]))}"
        )
        return ZohoScopeError(msg, code=code, status=status)
    field = _field_of(body)
    msg = f"{name}: Zoho answered HTTP {status}" + (f" {_code_of(body)}" if _code_of(body) else "")
    msg += f" (field {field})" if field else ""
    return ZohoAPIError(msg, code=code, status=status)


def _field_of(body: t.Any) -> str:
    """The API name of the field an error answer blames, if it names one.

    Only the name: Zoho's ``message`` may quote the value, and a person's
    value has no place in a log line (it goes to the rejected-records file
    when a record's own write answer carries it).
    """
    details = body.get("details") if isinstance(body, dict) else None
    name = details.get("api_name") if isinstance(details, dict) else None
    return name if isinstance(name, str) and _FIELD.fullmatch(name) else ""


def _json_or_none(answer: Answer) -> t.Any:
    try:
        return _decode(answer.body)
    except (msgspec.DecodeError, ValueError):
        return None


def _code_of(body: t.Any) -> str:
    """An answer's ``code`` if it reads as one of Zoho's codes; else empty."""
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) and _CODE.fullmatch(code) else ""
