"""Stand-in Bulk Write routes: a raising insert or update, read as write_rows reads it."""

from __future__ import annotations

import typing as t

from target_zoho_leads.zoho.bulk.answer import BulkAnswer
from target_zoho_leads.zoho.bulk.errors import BulkJobFailedError, BulkWriteError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from target_zoho_leads.zoho.outcomes import Outcome

Rows = t.Any


def bulk_answer(
    job: Callable[[Sequence[Mapping[str, t.Any]]], list[Outcome]], rows: Sequence[Rows]
) -> BulkAnswer:
    """``job``'s outcomes; a job that FAILED or whose answer was lost leaves its rows unknown."""
    try:
        return BulkAnswer(list(job(rows)), sent=len(rows))
    except BulkWriteError as exc:
        done = list(exc.settled)
        answer = BulkAnswer([*done, *[None] * (len(rows) - len(done))], sent=len(rows))
        if isinstance(exc, BulkJobFailedError) or exc.ambiguous:
            answer.unknown(range(len(done), len(rows)), exc, running=exc.ambiguous)
        else:
            answer.error, answer.sent = exc, len(done)
        return answer


class RowsRoute:
    """Gives a stand-in route with ``insert`` and ``update`` the ``*_rows`` methods."""

    def insert_rows(self, payloads: Sequence[Mapping[str, t.Any]]) -> BulkAnswer:
        return bulk_answer(self.insert, payloads)  # type: ignore[attr-defined]

    def update_rows(self, rows: Sequence[Mapping[str, t.Any]]) -> BulkAnswer:
        return bulk_answer(self.update, rows)  # type: ignore[attr-defined]
