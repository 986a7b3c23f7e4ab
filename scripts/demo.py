"""`make demo`: the sample CDP events through the real target into the local sandbox.

Starts the Zoho sandbox in its own process, points a copy of
``sample_config.json`` at it, pipes ``sample/cdp_events.singer`` into
``target-zoho-leads``, then shows the leads the sandbox holds, the target's
summary and the rejected records, and stops the sandbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "demo-output"
SHOWN_FIELDS = (
    "Last_Name",
    "Email",
    "Phone",
    "CDP_ID",
    "Event_Name",
    "Area",
    "Lead_Source",
)


def start_sandbox() -> tuple[subprocess.Popen[str], str]:
    """Start the sandbox on a free port and return it with its accounts URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoho_sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if "accounts_url=" not in line:
        proc.kill()
        sys.exit(f"the sandbox did not start: {line!r}")
    return proc, line.strip().split("accounts_url=", 1)[1]


def demo_config(url: str) -> Path:
    """The sample config with the sandbox's URL and credentials."""
    config = json.loads((ROOT / "sample_config.json").read_text())
    config.update(
        accounts_url=url,
        client_id="sandbox-client-id",
        client_secret="sandbox-client-secret",  # noqa: S106 - the sandbox's own
        refresh_token="sandbox-refresh-token",  # noqa: S106
        rejected_records_path=str(OUT / "rejected_records.jsonl"),
    )
    path = OUT / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def show_leads(url: str) -> None:
    """Print the sandbox's leads as a table."""
    with urllib.request.urlopen(f"{url}/__sandbox/leads") as answer:  # noqa: S310
        leads = json.load(answer)
    print(f"\nLeads in the Zoho sandbox ({len(leads)}):")
    widths = [max(len(f), *(len(str(lead.get(f, ""))) for lead in leads)) for f in SHOWN_FIELDS]
    print("  ".join(f.ljust(w) for f, w in zip(SHOWN_FIELDS, widths, strict=True)))
    for lead in leads:
        cells = (str(lead.get(f, "")).ljust(w) for f, w in zip(SHOWN_FIELDS, widths, strict=True))
        print("  ".join(cells))


def main() -> int:
    """Run the demo and return the target's exit code."""
    OUT.mkdir(exist_ok=True)
    (OUT / "rejected_records.jsonl").unlink(missing_ok=True)
    sandbox, url = start_sandbox()
    try:
        config = demo_config(url)
        print(f"Zoho sandbox at {url}; running target-zoho-leads on sample/cdp_events.singer\n")
        target = Path(sys.executable).parent / "target-zoho-leads"
        with (ROOT / "sample" / "cdp_events.singer").open() as events:
            run = subprocess.run(  # noqa: S603
                [str(target), "--config", str(config)],
                stdin=events,
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        print("Target log (stderr):")
        for line in run.stderr.splitlines():
            if "Stream '" in line or "rejected" in line or "ERROR" in line:
                print(f"  {line}")
        print("\nSTATE the target passed on (stdout):")
        print("  " + "\n  ".join(run.stdout.splitlines()))
        show_leads(url)
        rejected = OUT / "rejected_records.jsonl"
        if rejected.exists():
            print(f"\nRejected records, kept in {rejected.relative_to(ROOT)}:")
            for line in rejected.read_text().splitlines():
                item = json.loads(line)
                print(
                    f"  {item['code']} on {item['field']}: event {item['record'].get('event_id')}"
                )
        print(f"\nExit code: {run.returncode}")
        return run.returncode
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
