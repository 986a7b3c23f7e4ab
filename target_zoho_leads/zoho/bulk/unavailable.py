"""A completed Bulk Write job whose result cannot be fetched: its records' outcomes are unknown."""

from __future__ import annotations

from target_zoho_leads.zoho.bulk.errors import BulkWriteError


class BulkResultUnavailableError(BulkWriteError):
    """A job's result link is on a host that may not receive the access token.

    The job ran, so its records may be written: the error is ``ambiguous``,
    and the caller settles them by looking them up, as for a job whose
    creation answer was lost. The link is never fetched.
    """

    def __init__(self, message: str, *, code: str = "RESULT_UNAVAILABLE") -> None:
        """A Bulk Write error of unknown outcome, with nothing settled yet."""
        super().__init__(message, code=code, ambiguous=True)
