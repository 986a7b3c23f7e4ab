"""Unique Lead planning: which lead each record is, and what each record becomes.

Pure functions, no I/O: given a batch of mapped leads, their identities and
what is known of the CRM (which lead holds an email or phone, each lead's
tracking id, which identities only a Contact or a converted lead holds),
decide which leads to create and which tracking ids to update.

Records are read one at a time in input order, as if each were written
before the next is read: a record is the lead holding its identity of the
earliest field in ``match_fields`` (one that finds two leads is ambiguous,
and with ``on_ambiguous: hold`` held, not written); a record no lead
holds becomes a new lead with its own fields, and its own identities
are that lead's. Nothing else is remembered: a later record's new phone
does not join its lead, because the CRM does not hold it and the next
run could not know it, unless ``existing_lead_fields`` writes it into an
empty match field (then the CRM holds it). So how the input is cut into
batches or runs cannot change the CRM (SPEC §4).
"""

from __future__ import annotations

import dataclasses
import typing as t

from target_zoho_leads.zoho.outcomes import EXISTS_AS_CONTACT

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from target_zoho_leads.unique.existing import FieldRule
    from target_zoho_leads.unique.identities import Key


class Blocked(t.NamedTuple):
    """An identity only a record that is not a lead to update holds."""

    code: str  # EXISTS_AS_CONTACT or EXISTS_AS_CONVERTED_LEAD
    record_id: str  # the Contact's or the converted lead's id


@dataclasses.dataclass
class NewLead:
    """A person no lead exists for: one lead to create, from their first record."""

    fields: dict[str, t.Any]
    records: list[int]
    keys: list[Key]
    tracking_seq: int = -1  # input position of the record the tracking id came from
    # record index -> the fields a later record of the person filled or replaced
    changed: dict[int, tuple[str, ...]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class TrackingUpdate:
    """An existing lead whose tracking id or fields change; ``record`` is credited.

    ``value`` None: the tracking id stays, only ``fields`` are written
    (``existing_lead_fields``).
    """

    lead_id: str
    value: t.Any
    record: int
    seq: int = -1
    fields: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    # record index -> the fields it changed; each such record counts as updated
    changed: dict[int, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    keys: list[Key] = dataclasses.field(default_factory=list)  # identities the fields give

    def body(self, tracking_field: str) -> dict[str, t.Any]:
        """The update as Zoho takes it: the id and only the fields written."""
        body = {"id": self.lead_id, **self.fields}
        if self.value is not None:
            body[tracking_field] = self.value
        return body


@dataclasses.dataclass
class BatchPlan:
    """What to send for one batch, and what each other record became."""

    creates: list[NewLead] = dataclasses.field(default_factory=list)
    updates: list[TrackingUpdate] = dataclasses.field(default_factory=list)
    # record index -> existing lead id, for records that change nothing
    unchanged: dict[int, str] = dataclasses.field(default_factory=dict)
    # record index -> why it is not written: it is a Contact or a converted lead
    blocked: dict[int, Blocked] = dataclasses.field(default_factory=dict)
    # record index -> the leads it matched (ids, or leads this batch creates),
    # the earlier match field's first; those of ``held`` get no write at all
    ambiguous: dict[int, list[str | NewLead]] = dataclasses.field(default_factory=dict)
    held: list[int] = dataclasses.field(default_factory=list)
    # record index -> the identity that found its lead (an existing one, or
    # one this batch creates for an earlier record): the outcome's matched_by
    matched_key: dict[int, Key | None] = dataclasses.field(default_factory=dict)


class LeadMemory(t.Protocol):
    """What the run knows of the CRM: who holds an identity, and lead tracking ids."""

    def lead_of(self, key: Key) -> str | None:
        """The lead to update (existing or created this run) holding an identity."""

    def blocked(self, key: Key) -> Blocked | None:
        """The Contact or converted lead holding an identity no lead to update holds."""

    def tracking_of(self, lead_id: str) -> tuple[t.Any, int]:
        """A lead's tracking id and the input position it came from (-1: the CRM's)."""

    def values_of(self, lead_id: str) -> Mapping[str, t.Any]:
        """A lead's mapped fields as last read or written."""


@dataclasses.dataclass
class _Fill:
    """What the batch's records write on one existing lead's fields, in input order."""

    values: dict[str, t.Any]
    fields: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    changed: dict[int, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    keys: list[Key] = dataclasses.field(default_factory=list)


def plan_batch(  # noqa: PLR0913 - the batch, and how to read it
    leads: Sequence[Mapping[str, t.Any]],
    keys: Sequence[Sequence[Key]],
    seqs: Sequence[int],
    tracking_field: str,
    memory: LeadMemory,
    *,
    hold_ambiguous: bool = False,
    rule: FieldRule | None = None,
) -> BatchPlan:
    """Decide, for a batch, which leads to create and which tracking ids to update.

    Args:
        leads: The batch's mapped leads, in input order.
        keys: Each lead's identities, email first.
        seqs: Each record's position in the whole input, across streams: a
            lead's tracking id is always its person's latest record's, even
            when another stream's batch is written later.
        tracking_field: The Zoho field holding the CDP tracking id.
        memory: What the run knows of the CRM.
        hold_ambiguous: A record whose identities find two leads is held
            (``on_ambiguous: hold``) rather than taken as the earlier
            field's lead.
        rule: What a record writes on a lead that exists, or on one created
            earlier in the run (``existing_lead_fields``); tracking id only
            when None. Applied in input order: a match field it fills makes
            its identity that lead's for the later records.
    """
    plan = BatchPlan()
    new_of: dict[Key, str | NewLead] = {}
    assigned: dict[int, str] = {}
    fills: dict[str, _Fill] = {}
    for index, lead in enumerate(leads):
        matches, plan.matched_key[index] = _matches(keys[index], memory, new_of)
        if len(matches) > 1:
            plan.ambiguous[index] = matches
            if hold_ambiguous:
                plan.held.append(index)
                continue
        lead_id, new = _first(matches)
        if rule is not None:
            _take_fields(
                rule, lead_id or new, index, lead, memory=memory, fills=fills, new_of=new_of
            )
        if lead_id is not None:
            assigned[index] = lead_id
        elif new is not None:
            new.records.append(index)
            _move_tracking(new, lead.get(tracking_field), seqs[index], tracking_field)
        elif (blocked := _blocked(keys[index], memory)) is not None:
            plan.blocked[index] = blocked
        else:
            created = NewLead(dict(lead), [index], list(keys[index]))
            if lead.get(tracking_field) is not None:
                created.tracking_seq = seqs[index]
            plan.creates.append(created)
            for key in keys[index]:
                new_of[key] = created
    _plan_tracking(plan, memory, assigned, leads=leads, seqs=seqs, tracking_field=tracking_field)
    _plan_fills(plan, fills)
    return plan


def _take_fields(  # noqa: PLR0913 - the record, and what the batch knows
    rule: FieldRule,
    holder: str | NewLead | None,
    index: int,
    lead: Mapping[str, t.Any],
    *,
    memory: LeadMemory,
    fills: dict[str, _Fill],
    new_of: dict[Key, str | NewLead],
) -> None:
    """What a record writes on its lead's fields: one that exists, or one planned new."""
    if holder is None:
        return
    if isinstance(holder, NewLead):
        changes = _fill(rule, holder.fields, index, lead, holder.changed)
        holder.keys += _hold(rule.keys(changes), holder, memory, new_of)
        return
    fill = fills.setdefault(holder, _Fill(dict(memory.values_of(holder))))
    changes = _fill(rule, fill.values, index, lead, fill.changed)
    fill.fields.update(changes)
    fill.keys += _hold(rule.keys(changes), holder, memory, new_of)


def _fill(
    rule: FieldRule,
    values: dict[str, t.Any],
    index: int,
    lead: Mapping[str, t.Any],
    changed: dict[int, tuple[str, ...]],
) -> dict[str, t.Any]:
    """Write what ``lead`` changes into ``values`` (the lead as it will be); the changes."""
    changes = rule.changes(values, lead)
    if changes:
        values.update(changes)
        changed[index] = tuple(sorted(changes))
    return changes


def _hold(
    keys: Sequence[Key],
    holder: str | NewLead,
    memory: LeadMemory,
    new_of: dict[Key, str | NewLead],
) -> list[Key]:
    """A filled match field's identities are the lead's, unless another lead holds them.

    The CRM holds the value once the write is done, so the next run would
    find the lead by it: the rest of this batch does too.
    """
    taken = []
    for key in keys:
        if memory.lead_of(key) is None and key not in new_of:
            new_of[key] = holder
            taken.append(key)
    return taken


def _plan_fills(plan: BatchPlan, fills: Mapping[str, _Fill]) -> None:
    """Join each lead's field changes to its tracking-id update, or make an update of them."""
    updates = {update.lead_id: update for update in plan.updates}
    for lead_id, fill in fills.items():
        if not fill.fields:
            continue
        update = updates.get(lead_id)
        if update is None:
            update = TrackingUpdate(lead_id, None, min(fill.changed))
            plan.updates.append(update)
        update.fields, update.changed, update.keys = fill.fields, fill.changed, fill.keys
        for index in fill.changed:
            plan.unchanged.pop(index, None)


def _matches(
    keys: Sequence[Key], memory: LeadMemory, new_of: Mapping[Key, str | NewLead]
) -> tuple[list[str | NewLead], Key | None]:
    """The leads a record is, once each, by its identities in ``match_fields`` order.

    Also the identity that found the first of them (None: no lead).

    A lead planned earlier in the batch counts as a lead: the next run would
    find it, so a record matching it and a known lead is ambiguous in either
    run. It holds only its own identities, so it and the known leads never
    share one.
    """
    found: list[str | NewLead] = []
    first: Key | None = None
    for key in keys:
        match: str | NewLead | None = memory.lead_of(key)
        if match is None:
            match = new_of.get(key)
        if match is not None and not any(match is other for other in found):
            found.append(match)
            first = first or key
    return found, first


def _first(matches: Sequence[str | NewLead]) -> tuple[str | None, NewLead | None]:
    """The earlier field's lead: an existing one's id, or a lead this batch creates."""
    if not matches:
        return None, None
    first = matches[0]
    return (None, first) if isinstance(first, NewLead) else (first, None)


def _blocked(keys: Sequence[Key], memory: LeadMemory) -> Blocked | None:
    """Why a record matching no lead is not created: a Contact first, by email first."""
    found = [b for key in keys if (b := memory.blocked(key)) is not None]
    contacts = [b for b in found if b.code == EXISTS_AS_CONTACT]
    return next(iter(contacts or found), None)


def _move_tracking(new: NewLead, value: t.Any, seq: int, tracking_field: str) -> None:
    """A later record of a person created in this batch moves only the tracking id."""
    if value is not None and seq > new.tracking_seq:
        new.fields[tracking_field] = value
        new.tracking_seq = seq


def _plan_tracking(  # noqa: PLR0913 - the plan, and the batch it is made of
    plan: BatchPlan,
    memory: LeadMemory,
    assigned: Mapping[int, str],
    *,
    leads: Sequence[Mapping[str, t.Any]],
    seqs: Sequence[int],
    tracking_field: str,
) -> None:
    """One update per existing lead, to its latest record's tracking id, if it differs."""
    last = {
        lead_id: index
        for index, lead_id in assigned.items()
        if leads[index].get(tracking_field) is not None
    }
    for index, lead_id in assigned.items():
        value = leads[index].get(tracking_field)
        current, current_seq = memory.tracking_of(lead_id)
        latest = last.get(lead_id) == index and seqs[index] > current_seq
        if latest and str(value) != str(current):
            plan.updates.append(TrackingUpdate(lead_id, value, index, seqs[index]))
        else:
            plan.unchanged[index] = lead_id
