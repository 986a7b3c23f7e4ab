"""Record search: criteria grammar, contains-like equals, escapes and index lag."""

from __future__ import annotations

import typing as t

import pytest

if t.TYPE_CHECKING:
    from .conftest import Zoho

PEOPLE = [
    {"Last_Name": "Lee", "Email": "lee@example.com", "Phone": "+1 555 0100"},
    {"Last_Name": "Leeds", "Email": "ann.lee@example.com", "Phone": "+1 555 0199"},
    {"Last_Name": "Smith (Jr), Sr", "Email": "smith@example.com", "Company": "A\\B"},
]


@pytest.fixture(autouse=True)
def ids(zoho: Zoho) -> list[str]:
    """The seeded people's ids, in order."""
    return zoho.sandbox.seed(PEOPLE)


def found(answer) -> list[str]:
    """The Last_Name of each record of a search answer (none for a 204)."""
    if answer.status_code == 204:
        return []
    assert answer.status_code == 200, answer.text
    return [record["Last_Name"] for record in answer.json()["data"]]


def test_equals_behaves_like_a_case_insensitive_contains(zoho: Zoho, ids):
    """Like Zoho's, ``equals`` finds ann.lee@ when asked for lee@: filter yourself."""
    answer = zoho.search(criteria="(Email:equals:LEE@example.com)")
    assert found(answer) == ["Lee", "Leeds"]
    record = answer.json()["data"][0]
    assert record["id"] == ids[0]
    assert record["Phone"] == "+1 555 0100"
    assert answer.json()["info"] == {
        "per_page": 200,
        "count": 2,
        "page": 1,
        "more_records": False,
    }


def test_starts_with_matches_a_prefix(zoho: Zoho):
    """``starts_with`` is a case-insensitive prefix match."""
    assert found(zoho.search(criteria="(Email:starts_with:ANN)")) == ["Leeds"]


def test_criteria_combine_with_and_or_and_brackets(zoho: Zoho):
    """``((a)or(b))`` and ``((a)and(b))`` combine criteria."""
    either = "((Email:equals:smith@)or(Phone:equals:0199))"
    assert found(zoho.search(criteria=either)) == ["Leeds", "Smith (Jr), Sr"]
    both = "((Email:equals:lee)and(Phone:equals:0100))"
    assert found(zoho.search(criteria=both)) == ["Lee"]


def test_a_comma_separates_values_of_one_criterion(zoho: Zoho):
    """Unescaped commas give several values, any of which may match."""
    assert found(zoho.search(criteria="(Email:equals:smith@,ann.)")) == [
        "Leeds",
        "Smith (Jr), Sr",
    ]


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (r"(Last_Name:equals:Smith \(Jr\)\, Sr)", ["Smith (Jr), Sr"]),
        (r"(Company:equals:A\\B)", ["Smith (Jr), Sr"]),
    ],
)
def test_backslash_escapes_brackets_commas_and_backslashes(zoho: Zoho, criteria, expected):
    r"""``\(``, ``\)``, ``\,`` and ``\\`` stand for the characters themselves."""
    assert found(zoho.search(criteria=criteria)) == expected


def test_an_unescaped_bracket_in_a_value_is_invalid_query(zoho: Zoho):
    """Brackets in values must be escaped."""
    answer = zoho.search(criteria="(Last_Name:equals:Smith (Jr))")
    assert (answer.status_code, answer.json()["code"]) == (400, "INVALID_QUERY")


@pytest.mark.parametrize(
    "criteria",
    [
        "Email:equals:a",
        "(Email:equals:a",
        "(Email)",
        "((Email:equals:a)xor(Phone:equals:1))",
        "(Email:equals:)",
    ],
)
def test_malformed_criteria_are_invalid_query(zoho: Zoho, criteria):
    """Anything outside ``(Field:operator:value)`` answers 400 INVALID_QUERY."""
    answer = zoho.search(criteria=criteria)
    assert answer.status_code == 400
    body = answer.json()
    assert (body["code"], body["message"], body["status"]) == (
        "INVALID_QUERY",
        "Invalid query formed",
        "error",
    )


def test_an_unknown_field_or_operator_is_invalid_query(zoho: Zoho):
    """The error names the field, and the operator when that is the problem."""
    field = zoho.search(criteria="(Emial:equals:a)").json()
    assert (field["code"], field["details"]["api_name"]) == ("INVALID_QUERY", "Emial")
    operator = zoho.search(criteria="(Email:resembles:a)").json()
    assert operator["details"]["operator"] == "resembles"


def test_no_match_answers_204(zoho: Zoho):
    """Nothing found: 204 with an empty body."""
    answer = zoho.search(criteria="(Email:equals:nobody)")
    assert (answer.status_code, answer.content) == (204, b"")


def test_fresh_leads_are_invisible_until_the_search_lag_has_passed(zoho: Zoho):
    """search_lag_seconds hides new leads from search, not from COQL."""
    zoho.sandbox.configure(search_lag_seconds=30)
    zoho.insert({"Last_Name": "Fresh", "Email": "fresh@example.com"})
    assert zoho.search(criteria="(Email:equals:fresh@example.com)").status_code == 204
    coql = zoho.coql("select id from Leads where Email = 'fresh@example.com'")
    assert coql.status_code == 200
    zoho.sandbox.advance_clock(29)
    assert zoho.search(criteria="(Email:equals:fresh@example.com)").status_code == 204
    zoho.sandbox.advance_clock(1)
    assert found(zoho.search(criteria="(Email:equals:fresh@example.com)")) == ["Fresh"]


def test_seeded_leads_are_searchable_at_once(zoho: Zoho):
    """Seeded leads count as old, whatever the lag."""
    zoho.sandbox.configure(search_lag_seconds=60)
    zoho.sandbox.seed([{"Last_Name": "Old", "Email": "old@example.com"}])
    assert found(zoho.search(criteria="(Email:equals:old@example.com)")) == ["Old"]


def test_email_and_phone_parameters_search_those_fields(zoho: Zoho):
    """``email=`` and ``phone=`` search the email and phone fields."""
    assert found(zoho.search(email="smith@example.com")) == ["Smith (Jr), Sr"]
    assert found(zoho.search(phone="555 0199")) == ["Leeds"]
    assert found(zoho.search(word="leeds")) == ["Leeds"]


def test_pages_split_the_matches(zoho: Zoho):
    """``page`` and ``per_page`` page through the matches."""
    first = zoho.search(criteria="(Email:equals:example)", per_page=2)
    assert first.json()["info"] == {
        "per_page": 2,
        "count": 2,
        "page": 1,
        "more_records": True,
    }
    second = zoho.search(criteria="(Email:equals:example)", per_page=2, page=2)
    assert found(second) == ["Smith (Jr), Sr"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "REQUIRED_PARAM_MISSING"),
        ({"criteria": "(Email:equals:a)", "per_page": 201}, "INVALID_DATA"),
        (
            {"criteria": "(Email:equals:a)", "per_page": 200, "page": 11},
            "LIMIT_REACHED",
        ),
    ],
)
def test_search_parameters_are_checked(zoho: Zoho, params, code):
    """A search needs a criterion, at most 200 per page and 2000 records in all."""
    answer = zoho.search(**params)
    assert (answer.status_code, answer.json()["code"]) == (400, code)
