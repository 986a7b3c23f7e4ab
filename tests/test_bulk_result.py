"""Reading a Bulk Write result file in every way Zoho's documentation allows it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from target_zoho_leads.zoho.bulk.csv_file import BulkFile, bulk_files, columns_of
from target_zoho_leads.zoho.bulk.result import is_final, read_outcomes, result_table
from target_zoho_leads.zoho.outcomes import CREATED, REJECTED, UPDATED, Outcome
from tests.support.result_zip import result_zip

LEAD = {"Last_Name": "Lee", "Email": "lee@example.com", "Interests": ["Demo"]}
HEADER = ["Last_Name", "Email", "Interests", "RECORD_ID", "STATUS", "ERRORS"]


def sent(*payloads: dict) -> tuple[BulkFile, list[str]]:
    """The one file ``payloads`` make, and its columns."""
    columns = columns_of(list(payloads))
    (file,) = bulk_files(list(payloads), columns)
    return file, columns


def read(file: BulkFile, columns: list[str], rows: list[list[str]], **kwargs):
    return read_outcomes(file, columns, result_table(result_zip(rows), "9"), **kwargs)


def test_result_rows_become_outcomes_in_input_order():
    """ADDED is CREATED with its id; SKIPPED and UNPROCESSED are REJECTED with the code."""
    file, columns = sent(LEAD, {**LEAD, "Email": "bad"}, {**LEAD, "Email": "c@example.com"})
    rows = [
        HEADER,
        ["Lee", "lee@example.com", "Demo", "111", "ADDED", ""],
        ["Lee", "bad", "Demo", "", "SKIPPED", "INVALID_DATA-Email"],
        ["Lee", "c@example.com", "Demo", "", "UNPROCESSED", ""],
    ]
    assert read(file, columns, rows) == [
        Outcome(CREATED, "111"),
        Outcome(REJECTED, None, "INVALID_DATA", "invalid data", "Email"),
        Outcome(REJECTED, None, "UNPROCESSED", "Zoho's bulk job did not process this record"),
    ]


def test_the_id_column_may_be_named_id_and_the_status_written_in_any_case():
    """The v8 page names the columns "ID, Status, and Errors" and the statuses in lower case."""
    file, columns = sent(LEAD, {**LEAD, "Email": "b@example.com"})
    header = ["Last_Name", "Email", "Interests", "ID", "Status", "Errors"]
    rows = [
        header,
        ["Lee", "lee@example.com", "Demo", "111", "added", ""],
        ["Lee", "b@example.com", "Demo", "112", "Added", ""],
    ]
    assert read(file, columns, rows) == [Outcome(CREATED, "111"), Outcome(CREATED, "112")]


def test_rows_in_another_order_are_matched_by_the_cells_they_repeat():
    """Nothing promises upload order: each row finds its record by its first three cells."""
    file, columns = sent(LEAD, {**LEAD, "Email": "b@example.com"})
    rows = [
        HEADER,
        ["Lee", "b@example.com", "Demo", "112", "ADDED", ""],
        ["Lee", "lee@example.com", "Demo", "111", "ADDED", ""],
    ]
    assert read(file, columns, rows) == [Outcome(CREATED, "111"), Outcome(CREATED, "112")]


@pytest.mark.parametrize(
    ("rows", "known"),
    [
        ([["Lee", "lee@example.com", "Demo", "111", "ADDED", ""]], [True, False]),
        (
            [
                ["Lee", "lee@example.com", "Demo", "111", "ADDED", ""],
                ["Lee", "b@example.com", "Demo", "111", "ADDED", ""],
            ],
            [False, False],
        ),
        (
            [
                ["Lee", "lee@example.com", "Demo", "111", "ADDED", ""],
                ["Lee", "b@example.com", "Demo", "112", "DONE", ""],
            ],
            [True, False],
        ),
        (
            [
                ["Lee", "lee@example.com", "Demo", "", "ADDED", ""],
                ["Lee", "b@example.com", "Demo", "112", "ADDED", ""],
            ],
            [False, True],
        ),
        (
            [
                ["Lee", "lee@example.com", "Demo", "111", "ADDED", ""],
                ["Lee", "lee@example.com", "Demo", "113", "ADDED", ""],
                ["Lee", "b@example.com", "Demo", "112", "ADDED", ""],
            ],
            [False, True],
        ),
    ],
    ids=["a row missing", "one id for two", "an unknown status", "no id", "a row too many"],
)
def test_a_record_whose_row_says_nothing_sure_is_unknown_never_guessed(rows, known):
    """Missing, extra, shared-id, id-less and unknown-status rows leave their record unknown."""
    file, columns = sent(LEAD, {**LEAD, "Email": "b@example.com"})
    outcomes = read(file, columns, [HEADER, *rows])
    assert [outcome is not None for outcome in outcomes] == known


def test_a_record_the_result_does_not_mention_is_unknown_never_made_up():
    """The job's caller settles or refuses an unknown record (test_bulk); none is invented here."""
    file, columns = sent(LEAD, {**LEAD, "Email": "b@example.com"})
    rows = [HEADER, ["Lee", "lee@example.com", "Demo", "1", "ADDED", ""]]
    assert read(file, columns, rows) == [Outcome(CREATED, "1"), None]


def test_a_result_without_an_id_or_status_column_leaves_every_record_unknown():
    """A header Zoho's page does not describe is read as nothing known."""
    file, columns = sent(LEAD)
    rows = [["Last_Name", "Email", "Interests", "X"], ["Lee", "lee@example.com", "Demo", "1"]]
    assert read(file, columns, rows) == [None]


def test_an_update_result_must_name_the_lead_each_record_sent():
    """UPDATED with the id sent is UPDATED; a row naming another lead leaves the record unknown."""
    file, columns = sent({"id": "111", "CDP_ID": "a"})
    header = ["id", "CDP_ID", "RECORD_ID", "STATUS", "ERRORS"]
    assert read(file, columns, [header, ["111", "a", "111", "UPDATED", ""]], ids=["111"]) == [
        Outcome(UPDATED, "111")
    ]
    assert read(file, columns, [header, ["111", "a", "222", "UPDATED", ""]], ids=["111"]) == [None]


def test_rows_zoho_did_not_get_to_are_not_final():
    """UNPROCESSED, CANNOT_PROCESS and LIMIT_EXCEEDED are sent again; a data error is final."""
    file, columns = sent(*({**LEAD, "Email": f"{n}@example.com"} for n in range(4)))
    rows = [
        HEADER,
        ["Lee", "0@example.com", "Demo", "", "unprocessed", ""],
        ["Lee", "1@example.com", "Demo", "", "SKIPPED", "CANNOT_PROCESS-Email"],
        ["Lee", "2@example.com", "Demo", "", "Skipped", "LIMIT_EXCEEDED"],
        ["Lee", "3@example.com", "Demo", "", "SKIPPED", "INVALID_DATA-Email"],
    ]
    outcomes = read(file, columns, rows)
    assert [is_final(outcome) for outcome in outcomes if outcome] == [False, False, False, True]


@given(
    count=st.integers(1, 30),
    data=st.data(),
    id_column=st.sampled_from(["RECORD_ID", "ID"]),
    case=st.sampled_from([str.upper, str.lower, str.title]),
)
def test_any_order_id_column_and_case_give_the_same_outcomes(count, data, id_column, case):
    """Whatever order, id column name and letter case Zoho writes, each record gets its own id."""
    payloads = [{**LEAD, "Email": f"p{n}@example.com"} for n in range(count)]
    file, columns = sent(*payloads)
    rows = [
        ["Lee", p["Email"], "Demo", str(1000 + n), case("ADDED"), ""]
        for n, p in enumerate(payloads)
    ]
    rows = data.draw(st.permutations(rows))
    header = ["Last_Name", "Email", "Interests", id_column, "STATUS", "ERRORS"]
    assert read(file, columns, [header, *rows]) == [
        Outcome(CREATED, str(1000 + n)) for n in range(count)
    ]
