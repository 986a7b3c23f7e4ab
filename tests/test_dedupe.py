"""Unique Lead planning and lookup queries, without a server."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from target_zoho_leads.unique.dedupe import Blocked, plan_batch
from target_zoho_leads.unique.identities import Identities
from target_zoho_leads.unique.lookup import (
    coql_literal,
    coql_where,
    pack_queries,
    pair_up,
    search_criteria,
    search_escape,
)


class Memory:
    """Known leads for a test: identity -> id, id -> (tracking id, seq), blocked identities."""

    def __init__(self, known, tracking, blocked):
        self.known = known or {}
        self.tracking = tracking or {}
        self.blocks = blocked or {}

    def lead_of(self, key):
        return self.known.get(key)

    def blocked(self, key):
        return self.blocks.get(key)

    def tracking_of(self, lead_id):
        value = self.tracking.get(lead_id)
        return value if isinstance(value, tuple) else (value, -1)


IDENTITIES = Identities("CN")


def plan(leads, known=None, tracking=None, seqs=None, blocked=None):
    seqs = seqs or list(range(1, len(leads) + 1))
    keys = [IDENTITIES.keys(lead) for lead in leads]
    return plan_batch(leads, keys, seqs, "CDP_ID", Memory(known, tracking, blocked))


def test_a_new_person_is_created_from_their_first_record_with_the_last_tracking_id():
    """Three records of one new person: the first's fields, the last's tracking id."""
    leads = [
        {"Last_Name": "Li", "Email": "li@x.com", "Phone": "152 1822 2540", "CDP_ID": "t1"},
        {"Last_Name": "Li Wei", "Email": "LI@x.com", "City": "Beijing", "CDP_ID": "t2"},
        {"Phone": "+86 152-1822-2540", "City": "Shanghai", "CDP_ID": "t3"},
    ]
    result = plan(leads)
    assert len(result.creates) == 1
    new = result.creates[0]
    assert new.records == [0, 1, 2]
    assert new.fields == {
        "Last_Name": "Li",
        "Email": "li@x.com",
        "Phone": "152 1822 2540",
        "CDP_ID": "t3",
    }
    assert new.tracking_seq == 3
    assert result.updates == []


def test_a_later_record_without_tracking_id_leaves_the_first_one():
    """A record without a tracking id changes nothing, even of a new lead."""
    result = plan([{"Email": "a@x.com", "CDP_ID": "t1"}, {"Email": "a@x.com"}])
    assert result.creates[0].fields == {"Email": "a@x.com", "CDP_ID": "t1"}


def test_a_later_record_s_new_phone_does_not_join_the_person():
    """The lead holds only its first record's identities: a phone-only record is another lead.

    The CRM would not hold that phone, so a later run could not know it
    either: joining here would make the CRM depend on batch boundaries.
    """
    leads = [
        {"Email": "a@x.com", "CDP_ID": "t1"},
        {"Email": "a@x.com", "Phone": "15218222540", "CDP_ID": "t2"},
        {"Phone": "152 1822 2540", "CDP_ID": "t3"},
    ]
    result = plan(leads)
    assert [c.records for c in result.creates] == [[0, 1], [2]]
    assert [c.fields["CDP_ID"] for c in result.creates] == ["t2", "t3"]


def test_an_existing_lead_gets_only_the_last_tracking_id():
    """Matched records update one field, once, to the latest value."""
    leads = [
        {"Last_Name": "New name", "Email": "a@x.com", "CDP_ID": "t1"},
        {"Email": "A@X.COM", "CDP_ID": "t2"},
    ]
    result = plan(leads, known={("email", "a@x.com"): "L1"}, tracking={"L1": "old"})
    assert result.creates == []
    assert [(u.lead_id, u.value, u.record) for u in result.updates] == [("L1", "t2", 1)]
    assert result.unchanged == {0: "L1"}


def test_email_decides_before_phone():
    """Email matches lead A and phone matches lead B: the record is A."""
    known = {("email", "a@x.com"): "A", ("phone", "555"): "B"}
    result = plan([{"Email": "a@x.com", "Phone": "555", "CDP_ID": "t"}], known=known)
    assert [u.lead_id for u in result.updates] == ["A"]


def test_email_decides_before_phone_for_leads_planned_in_the_same_batch():
    """The email's new lead wins over the phone's existing lead, as one at a time."""
    leads = [
        {"Email": "a@x.com", "CDP_ID": "t1"},
        {"Email": "a@x.com", "Phone": "555", "CDP_ID": "t2"},
    ]
    result = plan(leads, known={("phone", "555"): "B"})
    assert [c.records for c in result.creates] == [[0, 1]]
    assert result.updates == []


def test_an_unchanged_tracking_id_is_not_rewritten():
    """A record whose tracking id the lead already has changes nothing."""
    result = plan(
        [{"Phone": "555", "CDP_ID": "same"}], known={("phone", "555"): "L"}, tracking={"L": "same"}
    )
    assert result.updates == []
    assert result.unchanged == {0: "L"}


def test_a_record_without_tracking_id_changes_nothing():
    """No tracking id: the existing lead is left alone."""
    result = plan([{"Phone": "555"}], known={("phone", "555"): "L"}, tracking={"L": "x"})
    assert result.updates == []
    assert result.unchanged == {0: "L"}


def test_records_without_email_or_phone_are_each_created():
    """They cannot be matched, so each is a new lead."""
    result = plan([{"Last_Name": "a"}, {"Last_Name": "a"}])
    assert [c.records for c in result.creates] == [[0], [1]]


CONTACT = Blocked("EXISTS_AS_CONTACT", "C1")
CONVERTED = Blocked("EXISTS_AS_CONVERTED_LEAD", "L9")


def test_a_person_only_a_contact_or_a_converted_lead_holds_is_neither_created_nor_updated():
    """Blocked identities and no lead: the record is skipped with its reason."""
    blocked = {("email", "c@x.com"): CONTACT, ("phone", "+8615218222540"): CONVERTED}
    leads = [
        {"Email": "C@x.com", "CDP_ID": "t1"},
        {"Phone": "152 1822 2540", "CDP_ID": "t2"},
        {"Email": "c@x.com", "Phone": "15218222540", "CDP_ID": "t3"},
    ]
    result = plan(leads, blocked=blocked)
    assert result.creates == []
    assert result.updates == []
    assert result.blocked == {0: CONTACT, 1: CONVERTED, 2: CONTACT}


def test_a_lead_to_update_wins_over_a_converted_lead_or_a_contact():
    """Only a person whose *only* match is a converted lead is skipped."""
    blocked = {("email", "c@x.com"): CONVERTED}
    known = {("phone", "555"): "L"}
    result = plan([{"Email": "c@x.com", "Phone": "555", "CDP_ID": "t"}], known, blocked=blocked)
    assert [u.lead_id for u in result.updates] == ["L"]
    assert result.blocked == {}


def test_a_blocked_record_s_other_identity_is_not_remembered_either():
    """Its phone gets no lead from it: a later phone-only record is a new person."""
    leads = [{"Email": "c@x.com", "Phone": "555", "CDP_ID": "t1"}, {"Phone": "555", "CDP_ID": "t2"}]
    result = plan(leads, blocked={("email", "c@x.com"): CONTACT})
    assert result.blocked == {0: CONTACT}
    assert [c.records for c in result.creates] == [[1]]


@pytest.mark.parametrize(
    ("value", "literal"),
    [("o'brien@x.com", "'o''brien@x.com'"), ("' or ''='", "''' or ''''='''"), ("a\\b", "'a\\b'")],
)
def test_coql_literals_double_quotes_and_nothing_else(value, literal):
    """No input can close the string and change the query."""
    assert coql_literal(value) == literal


def test_conditions_are_bracketed_in_pairs():
    """Zoho rejects ``a or b or c``; every ``or`` joins two operands."""
    assert pair_up(["a"]) == "a"
    assert pair_up(["a", "b"]) == "(a or b)"
    assert pair_up(["a", "b", "c"]) == "((a or b) or c)"
    assert pair_up(["a", "b", "c", "d"]) == "(((a or b) or c) or d)"


def test_where_clauses_respect_in_list_and_condition_limits():
    """At most 100 values per ``in``, 23 conditions, 2 left for the converted test."""
    groups = [("Email", {f"p{i}@x.com"}) for i in range(2400)] + [("Phone", {"1", "2"})]
    queries = pack_queries(groups)
    clauses = [coql_where(values) for values in queries]
    assert len(clauses) == 2
    assert clauses[0].count(" in (") == 23
    assert clauses[1].count(" in (") == 2
    first_list = clauses[0].split(" in (", 2)[1].split(")")[0]
    assert first_list.count("'") == 200


@given(
    groups=st.lists(
        st.tuples(
            st.sampled_from(["Email", "Phone"]),
            st.sets(st.text("abc123", min_size=1, max_size=4), min_size=1, max_size=7),
        ),
        max_size=400,
    )
)
def test_queries_hold_every_spelling_and_keep_a_person_s_spellings_together(groups):
    """Each group lands whole in one query; no query exceeds Zoho's limits."""
    queries = pack_queries(groups)
    for values in queries:
        conditions = sum(-(-len(v) // 100) for v in values.values())
        assert 1 <= conditions <= 23
        assert coql_where(values).count(" in (") == conditions
    for field, spellings in groups:
        assert any(spellings <= values.get(field, set()) for values in queries)


def test_search_values_escape_brackets_commas_and_backslashes():
    """Search criteria cannot be broken by a value."""
    assert search_escape("a(b)c,d\\e") == "a\\(b\\)c\\,d\\\\e"
    assert search_criteria("Email", ["x@y.z"]) == "(Email:equals:x@y.z)"
    assert search_criteria("Phone", ["1", "(2)"]) == "((Phone:equals:1)or(Phone:equals:\\(2\\)))"


def test_an_older_record_written_later_does_not_overwrite_a_newer_tracking_id():
    """Streams drain in any order: the tracking id of the latest input record wins."""
    result = plan(
        [{"Phone": "555", "CDP_ID": "older"}],
        known={("phone", "555"): "L"},
        tracking={"L": ("newer", 9)},
        seqs=[4],
    )
    assert result.updates == []
    assert result.unchanged == {0: "L"}


# Property: the CRM a plan leads to does not depend on how the batch is cut.


def run_plans(leads, cuts, existing):
    """Plan ``leads`` batch by batch as a writer would; return the CRM's leads in order."""
    crm = [dict(lead) for lead in existing]
    memory = Memory({}, {}, {})
    for lead_id, lead in enumerate(crm):
        for key in IDENTITIES.keys(lead):
            memory.known.setdefault(key, lead_id)
        memory.tracking[lead_id] = (lead.get("CDP_ID"), -1)
    bounds = [0, *sorted(cuts), len(leads)]
    for start, end in itertools.pairwise(bounds):
        batch = leads[start:end]
        keys = [IDENTITIES.keys(lead) for lead in batch]
        seqs = list(range(start, end))
        result = plan_batch(batch, keys, seqs, "CDP_ID", memory)
        for new in result.creates:
            crm.append(dict(new.fields))
            memory.tracking[len(crm) - 1] = (new.fields.get("CDP_ID"), new.tracking_seq)
            for key in new.keys:
                memory.known.setdefault(key, len(crm) - 1)
        for update in result.updates:
            crm[update.lead_id]["CDP_ID"] = update.value
            memory.tracking[update.lead_id] = (update.value, update.seq)
    return crm


PEOPLE_EMAILS = ["a@x.com", "B@x.com", "c@x.com", None]
PEOPLE_PHONES = ["152 1822 2540", "+86 139 0000 0001", "13700000002", None]


@st.composite
def batches(draw):
    """Records of a few overlapping people, a CRM holding some, and cuts into batches."""
    records = []
    for seq in range(draw(st.integers(1, 14))):
        record = {"Last_Name": f"r{seq}"}
        email, phone = draw(st.sampled_from(PEOPLE_EMAILS)), draw(st.sampled_from(PEOPLE_PHONES))
        if email:
            record["Email"] = draw(st.sampled_from([email, email.upper(), f" {email} "]))
        if phone:
            record["Phone"] = phone
        if draw(st.booleans()):
            record["CDP_ID"] = f"t{seq}"
        records.append(record)
    existing = draw(
        st.lists(
            st.fixed_dictionaries(
                {"Email": st.sampled_from(PEOPLE_EMAILS), "CDP_ID": st.just("old")}
            ),
            max_size=2,
        )
    )
    cuts = draw(st.sets(st.integers(1, max(1, len(records) - 1)), max_size=len(records)))
    return records, [e for e in existing if e["Email"]], cuts


@settings(max_examples=300, deadline=None)
@given(case=batches())
def test_the_crm_is_the_same_whatever_the_batch_boundaries(case):
    """One batch or many: the same leads, with the same fields and tracking ids."""
    records, existing, cuts = case
    assert run_plans(records, cuts, existing) == run_plans(records, set(), existing)
