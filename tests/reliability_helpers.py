"""Shared by the reliability tests: the chaos script's code, quick backoff, leak checks."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import typing as t

from target_zoho_leads.unique.identities import normal_phone
from target_zoho_leads.zoho.retrying import BACKOFF_BASE_ENV
from tests.conftest import ROOT, target_command

if t.TYPE_CHECKING:
    import types
    from pathlib import Path

    from zoho_sandbox import ZohoSandbox

# Every run of the command in these tests logs at DEBUG level, so the leak
# checks see the most the target ever writes; backoff starts at 20 ms so that
# hundreds of injected faults cost seconds, not minutes (docs/RELIABILITY.md).
DEBUG_ENV = {"LOGLEVEL": "DEBUG", BACKOFF_BASE_ENV: "0.02"}
TRACEBACK = re.compile(r"Traceback \(most recent call last\)")


def load_chaos() -> types.ModuleType:
    """``scripts/chaos.py`` as a module: the test asserts the figures the script prints."""
    module = sys.modules.get("chaos_script")
    if module is None:
        spec = importlib.util.spec_from_file_location("chaos_script", ROOT / "scripts" / "chaos.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["chaos_script"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return module


def secrets_of(sandbox: ZohoSandbox) -> list[str]:
    """The client secret, the refresh token and every access token minted so far."""
    return [sandbox.client_secret, sandbox.refresh_token, *sandbox.minted_tokens()]


def personal_values(records: t.Iterable[t.Mapping[str, t.Any]]) -> set[str]:
    """The emails and phones of the input, as written and normalised."""
    values = set()
    for record in records:
        for field in ("email", "phone", "wxPhone"):
            value = record.get(field)
            if isinstance(value, str) and value.strip():
                values.add(value.strip())
                if field != "email":
                    values.add(normal_phone(value) or "")
    values.discard("")
    return values


def assert_nothing_leaks(
    sandbox: ZohoSandbox,
    *,
    stdout: str,
    stderr: str,
    records: t.Iterable[t.Mapping[str, t.Any]] = (),
    files: t.Iterable[Path] = (),
) -> None:
    """No secret in stdout, stderr or ``files``; no input email or phone in the log."""
    outputs = {"stdout": stdout, "stderr": stderr}
    outputs.update({str(path): path.read_text(errors="replace") for path in files if path.exists()})
    for secret in secrets_of(sandbox):
        for name, text in outputs.items():
            assert secret not in text, f"a secret appears in {name}"
    for value in personal_values(records):
        assert value not in stderr, "an input email or phone appears in the log"


def start_target(
    config: dict, folder: Path, stdin: bytes, env: dict | None = None
) -> subprocess.Popen:
    """Start the real command on ``stdin``; its stdout and stderr go to files in ``folder``.

    Files rather than pipes: a killed process's STATE lines are all there,
    and a chatty DEBUG log can never fill a pipe and stall the target.
    """
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "stdin").write_bytes(stdin)
    with (
        (folder / "stdin").open("rb") as given,
        (folder / "stdout").open("wb") as out,
        (folder / "stderr").open("wb") as err,
    ):
        return subprocess.Popen(
            [*target_command(), "--config", str(folder / "config.json")],
            stdin=given,
            stdout=out,
            stderr=err,
            env={**os.environ, **DEBUG_ENV, **(env or {})},
        )


def outputs(folder: Path) -> tuple[str, str]:
    """The stdout and stderr a run left in ``folder``."""
    return (folder / "stdout").read_text(), (folder / "stderr").read_text(errors="replace")


def states(stdout: str) -> list[dict]:
    """The STATE values a run emitted, in order (a cut-off last line is ignored)."""
    lines = stdout.splitlines()
    if lines and not stdout.endswith("\n"):
        lines.pop()  # SIGKILL may cut the last line short
    return [json.loads(line) for line in lines if line.strip()]


def error_lines(stderr: str) -> list[str]:
    """The ERROR lines of a log."""
    return [line for line in stderr.splitlines() if "| ERROR" in line]
