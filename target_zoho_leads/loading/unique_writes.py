"""Unique Lead's writes: look people up, create the new ones, move the others' tracking ids."""

from __future__ import annotations

import dataclasses
import logging
import threading
import typing as t

from target_zoho_leads.loading.results import WriteResult
from target_zoho_leads.loading.settle import Watch, watch_until
from target_zoho_leads.loading.writes import MAX_RESENDS, chunks, run_all
from target_zoho_leads.unique.answers import duplicate_of, held, outcome_of
from target_zoho_leads.unique.dedupe import plan_batch
from target_zoho_leads.unique.existing import TRACKING_ID, FieldRule
from target_zoho_leads.unique.identities import DEFAULT_MATCH_FIELDS, Identities
from target_zoho_leads.unique.known import KnownLeads
from target_zoho_leads.unique.ledger import CONVERTED_RECORD, DUPLICATE_DATA, BatchLedger
from target_zoho_leads.unique.lookup import LeadLookup
from target_zoho_leads.zoho.bulk.result import is_final
from target_zoho_leads.zoho.errors import (
    ZohoAPIError,
    ZohoRetriesExhaustedError,
    ZohoTransientError,
)
from target_zoho_leads.zoho.outcomes import CREATED, REJECTED, UNCHANGED, UPDATED, Outcome

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from concurrent.futures import Executor

    from target_zoho_leads.loading.results import Jobs, Route
    from target_zoho_leads.unique.dedupe import NewLead, TrackingUpdate
    from target_zoho_leads.unique.identities import Key
    from target_zoho_leads.zoho.client import WriteItem

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class _Batch:
    """One batch on its way: where its calls go, and what its records became so far."""

    route: Route
    ledger: BatchLedger
    ambiguous: int = 0  # creates sent whose answer was lost
    found: int = 0  # of those, found written by a lookup
    sent_again: int = 0  # of those, not found and sent again
    # record index -> the leads it matched, when its identities found two
    matched: dict[int, list[str | NewLead]] = dataclasses.field(default_factory=dict)
    held: list[int] = dataclasses.field(default_factory=list)
    # record index -> the match field whose value found its lead
    matched_by: dict[int, str] = dataclasses.field(default_factory=dict)

    @property
    def tries(self) -> int:
        """How many times a write whose answer is lost is settled and sent again."""
        return max(1, self.route.client.max_retries)


class UniqueLeadWriter:
    """Unique Lead mode: one lead per person, existing leads get only a tracking id.

    Batches are planned and written one at a time (under a lock), so two
    streams drained in parallel cannot both create the same person; within a
    batch the calls still go out concurrently. A batch's creates, and its
    tracking-id updates, go in calls of 100 or, where its route allows a job
    of that size, as one Bulk Write job each; the lookups stay batched COQL.
    """

    def __init__(  # noqa: PLR0913 - one keyword per setting
        self,
        executor: Executor,
        trigger: Sequence[str] | None,
        tracking_field: str,
        *,
        default_phone_region: str | None = None,
        normalize_identities: bool = True,
        match_contacts: bool = False,
        match_fields: Sequence[str] = DEFAULT_MATCH_FIELDS,
        hold_ambiguous: bool = False,
        watch: Watch | None = None,
        existing_fields: tuple[str, Sequence[str], Sequence[str] | None] | None = None,
    ) -> None:
        """Start the run knowing no lead; lookups fill that in as batches come.

        Args:
            executor: Sends a batch's calls concurrently.
            trigger: Zoho's ``trigger`` list for writes, or None.
            tracking_field: The Leads field holding the CDP tracking id.
            default_phone_region: ISO 3166 code (``CN``) for phones written
                without a country code, or None.
            normalize_identities: Write a new lead's Email lower-cased and its
                Phone in E.164, so any later spelling finds it.
            match_contacts: Also look people up in Contacts; one found there
                gets no lead.
            match_fields: The Zoho fields that identify a person, the
                earlier deciding first; compared by name until
                :meth:`read_field_types` gives Zoho's types.
            hold_ambiguous: A record whose identities find two leads gets no
                write (``on_ambiguous: hold``); else the earlier field's lead
                is the person's.
            watch: How long to keep looking for people a bulk job that may
                still run would create (``bulk_settle_max``).
            existing_fields: ``existing_lead_fields``, the mapped fields and
                ``overwrite_fields`` (None: all mapped); tracking id only
                when None.
        """
        self.executor = executor
        self.trigger = trigger
        self.tracking_field = tracking_field
        self.identities = Identities.of(default_phone_region, match_fields)
        self.normalize = normalize_identities
        self.hold_ambiguous = hold_ambiguous
        mode, mapped, overwrite = existing_fields or (TRACKING_ID, (), None)
        self.rule = FieldRule(
            mode,
            frozenset(mapped) - {tracking_field},
            self.identities,
            None if overwrite is None else frozenset(overwrite),
        )
        self.lookup = LeadLookup(
            tracking_field,
            match_contacts=match_contacts,
            identities=self.identities,
            # Read in the lookups already made: no call is added for them.
            fields=sorted(self.rule.mapped) if self.rule.writes_fields else (),
        )
        self.known = KnownLeads(self.identities)
        self.watch = watch or Watch(0)
        self._lock = threading.Lock()
        self.without_country_code = 0  # phones written that no region reads as E.164

    def read_field_types(self, data_types: Mapping[str, str]) -> None:
        """Compare each match field by its Zoho ``data_type``; called once, before any write.

        A custom email field then compares as an email, a custom phone field
        as a phone (with Phone and Mobile), any other as trimmed text.
        """
        with self._lock:
            self.identities = Identities.of(
                self.identities.region, self.identities.match_fields, data_types
            )
            self.lookup.identities = self.identities
            self.known.identities = self.identities
            self.rule = dataclasses.replace(self.rule, identities=self.identities)

    def close(self) -> None:
        """End of the run: one warning if phones lacked a country code and no region was set."""
        if self.without_country_code:
            logger.warning(
                "%d phones had no country code and default_phone_region is not set: "
                "they were compared and stored as their digits; set default_phone_region "
                "(CN, US, ...) so they match the E.164 spellings other systems store",
                self.without_country_code,
            )
            self.without_country_code = 0

    def write(
        self, leads: Sequence[dict[str, t.Any]], seqs: Sequence[int], route: Route
    ) -> WriteResult:
        """Write a batch by the ways ``route`` gives; what became of each lead.

        Args:
            leads: The mapped leads.
            seqs: Each record's position in the whole input.
            route: The records API's client, and Bulk Write where allowed.

        Returns:
            One outcome per lead, in order; where a failure stopped the
            write, the leads not known to be written have none, and the
            result carries the failure.
        """
        keys = [self.identities.keys(lead) for lead in leads]
        batch: _Batch | None = None
        with self._lock:
            if self.identities.region is None:
                self.without_country_code += sum(map(self.identities.without_country_code, leads))
            try:
                batch = self._plan(route, leads, keys, seqs)
                error = self._create(batch, batch.ledger.creates) or self._update(
                    batch, list(batch.ledger.updates.values())
                )
            except ZohoAPIError as exc:  # a call that failed for good: the batch stops here
                error = exc
        if batch is None:  # the lookups failed: nothing was written
            return WriteResult([None] * len(leads), error)
        return WriteResult(_name_both(batch), error, batch.ambiguous, batch.found, batch.sent_again)

    def plan(
        self,
        leads: Sequence[dict[str, t.Any]],
        seqs: Sequence[int],
        route: Route,
        would_create: t.Callable[[int], str],
    ) -> list[Outcome | None]:
        """What :meth:`write` would make of a batch now, sending no write (``plan_path``).

        The lookups and the plan are the write's own. Each planned create is
        then remembered as a lead that would be created, so a later record
        of the same person (in this batch or a later one) plans an update or
        unchanged against it, as the real run would against the lead it made.

        Args:
            leads: The mapped leads.
            seqs: Each record's position in the whole input.
            route: Its client runs the lookups; nothing is written by it.
            would_create: The stand-in id of the lead a create would make,
                from the input position of the person's first record.

        Returns:
            One outcome per lead, in order, as :meth:`write` would give it.

        Raises:
            ZohoAPIError: A lookup failed for good.
        """
        keys = [self.identities.keys(lead) for lead in leads]
        with self._lock:
            batch = self._plan(route, leads, keys, seqs)
            for new in batch.ledger.creates:
                stand_in = would_create(seqs[new.records[0]])
                batch.ledger.created(new, Outcome(CREATED, stand_in))
            for update in list(batch.ledger.updates.values()):
                batch.ledger.updated(update, Outcome(UPDATED, update.lead_id))
        return _name_both(batch)

    def _plan(
        self,
        route: Route,
        leads: Sequence[dict[str, t.Any]],
        keys: Sequence[Sequence[Key]],
        seqs: Sequence[int],
    ) -> _Batch:
        """Look the batch's people up and plan it: the records settled so far, the writes due."""
        self._find_existing(route, zip(leads, keys, strict=True))
        rule = self.rule if self.rule.writes_fields else None
        plan = plan_batch(
            leads,
            keys,
            seqs,
            self.tracking_field,
            self.known,
            hold_ambiguous=self.hold_ambiguous,
            rule=rule,
        )
        if self.normalize:
            for new in plan.creates:
                new.fields = self.identities.canonical_fields(new.fields)
            for update in plan.updates:
                update.fields = self.identities.canonical_fields(update.fields)
        ledger = BatchLedger(self.known, self.tracking_field, plan, len(leads))
        ledger.rule = rule
        matched_by = {
            index: field
            for index, key in plan.matched_key.items()
            for found, field, _ in self.identities.written(leads[index])
            if found == key
        }
        return _Batch(route, ledger, matched=plan.ambiguous, held=plan.held, matched_by=matched_by)

    def _find_existing(
        self,
        route: Route,
        leads: Iterable[tuple[Mapping[str, t.Any], Sequence[Key]]],
        *,
        again: bool = False,
    ) -> None:
        """Look up every identity of ``leads`` not yet known, in as few calls as fit."""
        wanted: dict[Key, set[t.Any]] = {}
        for lead, keys in leads:
            for key, _, value in self.identities.written(lead):
                if key in keys and (again or self.known.unknown(key)):
                    wanted.setdefault(key, set()).add(str(value))
        if wanted:
            self.known.learn(self.lookup.find(route.client, wanted), wanted)

    def _create(self, batch: _Batch, creates: list[NewLead]) -> ZohoAPIError | None:
        """Create the new people; a write whose answer is lost is settled by lookup first."""
        pending = creates
        for attempt in range(batch.tries):
            if not pending:
                return None
            jobs = batch.route.jobs_for(len(pending))
            running: list[NewLead] = []
            seconds = None
            if jobs is None:
                lost, running = self._send_creates(batch, pending)
                # A call that timed out may still be applied: watched before re-sending.
                seconds = self.watch.records_seconds
            else:
                last = attempt + 1 >= min(batch.tries, MAX_RESENDS + 1)
                lost, running, error = self._bulk_creates(batch, jobs, pending, last=last)
                if error is not None:
                    return error
            if lost:
                batch.ambiguous += len(lost)
                logger.warning(
                    "%d new leads were sent but their outcome is unknown; looking them "
                    "up before sending again so none is created twice",
                    len(lost),
                )
                self._watch(batch, lost, running, seconds)
            pending = batch.ledger.settle(lost, CREATED)
            batch.found += len(lost) - len(pending)
            batch.sent_again += len(pending) if attempt + 1 < batch.tries else 0
            blind = sum(1 for new in pending if not new.keys)
            if blind:
                logger.warning(
                    "%d of them have no email or phone to look up by; sending them "
                    "again, so Zoho may hold them twice",
                    blind,
                )
        if pending:
            msg = f"{len(pending)} leads could not be created: Zoho kept dropping the answer"
            return ZohoRetriesExhaustedError(msg, code="NETWORK")
        return None

    def _watch(
        self,
        batch: _Batch,
        lost: list[NewLead],
        running: list[NewLead],
        seconds: float | None = None,
    ) -> None:
        """Look ``lost`` up; again while one a write may still create is absent.

        A job whose creation answer was lost may run minutes later, and a call
        whose answer was lost may be applied after the client gave up: sending
        their people again before that would create them twice. The lookups
        back off, up to ``seconds`` (``bulk_settle_max`` when None).
        """
        looking, absent = lost, running

        def look() -> int:
            nonlocal looking, absent
            self._find_existing(batch.route, [(n.fields, n.keys) for n in looking], again=True)
            absent = looking = batch.ledger.absent(absent)
            return len(absent)

        what = "people of a write that may still be applied are absent"
        watch_until(self.watch, look, what, seconds)

    def _send_creates(
        self, batch: _Batch, creates: list[NewLead]
    ) -> tuple[list[NewLead], list[NewLead]]:
        """Insert ``creates`` in calls of 100.

        Returns:
            Those whose call got no answer, and of them those whose call
            timed out (Zoho may still be working on it).
        """

        def send(part: Sequence[NewLead]) -> tuple[Sequence[NewLead], list[WriteItem] | bool]:
            fields = [new.fields for new in part]
            try:
                items = batch.route.client.write_leads(
                    "POST", fields, self.trigger, settle_ambiguous=True
                )
            except ZohoTransientError as exc:
                if exc.ambiguous:
                    return part, exc.still_working
                raise
            return part, items

        lost: list[NewLead] = []
        slow: list[NewLead] = []
        jobs = [lambda part=part: send(part) for part in chunks(creates)]
        for part, items in run_all(self.executor, jobs):
            if isinstance(items, bool):
                lost.extend(part)
                slow.extend(part if items else ())
                continue
            for new, item in zip(part, items, strict=True):
                duplicate = duplicate_of(item)
                if duplicate is None:
                    batch.ledger.created(new, outcome_of(item, CREATED))
                else:
                    field = item.details.api_name if item.details else None
                    batch.ledger.duplicate(new, *duplicate, field)
        return lost, slow

    def _bulk_creates(
        self, batch: _Batch, jobs: Jobs, creates: list[NewLead], *, last: bool
    ) -> tuple[list[NewLead], list[NewLead], ZohoAPIError | None]:
        """Insert ``creates`` by Bulk Write: those of unknown outcome, those a job may still write.

        A row Zoho skipped as DUPLICATE_DATA names no record (an answer of
        the records API does): those people are looked up again, and the
        ones still without a lead are sent by the records API, whose answer
        names the Contact, converted lead or lead holding them. A row Zoho
        did not get to (``is_final`` False) is sent again unless ``last``.
        """
        answer = jobs.insert([new.fields for new in creates])
        for problem in answer.problems:
            logger.warning("%s", problem)
        doubtful, again = self._read_creates(batch, creates, answer.outcomes, last=last)
        lost = [creates[i] for i in answer.lookable()] + again
        running = [creates[i] for i in sorted(answer.running)]
        if answer.error is not None:
            if lost:
                self._watch(batch, lost, running)
                batch.ledger.settle(lost, CREATED)
            return [], [], answer.error
        if doubtful:
            self._find_existing(batch.route, [(n.fields, n.keys) for n in doubtful], again=True)
            more, _ = self._send_creates(batch, batch.ledger.settle(doubtful, None))
            lost += more
        return lost, running, None

    @staticmethod
    def _read_creates(
        batch: _Batch, creates: Sequence[NewLead], results: Sequence[Outcome | None], *, last: bool
    ) -> tuple[list[NewLead], list[NewLead]]:
        """Take in a job's known outcomes; return the DUPLICATE_DATA rows and the rows to resend."""
        doubtful, again = [], []
        for new, outcome in zip(creates, results, strict=True):
            if outcome is None:
                continue
            if outcome.kind == REJECTED and outcome.code == DUPLICATE_DATA:
                doubtful.append(new)
            elif not is_final(outcome) and not last:
                again.append(new)
            else:
                batch.ledger.created(new, outcome)
        return doubtful, again

    def _update(
        self, batch: _Batch, updates: list[TrackingUpdate], *, records_only: bool = False
    ) -> ZohoAPIError | None:
        """Write the tracking ids; re-sending an update is harmless, so it is retried."""
        jobs = None if records_only else batch.route.jobs_for(len(updates))
        if jobs is not None:
            return self._bulk_updates(batch, jobs, updates)

        def send(part: Sequence[TrackingUpdate]) -> list[WriteItem]:
            body = [u.body(self.tracking_field) for u in part]
            return batch.route.client.write_leads("PUT", body, self.trigger)

        calls = [lambda part=part: (part, send(part)) for part in chunks(updates)]
        for part, items in run_all(self.executor, calls):
            for update, item in zip(part, items, strict=True):
                batch.ledger.updated(update, outcome_of(item, UPDATED))
        return None

    def _bulk_updates(
        self, batch: _Batch, jobs: Jobs, updates: list[TrackingUpdate]
    ) -> ZohoAPIError | None:
        """Update by Bulk Write (``find_by`` id); a row of unknown outcome is sent again.

        An update written twice changes nothing, so no lookup is needed. A row
        Zoho did not get to is sent again at most :data:`MAX_RESENDS` times.
        A refused row is sent once by the records API, whose answer tells a
        converted lead (``CONVERTED_RECORD``) the way the records path reads it.
        """
        pending, refused = updates, []
        for attempt in range(MAX_RESENDS + 1):
            answer = jobs.update([u.body(self.tracking_field) for u in pending])
            for problem in answer.problems:
                logger.warning("%s", problem)
            again = []
            for update, outcome in zip(pending, answer.outcomes, strict=True):
                if outcome is None or (not is_final(outcome) and attempt < MAX_RESENDS):
                    again.append(update)
                elif outcome.kind == REJECTED and outcome.code != CONVERTED_RECORD:
                    refused.append(update)
                else:
                    batch.ledger.updated(update, outcome)
            if answer.error is not None:
                return answer.error
            pending = again
            if not pending or None in answer.outcomes:
                break  # rows of unknown outcome go by the records API, whose answer tells
            logger.warning("%d tracking-id updates of a bulk job are sent again", len(pending))
        rest = pending + refused
        return self._update(batch, rest, records_only=True) if rest else None


def _name_both(batch: _Batch) -> list[Outcome | None]:
    """Each record's outcome; one that matched two leads names both (issue 21).

    Settled after the creates: a lead this batch created is named by its new id.
    """
    outcomes = list(batch.ledger.outcomes)
    for index, field in batch.matched_by.items():
        outcome = outcomes[index]
        if outcome is not None and outcome.kind in {CREATED, UPDATED, UNCHANGED}:
            outcomes[index] = outcome._replace(matched_by=field)
    for index, matches in batch.matched.items():
        ids = []
        for match in matches:
            lead_id = match if isinstance(match, str) else _created_id(batch, match)
            if lead_id is not None and lead_id not in ids:
                ids.append(lead_id)
        outcome = outcomes[index]
        if index in batch.held:
            outcomes[index] = held(ids)
        elif outcome is not None:
            outcomes[index] = outcome._replace(lead_ids=tuple(ids))
    return outcomes


def _created_id(batch: _Batch, new: NewLead) -> str | None:
    """The id of the lead made (or found) for a person this batch planned as new."""
    outcome = batch.ledger.outcomes[new.records[0]]
    written = outcome is not None and outcome.kind in {CREATED, UNCHANGED, UPDATED}
    return outcome.lead_id if written and outcome is not None else None
