"""The API credits a run's summary reports are what Zoho (the sandbox) charged for its calls.

The summary counts a stream's own calls; the run's start-up calls (the Leads
field metadata, Bulk Write's scope checks) belong to no stream, and token
requests are not API calls. The sandbox charges every handled ``/crm`` call,
so the comparison leaves the start-up calls out of its total.
"""

from __future__ import annotations

import re

from tests.conftest import singer_lines

FIELDS_CALL = "GET /crm/v8/settings/fields"
MAPPING = "Last_Name=name,Email=email,Phone=phone,CDP_ID=anonymous_id"


def summary_credits(summary: str) -> int:
    """The credits a summary line reports."""
    found = re.search(r", (\d+) API credits(?:,|$)", summary)
    assert found, summary
    return int(found[1])


def stream_credits_charged(stats: dict) -> int:
    """What the sandbox charged, less the start-up field-metadata call."""
    return stats["credits"] - stats["credits_by_call"].get(FIELDS_CALL, 0)


def test_an_insert_runs_credits_are_one_per_ten_records_per_call(sandbox, config, run_target):
    """250 leads in calls of 100, 100 and 50: 10 + 10 + 5 credits, as the sandbox charged."""
    config.update(write_method="records", batch_size_rows=250)
    people = [{"name": f"P{i}", "anonymous_id": f"a{i}"} for i in range(250)]
    run = run_target(config, singer_lines("web", people))
    assert run.returncode == 0, run.errors
    stats = sandbox.stats()
    print(f"insert: {stats['credits_by_call']}; {run.summary('web')}")
    assert summary_credits(run.summary("web")) == 25
    assert stream_credits_charged(stats) == 25
    assert stats["credits_by_call"][FIELDS_CALL] == 1


def test_a_unique_lead_runs_credits_equal_what_the_sandbox_charged(sandbox, config, run_target):
    """Lookups, inserts and tracking-id updates: the summary's credits are the sandbox's."""
    sandbox.seed(
        [
            {"Last_Name": f"Old {i}", "Email": f"p{i}@example.com", "CDP_ID": f"old{i}"}
            for i in range(0, 300, 3)
        ]
    )
    config.update(unique_lead=True, field_mapping=MAPPING, write_method="records")
    config.update(batch_size_rows=100)
    people = [
        {"name": f"P{i}", "email": f"p{i % 250}@example.com", "anonymous_id": f"a{i}"}
        for i in range(300)
    ]
    run = run_target(config, singer_lines("web", people))
    assert run.returncode == 0, run.errors
    stats = sandbox.stats()
    print(f"unique_lead: {stats['credits_by_call']}; {run.summary('web')}")
    calls = set(stats["credits_by_call"])
    assert {"POST /crm/v8/coql", "POST /crm/v8/Leads", "PUT /crm/v8/Leads"} <= calls
    assert summary_credits(run.summary("web")) == stream_credits_charged(stats)
