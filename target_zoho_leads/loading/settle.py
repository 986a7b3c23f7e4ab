"""Settling insert-mode writes of unknown outcome: look the records up before anything is re-sent.

A write whose answer was lost, whose Bulk Write job ended FAILED or whose
result could not be read may have created its leads. Each record carries its
CDP tracking id (``tracking_id_field``), so the leads it may have made are
found by a COQL ``in`` on that field (``coql.json``: ``select`` with ``in``
takes up to 100 values; ``Created_Time`` is a selectable system field). A
lead found is this write's only when its tracking id matches AND it was
created at or after the write was sent, by the org's clock (the ``Date`` of
an answer read before the write, :class:`~target_zoho_leads.zoho.org_clock.OrgClock`),
less :data:`CLOCK_SKEW_SECONDS`. Records sharing one tracking id are settled by
count: as many as leads were found. Zoho documents neither the precision of
``Created_Time`` (seconds, as its ``yyyy-MM-ddTHH:mm:ss±HH:mm`` form shows)
nor how far its servers' clocks may drift apart; the skew allows for both.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import time
import typing as t

from target_zoho_leads.unique.lookup import ROWS_PER_PAGE, coql_where

if t.TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence

    from target_zoho_leads.zoho.client import ZohoCRMClient

logger = logging.getLogger(__name__)

CLOCK_SKEW_SECONDS = 2.0
VALUES_PER_QUERY = 2_000  # 20 `in` lists of 100: within COQL's 25 conditions
WATCH_MAX_WAIT = 30.0  # longest pause between two lookups while a job may run
# A records-API write whose answer was lost may still be applied after the
# client gave up: Zoho documents no bound on how long it may go on working on a
# request. Its records are watched for this long at least, or request_timeout
# if longer, before any is sent again.
RECORDS_WATCH_MIN_SECONDS = 5.0


class Watch(t.NamedTuple):
    """How long to keep looking for records a job that may still run would write.

    Attributes:
        seconds: ``bulk_settle_max``: the longest watch, from its first lookup.
        records_seconds: The watch of a records-API write whose answer was lost.
        first_wait: The first pause between lookups; it doubles up to 30 s.
        sleep: Waits between lookups.
        clock: Measures the watch.
    """

    seconds: float
    records_seconds: float = RECORDS_WATCH_MIN_SECONDS
    first_wait: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def watch_until(
    watch: Watch, look: Callable[[], int], what: str, seconds: float | None = None
) -> int:
    """Call ``look`` until it awaits nothing more, backing off, up to ``seconds``.

    Args:
        watch: How long to keep looking, and how.
        look: Looks once; returns how many things are still awaited.
        what: What is awaited, for the log line between looks.
        seconds: The longest watch; None: the watch's own (``bulk_settle_max``).

    Returns:
        How many things were still awaited at the last look.
    """
    deadline = watch.clock() + (watch.seconds if seconds is None else seconds)
    wait = watch.first_wait
    waiting = look()
    while waiting and (left := deadline - watch.clock()) > 0:
        logger.info("%d %s; looking again in %.0f s", waiting, what, min(wait, left))
        watch.sleep(min(wait, left))
        wait = min(wait * 2, WATCH_MAX_WAIT)
        waiting = look()
    return waiting


class InsertSettler:
    """Finds the leads an insert-mode write of unknown outcome made, by tracking id and time."""

    def __init__(self, tracking_field: str, watch: Watch) -> None:
        """Look records up by ``tracking_field``; watch running jobs as ``watch`` says."""
        self.tracking_field = tracking_field
        self.watch = watch
        self._taken: set[str] = set()  # leads already confirmed for a record this run

    def settle(  # noqa: PLR0913 - the write, and how long to watch it
        self,
        client: ZohoCRMClient,
        leads: Sequence[Mapping[str, t.Any]],
        unknown: Sequence[int],
        since: dt.datetime | None,
        running: Collection[int] = (),
        *,
        seconds: float | None = None,
    ) -> dict[int, str]:
        """The lead id of each record of ``unknown`` found written; the others are absent.

        While a record of ``running`` (its job or call may still be applied)
        is absent, the lookup is repeated with backoff, up to ``seconds``
        (the watch's own seconds when None).
        """
        found: dict[int, str] = {}
        pending = [i for i in unknown if _tracking(leads[i], self.tracking_field)]

        def look() -> int:
            nonlocal pending
            found.update(self._find(client, leads, pending, since))
            pending = [i for i in pending if i not in found]
            return sum(i in running for i in pending)  # the others will not appear later

        if pending:
            what = "records of a write that may still be applied are absent"
            watch_until(self.watch, look, what, seconds)
        return found

    def _find(
        self,
        client: ZohoCRMClient,
        leads: Sequence[Mapping[str, t.Any]],
        pending: Sequence[int],
        since: dt.datetime | None,
    ) -> dict[int, str]:
        """One lookup of ``pending``: each record matched to a fresh lead of its tracking id."""
        by_value: dict[str, list[int]] = collections.defaultdict(list)
        for index in pending:
            by_value[_tracking(leads[index], self.tracking_field)].append(index)
        fresh = self._fresh_leads(client, sorted(by_value), since)
        found: dict[int, str] = {}
        for value, indexes in by_value.items():
            ids = [lead_id for lead_id in fresh.get(value, []) if lead_id not in self._taken]
            for index, lead_id in zip(indexes, ids, strict=False):  # settled by count
                found[index] = lead_id
                self._taken.add(lead_id)
        return found

    def _fresh_leads(
        self, client: ZohoCRMClient, values: Sequence[str], since: dt.datetime | None
    ) -> dict[str, list[str]]:
        """The ids of the leads holding each tracking id created at or after ``since``."""
        bound = since - dt.timedelta(seconds=CLOCK_SKEW_SECONDS) if since else None
        fresh: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
        for start in range(0, len(values), VALUES_PER_QUERY):
            where = coql_where({self.tracking_field: values[start : start + VALUES_PER_QUERY]})
            for row in self._rows(client, where):
                created = _created(row.get("Created_Time"))
                if bound is not None and (created is None or created < bound):
                    continue
                value = str(row.get(self.tracking_field) or "")
                fresh[value].append((str(row.get("Created_Time") or ""), str(row["id"])))
        # Oldest first, so records settled by count take the leads in creation order.
        return {value: [lead for _, lead in sorted(rows)] for value, rows in fresh.items()}

    def _rows(self, client: ZohoCRMClient, where: str) -> list[dict[str, t.Any]]:
        """Every page of one COQL select by tracking id."""
        rows: list[dict[str, t.Any]] = []
        offset = 0
        while True:
            # Every value in `where` went through coql_literal.
            query = (
                f"select id, {self.tracking_field}, Created_Time from Leads "  # noqa: S608
                f"where {where} limit {ROWS_PER_PAGE} offset {offset}"
            )
            page, more = client.coql_page(query)
            rows += [row for row in page if row.get("id") is not None]
            if not more:
                return rows
            offset += ROWS_PER_PAGE


def _tracking(lead: Mapping[str, t.Any], field: str) -> str:
    """A lead's tracking id as text; empty when it has none (it cannot be looked up)."""
    value = lead.get(field)
    return "" if value is None else str(value).strip()


def _created(value: t.Any) -> dt.datetime | None:
    """``Created_Time`` (``2024-05-01T10:00:00+05:30``) as an aware datetime, or None."""
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
