"""The loader's write path against stand-ins, and the record confirmations STATE waits on.

Issue 19 items 5 and 6: the loader decides records API or Bulk Write before
the writer is called, the writer gives back a value, and the loader counts
and fails in one place. No HTTP here: a fake client and a fake Bulk Write
route stand in for Zoho.
"""

from __future__ import annotations

import json
import logging
import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest

from target_zoho_leads.loading.confirmations import Confirmations
from target_zoho_leads.loading.connection import ZohoConnection
from target_zoho_leads.loading.loader import LeadLoader
from target_zoho_leads.loading.writes import LeadInserter
from target_zoho_leads.settings.model import Settings
from target_zoho_leads.zoho.bulk.errors import BulkJobFailedError
from target_zoho_leads.zoho.client import ItemDetails, WriteItem
from target_zoho_leads.zoho.errors import (
    ZohoAPIError,
    ZohoRetriesExhaustedError,
    ZohoScopeError,
    ZohoTransientError,
)
from target_zoho_leads.zoho.org_clock import OrgClock
from target_zoho_leads.zoho.outcomes import Outcome, OutcomeKind
from tests.bulk_answers import RowsRoute

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path


class FakeClient:
    """The records API: every insert succeeds, unless told to fail."""

    max_retries = 1

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.fail_with = fail_with
        self.org_clock = OrgClock()
        self.inserted: list[dict] = []

    def fields(self, _module: str) -> list:
        return []  # no field metadata: leads are sent as mapped

    def counting_calls_with(self, _on_call: t.Any) -> FakeClient:
        return self

    def write_leads(self, method: str, records: Sequence[dict], *_: t.Any, **__: t.Any) -> list:
        assert method == "POST"
        if self.fail_with is not None:
            raise self.fail_with
        start = len(self.inserted)
        self.inserted += records
        return [
            WriteItem(code="SUCCESS", status="success", details=ItemDetails(id=f"R{start + i}"))
            for i in range(len(records))
        ]


class FakeRoute(RowsRoute):
    """Bulk Write: creates every row, or stops after ``settle`` rows with ``fail_with``."""

    def __init__(self, *, settle: int | None = None, fail_with: Exception | None = None) -> None:
        self.settle, self.fail_with = settle, fail_with
        self.jobs: list[int] = []

    def insert(self, payloads: Sequence[Mapping[str, t.Any]]) -> list[Outcome]:
        self.jobs.append(len(payloads))
        outcomes = [Outcome(OutcomeKind.CREATED, f"B{i}") for i in range(len(payloads))]
        if self.fail_with is not None:
            self.fail_with.settled = outcomes[: self.settle]  # type: ignore[attr-defined]
            raise self.fail_with
        return outcomes

    def update(self, rows: Sequence[Mapping[str, t.Any]]) -> list[Outcome]:
        raise NotImplementedError


class FakeConnection(ZohoConnection):
    """A connection whose Bulk Write check and route are stand-ins."""

    def __init__(
        self,
        client: FakeClient,
        route: FakeRoute,
        write_method: str,
        scope_check: Exception | None = None,
    ) -> None:
        executor = ThreadPoolExecutor(1)
        inserter = LeadInserter(executor, None)
        super().__init__(t.cast("t.Any", client), inserter, executor, write_method=write_method)
        self.route, self.scope_check = route, scope_check
        self.checks = 0

    def check_bulk_scopes(self) -> None:
        self.checks += 1
        if self.scope_check is not None:
            raise self.scope_check

    def bulk_writer(self, _stats: t.Any, *, settle_ambiguous: bool = False) -> FakeRoute:
        assert not settle_ambiguous  # insert mode: Bulk Write re-sends a lost job itself
        return self.route


def settings(tmp_path: Path, **extra: t.Any) -> Settings:
    """Insert mode, Email and Last_Name mapped, rejected records kept in ``tmp_path``."""
    return Settings(
        client_id="id",
        client_secret="secret",
        refresh_token="token",
        field_mapping={"Email": ("email",), "Last_Name": ("name",)},
        rejected_records_path=str(tmp_path / "rejected.jsonl"),
        **extra,
    )


@pytest.fixture
def people() -> list[dict]:
    """Ten CDP people."""
    return [{"name": f"P{i}", "email": f"p{i}@example.cn"} for i in range(10)]


@pytest.fixture
def open_loaders() -> Iterator[list[LeadLoader]]:
    """Loaders made by a test, closed after it."""
    made: list[LeadLoader] = []
    yield made
    for loader in made:
        loader.close()


def loader_on(zoho: FakeConnection, tmp_path: Path, made: list, **extra: t.Any) -> LeadLoader:
    """A loader writing through ``zoho``, connected as the CLI does at start-up."""
    loader = LeadLoader(settings(tmp_path, write_method=zoho.write_method, **extra), zoho=zoho)
    made.append(loader)
    loader.connect()
    return loader


def test_with_auto_a_small_write_goes_by_the_records_api_and_never_asks_for_bulk_scopes(
    tmp_path, people, open_loaders
):
    """A run of small writes needs no Bulk Write scope: none is checked."""
    client, route = FakeClient(), FakeRoute()
    zoho = FakeConnection(client, route, "auto")
    loader = loader_on(zoho, tmp_path, open_loaders, bulk_min_records=50)
    loader.write_batch("web", people, list(range(1, 11)))
    assert len(client.inserted) == 10
    assert (zoho.checks, route.jobs) == (0, [])
    assert loader.stats_for("web").created == 10


def test_with_auto_a_large_write_goes_as_a_job_and_bulk_write_is_checked_once_per_run(
    tmp_path, people, open_loaders
):
    """Two large batches: one scope check, two jobs, no records-API insert."""
    client, route = FakeClient(), FakeRoute()
    zoho = FakeConnection(client, route, "auto")
    loader = loader_on(zoho, tmp_path, open_loaders, bulk_min_records=5)
    loader.write_batch("web", people[:5], [1, 2, 3, 4, 5])
    loader.write_batch("web", people[5:], [6, 7, 8, 9, 10])
    assert (zoho.checks, route.jobs, client.inserted) == (1, [5, 5], [])
    assert loader.stats_for("web").created == 10


@pytest.mark.parametrize(
    "failure",
    [
        ZohoScopeError("token lacks ZohoFiles.files.ALL", code="OAUTH_SCOPE_MISMATCH"),
        ZohoTransientError("GET /org: connection refused", code="NETWORK"),
        ZohoRetriesExhaustedError("GET /org: HTTP 503 after 3 tries", code="NETWORK"),
    ],
    ids=["scope", "network", "5xx"],
)
def test_with_auto_any_failure_of_the_bulk_check_means_the_records_api_for_the_whole_run(
    tmp_path, people, open_loaders, caplog, failure
):
    """One warning naming the cause; every later large write goes by the records API too."""
    client, route = FakeClient(), FakeRoute()
    zoho = FakeConnection(client, route, "auto", scope_check=failure)
    loader = loader_on(zoho, tmp_path, open_loaders, bulk_min_records=5)
    with caplog.at_level(logging.WARNING):
        loader.write_batch("web", people[:5], [1, 2, 3, 4, 5])
        loader.write_batch("web", people[5:], [6, 7, 8, 9, 10])
    assert len(client.inserted) == 10
    assert (zoho.checks, route.jobs) == (1, [])
    warnings = [r.getMessage() for r in caplog.records if "Bulk Write is not available" in r.msg]
    assert len(warnings) == 1
    assert str(failure) in warnings[0]


def test_with_bulk_a_missing_scope_stops_the_run_when_it_connects(tmp_path, open_loaders):
    """write_method bulk: the check is made at start-up, and its failure is the run's."""
    failure = ZohoScopeError("token lacks ZohoCRM.bulk.ALL", code="OAUTH_SCOPE_MISMATCH")
    zoho = FakeConnection(FakeClient(), FakeRoute(), "bulk", scope_check=failure)
    with pytest.raises(ZohoScopeError, match=r"ZohoCRM\.bulk\.ALL"):
        loader_on(zoho, tmp_path, open_loaders)
    assert zoho.checks == 1


def test_a_failed_job_counts_the_records_it_settled_and_raises_its_own_error(
    tmp_path, people, open_loaders
):
    """The rows read before the failure are counted; the write's error reaches the caller."""
    failed = BulkJobFailedError("bulk job 2 of 2 ended FAILED", code="FAILED")
    zoho = FakeConnection(FakeClient(), FakeRoute(settle=4, fail_with=failed), "bulk")
    loader = loader_on(zoho, tmp_path, open_loaders)
    with pytest.raises(BulkJobFailedError) as raised:
        loader.write_batch("web", people, list(range(1, 11)))
    assert raised.value is failed
    stats = loader.stats_for("web")
    assert (stats.records_read, stats.created) == (10, 4)


def test_a_records_api_failure_counts_nothing_written_and_raises_it(tmp_path, people, open_loaders):
    """No answer was read: no record is counted created."""
    refused = ZohoAPIError("POST /Leads: HTTP 401", code="INVALID_TOKEN", status=401)
    zoho = FakeConnection(FakeClient(fail_with=refused), FakeRoute(), "records")
    loader = loader_on(zoho, tmp_path, open_loaders)
    with pytest.raises(ZohoAPIError, match="HTTP 401") as raised:
        loader.write_batch("web", people, list(range(1, 11)))
    assert raised.value is refused
    assert loader.stats_for("web").created == 0


def test_a_record_zoho_rejects_is_counted_and_kept_in_the_rejected_records_file(
    tmp_path, people, open_loaders
):
    """A job's refused row goes to the file with its code, beside the lead that was sent."""

    class RefusingRoute(FakeRoute):
        def insert(self, payloads: Sequence[Mapping[str, t.Any]]) -> list[Outcome]:
            refused = Outcome(OutcomeKind.REJECTED, code="INVALID_DATA", field="Email")
            return [refused, *super().insert(payloads)[1:]]

    zoho = FakeConnection(FakeClient(), RefusingRoute(), "bulk")
    loader = loader_on(zoho, tmp_path, open_loaders)
    loader.write_batch("web", people[:3], [1, 2, 3])
    loader.rejected.close()
    (line,) = (tmp_path / "rejected.jsonl").read_text().splitlines()
    kept = json.loads(line)
    assert (kept["code"], kept["field"], kept["record"]) == ("INVALID_DATA", "Email", people[0])
    stats = loader.stats_for("web")
    assert (stats.created, stats.rejected) == (2, 1)


# Confirmations: which STATE may pass on


def test_a_state_passes_once_every_record_read_before_it_is_confirmed():
    """Held while a record before it is unconfirmed; given once it is."""
    confirmations = Confirmations()
    seqs = [confirmations.read() for _ in range(3)]
    confirmations.hold({"done": 3})
    assert confirmations.safe_state() is None
    confirmations.confirm(seqs)
    assert confirmations.safe_state() == {"done": 3}
    assert confirmations.safe_state() is None


def test_a_state_waits_for_a_gap_left_by_batches_confirmed_out_of_order():
    """Another stream's later batch confirmed first does not let the STATE pass."""
    confirmations = Confirmations()
    first = [confirmations.read() for _ in range(2)]
    later = [confirmations.read() for _ in range(2)]
    confirmations.hold({"done": 4})
    confirmations.confirm(later)
    assert confirmations.safe_state() is None
    confirmations.confirm(first)
    assert confirmations.safe_state() == {"done": 4}


def test_a_state_does_not_wait_for_records_read_after_it():
    """Only the records before a STATE hold it back."""
    confirmations = Confirmations()
    before = confirmations.read()
    confirmations.hold({"done": 1})
    confirmations.read()
    confirmations.confirm([before])
    assert confirmations.safe_state() == {"done": 1}


def test_of_several_states_ready_only_the_newest_is_given():
    """The newest says all the older ones said."""
    confirmations = Confirmations()
    seqs = []
    for done in (1, 2):
        seqs.append(confirmations.read())
        confirmations.hold({"done": done})
    assert confirmations.pending() == 2
    confirmations.confirm(seqs)
    assert confirmations.safe_state() == {"done": 2}
    assert confirmations.pending() == 0


def test_a_repeated_state_is_held_once_and_an_unchanged_one_is_not_given_again():
    """The same STATE twice in a row waits once; after it passed, its repeat is dropped."""
    confirmations = Confirmations()
    confirmations.hold({"done": 0})
    confirmations.hold({"done": 0})
    assert confirmations.pending() == 1
    assert confirmations.safe_state() == {"done": 0}
    confirmations.hold({"done": 0})
    assert confirmations.pending() == 0


def test_a_state_given_is_a_copy_the_caller_cannot_change_in_the_object():
    """What the target writes out cannot alter what is compared next."""
    confirmations = Confirmations()
    state = {"bookmarks": {"web": 1}}
    confirmations.hold(state)
    state["bookmarks"]["web"] = 2
    given = confirmations.safe_state()
    assert given == {"bookmarks": {"web": 1}}
