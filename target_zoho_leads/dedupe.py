"""Unique Lead planning: who is the same person, and what each record becomes.

Pure functions, no I/O: given a batch of mapped leads and what is already known
about the CRM (which email or phone belongs to which lead, and each lead's
tracking id), decide which leads to create and which tracking ids to update.
"""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

Key = tuple[str, str]  # ("email" | "phone", normalised value)
EMAIL = "email"
PHONE = "phone"
_PHONE_NOISE = str.maketrans("", "", " -.()\t")


def normal_email(value: t.Any) -> str | None:
    """Email as an identity: trimmed and lower-cased; None when empty."""
    text = str(value).strip().lower() if value is not None else ""
    return text or None


def normal_phone(value: t.Any) -> str | None:
    """Phone as an identity: spaces, dashes, dots and parentheses removed."""
    text = str(value).strip().translate(_PHONE_NOISE) if value is not None else ""
    return text or None


def identities(lead: Mapping[str, t.Any]) -> list[tuple[Key, t.Any]]:
    """The lead's identities with their values as written, email first."""
    found: list[tuple[Key, t.Any]] = []
    email = normal_email(lead.get("Email"))
    if email:
        found.append(((EMAIL, email), lead["Email"]))
    phone = normal_phone(lead.get("Phone"))
    if phone:
        found.append(((PHONE, phone), lead["Phone"]))
    return found


def identity_keys(lead: Mapping[str, t.Any]) -> list[Key]:
    """The lead's identities, email first (it decides first)."""
    return [key for key, _ in identities(lead)]


def group_records(keys_per_record: Sequence[Sequence[Key]]) -> list[list[int]]:
    """Group records that share an identity, directly or through a chain.

    A shares an email with B and B a phone with C: A, B and C are one person.
    Groups come in the order of their first record, records in input order.
    """
    parent = list(range(len(keys_per_record)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_holder: dict[Key, int] = {}
    for index, keys in enumerate(keys_per_record):
        for key in keys:
            holder = first_holder.setdefault(key, index)
            a, b = root(holder), root(index)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for index in range(len(keys_per_record)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


@dataclasses.dataclass
class NewLead:
    """A person no lead exists for: one lead to create from their records."""

    fields: dict[str, t.Any]
    records: list[int]
    keys: list[Key]
    tracking_seq: int = -1  # input position of the record the tracking id came from


@dataclasses.dataclass
class TrackingUpdate:
    """An existing lead whose tracking id changes; ``record`` is credited."""

    lead_id: str
    value: t.Any
    record: int
    seq: int = -1


@dataclasses.dataclass
class BatchPlan:
    """What to send for one batch, and which lead each other record joined."""

    creates: list[NewLead] = dataclasses.field(default_factory=list)
    updates: list[TrackingUpdate] = dataclasses.field(default_factory=list)
    # record index -> existing lead id, for records that change nothing
    unchanged: dict[int, str] = dataclasses.field(default_factory=dict)
    # keys of records joined to an existing lead, to remember for later batches
    joined: dict[Key, str] = dataclasses.field(default_factory=dict)


def merge_person(
    leads: Sequence[Mapping[str, t.Any]], records: Sequence[int], tracking_field: str
) -> dict[str, t.Any]:
    """One lead from a person's records: each field's first value, tracking id's last."""
    merged: dict[str, t.Any] = {}
    for index in records:
        for field, value in leads[index].items():
            if field == tracking_field:
                merged[field] = value
            else:
                merged.setdefault(field, value)
    return merged


class LeadMemory(t.Protocol):
    """What the run knows about leads: who holds an identity, and their tracking id."""

    def lead_of(self, key: Key) -> str | None:
        """The existing (or earlier created) lead holding an identity."""

    def tracking_of(self, lead_id: str) -> tuple[t.Any, int]:
        """A lead's tracking id and the input position it came from (-1: the CRM's)."""


def plan_batch(
    leads: Sequence[Mapping[str, t.Any]],
    seqs: Sequence[int],
    tracking_field: str,
    memory: LeadMemory,
) -> BatchPlan:
    """Decide, for a batch, which leads to create and which tracking ids to update.

    Args:
        leads: The batch's mapped leads, in input order.
        seqs: Each record's position in the whole input, across streams: a
            lead's tracking id is always its person's latest record's, even
            when another stream's batch is written later.
        tracking_field: The Zoho field holding the CDP tracking id.
        memory: What the run knows of existing leads.
    """
    lead_of = memory.lead_of
    keys = [identity_keys(lead) for lead in leads]
    plan = BatchPlan()
    assigned: dict[int, str] = {}
    for group in group_records(keys):
        matches = {i: _match(keys[i], lead_of) for i in group}
        person_lead = _person_lead(group, keys, lead_of)
        if person_lead is None:
            fields = merge_person(leads, group, tracking_field)
            group_keys = list(dict.fromkeys(k for i in group for k in keys[i]))
            tracked = [seqs[i] for i in group if leads[i].get(tracking_field) is not None]
            plan.creates.append(NewLead(fields, group, group_keys, max(tracked, default=-1)))
            continue
        for i in group:
            assigned[i] = matches[i] or person_lead
            for key in keys[i]:
                if lead_of(key) is None:
                    plan.joined.setdefault(key, assigned[i])
    _plan_tracking(leads, seqs, tracking_field, assigned, memory, plan)
    return plan


def _match(keys: Sequence[Key], lead_of: Callable[[Key], str | None]) -> str | None:
    """The lead a record is, by its email first and then its phone."""
    for key in keys:
        lead_id = lead_of(key)
        if lead_id is not None:
            return lead_id
    return None


def _person_lead(
    group: Sequence[int],
    keys: Sequence[Sequence[Key]],
    lead_of: Callable[[Key], str | None],
) -> str | None:
    """The lead a whole group joins: the first email match, else the first phone match."""
    for kind in (EMAIL, PHONE):
        for i in group:
            for key in keys[i]:
                if key[0] == kind and (lead_id := lead_of(key)) is not None:
                    return lead_id
    return None


def _plan_tracking(  # noqa: PLR0913
    leads: Sequence[Mapping[str, t.Any]],
    seqs: Sequence[int],
    tracking_field: str,
    assigned: Mapping[int, str],
    memory: LeadMemory,
    plan: BatchPlan,
) -> None:
    """One update per existing lead, to its latest record's tracking id, if it differs."""
    last: dict[str, int] = {}
    for index, lead_id in assigned.items():
        if leads[index].get(tracking_field) is not None:
            last[lead_id] = index
    for index, lead_id in assigned.items():
        value = leads[index].get(tracking_field)
        current, current_seq = memory.tracking_of(lead_id)
        latest = last.get(lead_id) == index and seqs[index] > current_seq
        if latest and str(value) != str(current):
            plan.updates.append(TrackingUpdate(lead_id, value, index, seqs[index]))
        else:
            plan.unchanged[index] = lead_id
