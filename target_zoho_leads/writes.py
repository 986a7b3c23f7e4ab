"""Writing leads to Zoho in calls of 100 and reading every answer item."""

from __future__ import annotations

import logging
import threading
import typing as t

from target_zoho_leads.client import MAX_RECORDS_PER_WRITE, ItemDetails, WriteItem
from target_zoho_leads.dedupe import (
    Key,
    NewLead,
    TrackingUpdate,
    identities,
    identity_keys,
    plan_batch,
)
from target_zoho_leads.exceptions import ZohoRetriesExhaustedError, ZohoTransientError
from target_zoho_leads.lookup import LeadLookup, query_forms
from target_zoho_leads.outcomes import CREATED, REJECTED, UNCHANGED, UPDATED, Outcome

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from concurrent.futures import Executor

    from target_zoho_leads.client import ZohoCRMClient
    from target_zoho_leads.stats import StreamStats

logger = logging.getLogger(__name__)

_NO_DETAILS = ItemDetails()


def outcome_of(item: WriteItem, success: str) -> Outcome:
    """Read one item of an insert or update answer.

    Args:
        item: ``{"code", "details", "message", "status"}`` as Zoho answers.
        success: The outcome kind a successful item means.
    """
    details = item.details or _NO_DETAILS
    if item.status == "success":
        lead_id = details.id
        return Outcome(success, lead_id=str(lead_id) if lead_id else None)
    field = details.api_name
    if not field and isinstance(details.json_path, str):
        field = details.json_path.rsplit(".", 1)[-1]
    return Outcome(
        REJECTED,
        code=str(item.code or "UNKNOWN"),
        message=str(item.message or ""),
        field=str(field) if field else None,
    )


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


class UniqueLeadWriter:
    """Unique Lead mode: one lead per person, existing leads get only a tracking id.

    Batches are planned and written one at a time (under a lock), so two
    streams drained in parallel cannot both create the same person; within a
    batch the calls still go out concurrently.
    """

    def __init__(
        self,
        client: ZohoCRMClient,
        executor: Executor,
        trigger: Sequence[str] | None,
        tracking_field: str,
    ) -> None:
        """Start the run knowing no lead; lookups fill that in as batches come."""
        self.client = client
        self.executor = executor
        self.trigger = trigger
        self.tracking_field = tracking_field
        self.lookup = LeadLookup(tracking_field)
        self._lead_of: dict[Key, str] = {}
        self._tracking: dict[str, tuple[t.Any, int]] = {}
        self._asked: set[Key] = set()
        self._lock = threading.Lock()

    def lead_of(self, key: Key) -> str | None:
        """The lead known to hold an identity (LeadMemory)."""
        return self._lead_of.get(key)

    def tracking_of(self, lead_id: str) -> tuple[t.Any, int]:
        """A lead's tracking id and the input position it came from (LeadMemory)."""
        return self._tracking.get(lead_id, (None, -1))

    def write(
        self,
        leads: Sequence[dict[str, t.Any]],
        stats: StreamStats,
        seqs: Sequence[int],
    ) -> list[Outcome]:
        """Write a batch and return one outcome per lead, in order.

        Args:
            leads: The mapped leads.
            stats: The stream's counters.
            seqs: Each record's position in the whole input.
        """
        client = self.client.counting_calls_with(stats.count_call)
        with self._lock:
            self._find_existing(client, leads)
            plan = plan_batch(leads, seqs, self.tracking_field, self)
            outcomes: list[Outcome | None] = [None] * len(leads)
            for index, lead_id in plan.unchanged.items():
                outcomes[index] = Outcome(UNCHANGED, lead_id)
            for key, lead_id in plan.joined.items():
                self._lead_of.setdefault(key, lead_id)
            updates = {u.lead_id: u for u in plan.updates}
            self._create(client, plan.creates, outcomes, updates, stats)
            self._update(client, list(updates.values()), outcomes)
        return t.cast("list[Outcome]", outcomes)

    def _find_existing(
        self,
        client: ZohoCRMClient,
        leads: Sequence[t.Mapping[str, t.Any]],
        *,
        again: bool = False,
    ) -> None:
        """Look up every identity of ``leads`` not yet known, in as few calls as fit."""
        forms: dict[Key, set[str]] = {}
        for lead in leads:
            for key, raw in identities(lead):
                if again or (key not in self._lead_of and key not in self._asked):
                    forms.setdefault(key, set()).update(query_forms(key[0], raw))
        if not forms:
            return
        rows = self.lookup.find(client, forms)
        self._asked.update(forms)
        # The oldest lead wins when a CRM already holds duplicates of a person.
        for row in sorted(rows, key=lambda r: (len(str(r.get("id"))), str(r.get("id")))):
            lead_id = str(row["id"])
            for key in identity_keys(row):
                self._lead_of.setdefault(key, lead_id)
            self._tracking.setdefault(lead_id, (row.get(self.tracking_field), -1))

    def _create(
        self,
        client: ZohoCRMClient,
        creates: list[NewLead],
        outcomes: list[Outcome | None],
        updates: dict[str, TrackingUpdate],
        stats: StreamStats,
    ) -> None:
        """Create the new people; a call whose answer is lost is settled by lookup first."""
        pending = creates
        for _ in range(max(1, self.client.max_retries)):
            if not pending:
                return
            lost = self._send_creates(client, pending, outcomes, updates)
            if lost:
                stats.add(ambiguous_writes=len(lost))
                logger.warning(
                    "%d new leads were sent but no answer came back; looking them "
                    "up before sending again so none is created twice",
                    len(lost),
                )
                self._find_existing(client, [n.fields for n in lost], again=True)
            pending = self._settle(lost, outcomes, updates)
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

    def _send_creates(
        self,
        client: ZohoCRMClient,
        creates: list[NewLead],
        outcomes: list[Outcome | None],
        updates: dict[str, TrackingUpdate],
    ) -> list[NewLead]:
        """Insert ``creates`` in calls of 100; return those whose call got no answer."""

        def send(part: Sequence[NewLead]) -> tuple[Sequence[NewLead], list | None]:
            try:
                fields = [new.fields for new in part]
                return part, client.write_leads("POST", fields, self.trigger, settle_ambiguous=True)
            except ZohoTransientError as exc:
                if exc.ambiguous:
                    return part, None
                raise

        lost: list[NewLead] = []
        jobs = [lambda part=part: send(part) for part in chunks(creates)]
        for part, items in run_all(self.executor, jobs):
            if items is None:
                lost.extend(part)
                continue
            for new, item in zip(part, items, strict=True):
                self._created(new, item, outcomes, updates)
        return lost

    def _created(
        self,
        new: NewLead,
        item: t.Mapping[str, t.Any],
        outcomes: list[Outcome | None],
        updates: dict[str, TrackingUpdate],
    ) -> None:
        """Record what a create answer item says about one person."""
        outcome = outcome_of(item, CREATED)
        duplicate_of = _duplicate_record_id(item)
        if duplicate_of:
            # The org marks a field unique and the person exists after all:
            # they are an existing lead, so only the tracking id is written.
            self._joined_existing(new, duplicate_of, None, outcomes, updates)
            return
        if outcome.kind != CREATED or not outcome.lead_id:
            for index in new.records:
                outcomes[index] = outcome
            return
        for key in new.keys:
            self._lead_of.setdefault(key, outcome.lead_id)
        self._tracking[outcome.lead_id] = (
            new.fields.get(self.tracking_field),
            new.tracking_seq,
        )
        outcomes[new.records[0]] = outcome
        for index in new.records[1:]:
            outcomes[index] = Outcome(UNCHANGED, outcome.lead_id)

    def _settle(
        self,
        lost: list[NewLead],
        outcomes: list[Outcome | None],
        updates: dict[str, TrackingUpdate],
    ) -> list[NewLead]:
        """Mark the lost creates that did happen; return those to send again."""
        again = []
        for new in lost:
            lead_id = next((self._lead_of[k] for k in new.keys if k in self._lead_of), None)
            if lead_id is None:
                again.append(new)
            else:
                self._joined_existing(new, lead_id, CREATED, outcomes, updates)
        return again

    def _joined_existing(
        self,
        new: NewLead,
        lead_id: str,
        kind: str | None,
        outcomes: list[Outcome | None],
        updates: dict[str, TrackingUpdate],
    ) -> None:
        """A planned new person turned out to have lead ``lead_id`` already."""
        for key in new.keys:
            self._lead_of.setdefault(key, lead_id)
        for index in new.records:
            outcomes[index] = Outcome(UNCHANGED, lead_id)
        if kind == CREATED:
            outcomes[new.records[0]] = Outcome(CREATED, lead_id)
        value = new.fields.get(self.tracking_field)
        current, current_seq = self.tracking_of(lead_id)
        planned = updates.get(lead_id)
        newest = max(current_seq, planned.seq if planned else -1)
        if value is not None and new.tracking_seq > newest and str(value) != str(current):
            updates[lead_id] = TrackingUpdate(lead_id, value, new.records[-1], new.tracking_seq)

    def _update(
        self,
        client: ZohoCRMClient,
        updates: list[TrackingUpdate],
        outcomes: list[Outcome | None],
    ) -> None:
        """Write the tracking ids; re-sending an update is harmless, so it is retried."""

        def send(part: Sequence[TrackingUpdate]) -> list[dict[str, t.Any]]:
            body = [{"id": u.lead_id, self.tracking_field: u.value} for u in part]
            return client.write_leads("PUT", body, self.trigger)

        jobs = [lambda part=part: (part, send(part)) for part in chunks(updates)]
        for part, items in run_all(self.executor, jobs):
            for update, item in zip(part, items, strict=True):
                outcome = outcome_of(item, UPDATED)
                if outcome.kind == UPDATED:
                    self._tracking[update.lead_id] = (update.value, update.seq)
                    outcome = Outcome(UPDATED, update.lead_id)
                outcomes[update.record] = outcome


def _duplicate_record_id(item: WriteItem) -> str | None:
    """The existing lead's id in a DUPLICATE_DATA answer item, if Zoho gave it."""
    if item.code != "DUPLICATE_DATA" or item.details is None:
        return None
    duplicate = item.details.duplicate_record
    lead_id = duplicate.get("id") if isinstance(duplicate, dict) else None
    return str(lead_id) if lead_id else None
