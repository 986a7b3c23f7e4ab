"""Count the Zoho API calls the target spends per 1,000 records.

Runs the real ``target-zoho-leads`` command against the local sandbox on
10,000 CDP records of which 30% belong to people already in the CRM and 20%
repeat a person seen earlier in the input, once with ``unique_lead`` on and
once in plain insert mode, and prints the calls per 1,000 records beside the
goals (insert: 10, Zoho's 100-record limit; unique: at most 25).

    .venv/bin/python benchmarks/api_calls.py [--records 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from target_zoho_leads.sandbox import ZohoSandbox

MAPPING = "Last_Name=name,Email=email,Phone=phone,CDP_ID=anonymous_id,City=city"


def make_input(records: int, rng: random.Random) -> tuple[str, list[dict]]:
    """Singer input of CDP events, and the CRM's existing leads."""
    distinct = int(records * 0.8)
    people = [
        {
            "email": f"person{i}@example.com",
            "phone": f"+86139{i:08d}",
            "exists": rng.random() < 0.3,
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


def run(sandbox: ZohoSandbox, stdin: str, existing: list[dict], *, unique: bool) -> dict:
    """One run of the command; returns the sandbox's call counts."""
    sandbox.reset()
    sandbox.seed(existing)
    config = {
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "refresh_token": sandbox.refresh_token,
        "accounts_url": sandbox.accounts_url,
        "field_mapping": MAPPING,
        "unique_lead": unique,
        "max_concurrency": 4,
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(config))
        command = [
            str(Path(sys.executable).parent / "target-zoho-leads"),
            "--config",
            str(path),
        ]
        done = subprocess.run(command, input=stdin.encode(), capture_output=True, check=False)  # noqa: S603
    if done.returncode:
        sys.exit(done.stderr.decode()[-2000:])
    return sandbox.stats()


def main() -> None:
    """Print calls per 1,000 records for both modes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    stdin, existing = make_input(args.records, random.Random(args.seed))
    print(f"{args.records} records, {len(existing)} people already in the CRM, 20% repeats")
    with ZohoSandbox() as sandbox:
        for unique, goal in ((False, "10 (Zoho's 100-record limit)"), (True, "<= 25")):
            stats = run(sandbox, stdin, existing, unique=unique)
            per_1000 = stats["api_calls"] * 1000 / args.records
            calls = ", ".join(f"{name}: {count}" for name, count in sorted(stats["calls"].items()))
            mode = "unique_lead" if unique else "insert     "
            print(
                f"{mode}  {per_1000:5.1f} calls per 1,000 records  (goal {goal}; {calls}; leads now {stats.get('leads', len(sandbox.leads()))})"
            )


if __name__ == "__main__":
    main()
