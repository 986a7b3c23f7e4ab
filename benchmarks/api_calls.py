"""Count the Zoho API calls and credits the target spends per 1,000 records.

Runs the real ``target-zoho-leads`` command against the local sandbox on
10,000 CDP records of which 30% belong to people already in the CRM and 20%
repeat a person seen earlier in the input, once with ``unique_lead`` on and
once in plain insert mode, by the records API (``write_method: records``), and
prints the calls and credits per 1,000 records beside the goals (insert: 10
calls, Zoho's 100-record limit; unique: at most 12 calls, issue 11).

    .venv/bin/python benchmarks/api_calls.py [--records 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

from zoho_sandbox import ZohoSandbox

MAPPING = "Last_Name=name,Email=email,Phone=phone,CDP_ID=anonymous_id,City=city"
EXISTING_SHARE = 0.3  # of the distinct people, already leads in the CRM
REPEAT_SHARE = 0.2  # of the records, a person seen earlier in the input


class Sandbox(t.Protocol):
    """What a run needs of the sandbox: ``ZohoSandbox`` or ``SandboxProcess``."""

    client_id: str
    client_secret: str
    refresh_token: str
    accounts_url: str

    def reset(self) -> None:
        """Forget leads and stats."""

    def seed(self, leads: list[dict[str, t.Any]]) -> list[str]:
        """Store leads as already in the CRM."""

    def stats(self) -> dict[str, t.Any]:
        """Calls, credits and records written since the last reset."""


def distinct_people(records: int) -> int:
    """How many people ``make_input`` spreads ``records`` over."""
    return int(records * (1 - REPEAT_SHARE))


def make_input(records: int, rng: random.Random) -> tuple[str, list[dict]]:
    """Singer input of CDP events, and the CRM's existing leads."""
    distinct = distinct_people(records)
    people = [
        {
            "email": f"person{i}@example.com",
            "phone": f"+86139{i:08d}",
            "exists": rng.random() < EXISTING_SHARE,
        }
        for i in range(distinct)
    ]
    order = list(range(distinct)) + [rng.randrange(distinct) for _ in range(records - distinct)]
    rng.shuffle(order)
    lines = [
        json.dumps(
            {
                "type": "SCHEMA",
                "stream": "cdp_events",
                "schema": {"type": "object", "properties": {}},
                "key_properties": [],
            }
        )
    ]
    for seq, who in enumerate(order):
        person = people[who]
        event = {
            "anonymous_id": f"anon-{seq}",
            "name": f"Person {who}",
            "email": person["email"],
            "phone": person["phone"],
        }
        lines.append(json.dumps({"type": "RECORD", "stream": "cdp_events", "record": event}))
    existing = [
        {
            "Last_Name": f"Person {i}",
            "Email": p["email"],
            "Phone": p["phone"],
            "CDP_ID": "old",
        }
        for i, p in enumerate(people)
        if p["exists"]
    ]
    return "\n".join(lines) + "\n", existing


def config(sandbox: Sandbox, *, unique: bool, **settings: object) -> dict[str, t.Any]:
    """The target's config for this workload; the records API unless ``settings`` say."""
    return {
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "refresh_token": sandbox.refresh_token,
        "accounts_url": sandbox.accounts_url,
        "field_mapping": MAPPING,
        "unique_lead": unique,
        "max_concurrency": 4,
        # The figures measure the records API path, as before Bulk Write existed.
        "write_method": "records",
        **settings,
    }


def run(sandbox: Sandbox, stdin: str, existing: list[dict], *, unique: bool) -> dict:
    """One run of the command by the records API; returns the sandbox's stats."""
    sandbox.reset()
    sandbox.seed(existing)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(config(sandbox, unique=unique)))
        command = [
            str(Path(sys.executable).parent / "target-zoho-leads"),
            "--config",
            str(path),
        ]
        done = subprocess.run(  # noqa: S603 - our own command, no shell
            command, input=stdin.encode(), capture_output=True, check=False
        )
    if done.returncode:
        sys.exit(done.stderr.decode()[-2000:])
    return sandbox.stats()


def main() -> None:
    """Print calls and credits per 1,000 records for both modes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311 - test data, not crypto
    stdin, existing = make_input(args.records, rng)
    print(f"{args.records} records, {len(existing)} people already in the CRM, 20% repeats")
    with ZohoSandbox() as sandbox:
        for unique, goal in ((False, "10 (Zoho's 100-record limit)"), (True, "<= 12")):
            stats = run(sandbox, stdin, existing, unique=unique)
            calls_per_1000 = stats["api_calls"] * 1000 / args.records
            credits_per_1000 = stats["credits"] * 1000 / args.records
            calls = ", ".join(f"{name}: {count}" for name, count in sorted(stats["calls"].items()))
            mode = "unique_lead" if unique else "insert     "
            print(
                f"{mode}  {calls_per_1000:5.1f} calls per 1,000 records (goal {goal}), "
                f"{credits_per_1000:5.1f} credits per 1,000; {calls}"
            )


if __name__ == "__main__":
    main()
