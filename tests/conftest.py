"""Shared fixtures: a Zoho sandbox on loopback and the real command to run against it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from zoho_sandbox import ZohoSandbox

ROOT = Path(__file__).resolve().parent.parent
SEED_MAPPING = "Phone=cluePhoneNumber,CDP_ID=anonymous_id,First_Name=adUcName"
SEED_DEFAULTS = "Phone=18600000000, First_Name=Advertising Account Name, Email= 123.test.com"


def target_command() -> list[str]:
    """The installed console script, as a user runs it."""
    script = shutil.which("target-zoho-leads", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "target_zoho_leads"]


@dataclass
class Run:
    """What one run of the command left behind."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def states(self) -> list[dict]:
        """The STATE values the target emitted, in order."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def summary(self, stream: str) -> str:
        """The summary line of ``stream``."""
        lines = [line for line in self.stderr.splitlines() if f"Stream '{stream}':" in line]
        assert lines, f"no summary line for {stream} in:\n{self.stderr[-3000:]}"
        return lines[-1].split("| ", 3)[-1]

    @property
    def errors(self) -> list[str]:
        """The ERROR lines of the log."""
        return [line for line in self.stderr.splitlines() if "| ERROR" in line]


def singer_lines(
    stream: str, records: list[dict], *, state_every: int = 0, schema: dict | None = None
) -> str:
    """A Singer stream of ``records`` with an open schema and optional STATEs."""
    schema = schema or {"type": "object", "properties": {}, "additionalProperties": True}
    lines = [
        json.dumps({"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": []})
    ]
    for index, record in enumerate(records, start=1):
        lines.append(json.dumps({"type": "RECORD", "stream": stream, "record": record}))
        if state_every and index % state_every == 0:
            lines.append(json.dumps({"type": "STATE", "value": {"done": index}}))
    return "\n".join(lines) + "\n"


# Whole modules that run real pipelines, kill runs, inject faults or wait out
# limits: `make test-fast` leaves them out, `make test` and CI run everything.
SLOW_MODULES = {
    "test_pipelines.py",
    "test_chaos.py",
    "test_crash_resume.py",
    "test_reliability.py",
    "test_unique_lead_runs.py",
    "test_bounded_input.py",
    "test_token_block.py",
    "test_concurrency.py",
    "test_bulk_end_to_end.py",
    "test_unique_lead_bulk_runs.py",
}


def pytest_collection_modifyitems(items):
    """Mark the slow tests: the modules above and every hypothesis (fuzz) test."""
    for item in items:
        fuzz = getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
        if item.path.name in SLOW_MODULES or fuzz:
            item.add_marker(pytest.mark.slow)


def pytest_configure(config):
    """Register ``sandbox_knobs``, the marker that sets the sandbox fixture's knobs."""
    config.addinivalue_line(
        "markers",
        "sandbox_knobs(**knobs): start the sandbox fixture with these knobs "
        "(zoho_sandbox.state.Knobs), e.g. org_concurrency=5",
    )


def sandbox_knobs(request) -> dict:
    """The knobs a test's ``sandbox_knobs`` marker asks for (none: defaults)."""
    marker = request.node.get_closest_marker("sandbox_knobs")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
def sandbox(request):
    """A fresh Zoho sandbox for each test, with the knobs of ``@pytest.mark.sandbox_knobs``."""
    with ZohoSandbox(**sandbox_knobs(request)) as zoho:
        yield zoho


@pytest.fixture
def config(sandbox, tmp_path) -> dict:
    """Settings pointing at the sandbox, with the seed's own mapping."""
    return sandbox.target_settings(
        field_mapping="Last_Name=name,Email=email,Phone=phone,Phone=wxPhone,CDP_ID=anonymous_id",
        default_values="Last_Name=Unknown",
        rejected_records_path=str(tmp_path / "rejected.jsonl"),
        max_retries=3,
    )


@pytest.fixture
def run_target(tmp_path):
    """Run the real ``target-zoho-leads`` command on some input."""

    def run(
        settings: dict,
        stdin: str,
        *,
        extra_args: list[str] | None = None,
        env: dict | None = None,
        timeout: float = 120,
    ) -> Run:
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps(settings))
        proc = subprocess.run(
            [*target_command(), "--config", str(config_path), *(extra_args or [])],
            input=stdin.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **(env or {})},
        )
        return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode(errors="replace"))

    return run
