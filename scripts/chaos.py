"""Chaos run: the real command on CDP records against a Zoho that keeps failing.

Runs ``target-zoho-leads`` on 10,000 CDP records (80% distinct people, 30% of
them already in the CRM, some records with a malformed email, some with no
email or phone) against the local sandbox injecting 10% 5xx, 5% 429, 2%
dropped connections, 3% answers lost after the write happened and token
expiry every 50 calls, once with ``unique_lead`` on and once off, and prints
the figures of issue 5 with PASS or FAIL beside each:

- records in = created + updated + unchanged + rejected;
- unique_lead on: exactly one lead per person, lost answers included;
  insert mode: every record's lead present, extra copies no more than the
  records the summary reports as sent again after a lost answer;
- exit code 0;
- most access tokens minted in any 10 minutes (Zoho allows 10);
- most calls in flight at once against ``max_concurrency``;
- no secret in stdout, stderr or the rejected-records file, and no input
  email or phone in the log (at DEBUG level with ``--debug``).

    .venv/bin/python scripts/chaos.py [--records 10000] [--seed 1] [--debug]
        [--max-concurrency 4] [--backoff-base 1.0]

Backoff waits are real: with the target's 1 s base the 10,000-record run
takes a few minutes. ``--backoff-base 0.05`` shortens the first step through
the TARGET_ZOHO_LEADS_BACKOFF_BASE variable (see docs/RELIABILITY.md). The test
suite's ``tests/test_chaos.py`` runs the same code on fewer records.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

from zoho_sandbox import ZohoSandbox

from target_zoho_leads.unique.identities import normal_email, normal_phone
from target_zoho_leads.zoho.retrying import BACKOFF_BASE_ENV

STREAM = "cdp_events"
MAPPING = "Last_Name=name,Email=email,Phone=phone,CDP_ID=anonymous_id,City=city"
FAULTS: dict[str, t.Any] = {
    "fail_5xx_rate": 0.10,
    "fail_429_rate": 0.05,
    "drop_before_rate": 0.02,
    "drop_after_rate": 0.03,
    "token_expiry_calls": 50,
}
TOKEN_WINDOW_SECONDS = 600
TOKENS_PER_WINDOW = 10  # Zoho's limit per refresh token
SUMMARY = re.compile(
    r"Stream '(?P<stream>[^']+)': (?P<read>\d+) records read, (?P<created>\d+) leads "
    r"created, (?P<updated>\d+) updated, (?P<unchanged>\d+) unchanged duplicates, "
    r"(?P<rejected>\d+) rejected, (?P<calls>\d+) API calls, \d+ API credits"
    r"(?:, concurrency settled at \d+)?"
    r"(?:, (?P<ambiguous>\d+) writes of unknown outcome)?"
)


@dataclasses.dataclass
class Person:
    """Someone the CDP saw: the same email and phone on each of their records."""

    index: int
    email: str | None
    phone: str | None
    exists: bool

    @property
    def keys(self) -> set[tuple[str, str | None]]:
        """The person's normalised identities."""
        keys = set()
        if self.email:
            keys.add(("email", normal_email(self.email)))
        if self.phone:
            keys.add(("phone", normal_phone(self.phone)))
        return keys


@dataclasses.dataclass
class ChaosInput:
    """The records, the people behind them and the leads the CRM holds already."""

    people: list[Person]
    records: list[dict[str, t.Any]]
    owners: list[int | None]  # the person of each record; None: nobody
    bad: set[int]  # records whose email Zoho would refuse

    def existing_leads(self) -> list[dict[str, t.Any]]:
        """The CRM's leads before the run: normalised email and phone, tracking id 'old'."""
        return [
            {
                "Last_Name": f"Existing {p.index}",
                "City": "Keep",
                "CDP_ID": "old",
                **({"Email": normal_email(p.email)} if p.email else {}),
                **({"Phone": normal_phone(p.phone)} if p.phone else {}),
            }
            for p in self.people
            if p.exists
        ]


def make_input(records: int, rng: random.Random) -> ChaosInput:
    """CDP events: 80% distinct people, 2% with no identity, 0.5% with a bad email.

    Each person keeps one written form of their phone (``+86 139 ...`` or
    ``+86139...``) on every record, while the email's letter case varies:
    Zoho's COQL ignores case but compares phones exactly.
    """
    distinct = max(1, int(records * 0.8))
    people = []
    for i in range(distinct):
        kind = rng.choices(("both", "email", "phone"), weights=(70, 15, 15))[0]
        digits = f"{i:08d}"
        spaced = f"+86 139 {digits[:4]} {digits[4:]}"
        people.append(
            Person(
                index=i,
                email=f"person{i}@example.com" if kind != "phone" else None,
                phone=rng.choice((f"+86139{digits}", spaced)) if kind != "email" else None,
                exists=rng.random() < 0.3,  # noqa: PLR2004
            )
        )
    order = list(range(distinct)) + [rng.randrange(distinct) for _ in range(records - distinct)]
    rng.shuffle(order)
    out = ChaosInput(people, [], [], set())
    for seq, who in enumerate(order):
        event: dict[str, t.Any] = {"anonymous_id": f"anon-{seq}", "city": f"City {seq}"}
        roll = rng.random()
        if roll < 0.02:  # noqa: PLR2004 - someone who left no email and no phone
            event["name"] = f"Anonymous {seq}"
            out.owners.append(None)
        elif roll < 0.025:  # noqa: PLR2004 - a form typo Zoho would refuse
            event.update(name=f"Typo {seq}", email=f"typo{seq} at example.com")
            out.owners.append(None)
            out.bad.add(seq)
        else:
            person = people[who]
            event["name"] = f"Person {who}"
            if person.email:
                event["email"] = rng.choice((str.lower, str.upper, str.title))(person.email)
            if person.phone:
                event["phone"] = person.phone
            out.owners.append(who)
        out.records.append(event)
    return out


def singer_text(
    records: t.Sequence[dict[str, t.Any]], *, start: int = 0, state_every: int = 100
) -> str:
    """SCHEMA, then ``records`` from input position ``start``, a STATE every ``state_every``.

    Each STATE's bookmark is the number of records before it in the whole
    input, so a resumed run starts at ``records[bookmark:]`` as a tap would.
    """
    schema = {"type": "object", "properties": {}}
    lines = [
        json.dumps({"type": "SCHEMA", "stream": STREAM, "schema": schema, "key_properties": []})
    ]
    for offset, record in enumerate(records, start=start + 1):
        lines.append(json.dumps({"type": "RECORD", "stream": STREAM, "record": record}))
        if offset % state_every == 0 or offset == start + len(records):
            lines.append(json.dumps({"type": "STATE", "value": {"done": offset}}))
    return "\n".join(lines) + "\n"


def target_command() -> list[str]:
    """The installed console script beside this Python."""
    script = Path(sys.executable).parent / "target-zoho-leads"
    return [str(script)] if script.exists() else [sys.executable, "-m", "target_zoho_leads"]


def sandbox_config(sandbox: ZohoSandbox, folder: Path, **settings: t.Any) -> dict[str, t.Any]:
    """Settings pointing at ``sandbox``, rejected records kept in ``folder``."""
    return sandbox.target_settings(
        **{
            "field_mapping": MAPPING,
            "default_values": "Last_Name=Unknown",
            "rejected_records_path": str(folder / "rejected.jsonl"),
            **settings,
        }
    )


@dataclasses.dataclass
class Figures:
    """What one chaos run showed."""

    mode: str
    records_in: int
    exit_code: int
    summary: dict[str, int]
    leads: int
    expected_leads: int
    extra_copies: int
    problems: list[str]
    max_tokens_in_window: int
    tokens_minted: int
    max_in_flight: int
    max_concurrency: int
    faults: dict[str, int]
    api_calls: int
    seconds: float
    last_state: dict[str, t.Any] | None
    leaked: list[str]

    @property
    def accounted(self) -> int:
        """Records the summary says became something."""
        s = self.summary
        return (
            s.get("created", 0) + s.get("updated", 0) + s.get("unchanged", 0) + s.get("rejected", 0)
        )

    def failures(self) -> list[str]:
        """Each figure that misses issue 5's bar, in words; empty when all hold."""
        out = list(self.problems)
        if self.exit_code != 0:
            out.append(f"exit code {self.exit_code}")
        if self.summary.get("read") != self.records_in or self.accounted != self.records_in:
            out.append(f"{self.records_in} records in, summary {self.summary}")
        if self.max_tokens_in_window > TOKENS_PER_WINDOW:
            out.append(f"{self.max_tokens_in_window} tokens minted in 10 minutes")
        if self.max_in_flight > self.max_concurrency:
            out.append(
                f"{self.max_in_flight} calls in flight, max_concurrency {self.max_concurrency}"
            )
        if self.last_state != {"done": self.records_in}:
            out.append(f"last STATE {self.last_state}")
        out += [f"leaked: {what}" for what in self.leaked]
        return out

    def report(self) -> str:
        """The figures as printed lines, each marked PASS or FAIL."""
        s = self.summary
        resent = s.get("ambiguous") or 0
        which = "with no email or phone " if self.mode.endswith("on") else ""
        checks = [
            (
                self.accounted == self.records_in,
                (
                    f"records in {self.records_in} = created {s.get('created')} + updated "
                    f"{s.get('updated')} + unchanged {s.get('unchanged')} + rejected "
                    f"{s.get('rejected')} = {self.accounted} "
                    f"({resent} in writes of unknown outcome)"
                ),
            ),
            (
                not self.problems,
                (
                    f"leads in the CRM {self.leads}: expected {self.expected_leads} + "
                    f"{self.extra_copies} extra copies of records {which}sent again "
                    f"after a lost answer (at most {resent})"
                )
                + "".join(f"; {p}" for p in self.problems[:5]),
            ),
            (self.exit_code == 0, f"exit code {self.exit_code}"),
            (
                self.max_tokens_in_window <= TOKENS_PER_WINDOW,
                (
                    f"tokens minted {self.tokens_minted}, at most "
                    f"{self.max_tokens_in_window} in any 10 minutes"
                ),
            ),
            (
                self.max_in_flight <= self.max_concurrency,
                (
                    f"max calls in flight {self.max_in_flight} "
                    f"(max_concurrency {self.max_concurrency})"
                ),
            ),
            (
                self.last_state == {"done": self.records_in},
                f"last STATE {self.last_state}",
            ),
            (
                not self.leaked,
                "secrets and personal data kept out of the outputs"
                + "".join(f"; {p}" for p in self.leaked[:5]),
            ),
        ]
        head = (
            f"[{self.mode}] {self.records_in} records in {self.seconds:.0f} s, "
            f"{self.api_calls} API calls, faults injected {self.faults}"
        )
        return "\n".join([head, *(f"  {'PASS' if ok else 'FAIL'} {text}" for ok, text in checks)])


def most_in_window(times: t.Sequence[float], window: float = TOKEN_WINDOW_SECONDS) -> int:
    """The most timestamps that fall within any ``window`` seconds."""
    ordered = sorted(times)
    best, first = 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


def check_unique(
    data: ChaosInput, leads: list[dict[str, t.Any]], resent: int
) -> tuple[int, int, list[str]]:
    """Exactly one lead per person, existing leads unchanged but for CDP_ID.

    Records with no email and no phone cannot be looked up: like insert mode,
    a lost answer may leave two copies, never more than the records re-sent.

    Returns:
        The leads expected, the extra copies seen, and what is wrong.
    """
    holders: dict[tuple[str, str | None], list[str]] = {}
    for lead in leads:
        for key in (
            ("email", normal_email(lead.get("Email"))),
            ("phone", normal_phone(lead.get("Phone"))),
        ):
            if key[1]:
                holders.setdefault(key, []).append(lead["id"])
    shared = sum(len(ids) > 1 for ids in holders.values())
    problems = [f"{shared} emails or phones held by more than one lead"] if shared else []
    expected = _check_people(data, {lead["id"]: lead for lead in leads}, holders, problems)
    anonymous = [
        r["anonymous_id"]
        for seq, r in enumerate(data.records)
        if data.owners[seq] is None and seq not in data.bad
    ]
    copies = [lead.get("CDP_ID") for lead in leads if lead.get("CDP_ID") in set(anonymous)]
    if set(copies) != set(anonymous):
        problems.append(
            f"{len(set(anonymous) - set(copies))} records with no email or phone have no lead"
        )
    extra = len(copies) - len(set(copies))
    if extra > resent:
        problems.append(
            f"{extra} extra copies but only {resent} records re-sent after a lost answer"
        )
    expected += len(anonymous)
    if len(leads) != expected + extra:
        problems.append(f"{len(leads)} leads, expected {expected} + {extra} extra copies")
    return expected, extra, problems


def _check_people(
    data: ChaosInput,
    by_id: dict[str, dict[str, t.Any]],
    holders: dict[tuple[str, str | None], list[str]],
    problems: list[str],
) -> int:
    """Check each person's one lead; return how many people should have one."""
    last_record = {
        who: data.records[seq]["anonymous_id"]
        for seq, who in enumerate(data.owners)
        if who is not None
    }
    expected = 0
    for person in data.people:
        if not person.exists and person.index not in last_record:
            continue
        expected += 1
        ids = {i for key in person.keys for i in holders.get(key, [])}
        if len(ids) != 1:
            problems.append(f"person {person.index} has {len(ids)} leads")
            continue
        lead = by_id[ids.pop()]
        if lead.get("CDP_ID") != last_record.get(person.index, "old"):
            problems.append(f"person {person.index}'s tracking id is not their latest")
        kept = (lead.get("City"), lead.get("Last_Name")) == (
            "Keep",
            f"Existing {person.index}",
        )
        if person.exists and not kept:
            problems.append(
                f"existing lead of person {person.index} changed beyond its tracking id"
            )
    return expected


def check_insert(
    data: ChaosInput, leads: list[dict[str, t.Any]], resent: int
) -> tuple[int, int, list[str]]:
    """Every good record's lead present; extra copies only from answers that were lost.

    Returns:
        The leads expected, the extra copies seen, and what is wrong.
    """
    problems: list[str] = []
    seeded = sum(p.exists for p in data.people)
    ids = [lead.get("CDP_ID") for lead in leads if lead.get("CDP_ID") != "old"]
    wanted = {r["anonymous_id"] for seq, r in enumerate(data.records) if seq not in data.bad}
    missing = wanted - set(ids)
    if missing:
        problems.append(f"{len(missing)} records have no lead")
    unexpected = set(ids) - wanted
    if unexpected:
        problems.append(f"{len(unexpected)} leads of rejected records")
    extra = len(ids) - len(set(ids))
    if extra > resent:
        problems.append(
            f"{extra} extra copies but only {resent} records re-sent after a lost answer"
        )
    return seeded + len(wanted), extra, problems


def leaks(
    sandbox: ZohoSandbox, data: ChaosInput, stdout: str, stderr: str, rejected: str
) -> list[str]:
    """Secrets found in any output, and input emails or phones found in the log."""
    found = []
    secrets = [sandbox.client_secret, sandbox.refresh_token, *sandbox.minted_tokens()]
    for name, text in (
        ("stdout", stdout),
        ("stderr", stderr),
        ("rejected records", rejected),
    ):
        hits = sum(secret in text for secret in secrets)
        if hits:
            found.append(f"{hits} secrets in {name}")
    personal = {r[f] for r in data.records for f in ("email", "phone") if r.get(f)}
    personal |= {normal_phone(r["phone"]) for r in data.records if r.get("phone")}
    logged = sorted(v for v in personal if v and v in stderr)
    if logged:
        found.append(f"{len(logged)} input emails or phones in the log")
    return found


def run_chaos(  # noqa: PLR0913
    data: ChaosInput,
    *,
    unique: bool,
    seed: int,
    max_concurrency: int = 4,
    batch_size_rows: int | None = None,
    state_every: int = 100,
    env: dict[str, str] | None = None,
    timeout: float = 3600,
) -> Figures:
    """Run the real command once on ``data`` against a faulty sandbox and measure it."""
    with (
        ZohoSandbox(seed=seed, **FAULTS) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        sandbox.seed(data.existing_leads())
        settings: dict[str, t.Any] = {
            "unique_lead": unique,
            "max_concurrency": max_concurrency,
        }
        if batch_size_rows:
            settings["batch_size_rows"] = batch_size_rows
        config = sandbox_config(sandbox, folder, **settings)
        (folder / "config.json").write_text(json.dumps(config))
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603
            [*target_command(), "--config", str(folder / "config.json")],
            input=singer_text(data.records, state_every=state_every).encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **(env or {})},
        )
        seconds = time.monotonic() - started
        stdout, stderr = done.stdout.decode(), done.stderr.decode(errors="replace")
        rejected_path = folder / "rejected.jsonl"
        rejected = rejected_path.read_text() if rejected_path.exists() else ""
        match = [m.groupdict() for m in SUMMARY.finditer(stderr) if m["stream"] == STREAM]
        summary = {k: int(v) for k, v in match[-1].items() if k != "stream" and v} if match else {}
        leads = sandbox.leads()
        check = check_unique if unique else check_insert
        expected, extra, problems = check(data, leads, summary.get("ambiguous", 0))
        stats = sandbox.stats()
        states = [json.loads(line) for line in stdout.splitlines() if line.strip()]
        return Figures(
            mode="unique_lead on" if unique else "unique_lead off",
            records_in=len(data.records),
            exit_code=done.returncode,
            summary=summary,
            leads=len(leads),
            expected_leads=expected,
            extra_copies=extra,
            problems=problems,
            max_tokens_in_window=most_in_window(stats["token_mint_times"]),
            tokens_minted=stats["tokens_minted"],
            max_in_flight=stats["max_in_flight"],
            max_concurrency=max_concurrency,
            faults={k: v for k, v in stats["faults"].items() if v},
            api_calls=stats["api_calls"],
            seconds=seconds,
            last_state=states[-1] if states else None,
            leaked=leaks(sandbox, data, stdout, stderr, rejected),
        )


def main() -> None:
    """Run both modes and print their figures; exit 1 if any misses."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-concurrency", type=int, default=4)
    parser.add_argument(
        "--batch-size-rows",
        type=int,
        default=400,
        help="records per batch (4 calls of 100)",
    )
    parser.add_argument(
        "--backoff-base",
        type=float,
        default=None,
        help="first backoff step in seconds (< 1)",
    )
    parser.add_argument("--debug", action="store_true", help="run the target at LOGLEVEL=DEBUG")
    args = parser.parse_args()
    env = {"LOGLEVEL": "DEBUG"} if args.debug else {}
    if args.backoff_base is not None:
        env[BACKOFF_BASE_ENV] = str(args.backoff_base)
    data = make_input(args.records, random.Random(args.seed))  # noqa: S311 - test data
    print(
        f"{args.records} records, {sum(p.exists for p in data.people)} people already in the CRM, "
        f"faults {FAULTS}, backoff base {env.get(BACKOFF_BASE_ENV, '1.0')} s"
    )
    failed = False
    for unique in (True, False):
        figures = run_chaos(
            data,
            unique=unique,
            seed=args.seed,
            max_concurrency=args.max_concurrency,
            batch_size_rows=args.batch_size_rows,
            env=env,
        )
        print(figures.report(), flush=True)
        failed = failed or bool(figures.failures())
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
