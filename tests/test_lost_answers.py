"""Writes whose answer is lost: the sandbox does the call, then hangs up without answering.

SPEC §6: with Unique Lead on, such a write is settled by looking the people
up again before anything is re-sent; in insert mode the re-send may
duplicate, and the run says how many writes were of unknown outcome.
"""

from __future__ import annotations

import collections

from tests.conftest import singer_lines

PEOPLE = [
    {"name": f"Person {i}", "email": f"p{i}@example.com", "anonymous_id": f"t{i}"}
    for i in range(1, 6)
]


def emails(sandbox) -> collections.Counter:
    """How many leads hold each email."""
    return collections.Counter(lead.get("Email") for lead in sandbox.leads())


def test_a_lost_insert_answer_with_unique_lead_creates_no_duplicate(sandbox, config, run_target):
    """The first insert is done but unanswered: a lookup finds its leads, none made twice."""
    config.update(unique_lead=True, max_retries=3)
    sandbox.lose_answer("POST /crm/v8/Leads", nth=1)
    run = run_target(config, singer_lines("web", PEOPLE, state_every=5))
    assert run.returncode == 0, run.stderr
    assert emails(sandbox) == {person["email"]: 1 for person in PEOPLE}
    assert {lead["CDP_ID"] for lead in sandbox.leads()} == {"t1", "t2", "t3", "t4", "t5"}
    assert run.states[-1] == {"done": 5}
    inserts = [
        r for r in sandbox.requests() if r["method"] == "POST" and r["path"].endswith("/Leads")
    ]
    assert len(inserts) == 1, "the lost insert was settled by a lookup, not sent again"


def test_a_lost_update_answer_with_unique_lead_is_applied_once(sandbox, config, run_target):
    """A tracking-id update whose answer is lost: the lead ends with the new id, no new lead."""
    sandbox.seed([{"Last_Name": "Known", "Email": "p1@example.com", "CDP_ID": "old"}])
    config.update(unique_lead=True, max_retries=3)
    sandbox.lose_answer("PUT /crm/v8/Leads", nth=1)
    run = run_target(config, singer_lines("web", PEOPLE[:1]))
    assert run.returncode == 0, run.stderr
    assert [(lead["Email"], lead["CDP_ID"]) for lead in sandbox.leads()] == [
        ("p1@example.com", "t1")
    ]


def test_a_lost_insert_answer_in_insert_mode_is_settled_by_tracking_id(sandbox, config, run_target):
    """Insert mode looks a lost answer's records up by tracking id: each person once."""
    config.update(max_retries=3)
    sandbox.lose_answer("POST /crm/v8/Leads", nth=1)
    run = run_target(config, singer_lines("web", PEOPLE))
    assert run.returncode == 0, run.stderr
    assert "5 writes of unknown outcome" in run.summary("web")
    # The lost call was applied: the lookup finds every lead, nothing is sent again.
    assert emails(sandbox) == {person["email"]: 1 for person in PEOPLE}
