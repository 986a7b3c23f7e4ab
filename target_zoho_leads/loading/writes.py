"""Writing leads to Zoho in calls of 100 or Bulk Write jobs, and reading every answer."""

from __future__ import annotations

import dataclasses
import logging
import threading
import typing as t

from target_zoho_leads.unique.answers import duplicate_of, outcome_of
from target_zoho_leads.unique.dedupe import plan_batch
from target_zoho_leads.unique.identities import FIELD_OF, Identities
from target_zoho_leads.unique.known import KnownLeads
from target_zoho_leads.unique.ledger import DUPLICATE_DATA, BatchLedger
from target_zoho_leads.unique.lookup import LeadLookup
from target_zoho_leads.zoho.bulk.errors import BulkWriteError
from target_zoho_leads.zoho.client import MAX_RECORDS_PER_WRITE
from target_zoho_leads.zoho.errors import ZohoRetriesExhaustedError, ZohoTransientError
from target_zoho_leads.zoho.outcomes import CREATED, REJECTED, UPDATED, Outcome

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from concurrent.futures import Executor

    from target_zoho_leads.loading.stats import StreamStats
    from target_zoho_leads.unique.dedupe import NewLead, TrackingUpdate
    from target_zoho_leads.unique.identities import Key
    from target_zoho_leads.zoho.client import WriteItem, ZohoCRMClient

logger = logging.getLogger(__name__)


def chunks(items: Sequence[T], size: int = MAX_RECORDS_PER_WRITE) -> Iterator[Sequence[T]]:
    """Split ``items`` into runs of at most ``size``, in order."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


T = t.TypeVar("T")


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

    def __init__(
        self,
        client: ZohoCRMClient,
        executor: Executor,
        trigger: Sequence[str] | None,
    ) -> None:
        """Write through ``client``, sending calls concurrently on ``executor``."""
        self.client = client
        self.executor = executor
        self.trigger = trigger

    def write(
        self,
        leads: Sequence[dict[str, t.Any]],
        stats: StreamStats,
        seqs: Sequence[int],  # noqa: ARG002 - order matters only to Unique Lead
    ) -> list[Outcome]:
        """Insert ``leads`` and return one outcome per lead, in order.

        A call whose answer was lost is sent again: in insert mode nothing
        tells whether Zoho applied it, so the run counts and logs those
        records, which Zoho may now hold twice (SPEC §6).
        """
        client = self.client.counting_calls_with(stats.count_call)

        def insert(part: Sequence[dict[str, t.Any]]) -> list[Outcome]:
            def resent() -> None:
                stats.add(ambiguous_writes=len(part))
                logger.warning(
                    "%d new leads were sent but no answer came back; sending them "
                    "again, so Zoho may hold them twice (Unique Lead would look "
                    "them up first)",
                    len(part),
                )

            items = client.write_leads("POST", part, self.trigger, on_resend=resent)
            return [outcome_of(item, CREATED) for item in items]

        jobs = [lambda part=part: insert(part) for part in chunks(leads)]
        return [o for part in run_all(self.executor, jobs) for o in part]


class BulkRoute(t.Protocol):
    """Writes leads by Bulk Write jobs, one outcome each (:class:`~.bulk.BulkWriter`)."""

    def insert(self, payloads: Sequence[Mapping[str, t.Any]]) -> list[Outcome]:
        """Create a lead from each payload."""
        ...

    def update(self, rows: Sequence[Mapping[str, t.Any]]) -> list[Outcome]:
        """Update the lead each row's ``id`` names."""
        ...


class BulkChoice(t.Protocol):
    """The loader's word on ``count`` leads: a Bulk Write route, or None for calls of 100."""

    def __call__(self, count: int) -> BulkRoute | None:
        """The route for ``count`` leads (``write_method``, ``bulk_min_records``)."""
        ...


@dataclasses.dataclass
class _Batch:
    """One batch on its way: where its calls go, and what its records became so far."""

    client: ZohoCRMClient
    stats: StreamStats
    bulk: BulkChoice | None
    ledger: BatchLedger

    def route(self, count: int) -> BulkRoute | None:
        """The Bulk Write route for ``count`` leads, or None for the records API."""
        return self.bulk(count) if self.bulk is not None and count else None


class UniqueLeadWriter:
    """Unique Lead mode: one lead per person, existing leads get only a tracking id.

    Batches are planned and written one at a time (under a lock), so two
    streams drained in parallel cannot both create the same person; within a
    batch the calls still go out concurrently. A batch's creates, and its
    tracking-id updates, go in calls of 100 or, where the loader says it pays,
    as one Bulk Write job each; the lookups stay batched COQL either way.
    """

    def __init__(  # noqa: PLR0913 - the client, and one keyword per setting
        self,
        client: ZohoCRMClient,
        executor: Executor,
        trigger: Sequence[str] | None,
        tracking_field: str,
        *,
        default_phone_region: str | None = None,
        normalize_identities: bool = True,
        match_contacts: bool = False,
    ) -> None:
        """Start the run knowing no lead; lookups fill that in as batches come.

        Args:
            client: Makes the calls.
            executor: Sends a batch's calls concurrently.
            trigger: Zoho's ``trigger`` list for writes, or None.
            tracking_field: The Leads field holding the CDP tracking id.
            default_phone_region: ISO 3166 code (``CN``) for phones written
                without a country code, or None.
            normalize_identities: Write a new lead's Email lower-cased and its
                Phone in E.164, so any later spelling finds it.
            match_contacts: Also look people up in Contacts; one found there
                gets no lead.
        """
        self.client = client
        self.executor = executor
        self.trigger = trigger
        self.tracking_field = tracking_field
        self.identities = Identities(default_phone_region)
        self.normalize = normalize_identities
        self.lookup = LeadLookup(
            tracking_field,
            default_phone_region=default_phone_region,
            match_contacts=match_contacts,
        )
        self.known = KnownLeads()
        self._lock = threading.Lock()

    def write(
        self,
        leads: Sequence[dict[str, t.Any]],
        stats: StreamStats,
        seqs: Sequence[int],
        *,
        bulk: BulkChoice | None = None,
    ) -> list[Outcome]:
        """Write a batch and return one outcome per lead, in order.

        Args:
            leads: The mapped leads.
            stats: The stream's counters.
            seqs: Each record's position in the whole input.
            bulk: Says when the creates or the updates go as a Bulk Write
                job; None: always in calls of 100.

        Raises:
            BulkWriteError: A job failed or its result did not match; its
                ``settled`` holds the outcomes known from the batch's first
                record on.
        """
        client = self.client.counting_calls_with(stats.count_call)
        keys = [self.identities.keys(lead) for lead in leads]
        with self._lock:
            self._find_existing(client, zip(leads, keys, strict=True))
            plan = plan_batch(leads, keys, seqs, self.tracking_field, self.known)
            if self.normalize:
                for new in plan.creates:
                    new.fields = self.identities.canonical_fields(new.fields)
            ledger = BatchLedger(self.known, self.tracking_field, plan, len(leads))
            batch = _Batch(client, stats, bulk, ledger)
            try:
                self._create(batch, plan.creates)
                self._update(batch, list(ledger.updates.values()))
            except BulkWriteError as exc:
                exc.settled = ledger.settled()  # in the batch's order, as the loader reads it
                raise
        return ledger.result()

    def _find_existing(
        self,
        client: ZohoCRMClient,
        leads: Iterable[tuple[Mapping[str, t.Any], Sequence[Key]]],
        *,
        again: bool = False,
    ) -> None:
        """Look up every identity of ``leads`` not yet known, in as few calls as fit."""
        wanted: dict[Key, set[t.Any]] = {}
        for lead, keys in leads:
            for key in keys:
                if again or self.known.unknown(key):
                    wanted.setdefault(key, set()).add(str(lead[FIELD_OF[key[0]]]))
        if wanted:
            self.known.learn(self.lookup.find(client, wanted), wanted)

    def _create(self, batch: _Batch, creates: list[NewLead]) -> None:
        """Create the new people; a write whose answer is lost is settled by lookup first."""
        pending = creates
        for _ in range(max(1, self.client.max_retries)):
            if not pending:
                return
            route = batch.route(len(pending))
            if route is None:
                lost = self._send_creates(batch, pending)
            else:
                lost = self._bulk_creates(batch, route, pending)
            if lost:
                batch.stats.add(ambiguous_writes=len(lost))
                logger.warning(
                    "%d new leads were sent but no answer came back; looking them "
                    "up before sending again so none is created twice",
                    len(lost),
                )
                self._find_existing(batch.client, [(n.fields, n.keys) for n in lost], again=True)
            pending = batch.ledger.settle(lost, CREATED)
            blind = sum(1 for new in pending if not new.keys)
            if blind:
                logger.warning(
                    "%d of them have no email or phone to look up by; sending them "
                    "again, so Zoho may hold them twice",
                    blind,
                )
        if pending:
            msg = f"{len(pending)} leads could not be created: Zoho kept dropping the answer"
            raise ZohoRetriesExhaustedError(msg, code="NETWORK")

    def _send_creates(self, batch: _Batch, creates: list[NewLead]) -> list[NewLead]:
        """Insert ``creates`` in calls of 100; return those whose call got no answer."""

        def send(part: Sequence[NewLead]) -> tuple[Sequence[NewLead], list[WriteItem] | None]:
            fields = [new.fields for new in part]
            try:
                items = batch.client.write_leads(
                    "POST", fields, self.trigger, settle_ambiguous=True
                )
            except ZohoTransientError as exc:
                if exc.ambiguous:
                    return part, None
                raise
            return part, items

        lost: list[NewLead] = []
        jobs = [lambda part=part: send(part) for part in chunks(creates)]
        for part, items in run_all(self.executor, jobs):
            if items is None:
                lost.extend(part)
                continue
            for new, item in zip(part, items, strict=True):
                duplicate = duplicate_of(item)
                if duplicate is None:
                    batch.ledger.created(new, outcome_of(item, CREATED))
                else:
                    field = item.details.api_name if item.details else None
                    batch.ledger.duplicate(new, *duplicate, field)
        return lost

    def _bulk_creates(
        self, batch: _Batch, route: BulkRoute, creates: list[NewLead]
    ) -> list[NewLead]:
        """Insert ``creates`` by Bulk Write; return those whose job's answer was lost.

        A row Zoho skipped as DUPLICATE_DATA names no record (an answer of
        the records API does): those people are looked up again, and the
        ones still without a lead are sent by the records API, whose answer
        names the Contact, converted lead or lead holding them.
        """
        try:
            results, lost = route.insert([new.fields for new in creates]), []
        except BulkWriteError as exc:
            if not exc.ambiguous:
                self._read_creates(batch, creates, exc.settled)
                raise
            results, lost = exc.settled, creates[len(exc.settled) :]
        doubtful = self._read_creates(batch, creates, results)
        if doubtful:
            self._find_existing(batch.client, [(n.fields, n.keys) for n in doubtful], again=True)
            lost += self._send_creates(batch, batch.ledger.settle(doubtful, None))
        return lost

    @staticmethod
    def _read_creates(
        batch: _Batch, creates: Sequence[NewLead], results: Sequence[Outcome]
    ) -> list[NewLead]:
        """Take in a job's outcomes, from the first create on; return the DUPLICATE_DATA ones."""
        doubtful = []
        for new, outcome in zip(creates[: len(results)], results, strict=True):
            if outcome.kind == REJECTED and outcome.code == DUPLICATE_DATA:
                doubtful.append(new)
            else:
                batch.ledger.created(new, outcome)
        return doubtful

    def _update(self, batch: _Batch, updates: list[TrackingUpdate]) -> None:
        """Write the tracking ids; re-sending an update is harmless, so it is retried."""
        route = batch.route(len(updates))
        if route is not None:
            self._bulk_updates(batch, route, updates)
            return

        def send(part: Sequence[TrackingUpdate]) -> list[WriteItem]:
            body = [{"id": u.lead_id, self.tracking_field: u.value} for u in part]
            return batch.client.write_leads("PUT", body, self.trigger)

        jobs = [lambda part=part: (part, send(part)) for part in chunks(updates)]
        for part, items in run_all(self.executor, jobs):
            for update, item in zip(part, items, strict=True):
                batch.ledger.updated(update, outcome_of(item, UPDATED))

    def _bulk_updates(self, batch: _Batch, route: BulkRoute, updates: list[TrackingUpdate]) -> None:
        """Update by Bulk Write (``find_by`` id); a job whose answer was lost is sent again."""
        pending = updates
        for _ in range(max(1, self.client.max_retries)):
            rows = [{"id": u.lead_id, self.tracking_field: u.value} for u in pending]
            try:
                results = route.update(rows)
            except BulkWriteError as exc:
                results = exc.settled
                if not exc.ambiguous:
                    self._read_updates(batch, pending, results)
                    raise
                logger.warning(
                    "A bulk job of %d tracking-id updates got no answer; sending it again "
                    "(an update written twice changes nothing)",
                    len(pending) - len(results),
                )
            self._read_updates(batch, pending, results)
            pending = pending[len(results) :]
            if not pending:
                return
        msg = f"{len(pending)} tracking ids could not be written: Zoho kept dropping the answer"
        raise ZohoRetriesExhaustedError(msg, code="NETWORK")

    @staticmethod
    def _read_updates(
        batch: _Batch, updates: Sequence[TrackingUpdate], results: Sequence[Outcome]
    ) -> None:
        """Take in a job's outcomes, from the first update on."""
        for update, outcome in zip(updates[: len(results)], results, strict=True):
            batch.ledger.updated(update, outcome)
