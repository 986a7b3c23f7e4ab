"""Errors the target raises, each worded for the person running the pipeline."""

from __future__ import annotations


class TargetZohoLeadsError(Exception):
    """A failure the target reports as one clear line and a non-zero exit.

    Messages never hold secrets or personal data: ids, counts, codes and field
    names only.
    """


class ZohoAPIError(TargetZohoLeadsError):
    """Zoho answered a call with an error that retrying will not fix.

    Attributes:
        code: Zoho's error code (``INVALID_DATA``, ``invalid_client``, ...).
        status: The HTTP status, when there was an answer.
    """

    def __init__(self, message: str, *, code: str = "", status: int | None = None) -> None:
        """Keep Zoho's code and the HTTP status beside the message."""
        super().__init__(message)
        self.code = code
        self.status = status


class ZohoAuthError(ZohoAPIError):
    """The refresh token, client id or client secret was refused, or throttled."""


class ZohoScopeError(ZohoAPIError):
    """The token lacks an OAuth scope the call needs (``OAUTH_SCOPE_MISMATCH``)."""


class ZohoUntrustedHostError(ZohoAPIError):
    """A call would have taken the access token to a host that may not have it; not sent."""


class ZohoAnswerTooLargeError(ZohoAPIError):
    """An answer was longer than its call may have; it was not read further.

    Attributes:
        limit: The most bytes the call's answer may have.
    """

    def __init__(self, message: str, *, code: str = "ANSWER_TOO_LARGE", limit: int = 0) -> None:
        """Keep the cap the answer went past."""
        super().__init__(message, code=code)
        self.limit = limit


class ZohoTransientError(ZohoAPIError):
    """A failure worth retrying: 429, 5xx, a timeout or a dropped connection.

    Attributes:
        retry_after: Seconds Zoho asked to wait (``Retry-After``), if it did.
        ambiguous: True when the request may have reached Zoho and been applied
            although no answer came back (a write of unknown outcome).
        still_working: True when the whole request was sent and no answer came
            within ``request_timeout``: Zoho may still be working on it, and
            apply it after the client gave up (a dropped connection, by
            contrast, ends whatever the server was doing with it).
    """

    def __init__(  # noqa: PLR0913 - each keyword is one fact about the failure
        self,
        message: str,
        *,
        code: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        ambiguous: bool = False,
        still_working: bool = False,
    ) -> None:
        """Record how long to wait and whether the call may have been applied."""
        super().__init__(message, code=code, status=status)
        self.retry_after = retry_after
        self.ambiguous = ambiguous
        self.still_working = still_working


class ZohoRetriesExhaustedError(ZohoAPIError):
    """A call kept failing transiently until ``max_retries`` was spent."""
