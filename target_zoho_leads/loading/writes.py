"""Writing leads to Zoho in calls of 100 or Bulk Write jobs: plain insert mode, and helpers."""

from __future__ import annotations

import dataclasses
import logging
import typing as t

from target_zoho_leads.loading.results import WriteResult
from target_zoho_leads.unique.answers import outcome_of
from target_zoho_leads.zoho.bulk.result import is_final
from target_zoho_leads.zoho.client import MAX_RECORDS_PER_WRITE
from target_zoho_leads.zoho.errors import ZohoAPIError, ZohoTransientError
from target_zoho_leads.zoho.outcomes import CREATED, Outcome

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterator, Sequence
    from concurrent.futures import Executor

    from target_zoho_leads.loading.results import Route
    from target_zoho_leads.loading.settle import InsertSettler

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


# How many times a record is sent again after a row Zoho did not get to
# (is_final False), or after a lookup did not find it; then it is kept with its code.
MAX_RESENDS = 3


@dataclasses.dataclass
class _Round:
    """One sending of some of a write's leads, and what came of it."""

    outcomes: list[Outcome | None]
    lookable: list[int]  # sent, outcome unknown: looked up before sending again
    running: set[int] = dataclasses.field(default_factory=set)
    since: dt.datetime | None = None
    error: ZohoAPIError | None = None
    resent: int = 0  # sent again blind (no tracking id to settle by)
    watch_seconds: float | None = None  # how long ``running`` is watched (None: bulk_settle_max)


class LeadInserter:
    """Plain insert mode: every record becomes a new lead, exactly once where it can be settled."""

    def __init__(
        self,
        executor: Executor,
        trigger: Sequence[str] | None,
        settler: InsertSettler | None = None,
    ) -> None:
        """Send calls concurrently on ``executor``, asking Zoho for ``trigger``.

        Args:
            executor: Sends a batch's calls concurrently.
            trigger: Zoho's ``trigger`` list for writes, or None.
            settler: Looks up records whose write has no known outcome (None:
                no tracking id is mapped, so they cannot be settled).
        """
        self.executor = executor
        self.trigger = trigger
        self.settler = settler

    def write(self, leads: Sequence[dict[str, t.Any]], route: Route) -> WriteResult:
        """Insert ``leads`` by the way ``route`` gives; one outcome per lead, in order.

        A lead whose write has no known outcome is looked up before it is
        sent again; a row Zoho did not get to is sent again, at most
        :data:`MAX_RESENDS` times. A failure stops the write: the leads
        without an answer then have no outcome, and the result carries it.
        """
        outcomes: list[Outcome | None] = [None] * len(leads)
        pending, ambiguous, found, sent_again = list(range(len(leads))), 0, 0, 0
        for attempt in range(MAX_RESENDS + 1):
            part = [leads[i] for i in pending]
            sent = self._send(part, route)
            ambiguous += sent.resent + len(sent.lookable)
            sent_again += sent.resent  # sent again blind, by the client's retries
            try:
                found += self._settle(part, route, sent)
            except ZohoAPIError as exc:  # the lookup failed: nothing more is sent
                sent.error = sent.error or exc
            again = []
            for at, index in enumerate(pending):
                outcome = sent.outcomes[at]
                last = attempt == MAX_RESENDS or sent.error is not None
                if outcome is not None and (is_final(outcome) or last):
                    outcomes[index] = outcome
                elif outcome is not None or (at in sent.lookable and not last):
                    again.append(index)
                    sent_again += outcome is None  # looked up, not found: sent again
            if sent.error is not None:
                return WriteResult(outcomes, sent.error, ambiguous, found, sent_again)
            if not again:
                break
            logger.warning("%d leads are sent again (not written, and not refused)", len(again))
            pending = again
        return WriteResult(outcomes, None, ambiguous, found, sent_again)

    def _settle(self, part: Sequence[dict[str, t.Any]], route: Route, sent: _Round) -> int:
        """Confirm the records of unknown outcome that a lookup finds written; how many."""
        if self.settler is None or not sent.lookable:
            return 0
        logger.warning(
            "%d leads were sent but their outcome is unknown; looking them up by "
            "tracking id before sending any again",
            len(sent.lookable),
        )
        found = self.settler.settle(
            route.client, part, sent.lookable, sent.since, sent.running, seconds=sent.watch_seconds
        )
        for index, lead_id in found.items():
            sent.outcomes[index] = Outcome(CREATED, lead_id=lead_id)
        logger.info("%d of them were found written", len(found))
        return len(found)

    def _send(self, leads: Sequence[dict[str, t.Any]], route: Route) -> _Round:
        """Send ``leads`` once, by a job or calls of 100, as ``route`` decides."""
        since = route.client.org_clock.now()
        jobs = route.jobs_for(len(leads))
        if jobs is not None:
            answer = jobs.insert(leads)
            lookable = answer.lookable() if self.settler is not None else []
            for problem in answer.problems:
                logger.warning("%s", problem)
            since = answer.since or since
            error = answer.error
            if self.settler is None and answer.problems:  # unknowns nobody can settle
                error = error or answer.problems[0]
            return _Round(answer.outcomes, lookable, answer.running, since, error)
        resent: list[int] = []
        lost: dict[int, bool] = {}
        try:
            outcomes = self._insert(leads, route, resent, lost)
        except ZohoAPIError as exc:
            return _Round([None] * len(leads), [], error=exc, resent=sum(resent))
        # A call that timed out may still be applied: watched, not re-sent at once.
        records_watch = self.settler.watch.records_seconds if self.settler else None
        return _Round(
            outcomes,
            sorted(lost),
            running={index for index, working in lost.items() if working},
            since=since,
            resent=sum(resent),
            watch_seconds=records_watch,
        )

    def _insert(
        self,
        leads: Sequence[dict[str, t.Any]],
        route: Route,
        resent: list[int],
        lost: dict[int, bool],
    ) -> list[Outcome | None]:
        """Insert by the records API, in concurrent calls of 100.

        A call whose answer was lost is given back unknown (its indexes in
        ``lost``, each with whether Zoho may still be working on it) to be
        looked up. Without a settler nothing tells whether
        Zoho applied it, so it is sent again, and the run counts (in
        ``resent``) and logs those records, which Zoho may now hold twice
        (SPEC §6).
        """
        settle = self.settler is not None

        def insert(start: int, part: Sequence[dict[str, t.Any]]) -> list[Outcome | None]:
            def on_resend() -> None:
                resent.append(len(part))  # list.append is atomic: calls run in threads
                logger.warning(
                    "%d new leads were sent but no answer came back; sending them "
                    "again, so Zoho may hold them twice (map tracking_id_field to "
                    "have them looked up first)",
                    len(part),
                )

            try:
                items = route.client.write_leads(
                    "POST", part, self.trigger, settle_ambiguous=settle, on_resend=on_resend
                )
            except ZohoTransientError as exc:
                if not (settle and exc.ambiguous):
                    raise
                # dict updates are atomic: the calls run in threads.
                lost.update(dict.fromkeys(range(start, start + len(part)), exc.still_working))
                return [None] * len(part)
            return [outcome_of(item, CREATED) for item in items]

        size = MAX_RECORDS_PER_WRITE
        jobs = [
            lambda start=start, part=part: insert(start, part)
            for start, part in zip(range(0, len(leads), size), chunks(leads, size), strict=True)
        ]
        return [o for part in run_all(self.executor, jobs) for o in part]
