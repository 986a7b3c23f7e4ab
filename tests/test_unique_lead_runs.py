"""Unique Lead across runs: however the input is spelled, split and resumed, one CRM.

People reach the target from several channels and runs, their phones and
emails spelled differently each time, and some are already in the CRM in
formats other systems wrote. The sandbox's COQL compares text exactly here
(Zoho documents no case rule).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import signal
import typing as t

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zoho_sandbox import ZohoSandbox

from target_zoho_leads.unique.identities import normal_email, normal_phone
from tests.reliability_helpers import (
    assert_nothing_leaks,
    error_lines,
    load_chaos,
    outputs,
    start_target,
    states,
)
from tests.test_crash_resume import kill_after_calls
from tests.test_unique_lead import run_in_process

pytestmark = pytest.mark.slow

if t.TYPE_CHECKING:
    from pathlib import Path

MAPPING = "Last_Name=name,Email=email,Phone=phone,CDP_ID=anonymous_id,City=city"
FIELDS = ("Last_Name", "Email", "Phone", "City", "CDP_ID")
MOBILE_PREFIXES = ("139", "152", "186", "137", "150")


def spell_phone(digits: str, style: int) -> str:
    """One of the ways a Chinese mobile number reaches the CDP."""
    a, b, c = digits[:3], digits[3:7], digits[7:]
    return [
        digits,
        f"{a} {b} {c}",
        f"{a}-{b}-{c}",
        f"({a}) {b}-{c}",
        f"+86 {a} {b} {c}",
        f"0086 {a}-{b}-{c}",
        f"+86{digits}",
        f"86{digits}",
        f"+86 ({a}) {b}.{c}",
    ][style]


PHONE_STYLES = 9
NATIONAL_STYLES = 4  # the first four: no country code


def stored_phone(digits: str, style: int) -> str:
    """A format another system may have stored the number in."""
    a, b, c = digits[:3], digits[3:7], digits[7:]
    return [f"+86{digits}", f"+86 {a} {b} {c}", f"{a} {b} {c}", digits, f"86{digits}"][style]


STORED_STYLES = 5
DIGITS_STYLE = 3


def spell_email(email: str, style: int) -> str:
    """An email as typed: any letter case, stray spaces."""
    return [email, email.upper(), email.title(), f"  {email} ", email.capitalize()][style]


EMAIL_STYLES = 5


def lead_shape(lead: t.Mapping[str, t.Any]) -> tuple:
    """The fields a lead is compared on."""
    return tuple(lead.get(field) for field in FIELDS)


def crm(sandbox: ZohoSandbox) -> list[tuple]:
    """The CRM's leads, in a form that does not depend on ids."""
    return sorted(lead_shape(lead) for lead in sandbox.leads())


def unique_settings(sandbox: ZohoSandbox, **extra: t.Any) -> dict[str, t.Any]:
    """Unique Lead, region CN, as a customer in China would set it."""
    return sandbox.target_settings(
        field_mapping=MAPPING,
        default_values="Last_Name=Unknown",
        unique_lead=True,
        default_phone_region="CN",
        max_retries=3,
        **extra,
    )


def singer_text(records: t.Sequence[dict]) -> str:
    """One stream of ``records``."""
    schema = {"type": "object", "properties": {}}
    lines = [
        json.dumps({"type": "SCHEMA", "stream": "cdp", "schema": schema, "key_properties": []})
    ]
    lines += [json.dumps({"type": "RECORD", "stream": "cdp", "record": r}) for r in records]
    return "\n".join(lines) + "\n"


# Property: random people, spellings, splits into runs and batch sizes.


@st.composite
def people_and_runs(draw):
    """People (some in the CRM already), their records spelled at random, cut into runs."""
    people = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["email", "phone", "both"]))
        digits = (
            draw(st.sampled_from(MOBILE_PREFIXES))
            + f"{i:04d}"
            + f"{draw(st.integers(0, 9999)):04d}"
        )
        person = {
            "email": f"wei.{i}@example{i}.cn" if kind != "phone" else None,
            "digits": digits if kind != "email" else None,
            "stored": draw(st.integers(0, STORED_STYLES - 1)) if draw(st.booleans()) else None,
            "city": draw(st.sampled_from(["Shanghai", "Hangzhou", "Beijing"])),
        }
        people.append(person)
    records = []
    for seq in range(draw(st.integers(1, 20))):
        who = draw(st.integers(-1, len(people) - 1))  # -1: nobody (no email, no phone)
        record = {"anonymous_id": f"r{seq}", "name": f"Name {seq}", "city": "Nowhere"}
        if who >= 0:
            person = people[who]
            record["city"] = person["city"]
            if person["email"]:
                record["email"] = spell_email(
                    person["email"], draw(st.integers(0, EMAIL_STYLES - 1))
                )
            if person["digits"] and (not person["email"] or draw(st.booleans())):
                record["phone"] = spell_phone(
                    person["digits"], draw(st.integers(0, PHONE_STYLES - 1))
                )
        records.append((who, record))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(records) - 1)), max_size=3)))
    batch_sizes = [draw(st.integers(1, 8)) for _ in range(len(cuts) + 1)]
    return people, records, cuts, batch_sizes, draw(st.sampled_from(MATCH_FIELDS))


# The shapes match_fields may take here: email and phone in either order, with
# Mobile and the tracking id (unique per record in these inputs) or without.
MATCH_FIELDS = (
    ["Email", "Phone"],
    ["Phone", "Email"],
    ["Email", "Phone", "Mobile"],
    ["Mobile", "Email", "Phone"],
    ["Email", "Phone", "Mobile", "CDP_ID"],
)


def seed_existing(sandbox: ZohoSandbox, people: list[dict]) -> dict[int, tuple]:
    """Store the people who are leads already, as other systems wrote them."""
    existing = {}
    for index, person in enumerate(people):
        if person["stored"] is None:
            continue
        lead = {"Last_Name": f"Existing {index}", "City": "Keep", "CDP_ID": "old"}
        if person["email"]:
            lead["Email"] = person["email"]
        if person["digits"]:
            lead["Phone"] = stored_phone(person["digits"], person["stored"])
        (lead_id,) = sandbox.seed([lead])
        existing[index] = (lead_id, lead)
    return existing


def run_split(sandbox: ZohoSandbox, people, records, split, match_fields) -> dict[int, tuple]:
    """A fresh CRM, then the records in runs cut at ``split``'s cuts; the existing leads."""
    cuts, batch_sizes = split
    sandbox.reset()
    sandbox.configure(coql_case_sensitive=True)
    existing = seed_existing(sandbox, people)
    bounds = [0, *cuts, len(records)]
    for (start, end), batch in zip(itertools.pairwise(bounds), batch_sizes, strict=True):
        part = [record for _, record in records[start:end]]
        settings = unique_settings(sandbox, batch_size_rows=batch, match_fields=match_fields)
        run_in_process(settings, singer_text(part))
    return existing


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=people_and_runs())
def test_one_lead_per_person_and_one_crm_whatever_the_spelling_split_and_batch_size(
    shared_sandbox, case
):
    """Cut into 1-4 runs of any batch size, any match_fields: one run's CRM, one lead each."""
    people, records, cuts, batch_sizes, match_fields = case
    existing = run_split(shared_sandbox, people, records, (cuts, batch_sizes), match_fields)
    leads = shared_sandbox.leads()
    split = crm(shared_sandbox)
    run_split(shared_sandbox, people, records, ([], [600]), match_fields)
    assert split == crm(shared_sandbox)

    last = {who: record["anonymous_id"] for who, record in records}
    by_id = {lead["id"]: lead for lead in leads}
    for index, person in enumerate(people):
        mine = [
            lead
            for lead in leads
            if (person["email"] and normal_email(lead.get("Email")) == person["email"])
            or (
                person["digits"]
                and normal_phone(lead.get("Phone"), "CN") == f"+86{person['digits']}"
            )
        ]
        if index not in existing and index not in last:
            assert mine == []
            continue
        assert len(mine) == 1, (index, person, mine)
        assert mine[0]["CDP_ID"] == last.get(index, "old")
        if index in existing:
            lead_id, stored = existing[index]
            assert {k: by_id[lead_id].get(k) for k in stored if k != "CDP_ID"} == {
                k: v for k, v in stored.items() if k != "CDP_ID"
            }
        else:
            # Created from the person's first record, canonical identities.
            first = next(record for who, record in records if who == index)
            assert mine[0]["City"] == first["city"]
            assert mine[0]["Last_Name"] == first["name"]
            if "email" in first:
                assert mine[0]["Email"] == person["email"]
            if "phone" in first:
                assert mine[0]["Phone"] == f"+86{person['digits']}"
    anonymous = sum(1 for who, _ in records if who == -1)
    people_with_lead = sum(1 for i in range(len(people)) if i in existing or i in last)
    assert len(leads) == people_with_lead + anonymous


# Crash and resume: the resumed run's input is spelled differently.

chaos = load_chaos()
SEEDS = range(10)
DEFAULT_SETTINGS_SEEDS = range(100, 105)
PEOPLE = 200
RECORDS = 500
STATE_EVERY = 25
LATENCY_MS = 30
RUN_TIMEOUT = 60


@dataclasses.dataclass
class People:
    """People with fixed fields, some already leads; records of them respelled per run."""

    people: list[dict[str, t.Any]]
    owners: list[int]
    region: str | None = "CN"

    def records(self, rng: random.Random) -> list[dict[str, t.Any]]:
        """The input, each email and phone spelled anew."""
        records = []
        for seq, who in enumerate(self.owners):
            person = self.people[who]
            record = {"anonymous_id": f"r{seq}", "name": person["name"], "city": person["city"]}
            if person["email"]:
                record["email"] = spell_email(person["email"], rng.randrange(EMAIL_STYLES))
            if person["digits"]:
                styles = PHONE_STYLES if self.region else NATIONAL_STYLES
                record["phone"] = spell_phone(person["digits"], rng.randrange(styles))
            records.append(record)
        return records

    def expected(self) -> list[tuple]:
        """The CRM after a complete run: one lead per person, canonical identities."""
        last = {who: f"r{seq}" for seq, who in enumerate(self.owners)}
        leads = []
        for index, person in enumerate(self.people):
            if person["existing"] is not None:
                leads.append(lead_shape({**person["existing"], "CDP_ID": last.get(index, "old")}))
            elif index in last:
                lead = {"Last_Name": person["name"], "City": person["city"], "CDP_ID": last[index]}
                if person["email"]:
                    lead["Email"] = person["email"]
                if person["digits"]:
                    # Without a region a national number is stored as its digits.
                    lead["Phone"] = ("+86" if self.region else "") + person["digits"]
                leads.append(lead_shape(lead))
        return sorted(leads)


def make_people(rng: random.Random, region: str | None = "CN") -> People:
    """200 people (30% leads already, stored in other formats), 500 records of them.

    Without a region the records spell phones the national way only, and the
    leads already there hold them as digits: a number stored by another system
    as ``152 1822 2540`` is found again only with the region set.
    """
    people = []
    for i in range(PEOPLE):
        kind = rng.choice(("both", "both", "email", "phone"))
        person = {
            "name": f"Person {i}",
            "city": rng.choice(("Shanghai", "Hangzhou", "Beijing")),
            "email": f"crash.{i}@example.cn" if kind != "phone" else None,
            "digits": rng.choice(MOBILE_PREFIXES) + f"{i:08d}" if kind != "email" else None,
            "existing": None,
        }
        if rng.random() < 0.3:
            existing = {"Last_Name": f"Existing {i}", "City": "Keep", "CDP_ID": "old"}
            if person["email"]:
                existing["Email"] = person["email"]
            if person["digits"]:
                style = rng.randrange(STORED_STYLES) if region else DIGITS_STYLE
                existing["Phone"] = stored_phone(person["digits"], style)
            person["existing"] = existing
        people.append(person)
    return People(people, [rng.randrange(PEOPLE) for _ in range(RECORDS)], region)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "region"),
    [*((seed, "CN") for seed in SEEDS), *((seed, None) for seed in DEFAULT_SETTINGS_SEEDS)],
)
def test_a_killed_run_resumed_with_other_spellings_leaves_exactly_the_expected_crm(
    seed, region, tmp_path: Path
):
    """SIGKILL mid-run, resume from the last STATE with every value respelled: exact CRM.

    Also with default settings (no default_phone_region), phones respelled in
    national formats across the runs: one lead per person.
    """
    rng = random.Random(seed)  # noqa: S311 - test data
    data = make_people(rng, region)
    regional = {"default_phone_region": region} if region else {}
    kills, sent = 0, []
    with ZohoSandbox(latency_ms=LATENCY_MS) as sandbox:
        sandbox.configure(coql_case_sensitive=True)
        sandbox.seed([p["existing"] for p in data.people if p["existing"]])
        config = chaos.sandbox_config(
            sandbox,
            tmp_path,
            unique_lead=True,
            **regional,
            batch_size_rows=rng.choice((7, 50, 200)),
            max_concurrency=2,
            max_retries=3,
        )
        start = 0
        for attempt in range(3):
            records = data.records(rng)  # spelled anew for each run
            sent += records[start:]
            folder = tmp_path / f"run{attempt}"
            folder.mkdir()
            text = chaos.singer_text(records[start:], start=start, state_every=STATE_EVERY)
            proc = start_target(config, folder, text.encode())
            if attempt < 2:  # two kills at most: the third run goes to the end
                delay = rng.uniform(0, 1.5 * LATENCY_MS / 1000)
                kills += kill_after_calls(proc, sandbox, rng.randint(1, 8), delay)
            returncode = proc.wait(timeout=RUN_TIMEOUT)
            stdout, stderr = outputs(folder)
            emitted = states(stdout)
            start = emitted[-1]["done"] if emitted else start
            if returncode != -signal.SIGKILL:
                assert returncode == 0, error_lines(stderr)
                break
        assert start == RECORDS, "the last run did not reach the end of the input"
        assert_nothing_leaks(
            sandbox, stdout=stdout, stderr=stderr, records=sent, files=[tmp_path / "rejected.jsonl"]
        )
        leads = crm(sandbox)
    assert kills >= 1
    assert leads == data.expected()
