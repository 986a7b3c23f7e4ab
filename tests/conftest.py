"""Shared fixtures: a Zoho sandbox on loopback and the real command to run against it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest
from zoho_sandbox import ZohoSandbox

from target_zoho_leads.zoho.bulk.jobs import POLL_FIRST_ENV
from target_zoho_leads.zoho.retrying import BACKOFF_BASE_ENV

if t.TYPE_CHECKING:
    import requests

ROOT = Path(__file__).resolve().parent.parent
SEED_MAPPING = "Phone=cluePhoneNumber,CDP_ID=anonymous_id,First_Name=adUcName"
SEED_DEFAULTS = "Phone=18600000000, First_Name=Advertising Account Name, Email= 123.test.com"
# Retry waits start at 10 ms instead of 1 s (every wait keeps its doubling,
# jitter and cap; Retry-After is untouched): no test sits out real backoff.
# A test that means the real wait passes ``{BACKOFF_BASE_ENV: ""}``.
QUICK_BACKOFF = {BACKOFF_BASE_ENV: "0.01"}
# The sandbox's bulk jobs complete at once: poll them after 50 ms, not Zoho's wait.
QUICK_POLLS = {POLL_FIRST_ENV: "0.05"}


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


def pytest_collection_modifyitems(items):
    """Mark every hypothesis (fuzz) test slow; slow modules carry ``pytestmark`` themselves."""
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.slow)


def oas_files_missing() -> Path | None:
    """Where Zoho's OAS files should be, if they are not there (as tests/sandbox/oas.py looks)."""
    configured = os.environ.get("ZOHO_OAS_DIR")
    path = Path(configured) if configured else ROOT.parent / "shared/zoho-oas/v8.0"
    return None if (path / "record.json").is_file() else path


def pytest_configure(config):
    """Refuse a CI run without the OAS files; register the ``sandbox_knobs`` marker.

    Outside CI the tests that validate against Zoho's OAS files skip when they
    are missing; in CI a green run must mean they ran, so it stops here instead.
    """
    missing = oas_files_missing()
    if os.environ.get("CI") == "true" and missing:
        msg = (
            f"CI=true, but Zoho's OAS files are not in {missing}: set ZOHO_OAS_DIR "
            "to the folder holding record.json (the OAS tests would all be skipped)"
        )
        raise pytest.UsageError(msg)
    config.addinivalue_line(
        "markers",
        "sandbox_knobs(**knobs): start the sandbox fixture with these knobs "
        "(zoho_sandbox.state.Knobs), e.g. org_concurrency=5",
    )


def sandbox_knobs(request) -> dict:
    """The knobs a test's ``sandbox_knobs`` marker asks for (none: defaults)."""
    marker = request.node.get_closest_marker("sandbox_knobs")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture(scope="session", autouse=True)
def own_cache_folder(tmp_path_factory):
    """The runs' job journal goes to a cache folder of the tests', never the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture
def sandbox(request):
    """A fresh Zoho sandbox for each test, with the knobs of ``@pytest.mark.sandbox_knobs``."""
    with ZohoSandbox(**sandbox_knobs(request)) as zoho:
        yield zoho


@pytest.fixture(scope="module")
def shared_sandbox():
    """One sandbox for the module, for tests that start many runs; each resets it."""
    with ZohoSandbox() as zoho:
        yield zoho


def sandbox_token(sandbox: ZohoSandbox, session: requests.Session) -> str:
    """An access token from the sandbox, minted as the target asks for one."""
    answer = session.post(
        f"{sandbox.url}/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            "refresh_token": sandbox.refresh_token,
        },
        timeout=10,
    )
    return str(answer.json()["access_token"])


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
    """Run the real ``target-zoho-leads`` command on some input, with quick backoff."""

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
            env={**os.environ, **QUICK_BACKOFF, **(env or {})},
        )
        return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode(errors="replace"))

    return run
