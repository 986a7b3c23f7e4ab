"""COQL's value indexes: the rows are exactly those of a walk over every record, in order."""

from __future__ import annotations

import typing as t

from hypothesis import given, settings
from hypothesis import strategies as st
from zoho_sandbox import coql, coql_plan
from zoho_sandbox.coql_eval import EvalRules
from zoho_sandbox.duplicate_check import WriteRules
from zoho_sandbox.field_catalog import default_leads_fields
from zoho_sandbox.store import RecordStore

if t.TYPE_CHECKING:
    from .conftest import Zoho

# Few values, in several cases, so that queries hit, miss and differ only by case.
WORDS = ["a@x.io", "A@X.io", "b@x.io", "+1 555", "+1555", "Lee", "lee", "5"]
FIELDS = ["Email", "Phone", "Last_Name", "Mobile"]
NO_RULES = WriteRules(unique=[])

values = st.sampled_from(WORDS)
leads = st.fixed_dictionaries(
    {"Last_Name": values},
    optional={
        "Email": values,
        "Phone": values,
        "Mobile": st.one_of(values, st.integers(0, 9)),
        "Converted__s": st.booleans(),
    },
)


def _quoted(word: str) -> str:
    return "'" + word.replace("'", "''") + "'"


@st.composite
def conditions(draw: st.DrawFn) -> str:
    """One criterion over the fields, the index's operators and others."""
    field = draw(st.sampled_from([*FIELDS, "Converted__s", "id"]))
    if field == "Converted__s":
        return f"Converted__s = {draw(st.sampled_from(['true', 'false']))}"
    if field == "id":
        return f"id != {draw(st.integers(0, 9))}"
    operator = draw(st.sampled_from(["=", "in", "!=", "not in", "like", "is null", "is not null"]))
    if operator in {"is null", "is not null"}:
        return f"{field} {operator}"
    if operator in {"in", "not in"}:
        words = draw(st.lists(values, min_size=1, max_size=3))
        return f"{field} {operator} ({', '.join(map(_quoted, words))})"
    if operator == "like":
        return f"{field} like '%{draw(values)[1:]}'"
    literal = draw(st.one_of(values.map(_quoted), st.just("null")))
    return f"{field} {operator} {literal}"


def wheres(depth: int = 3) -> st.SearchStrategy[str]:
    """A where clause of conditions paired by ``and``/``or``, bracketed as COQL wants."""
    if depth == 0:
        return conditions()
    pair = st.tuples(wheres(depth - 1), st.sampled_from(["and", "or"]), wheres(depth - 1))
    return st.one_of(conditions(), pair.map(lambda p: f"({p[0]} {p[1]} {p[2]})"))


def _index_every_field(lookup: t.Callable[[str, list[str]], set[str]]) -> None:
    """Build every field's index now, so the writes after must keep it up to date."""
    for field in FIELDS:
        lookup(field, [])


def _store(seeded: list[dict[str, t.Any]], updates: list[tuple[int, dict[str, t.Any]]]):
    """A store seeded, then written through insert and update, so the indexes must keep up."""
    store = RecordStore(default_leads_fields())
    store.seed(seeded[: len(seeded) // 2])
    store.select(_index_every_field)
    store.insert(seeded[len(seeded) // 2 :], NO_RULES)
    ids = [lead["id"] for lead in store.all()]
    for position, change in updates:
        if ids:
            store.update([{"id": ids[position % len(ids)], **change}], NO_RULES)
    return store


@settings(max_examples=300, deadline=None)
@given(
    seeded=st.lists(leads, max_size=12),
    updates=st.lists(
        st.tuples(st.integers(0, 20), st.fixed_dictionaries({}, optional={"Email": values})),
        max_size=4,
    ),
    where=wheres(),
    case_sensitive=st.booleans(),
)
def test_an_indexed_query_answers_the_rows_of_a_full_scan(seeded, updates, where, case_sensitive):
    """Same rows, same order, whatever the records, their updates and the query."""
    store = _store(seeded, updates)
    query = coql.parse(f"select Last_Name, Email from Leads where {where} limit 2000")  # noqa: S608
    rules = EvalRules(case_sensitive=case_sensitive)
    narrowed = store.select(lambda lookup: coql_plan.candidates(query.where, store.fields, lookup))
    assert query.run(narrowed, store.fields, rules) == query.run(store.all(), store.fields, rules)


def test_an_in_list_on_email_reads_only_the_records_holding_its_values():
    """The index hands the query the holders of the asked values, not every lead."""
    store = RecordStore(default_leads_fields())
    store.seed([{"Last_Name": f"P{n}", "Email": f"p{n}@x.io"} for n in range(1000)])
    query = coql.parse("select Email from Leads where Email in ('P7@X.io', 'p9@x.io')")
    narrowed = store.select(lambda lookup: coql_plan.candidates(query.where, store.fields, lookup))
    assert [lead["Email"] for lead in narrowed] == ["p7@x.io", "p9@x.io"]


def test_a_changed_email_is_found_by_its_new_value_and_no_longer_by_its_old(zoho: Zoho):
    """The index follows updates made through the API."""
    (lead_id,) = zoho.sandbox.seed([{"Last_Name": "Lee", "Email": "old@x.io"}])
    zoho.coql("select id from Leads where Email = 'old@x.io'")  # builds the Email index
    answer = zoho.call("PUT", "Leads", json={"data": [{"id": lead_id, "Email": "new@x.io"}]})
    assert answer.status_code == 200, answer.text
    old = zoho.coql("select id from Leads where Email = 'old@x.io'")
    new = zoho.coql("select id from Leads where Email = 'NEW@x.io'")
    assert old.status_code == 204
    assert new.json()["data"] == [{"id": lead_id}]
