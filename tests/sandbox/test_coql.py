"""COQL: the parser's rules and errors, quoting, and Zoho's comparison semantics."""

from __future__ import annotations

import typing as t

import pytest

if t.TYPE_CHECKING:
    from .conftest import Zoho

PEOPLE = [
    {
        "Last_Name": "Lee",
        "Email": "Lee@Example.com",
        "Phone": "+1 555 0100",
        "City": "Austin",
        "No_of_Employees": 10,
    },
    {
        "Last_Name": "O'Brien",
        "Email": "ob@example.com",
        "Phone": "+15550101",
        "City": "Cork",
        "No_of_Employees": 200,
    },
    {"Last_Name": "' or ''='", "Email": "odd@example.com", "City": "Nowhere"},
    {"Last_Name": "Back\\slash", "Email": "bs@example.com"},
]


@pytest.fixture(autouse=True)
def ids(zoho: Zoho) -> list[str]:
    """The seeded people's ids, in order."""
    return zoho.sandbox.seed(PEOPLE)


def select(where: str, columns: str = "id") -> str:
    """A COQL query on Leads; building queries from parts is what these tests do."""
    return f"select {columns} from Leads where {where}"  # noqa: S608


def names(answer) -> list[str]:
    """The Last_Name of each row of a 200 answer."""
    assert answer.status_code == 200, answer.text
    return [row["Last_Name"] for row in answer.json()["data"]]


def test_a_select_with_in_lists_answers_the_selected_fields_and_id(zoho: Zoho, ids):
    """Rows carry id plus the selected fields; info counts them."""
    answer = zoho.coql(
        "select Email, Phone from Leads where (Email in "
        "('lee@example.com','ob@example.com') or Phone in ('+15550101')) "
        "limit 2000"
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "data": [
            {"id": ids[0], "Email": "Lee@Example.com", "Phone": "+1 555 0100"},
            {"id": ids[1], "Email": "ob@example.com", "Phone": "+15550101"},
        ],
        "info": {"count": 2, "more_records": False},
    }


def test_emails_compare_case_insensitively_by_default(zoho: Zoho):
    """Text equality ignores case unless coql_case_sensitive is set."""
    answer = zoho.coql("select Last_Name from Leads where Email = 'LEE@EXAMPLE.COM'")
    assert names(answer) == ["Lee"]


@pytest.mark.parametrize(
    ("miss", "hit"),
    [
        ("Email = 'lee@example.com'", "Email = 'Lee@Example.com'"),
        ("Email in ('lee@example.com', 'LEE@EXAMPLE.COM')", "Email in ('Lee@Example.com')"),
        ("Email like 'lee@%'", "Email like 'Lee@%'"),
    ],
)
def test_with_coql_case_sensitive_only_the_stored_spelling_is_found(zoho: Zoho, miss, hit):
    """Zoho documents no case rule for COQL, so the sandbox can compare exactly."""
    zoho.sandbox.configure(coql_case_sensitive=True)
    assert zoho.coql(select(miss)).status_code == 204
    assert names(zoho.coql(select(hit, "Last_Name"))) == ["Lee"]


def test_phones_compare_exactly_apart_from_case(zoho: Zoho):
    """'+1 555 0100' does not equal '+15550100': no normalising."""
    assert zoho.coql("select id from Leads where Phone = '+15550100'").status_code == 204
    assert names(zoho.coql("select Last_Name from Leads where Phone = '+1 555 0100'")) == ["Lee"]


def test_no_match_answers_204_with_an_empty_body(zoho: Zoho):
    """Zoho answers a query that finds nothing with 204 No Content."""
    answer = zoho.coql("select id from Leads where Email = 'nobody@example.com'")
    assert (answer.status_code, answer.content) == (204, b"")


def test_a_doubled_quote_is_a_quote_in_a_literal(zoho: Zoho):
    """``'o''brien'`` is the string o'brien (and compares case-insensitively)."""
    assert names(zoho.coql("select Last_Name from Leads where Last_Name = 'o''brien'")) == [
        "O'Brien"
    ]


def test_an_injection_shaped_value_is_just_a_string(zoho: Zoho):
    """A properly escaped ``' or ''='`` finds exactly that lead and no other."""
    value = "' or ''='".replace("'", "''")
    answer = zoho.coql(select(f"Last_Name = '{value}'", "Last_Name"))
    assert names(answer) == ["' or ''='"]


def test_a_backslash_is_not_an_escape(zoho: Zoho):
    """COQL strings take backslashes literally."""
    assert names(zoho.coql("select Last_Name from Leads where Last_Name = 'back\\slash'")) == [
        "Back\\slash"
    ]


@pytest.mark.parametrize(
    "where",
    [
        "Email = 'a@x.com'",
        "Email = 'a@x.com' or Phone = '1'",
        "(Email = 'a@x.com' or Phone = '1') or City = 'x'",
        "((Email = 'a@x.com' or Phone = '1') or City = 'x')",
        "Email = 'a@x.com' and (Phone = '1' or City = 'x')",
        "((Email = 'a' or Email = 'b') and (Phone = '1' or Phone = '2'))",
    ],
)
def test_criteria_bracketed_in_pairs_are_accepted(zoho: Zoho, where):
    """Each and/or joins exactly two operands."""
    assert zoho.coql(select(where)).status_code in {200, 204}


@pytest.mark.parametrize(
    "where",
    [
        "Email = 'a@x.com' or Phone = '1' or City = 'x'",
        "(Email = 'a@x.com' or Phone = '1' or City = 'x')",
        "(Email = 'a' or Email = 'b') and Phone = '1' and City = 'x'",
    ],
)
def test_more_than_two_criteria_without_pair_brackets_are_a_syntax_error(zoho: Zoho, where):
    """Zoho refuses ``a or b or c``: three criteria need ``(a or b) or c``."""
    answer = zoho.coql(select(where))
    assert answer.status_code == 400
    body = answer.json()
    assert (body["code"], body["details"], body["status"]) == (
        "SYNTAX_ERROR",
        {"clause": "where"},
        "error",
    )


def test_an_in_list_takes_100_values_but_not_101(zoho: Zoho):
    """More than 100 values in ``in`` is LIMIT_EXCEEDED."""

    def query(count: int) -> str:
        values = ",".join(f"'p{i}@example.com'" for i in range(count - 1))
        return select(f"Email in ({values},'ob@example.com')")

    assert zoho.coql(query(100)).status_code == 200
    answer = zoho.coql(query(101))
    assert answer.status_code == 400
    assert answer.json()["code"] == "LIMIT_EXCEEDED"
    assert answer.json()["details"]["limit"] == 100


def paired(count: int) -> str:
    """``count`` criteria joined by or, bracketed in pairs from the left."""
    where = "Email = 'e0'"
    for i in range(1, count):
        where = f"({where}) or Email = 'e{i}'" if i > 1 else f"{where} or Email = 'e{i}'"
    return where


def test_a_where_takes_25_criteria_but_not_26(zoho: Zoho):
    """More than 25 criteria is LIMIT_EXCEEDED even when properly bracketed."""
    assert zoho.coql(select(paired(25))).status_code == 204
    answer = zoho.coql(select(paired(26)))
    assert answer.status_code == 400
    assert (answer.json()["code"], answer.json()["details"]["limit"]) == (
        "LIMIT_EXCEEDED",
        25,
    )


def test_a_limit_above_2000_is_limit_exceeded(zoho: Zoho):
    """COQL returns at most 2000 rows per call."""
    answer = zoho.coql("select id from Leads where Email is not null limit 2001")
    assert (answer.status_code, answer.json()["code"]) == (400, "LIMIT_EXCEEDED")


def test_limit_and_offset_page_through_the_matches(zoho: Zoho):
    """``limit N offset M`` and ``limit M, N`` page, and more_records says so."""
    first = zoho.coql("select Last_Name from Leads where Email is not null limit 2")
    assert first.json()["info"] == {"count": 2, "more_records": True}
    second = zoho.coql("select Last_Name from Leads where Email is not null limit 2 offset 2")
    assert second.json()["info"] == {"count": 2, "more_records": False}
    assert names(zoho.coql("select Last_Name from Leads where Email is not null limit 1, 1")) == [
        "O'Brien"
    ]


def test_the_default_limit_is_200(zoho: Zoho):
    """Without ``limit``, 200 rows come back and more_records is true."""
    zoho.sandbox.seed([{"Last_Name": f"L{i}", "City": "Same"} for i in range(201)])
    answer = zoho.coql("select id from Leads where City = 'same'")
    assert answer.json()["info"] == {"count": 200, "more_records": True}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("City != 'Austin'", ["O'Brien", "' or ''='"]),
        ("City not in ('austin', 'cork')", ["' or ''='"]),
        ("Email like '%@example.com'", ["Lee", "O'Brien", "' or ''='", "Back\\slash"]),
        ("Last_Name like 'o%'", ["O'Brien"]),
        ("City is null", ["Back\\slash"]),
        ("No_of_Employees > 50", ["O'Brien"]),
        ("No_of_Employees = 10", ["Lee"]),
        ("(City = 'Austin' and Email like '%example%')", ["Lee"]),
    ],
)
def test_operators_follow_zoho_semantics(zoho: Zoho, where, expected):
    """!=, not in, like, is null and numeric comparisons select as documented."""
    assert names(zoho.coql(select(where, "Last_Name"))) == expected


def test_order_by_sorts_the_rows(zoho: Zoho):
    """``order by`` with desc reverses the order."""
    answer = zoho.coql("select Last_Name from Leads where City is not null order by City desc")
    assert names(answer) == ["' or ''='", "O'Brien", "Lee"]


@pytest.mark.parametrize(
    "query",
    [
        "select from Leads where Email = 'a'",
        "select id from Leads where Email = 'a",
        "select id from Leads where Email = 'a' limit",
        "select id Leads where Email = 'a'",
        "select id from Leads where Email == 'a'",
        "select id from Leads where (Email = 'a'",
        "select id from Leads where Email = 'a' garbage",
    ],
)
def test_malformed_queries_are_syntax_errors_with_a_position(zoho: Zoho, query):
    """A parse failure answers SYNTAX_ERROR with line, column and near."""
    answer = zoho.coql(query)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "SYNTAX_ERROR"
    assert set(body["details"]) == {"line", "column", "near"}


def test_an_unknown_field_is_invalid_query(zoho: Zoho):
    """A field the module lacks answers INVALID_QUERY naming the column."""
    answer = zoho.coql("select id, Emial from Leads where Email = 'a@x.com'")
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "INVALID_QUERY",
        "details": {"column_name": "Emial"},
        "message": "column given seems to be invalid",
        "status": "error",
    }


def test_a_module_the_sandbox_does_not_serve_is_invalid_query(zoho: Zoho):
    """The sandbox has only Leads and Contacts."""
    answer = zoho.coql("select id from Deals where Deal_Name = 'a'")
    assert (answer.status_code, answer.json()["code"]) == (400, "INVALID_QUERY")
    assert answer.json()["details"] == {"module": "Deals"}


def test_a_text_value_for_a_number_field_is_invalid_query(zoho: Zoho):
    """Literals must fit the field's type."""
    answer = zoho.coql("select id from Leads where No_of_Employees = 'many'")
    assert (answer.status_code, answer.json()["code"]) == (400, "INVALID_QUERY")


def test_a_missing_select_query_is_required_param_missing(zoho: Zoho):
    """The body must hold select_query."""
    answer = zoho.call("POST", "coql", json={})
    assert (answer.status_code, answer.json()["code"]) == (
        400,
        "REQUIRED_PARAM_MISSING",
    )


def test_without_the_coql_scope_coql_answers_oauth_scope_mismatch(zoho: Zoho):
    """coql_scope=False mimics a token minted without ZohoCRM.coql.READ."""
    zoho.sandbox.configure(coql_scope=False)
    answer = zoho.coql("select id from Leads where Email = 'a@x.com'")
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "OAUTH_SCOPE_MISMATCH",
        "details": {},
        "message": "invalid oauth scope to access this URL",
        "status": "error",
    }
    assert "ZohoCRM.coql.READ" not in zoho.mint().json()["scope"]
