"""What Zoho's answers make of a Unique Lead batch: each record's outcome, and the run's memory.

No I/O: the writer (:mod:`target_zoho_leads.loading.unique_writes`) sends creates and
updates by the records API or Bulk Write; whatever way an answer came, it is
read here the same way, so both ways keep SPEC §4's guarantees alike.
"""

from __future__ import annotations

import typing as t

from target_zoho_leads.unique.answers import skipped
from target_zoho_leads.unique.dedupe import Blocked, TrackingUpdate
from target_zoho_leads.unique.found import LEADS
from target_zoho_leads.zoho.outcomes import (
    CREATED,
    EXISTS_AS_CONTACT,
    EXISTS_AS_CONVERTED_LEAD,
    REJECTED,
    UNCHANGED,
    UPDATED,
    Outcome,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from target_zoho_leads.unique.dedupe import BatchPlan, NewLead
    from target_zoho_leads.unique.existing import FieldRule
    from target_zoho_leads.unique.identities import Key
    from target_zoho_leads.unique.known import KnownLeads
    from target_zoho_leads.zoho.outcomes import OutcomeKind

CONVERTED_RECORD = "CONVERTED_RECORD"  # Zoho's refusal to update a converted lead
DUPLICATE_DATA = "DUPLICATE_DATA"  # Zoho's refusal to create a record another one clashes with


class BatchLedger:
    """One batch's outcomes as Zoho's answers come in; each answer also teaches ``known``."""

    def __init__(self, known: KnownLeads, tracking_field: str, plan: BatchPlan, size: int) -> None:
        """Start from the plan: the records that change nothing or are skipped are settled.

        ``outcomes`` holds one entry per record, None until its write is
        answered; ``creates`` and ``updates`` are the writes still due.

        Args:
            known: The run's memory of the CRM, taught by every answer.
            tracking_field: The Leads field holding the CDP tracking id.
            plan: The batch's plan; its tracking-id updates may still grow
                (a person planned as new turns out to have a lead).
            size: Records in the batch.
        """
        self.known = known
        self.tracking_field = tracking_field
        self.outcomes: list[Outcome | None] = [None] * size
        for index, lead_id in plan.unchanged.items():
            self.outcomes[index] = Outcome(UNCHANGED, lead_id)
        for index, blocked in plan.blocked.items():
            self.outcomes[index] = skipped(blocked)
        self.creates = plan.creates
        self.updates = {update.lead_id: update for update in plan.updates}
        self.rule: FieldRule | None = None  # existing_lead_fields, set by the writer

    def created(self, new: NewLead, outcome: Outcome) -> None:
        """A create's answer: the person's lead, or why it was not made."""
        if outcome.kind != CREATED or not outcome.lead_id:
            for index in new.records:
                self.outcomes[index] = outcome
            return
        self.known.hold(new.keys, outcome.lead_id)
        self.known.track(outcome.lead_id, new.fields.get(self.tracking_field), new.tracking_seq)
        self.known.write_values(outcome.lead_id, new.fields)
        self.outcomes[new.records[0]] = outcome
        for index in new.records[1:]:
            fields = new.changed.get(index)
            # A later record that filled the new lead's fields counts as an update.
            kind = UPDATED if fields else UNCHANGED
            self.outcomes[index] = Outcome(kind, outcome.lead_id, fields=fields)

    def duplicate(self, new: NewLead, module: str, record_id: str, field: str | None) -> None:
        """Zoho refused a create as a duplicate of the record it names, comparing ``field``.

        A lead (the org marks a field unique) is the person's: only its
        tracking id is written. A Contact, or a lead known to be converted, is
        never written as a lead.
        """
        if module == LEADS and not self.known.is_converted(record_id):
            self.joined(new, record_id, None, new.keys)
            return
        code = EXISTS_AS_CONVERTED_LEAD if module == LEADS else EXISTS_AS_CONTACT
        blocked = Blocked(code, record_id)
        for key in new.keys:
            # Only the identity Zoho compared is known to be the other record's.
            if self.known.compares(key, field):
                self.known.block(key, blocked)
        for index in new.records:
            self.outcomes[index] = skipped(blocked)

    def settle(self, sent: Iterable[NewLead], kind: OutcomeKind | None) -> list[NewLead]:
        """Join each person a lookup since found a lead for to it; return the others.

        Args:
            sent: Creates whose fate a fresh lookup has just told.
            kind: CREATED when the lead found is the run's own (a write whose
                answer was lost), None when it was there already (Zoho refused
                the create as a duplicate without naming the lead).
        """
        others = []
        for new in sent:
            lead_id = next(
                (held for key in new.keys if (held := self.known.lead_of(key)) is not None), None
            )
            if lead_id is None:
                others.append(new)
            else:
                # A lead that was there holds what the lookup found, nothing more.
                self.joined(new, lead_id, kind, new.keys if kind == CREATED else ())
        return others

    def absent(self, sent: Iterable[NewLead]) -> list[NewLead]:
        """The people of ``sent`` no lookup has yet found a lead for."""
        return [new for new in sent if all(self.known.lead_of(key) is None for key in new.keys)]

    def joined(
        self, new: NewLead, lead_id: str, kind: OutcomeKind | None, keys: Sequence[Key]
    ) -> None:
        """A person planned as new has lead ``lead_id``: its tracking id may move.

        With a field rule (``existing_lead_fields``) a lead that was there
        also takes the fields the rule gives it from the person's records.
        """
        self.known.hold(keys, lead_id)
        for index in new.records:
            self.outcomes[index] = Outcome(UNCHANGED, lead_id)
        if kind == CREATED:
            self.outcomes[new.records[0]] = Outcome(CREATED, lead_id)
        value = new.fields.get(self.tracking_field)
        current, current_seq = self.known.tracking_of(lead_id)
        planned = self.updates.get(lead_id)
        newest = max(current_seq, planned.seq if planned else -1)
        if value is not None and new.tracking_seq > newest and str(value) != str(current):
            if planned is None:
                planned = self.updates[lead_id] = TrackingUpdate(lead_id, None, new.records[-1])
            planned.value, planned.record, planned.seq = value, new.records[-1], new.tracking_seq
        if kind != CREATED and self.rule is not None:
            self._fill(self.rule, new, lead_id)

    def _fill(self, rule: FieldRule, new: NewLead, lead_id: str) -> None:
        """Plan what a person's fields write on the lead found to be theirs."""
        planned = self.updates.get(lead_id)
        values = {**self.known.values_of(lead_id), **(planned.fields if planned else {})}
        changes = rule.changes(values, new.fields)
        if not changes:
            return
        if planned is None:
            planned = self.updates[lead_id] = TrackingUpdate(lead_id, None, new.records[0])
        planned.fields.update(changes)
        planned.changed[new.records[0]] = tuple(sorted(changes))
        planned.keys += rule.keys(changes)

    def updated(self, update: TrackingUpdate, outcome: Outcome) -> None:
        """A tracking-id update's answer; a converted lead's refusal skips its person."""
        if outcome.kind == REJECTED and outcome.code == CONVERTED_RECORD:
            self._converted(update)
            return
        if outcome.kind != UPDATED:
            for index in {update.record, *update.changed}:
                self.outcomes[index] = outcome
            return
        if update.value is not None:
            self.known.track(update.lead_id, update.value, update.seq)
        self.known.write_values(update.lead_id, update.fields)
        self.known.hold(update.keys, update.lead_id)
        for index in {update.record, *update.changed}:
            fields = update.changed.get(index)
            self.outcomes[index] = Outcome(UPDATED, update.lead_id, fields=fields)

    def _converted(self, update: TrackingUpdate) -> None:
        """The lead was converted: none of its records is written, in this batch or later."""
        self.known.converted(update.lead_id)
        blocked = skipped(Blocked(EXISTS_AS_CONVERTED_LEAD, update.lead_id))
        self.outcomes[update.record] = blocked
        for index, outcome in enumerate(self.outcomes):
            if outcome is not None and outcome.lead_id == update.lead_id:
                self.outcomes[index] = blocked
