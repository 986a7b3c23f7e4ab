"""The Zoho sandbox in a process of its own, driven over its ``/__sandbox`` endpoints.

Its own process keeps its CPU out of the target's figures. The class offers
the methods of ``ZohoSandbox`` that ``api_calls.run`` uses, so that benchmark
runs against it unchanged.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import typing as t
import urllib.request

from zoho_sandbox.tokens import Credentials

if t.TYPE_CHECKING:
    import types
    from pathlib import Path

READY = re.compile(r"Zoho sandbox ready: accounts_url=(\S+)")


class SandboxProcess:
    """``python -m zoho_sandbox --port 0``, started and stopped."""

    client_id = Credentials.client_id
    client_secret = Credentials.client_secret
    refresh_token = Credentials.refresh_token

    def __init__(self, log_path: Path) -> None:
        """Prepare; the process starts in ``__enter__``.

        Args:
            log_path: Where the sandbox's stderr goes.
        """
        self._log_path = log_path
        self._process: subprocess.Popen[str] | None = None
        self.accounts_url = ""

    def __enter__(self) -> SandboxProcess:  # noqa: PYI034 - no typing.Self on 3.10
        """Start the sandbox and wait for its ready line."""
        command = [sys.executable, "-m", "zoho_sandbox", "--port", "0"]
        with self._log_path.open("w") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter
                command, stdout=subprocess.PIPE, stderr=log, text=True
            )
        assert self._process.stdout is not None  # noqa: S101 - stdout=PIPE above
        line = self._process.stdout.readline()
        found = READY.search(line)
        if not found:
            self._process.kill()
            msg = f"the sandbox did not start; see {self._log_path}"
            raise RuntimeError(msg)
        self.accounts_url = found.group(1)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        """Stop the sandbox (SIGTERM, which it handles cleanly)."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            self._process = None

    def _call(self, method: str, name: str, payload: object = None) -> t.Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(  # noqa: S310 - the loopback sandbox
            f"{self.accounts_url}/__sandbox/{name}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
            return json.loads(answer.read())

    def stats(self) -> dict[str, t.Any]:
        """Calls, calls per endpoint, ``max_in_flight``, leads written since reset."""
        return self._call("GET", "stats")

    def reset(self) -> None:
        """Forget leads, stats and the request log (which frees their memory)."""
        self._call("POST", "reset", {})

    def seed(self, leads: list[dict[str, t.Any]]) -> list[str]:
        """Store leads as already in the CRM."""
        return self._call("POST", "leads", leads)["ids"]

    def configure(self, **knobs: object) -> None:
        """Set knobs such as ``latency_ms``."""
        self._call("POST", "config", knobs)

    def advance_clock(self, seconds: float) -> None:
        """Skip the sandbox's clock ahead: token windows, search lag and job delays pass."""
        self._call("POST", "clock", {"advance": seconds})
