"""Writing leads to Zoho in calls of 100 and reading every answer item."""

from __future__ import annotations

import logging
import threading
import typing as t

from target_zoho_leads.answers import duplicate_of, outcome_of, skipped
from target_zoho_leads.client import MAX_RECORDS_PER_WRITE
from target_zoho_leads.dedupe import Blocked, NewLead, TrackingUpdate, plan_batch
from target_zoho_leads.exceptions import ZohoRetriesExhaustedError, ZohoTransientError
from target_zoho_leads.identities import FIELD_OF, Identities
from target_zoho_leads.known import KnownLeads
from target_zoho_leads.lookup import LEADS, LeadLookup
from target_zoho_leads.outcomes import (
    CREATED,
    EXISTS_AS_CONTACT,
    EXISTS_AS_CONVERTED_LEAD,
    UNCHANGED,
    UPDATED,
    Outcome,
)

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from concurrent.futures import Executor

    from target_zoho_leads.client import WriteItem, ZohoCRMClient
    from target_zoho_leads.identities import Key
    from target_zoho_leads.stats import StreamStats

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


class UniqueLeadWriter:
    """Unique Lead mode: one lead per person, existing leads get only a tracking id.

    Batches are planned and written one at a time (under a lock), so two
    streams drained in parallel cannot both create the same person; within a
    batch the calls still go out concurrently.
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
    ) -> list[Outcome]:
        """Write a batch and return one outcome per lead, in order.

        Args:
            leads: The mapped leads.
            stats: The stream's counters.
            seqs: Each record's position in the whole input.
        """
        client = self.client.counting_calls_with(stats.count_call)
        keys = [self.identities.keys(lead) for lead in leads]
        with self._lock:
            self._find_existing(client, zip(leads, keys, strict=True))
            plan = plan_batch(leads, keys, seqs, self.tracking_field, self.known)
            outcomes: list[Outcome | None] = [None] * len(leads)
            for index, lead_id in plan.unchanged.items():
                outcomes[index] = Outcome(UNCHANGED, lead_id)
            for index, blocked in plan.blocked.items():
                outcomes[index] = skipped(blocked)
            if self.normalize:
                for new in plan.creates:
                    new.fields = self.identities.canonical_fields(new.fields)
            updates = {u.lead_id: u for u in plan.updates}
            self._create(client, plan.creates, outcomes, updates, stats)
            self._update(client, list(updates.values()), outcomes)
        return t.cast("list[Outcome]", outcomes)

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
                self._find_existing(client, [(n.fields, n.keys) for n in lost], again=True)
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
        item: WriteItem,
        outcomes: list[Outcome | None],
        updates: dict[str, TrackingUpdate],
    ) -> None:
        """Record what a create answer item says about one person."""
        duplicate = duplicate_of(item)
        if duplicate is not None:
            self._duplicate(new, item, duplicate, outcomes, updates)
            return
        outcome = outcome_of(item, CREATED)
        if outcome.kind != CREATED or not outcome.lead_id:
            for index in new.records:
                outcomes[index] = outcome
            return
        self.known.hold(new.keys, outcome.lead_id)
        self.known.track(outcome.lead_id, new.fields.get(self.tracking_field), new.tracking_seq)
        outcomes[new.records[0]] = outcome
        for index in new.records[1:]:
            outcomes[index] = Outcome(UNCHANGED, outcome.lead_id)

    def _duplicate(
        self,
        new: NewLead,
        item: WriteItem,
        duplicate: tuple[str, str],
        outcomes: list[Outcome | None],
        updates: dict[str, TrackingUpdate],
    ) -> None:
        """Zoho refused a create as a duplicate of the record it names.

        A lead (the org marks a field unique) is the person's: only its
        tracking id is written. A Contact, or a lead known to be converted, is
        never written as a lead.
        """
        module, record_id = duplicate
        if module == LEADS and not self.known.is_converted(record_id):
            self._joined_existing(new, record_id, None, outcomes, updates)
            return
        code = EXISTS_AS_CONVERTED_LEAD if module == LEADS else EXISTS_AS_CONTACT
        blocked = Blocked(code, record_id)
        field = item.details.api_name if item.details else None
        for key in new.keys:
            # Only the identity Zoho compared is known to be the other record's.
            if FIELD_OF[key[0]] == field:
                self.known.block(key, blocked)
        for index in new.records:
            outcomes[index] = skipped(blocked)

    def _settle(
        self,
        lost: list[NewLead],
        outcomes: list[Outcome | None],
        updates: dict[str, TrackingUpdate],
    ) -> list[NewLead]:
        """Mark the lost creates that did happen; return those to send again."""
        again = []
        for new in lost:
            lead_id = next(
                (held for k in new.keys if (held := self.known.lead_of(k)) is not None), None
            )
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
        self.known.hold(new.keys, lead_id)
        for index in new.records:
            outcomes[index] = Outcome(UNCHANGED, lead_id)
        if kind == CREATED:
            outcomes[new.records[0]] = Outcome(CREATED, lead_id)
        value = new.fields.get(self.tracking_field)
        current, current_seq = self.known.tracking_of(lead_id)
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

        def send(part: Sequence[TrackingUpdate]) -> list[WriteItem]:
            body = [{"id": u.lead_id, self.tracking_field: u.value} for u in part]
            return client.write_leads("PUT", body, self.trigger)

        jobs = [lambda part=part: (part, send(part)) for part in chunks(updates)]
        for part, items in run_all(self.executor, jobs):
            for update, item in zip(part, items, strict=True):
                if item.code == "CONVERTED_RECORD":
                    self._converted(update, outcomes)
                    continue
                outcome = outcome_of(item, UPDATED)
                if outcome.kind == UPDATED:
                    self.known.track(update.lead_id, update.value, update.seq)
                    outcome = Outcome(UPDATED, update.lead_id)
                outcomes[update.record] = outcome

    def _converted(self, update: TrackingUpdate, outcomes: list[Outcome | None]) -> None:
        """Zoho refused an update because the lead was converted: none of its records is written."""
        self.known.converted(update.lead_id)
        blocked = skipped(Blocked(EXISTS_AS_CONVERTED_LEAD, update.lead_id))
        outcomes[update.record] = blocked
        for index, outcome in enumerate(outcomes):
            if outcome is not None and outcome.lead_id == update.lead_id:
                outcomes[index] = blocked
