"""Unique Lead's memory of the CRM (unique/known.py) and a batch's ledger (unique/ledger.py).

Pure objects, tested directly (issue 19 item 6): no server, no writer.
"""

from __future__ import annotations

from target_zoho_leads.unique.dedupe import BatchPlan, Blocked, NewLead, TrackingUpdate
from target_zoho_leads.unique.found import CONTACTS, LEADS, Found
from target_zoho_leads.unique.known import KnownLeads
from target_zoho_leads.unique.ledger import CONVERTED_RECORD, BatchLedger
from target_zoho_leads.zoho.outcomes import (
    EXISTS_AS_CONTACT,
    EXISTS_AS_CONVERTED_LEAD,
    Outcome,
    OutcomeKind,
)

ANN = ("email", "ann@example.cn")
ANN_PHONE = ("phone", "+8613900000001")
BOB = ("email", "bob@example.cn")


def lead(record_id: str, *keys: tuple[str, str], tracking: str = "old") -> Found:
    """A plain lead a lookup found holding ``keys``."""
    return Found(LEADS, record_id, list(keys), tracking, converted=False)


# What the run knows


def test_an_identity_nobody_asked_for_is_unknown_and_one_asked_for_is_known_even_if_absent():
    """A lookup that finds nobody still teaches that nobody holds the identity."""
    known = KnownLeads()
    assert known.unknown(ANN)
    known.learn([], [ANN])
    assert not known.unknown(ANN)
    assert known.lead_of(ANN) is None


def test_the_oldest_lead_wins_when_the_crm_already_holds_the_person_twice():
    """Ids compared by length then text: the lead made first is the person's."""
    known = KnownLeads()
    known.learn([lead("1000", ANN), lead("999", ANN)], [ANN])
    assert known.lead_of(ANN) == "999"


def test_a_lead_found_brings_its_tracking_id_as_the_crm_s():
    """Its tracking id is remembered with position -1: any record of the run is newer."""
    known = KnownLeads()
    known.learn([lead("L1", ANN, tracking="t0")], [ANN])
    assert known.tracking_of("L1") == ("t0", -1)
    assert known.tracking_of("L2") == (None, -1)


def test_a_contact_blocks_an_identity_ahead_of_a_converted_lead():
    """Both hold the email: the Contact is named, whichever came first."""
    known = KnownLeads()
    converted = Found(LEADS, "L9", [ANN], None, converted=True)
    contact = Found(CONTACTS, "C1", [ANN], None, converted=False)
    known.learn([converted, contact], [ANN])
    assert known.blocked(ANN) == Blocked(EXISTS_AS_CONTACT, "C1")
    assert known.is_converted("L9")
    assert known.lead_of(ANN) is None


def test_only_the_identities_asked_for_are_taken_from_a_record_found():
    """A record also holding an identity nobody asked about teaches nothing of it."""
    known = KnownLeads()
    known.learn([lead("L1", ANN, BOB)], [ANN])
    assert known.lead_of(ANN) == "L1"
    assert known.unknown(BOB)


def test_a_lead_zoho_says_was_converted_blocks_every_identity_it_held():
    """From then on its email and phone name the converted lead, not a lead to update."""
    known = KnownLeads()
    known.hold([ANN, ANN_PHONE], "L1")
    known.converted("L1")
    assert known.lead_of(ANN) is None
    assert known.blocked(ANN_PHONE) == Blocked(EXISTS_AS_CONVERTED_LEAD, "L1")


def test_a_held_identity_keeps_its_first_lead():
    """A second lead named for an identity already held does not take it over."""
    known = KnownLeads()
    known.hold([ANN], "L1")
    known.hold([ANN], "L2")
    assert known.lead_of(ANN) == "L1"


# A batch's ledger


def new(records: list[int], *keys: tuple[str, str], tracking: str = "t1", seq: int = 5) -> NewLead:
    """A person to create, from ``records`` of the batch."""
    return NewLead({"Email": "ann@example.cn", "CDP_ID": tracking}, records, list(keys), seq)


def ledger_for(plan: BatchPlan, size: int, known: KnownLeads | None = None) -> BatchLedger:
    """A ledger on the CDP_ID tracking field."""
    return BatchLedger(known or KnownLeads(), "CDP_ID", plan, size)


def test_a_new_ledger_has_the_plan_s_unchanged_and_blocked_records_settled_and_no_others():
    """Records the plan decided need no answer; the others wait for one."""
    plan = BatchPlan(
        unchanged={0: "L1"}, blocked={2: Blocked(EXISTS_AS_CONTACT, "C1")}, creates=[new([1])]
    )
    ledger = ledger_for(plan, 3)
    assert ledger.outcomes[0] == Outcome(OutcomeKind.UNCHANGED, "L1")
    assert ledger.outcomes[1] is None
    assert ledger.outcomes[2].kind == OutcomeKind.SKIPPED
    assert ledger.creates == plan.creates


def test_a_created_lead_credits_the_first_record_and_makes_the_person_s_others_unchanged():
    """One lead per person: the later records of the person are duplicates."""
    known = KnownLeads()
    person = new([0, 2], ANN)
    ledger = ledger_for(BatchPlan(creates=[person]), 3, known)
    ledger.created(person, Outcome(OutcomeKind.CREATED, "N1"))
    assert ledger.outcomes == [
        Outcome(OutcomeKind.CREATED, "N1"),
        None,
        Outcome(OutcomeKind.UNCHANGED, "N1"),
    ]
    assert known.lead_of(ANN) == "N1"
    assert known.tracking_of("N1") == ("t1", 5)


def test_a_refused_create_gives_every_record_of_the_person_its_reason():
    """Zoho refused the lead: each of the person's records carries the code."""
    person = new([0, 1], ANN)
    ledger = ledger_for(BatchPlan(creates=[person]), 2)
    refused = Outcome(OutcomeKind.REJECTED, code="INVALID_DATA", field="Email")
    ledger.created(person, refused)
    assert ledger.outcomes == [refused, refused]


def test_a_duplicate_naming_a_contact_skips_the_person_and_blocks_only_the_field_compared():
    """Zoho compared the email: the phone is not taken for the Contact's."""
    known = KnownLeads()
    person = new([0], ANN, ANN_PHONE)
    ledger = ledger_for(BatchPlan(creates=[person]), 1, known)
    ledger.duplicate(person, CONTACTS, "C1", "Email")
    assert ledger.outcomes[0].code == EXISTS_AS_CONTACT
    assert known.blocked(ANN) == Blocked(EXISTS_AS_CONTACT, "C1")
    assert known.blocked(ANN_PHONE) is None


def test_a_duplicate_naming_a_lead_joins_it_and_plans_only_its_tracking_id():
    """The org marks Email unique: the named lead is the person's; only the id moves."""
    known = KnownLeads()
    person = new([0], ANN)
    ledger = ledger_for(BatchPlan(creates=[person]), 1, known)
    ledger.duplicate(person, LEADS, "L5", "Email")
    assert ledger.outcomes == [Outcome(OutcomeKind.UNCHANGED, "L5")]
    assert ledger.updates["L5"] == TrackingUpdate("L5", "t1", 0, 5)


def test_settling_a_lost_create_credits_the_lead_a_lookup_found_and_returns_the_others():
    """The write went through although its answer was lost: the lookup found the lead."""
    known = KnownLeads()
    found, missing = new([0], ANN), new([1], BOB)
    ledger = ledger_for(BatchPlan(creates=[found, missing]), 2, known)
    known.learn([lead("N7", ANN, tracking="t1")], [ANN, BOB])
    assert ledger.settle([found, missing], OutcomeKind.CREATED) == [missing]
    assert ledger.outcomes == [Outcome(OutcomeKind.CREATED, "N7"), None]


def test_an_update_answered_converted_record_skips_every_record_of_that_lead():
    """CONVERTED_RECORD: the lead's records, settled or not, become skipped."""
    known = KnownLeads()
    known.hold([ANN], "L1")
    update = TrackingUpdate("L1", "t2", 1, 7)
    plan = BatchPlan(unchanged={0: "L1"}, updates=[update])
    ledger = ledger_for(plan, 2, known)
    ledger.updated(update, Outcome(OutcomeKind.REJECTED, code=CONVERTED_RECORD))
    assert [o.code for o in ledger.outcomes if o] == [EXISTS_AS_CONVERTED_LEAD] * 2
    assert known.lead_of(ANN) is None


def test_a_tracking_id_written_is_remembered_with_its_record_s_position():
    """A later batch compares against the run's own write, not the CRM's old value."""
    known = KnownLeads()
    update = TrackingUpdate("L1", "t2", 0, 7)
    ledger = ledger_for(BatchPlan(updates=[update]), 1, known)
    ledger.updated(update, Outcome(OutcomeKind.UPDATED))
    assert ledger.outcomes == [Outcome(OutcomeKind.UPDATED, "L1")]
    assert known.tracking_of("L1") == ("t2", 7)
