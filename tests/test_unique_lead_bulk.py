"""Unique Lead over Bulk Write: lookups by COQL, a batch's creates and its updates as jobs.

Issue 13: SPEC §4's guarantees hold whichever way the writes go (no
duplicate, the latest tracking id, Contacts and converted leads left alone),
and a job that fails or whose answer is lost marks nothing written that was not.
"""

from __future__ import annotations

import collections
import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest

from target_zoho_leads.loading.results import Route, WriteResult
from target_zoho_leads.loading.unique_writes import UniqueLeadWriter
from target_zoho_leads.zoho.bulk.errors import BulkJobFailedError
from target_zoho_leads.zoho.outcomes import (
    CREATED,
    EXISTS_AS_CONTACT,
    EXISTS_AS_CONVERTED_LEAD,
    REJECTED,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    Outcome,
)
from tests.bulk_answers import RowsRoute
from tests.conftest import QUICK_POLLS, singer_lines
from tests.test_contacts_and_converted import (
    EVENTS,
    FakeClient,
    rejected_codes,
    seed_crm,
    settings_for,
)

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from zoho_sandbox import ZohoSandbox

BULK_WRITE = "/crm/bulk/v8/write"
EXISTING = [
    {"Last_Name": "Old Wang", "Email": "wang@example.cn", "City": "Keep", "CDP_ID": "old"},
    {"Last_Name": "Old Zhou", "Phone": "+8613900000002", "City": "Keep", "CDP_ID": "old"},
]
PEOPLE = [
    {"name": "Wang", "email": "WANG@example.cn", "anonymous_id": "t1", "city": "Changed?"},
    {"name": "Li", "email": "li@example.cn", "anonymous_id": "t2"},
    {"name": "Zhou", "phone": "139 0000 0002", "anonymous_id": "t3"},
    {"name": "Li again", "email": " Li@Example.cn ", "phone": "13700000007", "anonymous_id": "t4"},
    {"name": "Wang again", "email": "wang@example.cn", "anonymous_id": "t5"},
    {"name": "Ma", "phone": "+86 150 0000 0005", "anonymous_id": "t6"},
]


def bulk_settings(sandbox: ZohoSandbox, tmp_path, **extra: t.Any) -> dict[str, t.Any]:
    """Unique Lead, region CN, every write by Bulk Write."""
    return settings_for(sandbox, tmp_path, write_method="bulk", **extra)


def jobs(sandbox: ZohoSandbox) -> list[str]:
    """The operation of every Bulk Write job the target asked for, in order."""
    return [
        call["json"]["operation"]
        for call in sandbox.requests()
        if call["method"] == "POST" and call["path"] == BULK_WRITE
    ]


def records_api_writes(sandbox: ZohoSandbox) -> list[str]:
    """The records API's inserts and updates the target made."""
    return [
        call["method"]
        for call in sandbox.requests()
        if call["method"] in {"POST", "PUT"} and call["path"] == "/crm/v8/Leads"
    ]


def leads_by_name(sandbox: ZohoSandbox) -> dict[str, tuple]:
    """Each lead's Email, Phone, City and tracking id, by Last_Name."""
    return {
        lead["Last_Name"]: (lead.get("Email"), lead.get("Phone"), lead.get("City"), lead["CDP_ID"])
        for lead in sandbox.leads()
    }


def test_a_batch_s_creates_and_tracking_ids_go_as_one_insert_job_and_one_update_job(
    sandbox, tmp_path, run_target
):
    """Each person once, created from their first record; existing leads get only the id."""
    sandbox.seed(EXISTING)
    run = run_target(bulk_settings(sandbox, tmp_path), singer_lines("cdp", PEOPLE), env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr[-3000:]
    assert leads_by_name(sandbox) == {
        "Old Wang": ("wang@example.cn", None, "Keep", "t5"),
        "Old Zhou": (None, "+8613900000002", "Keep", "t3"),
        "Li": ("li@example.cn", None, None, "t4"),
        "Ma": (None, "+8615000000005", None, "t6"),
    }
    assert jobs(sandbox) == ["insert", "update"]
    assert records_api_writes(sandbox) == []
    assert "2 leads created, 2 updated, 2 unchanged duplicates" in run.summary("cdp")


def test_by_bulk_write_a_contact_s_person_is_skipped_and_a_converted_lead_is_not_updated(
    sandbox, tmp_path, run_target
):
    """A job's DUPLICATE_DATA row names no record: looked up, then asked of Zoho by one call."""
    ids = seed_crm(sandbox)
    sandbox.configure(duplicate_check_preference="mapped_module_records", coql_case_sensitive=True)
    run = run_target(bulk_settings(sandbox, tmp_path), singer_lines("cdp", EVENTS), env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr[-3000:]
    assert rejected_codes(tmp_path) == {
        "contact-email": EXISTS_AS_CONTACT,
        "contact-phone": EXISTS_AS_CONTACT,
        "converted-email": EXISTS_AS_CONVERTED_LEAD,
        "converted-phone": EXISTS_AS_CONVERTED_LEAD,
    }
    leads = {lead["id"]: lead for lead in sandbox.leads()}
    assert leads[ids["plain"]]["CDP_ID"] == "lead"
    assert "CDP_ID" not in leads[ids["converted"]]
    created = [lead for lead_id, lead in leads.items() if lead_id not in ids.values()]
    assert [(lead["Email"], lead["Phone"], lead["CDP_ID"]) for lead in created] == [
        ("li.new@example.cn", "+8613700000007", "new")
    ]
    assert jobs(sandbox) == ["insert", "update"]
    # The Contact's person was refused by the job, then by one insert naming the Contact.
    assert records_api_writes(sandbox) == ["POST"]


def test_a_bulk_job_whose_answer_is_lost_is_settled_by_lookup_before_it_is_sent_again(
    sandbox, tmp_path, run_target
):
    """The job creation is done but unanswered: a lookup comes first; each person once."""
    sandbox.lose_answer(f"POST {BULK_WRITE}", nth=1)
    run = run_target(bulk_settings(sandbox, tmp_path), singer_lines("cdp", PEOPLE), env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr[-3000:]
    names = collections.Counter(lead["Last_Name"] for lead in sandbox.leads())
    assert names == {"Wang": 1, "Li": 1, "Zhou": 1, "Ma": 1}
    assert "4 writes of unknown outcome" in run.summary("cdp")
    calls = [
        "job" if call["path"] == BULK_WRITE else "lookup"
        for call in sandbox.requests()
        if call["path"] in {BULK_WRITE, "/crm/v8/coql"}
    ]
    # The lookup finds the first job's leads: no second insert job is sent.
    assert calls[calls.index("job") :][:2] == ["job", "lookup"]
    assert sandbox.stats()["records_created"] == 4


@pytest.mark.parametrize(
    "fault", [{"bulk_fail_jobs": 1}, {"bulk_drop_result_rows": 1}], ids=["failed", "short"]
)
def test_a_failed_or_unmatched_job_is_settled_by_lookup_and_each_person_gets_one_lead(
    sandbox, tmp_path, run_target, fault
):
    """Unique Lead: the job's people are looked up, the absent ones sent again; every STATE."""
    sandbox.configure(**fault)
    stdin = singer_lines("cdp", PEOPLE, state_every=3)
    run = run_target(bulk_settings(sandbox, tmp_path, batch_size_rows=3), stdin, env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr[-3000:]
    names = collections.Counter(lead["Last_Name"] for lead in sandbox.leads())
    assert names == {"Wang": 1, "Li": 1, "Zhou": 1, "Ma": 1}
    assert run.states[-1] == {"done": len(PEOPLE)}


@pytest.mark.parametrize("unique_lead", [True, False], ids=["unique", "insert"])
def test_a_failed_job_still_reports_the_records_refused_before_it(
    sandbox, tmp_path, run_target, unique_lead
):
    """A record refused ahead of a FAILED job is kept; the job's records are settled and sent."""
    sandbox.configure(bulk_fail_jobs=1)
    config = {**bulk_settings(sandbox, tmp_path), "unique_lead": unique_lead}
    config["field_mapping"] += ",No_of_Employees=employees"
    people = [{**PEOPLE[1], "employees": "many"}, *PEOPLE[2:4]]
    run = run_target(config, singer_lines("cdp", people), env=QUICK_POLLS)
    assert run.returncode == 0, run.stderr[-3000:]
    assert rejected_codes(tmp_path) == {"t2": "INVALID_DATA"}
    assert "2 leads created, 0 updated, 0 unchanged duplicates, 1 rejected" in run.summary("cdp")


# Answers the sandbox does not give on its own, against stand-ins.


class FakeRoute(RowsRoute):
    """A Bulk Write route answering every row of a job alike, by operation."""

    def __init__(
        self,
        client: FakeClient,
        *,
        insert: Outcome | Exception | None,
        update: Outcome | Exception | None,
    ) -> None:
        self.client = client
        self.answers = {"insert": insert, "update": update}
        self.jobs: list[str] = []
        self.then_rows: list[dict] | None = None  # what lookups find once a job ran

    def _job(self, operation: str, rows: Sequence[Mapping[str, t.Any]]) -> list[Outcome]:
        self.jobs.append(operation)
        if self.then_rows is not None:
            self.client.rows = self.then_rows
        answer = self.answers[operation]
        if isinstance(answer, Exception):
            raise answer
        if answer is not None:
            return [answer for _ in rows]
        return [Outcome(CREATED, f"B{i}") for i, _ in enumerate(rows)]

    def insert(self, payloads: Sequence[Mapping[str, t.Any]]) -> list[Outcome]:
        return self._job("insert", payloads)

    def update(self, rows: Sequence[Mapping[str, t.Any]]) -> list[Outcome]:
        return self._job("update", rows)


def write_by_bulk(client: FakeClient, route: FakeRoute, *batches: list[dict]) -> list[WriteResult]:
    """Write batches through a UniqueLeadWriter whose every write goes by ``route``."""
    results, seq = [], 0
    with ThreadPoolExecutor(1) as executor:
        writer = UniqueLeadWriter(executor, None, "CDP_ID")
        for batch in batches:
            seqs = list(range(seq, seq + len(batch)))
            seq += len(batch)
            results.append(writer.write(batch, seqs, Route(t.cast("t.Any", client), route)))
    return results


def test_a_job_row_refused_as_duplicate_joins_the_lead_a_fresh_lookup_finds():
    """DUPLICATE_DATA names no lead in a job's result: the lookup finds it; only its id moves."""
    client = FakeClient([], put=None, post=None)
    duplicate = Outcome(REJECTED, code="DUPLICATE_DATA", message="duplicate data", field="Email")
    route = FakeRoute(client, insert=duplicate, update=Outcome(UPDATED, "L9"))
    route.then_rows = [{"id": "L9", "Email": "d@x.cn", "CDP_ID": "old"}]
    (result,) = write_by_bulk(client, route, [{"Email": "D@x.cn", "CDP_ID": "t1"}])
    outcomes = t.cast("list[Outcome]", result.outcomes)
    assert [(o.kind, o.lead_id) for o in outcomes] == [(UPDATED, "L9")]
    assert route.jobs == ["insert", "update"]
    assert client.writes == []


def test_an_update_row_refused_as_converted_record_skips_the_person_from_then_on():
    """CONVERTED_RECORD in a job's result: as by the records API, the person is skipped."""
    client = FakeClient([{"id": "L1", "Email": "a@x.cn", "CDP_ID": "old"}], put=None, post=None)
    converted = Outcome(REJECTED, code="CONVERTED_RECORD", message="converted")
    route = FakeRoute(client, insert=None, update=converted)
    first, later = (
        result.outcomes
        for result in write_by_bulk(
            client,
            route,
            [
                {"Email": "A@x.cn", "CDP_ID": "t1"},
                {"Email": "a@x.cn", "CDP_ID": "t2"},
                {"Email": "b@x.cn", "CDP_ID": "t3"},
            ],
            [{"Email": "a@x.cn", "CDP_ID": "t4"}],
        )
    )
    assert [(o.kind, o.code, o.lead_id) for o in first] == [
        (SKIPPED, EXISTS_AS_CONVERTED_LEAD, "L1"),
        (SKIPPED, EXISTS_AS_CONVERTED_LEAD, "L1"),
        (CREATED, "", "B0"),
    ]
    assert [(o.kind, o.code) for o in later] == [(SKIPPED, EXISTS_AS_CONVERTED_LEAD)]
    assert route.jobs == ["insert", "update"]


def test_a_job_that_keeps_failing_gives_the_loader_only_the_outcomes_known_and_a_failure():
    """Every job FAILED: the unchanged record is settled, the job's record has no outcome."""
    client = FakeClient([{"id": "L1", "Email": "a@x.cn", "CDP_ID": "t1"}], put=None, post=None)
    failed = BulkJobFailedError("bulk job 1 of 1 records ended FAILED", code="FAILED")
    route = FakeRoute(client, insert=failed, update=None)
    (result,) = write_by_bulk(
        client,
        route,
        [{"Email": "a@x.cn", "CDP_ID": "t1"}, {"Email": "n@x.cn", "CDP_ID": "t2"}],
    )
    assert result.outcomes == [Outcome(UNCHANGED, "L1", matched_by="Email"), None]
    assert result.error is not None
    assert result.failure() is result.error
    assert set(route.jobs) == {"insert"}
