"""Why a Bulk Write could not give every record its outcome."""

from __future__ import annotations

import typing as t

from target_zoho_leads.zoho.errors import ZohoAPIError

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_zoho_leads.zoho.outcomes import Outcome


class BulkWriteError(ZohoAPIError):
    """A Bulk Write that stopped before every record had an outcome.

    Attributes:
        settled: The outcomes of the records whose jobs completed and were
            read before this failure, in input order from the first record:
            those records were written (or rejected) and may be marked so.
            Every later record's outcome is unknown.
        ambiguous: True when a job may have been created although its
            answer was lost, so its records may have been written.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        status: int | None = None,
        settled: Sequence[Outcome] = (),
        ambiguous: bool = False,
    ) -> None:
        """Keep what was settled before the failure."""
        super().__init__(message, code=code, status=status)
        self.settled = list(settled)
        self.ambiguous = ambiguous


class BulkJobFailedError(BulkWriteError):
    """Zoho ended a job FAILED: none of its records is known to be written."""


class BulkResultMismatchError(BulkWriteError):
    """A job's result file does not give exactly one row per record sent."""
