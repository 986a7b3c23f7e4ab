"""Unique Lead planning and lookup queries, without a server."""

from __future__ import annotations

import pytest

from target_zoho_leads.dedupe import (
    group_records,
    identity_keys,
    normal_email,
    normal_phone,
    plan_batch,
)
from target_zoho_leads.lookup import (
    coql_literal,
    coql_where_clauses,
    pair_up,
    query_forms,
    search_criteria,
    search_escape,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" Li.Wei@Example.COM ", "li.wei@example.com"), ("", None), (None, None), ("  ", None)],
)
def test_emails_are_trimmed_and_lower_cased(raw, expected):
    """Two emails are one identity when equal after trimming and lower-casing."""
    assert normal_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138-0013.8001", "+8613800138001"),
        ("(415) 555-0134", "4155550134"),
        ("+1 (415) 555 0134", "+14155550134"),
        (18600000000, "18600000000"),
        (" - ", None),
    ],
)
def test_phones_lose_spaces_dashes_dots_and_parentheses_but_keep_the_plus(raw, expected):
    """Phone formatting does not make two people."""
    assert normal_phone(raw) == expected


def test_identity_keys_put_email_first():
    """Email decides first, so it comes first."""
    assert identity_keys({"Phone": "1 2", "Email": "A@b.c"}) == [
        ("email", "a@b.c"),
        ("phone", "12"),
    ]
    assert identity_keys({"Last_Name": "x"}) == []


def test_records_that_chain_through_email_and_phone_are_one_group():
    """A shares an email with B, B a phone with C: one person."""
    keys = [
        [("email", "a")],
        [("phone", "9")],
        [("email", "a"), ("phone", "9")],
        [("email", "z")],
        [],
        [],
    ]
    assert group_records(keys) == [[0, 1, 2], [3], [4], [5]]


class Memory:
    """Known leads for a test: identity -> id, id -> (tracking id, seq)."""

    def __init__(self, known, tracking):
        self.known = known or {}
        self.tracking = tracking or {}

    def lead_of(self, key):
        return self.known.get(key)

    def tracking_of(self, lead_id):
        value = self.tracking.get(lead_id)
        return value if isinstance(value, tuple) else (value, -1)


def plan(leads, known=None, tracking=None, seqs=None):
    seqs = seqs or list(range(1, len(leads) + 1))
    return plan_batch(leads, seqs, "CDP_ID", Memory(known, tracking))


def test_a_new_person_becomes_one_lead_with_the_last_tracking_id():
    """Three records of one new person: one create, tracking id of the last."""
    leads = [
        {"Last_Name": "Li", "Email": "li@x.com", "CDP_ID": "t1"},
        {"Email": "LI@x.com", "Phone": "123", "CDP_ID": "t2"},
        {"Phone": "1-2-3", "City": "Shanghai", "CDP_ID": "t3"},
    ]
    result = plan(leads)
    assert len(result.creates) == 1
    new = result.creates[0]
    assert new.records == [0, 1, 2]
    assert new.fields == {
        "Last_Name": "Li",
        "Email": "li@x.com",
        "CDP_ID": "t3",
        "Phone": "123",
        "City": "Shanghai",
    }
    assert result.updates == []


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


def test_a_chained_record_joins_the_existing_lead_and_its_new_phone_is_remembered():
    """A new phone chained to a known email belongs to that lead for the rest of the run."""
    leads = [
        {"Email": "a@x.com", "CDP_ID": "t1"},
        {"Email": "a@x.com", "Phone": "777", "CDP_ID": "t2"},
    ]
    result = plan(leads, known={("email", "a@x.com"): "L"})
    assert result.creates == []
    assert result.joined == {("phone", "777"): "L"}


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
    """At most 100 values per ``in`` and 25 conditions per query."""
    emails = [f"p{i}@x.com" for i in range(2600)]
    clauses = coql_where_clauses({"Email": emails, "Phone": ["1", "2"]})
    assert len(clauses) == 2
    assert clauses[0].count(" in (") == 25
    assert clauses[1].count(" in (") == 2
    first_list = clauses[0].split(" in (", 2)[1].split(")")[0]
    assert first_list.count("'") == 200


def test_query_forms_ask_as_written_and_normalised():
    """A CRM may hold the value as typed or cleaned up."""
    assert query_forms("email", " Li@X.com ") == {"Li@X.com", "li@x.com"}
    assert query_forms("phone", "+86 138-0013") == {"+86 138-0013", "+861380013"}


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
