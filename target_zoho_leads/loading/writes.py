"""Writing leads to Zoho in calls of 100 or Bulk Write jobs: plain insert mode, and helpers."""

from __future__ import annotations

import logging
import typing as t

from target_zoho_leads.loading.results import WriteResult
from target_zoho_leads.unique.answers import outcome_of
from target_zoho_leads.zoho.client import MAX_RECORDS_PER_WRITE
from target_zoho_leads.zoho.errors import ZohoAPIError
from target_zoho_leads.zoho.outcomes import CREATED

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from concurrent.futures import Executor

    from target_zoho_leads.loading.results import Route
    from target_zoho_leads.zoho.outcomes import Outcome

logger = logging.getLogger(__name__)

T = t.TypeVar("T")


def chunks(items: Sequence[T], size: int = MAX_RECORDS_PER_WRITE) -> Iterator[Sequence[T]]:
    """Split ``items`` into runs of at most ``size``, in order."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_all(executor: Executor, jobs: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``jobs`` on ``executor`` and return their results in order.

    Every job is waited for even when one fails, so nothing is still writing
    when the error reaches the user; the first failure is then raised.
    """
    if len(jobs) == 1:
        return [jobs[0]()]
    futures = [executor.submit(job) for job in jobs]
    errors = [f.exception() for f in futures]
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
    return [f.result() for f in futures]


class LeadInserter:
    """Plain insert mode: every record becomes a new lead."""

    def __init__(self, executor: Executor, trigger: Sequence[str] | None) -> None:
        """Send calls concurrently on ``executor``, asking Zoho for ``trigger``."""
        self.executor = executor
        self.trigger = trigger

    def write(self, leads: Sequence[dict[str, t.Any]], route: Route) -> WriteResult:
        """Insert ``leads`` by the way ``route`` gives; one outcome per lead, in order.

        A failure stops the write: the leads without an answer then have no
        outcome, and the result carries the error.
        """
        jobs = route.jobs_for(len(leads))
        if jobs is not None:
            answer = jobs.insert(leads)
            unknown: list[Outcome | None] = [None] * (len(leads) - len(answer.outcomes))
            return WriteResult([*answer.outcomes, *unknown], answer.error)
        resent: list[int] = []
        try:
            outcomes = self._insert(leads, route, resent)
        except ZohoAPIError as exc:
            return WriteResult([None] * len(leads), exc, sum(resent))
        return WriteResult(list(outcomes), None, sum(resent))

    def _insert(
        self, leads: Sequence[dict[str, t.Any]], route: Route, resent: list[int]
    ) -> list[Outcome]:
        """Insert by the records API, in concurrent calls of 100.

        A call whose answer was lost is sent again: in insert mode nothing
        tells whether Zoho applied it, so the run counts (in ``resent``) and
        logs those records, which Zoho may now hold twice (SPEC §6).
        """

        def insert(part: Sequence[dict[str, t.Any]]) -> list[Outcome]:
            def on_resend() -> None:
                resent.append(len(part))  # list.append is atomic: calls run in threads
                logger.warning(
                    "%d new leads were sent but no answer came back; sending them "
                    "again, so Zoho may hold them twice (Unique Lead would look "
                    "them up first)",
                    len(part),
                )

            items = route.client.write_leads("POST", part, self.trigger, on_resend=on_resend)
            return [outcome_of(item, CREATED) for item in items]

        jobs = [lambda part=part: insert(part) for part in chunks(leads)]
        return [o for part in run_all(self.executor, jobs) for o in part]
