"""``python -m zoho_sandbox``: the ready line, knobs and a clean stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from .conftest import TIMEOUT

REPO_ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"Zoho sandbox ready: accounts_url=(http://127\.0\.0\.1:(\d+))\n")


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start the CLI and wait for its ready line; the process and its URL."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "zoho_sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = READY.fullmatch(line)
    if match is None:
        process.kill()
        _, err = process.communicate(timeout=TIMEOUT)
        pytest.fail(f"no ready line: {line!r} {err}")
    return process, match.group(1)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_cli_prints_the_ready_line_and_stops_cleanly_on_a_signal(signum):
    """It serves on the printed port and exits 0 without a traceback."""
    process, url = start()
    try:
        with requests.Session() as session:
            assert session.get(f"{url}/__sandbox/leads", timeout=TIMEOUT).json() == []
    finally:
        process.send_signal(signum)
        out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0
    assert out == ""
    assert "Traceback" not in err


def test_cli_options_set_the_knobs():
    """Fault options reach the sandbox's knobs."""
    process, url = start(
        "--fail-429",
        "1",
        "--seed",
        "4",
        "--no-coql-scope",
        "--token-expiry-calls",
        "3",
        "--latency-ms",
        "1",
        "--lose-answer",
        "POST /crm/v8/Leads#2",
        "--duplicate-check-preference",
        "mapped_module_records",
        "--duplicate-check-field",
        "Email",
        "--coql-case-sensitive",
        "--coql-shows-converted",
        "--no-contacts-scope",
        "--sub-concurrency",
        "4",
        "--token-limit",
        "3",
        "--token-window-seconds",
        "60",
        "--token-block-seconds",
        "25",
        "--encrypted-field",
        "Email",
    )
    try:
        with requests.Session() as session:
            config = session.get(f"{url}/__sandbox/config", timeout=TIMEOUT).json()
            answer = session.get(f"{url}/crm/v8/settings/fields", timeout=TIMEOUT)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=TIMEOUT)
    assert (config["fail_429_rate"], config["seed"], config["coql_scope"]) == (
        1,
        4,
        False,
    )
    assert (config["token_expiry_calls"], config["latency_ms"]) == (3, 1)
    assert config["lose_answers"] == [{"call": "POST /crm/v8/Leads", "nth": 2}]
    assert (config["duplicate_check_preference"], config["duplicate_check_fields"]) == (
        "mapped_module_records",
        ["Email"],
    )
    assert (config["coql_case_sensitive"], config["coql_hides_converted"]) == (True, False)
    assert config["contacts_scope"] is False
    assert (config["sub_concurrency"], config["encrypted_fields"]) == (4, ["Email"])
    assert (
        config["token_limit"],
        config["token_window_seconds"],
        config["token_block_seconds"],
    ) == (3, 60, 25)
    assert answer.status_code == 429


def test_with_manual_clock_the_sandbox_time_moves_only_when_advanced():
    """--manual-clock: POST /__sandbox/clock is the only thing that moves time."""
    process, url = start("--manual-clock")
    try:
        with requests.Session() as session:
            clock = f"{url}/__sandbox/clock"
            first = session.post(clock, json={"advance": 0}, timeout=TIMEOUT).json()["time"]
            second = session.post(clock, json={"advance": 90}, timeout=TIMEOUT).json()["time"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=TIMEOUT)
    assert second - first == 90


def test_cli_options_set_the_readings_zoho_leaves_open():
    """The Bulk Write and mint-block reading options reach the knobs."""
    process, url = start(
        "--bulk-result-id-column",
        "ID",
        "--bulk-result-status-case",
        "title",
        "--bulk-result-order",
        "shuffled",
        "--bulk-fail-after-write",
        "2",
        "--bulk-lose-create-answer",
        "3",
        "--bulk-download-origin",
        "other",
        "--bulk-job-seconds",
        "30",
        "--mint-block-status",
        "200",
    )
    try:
        with requests.Session() as session:
            config = session.get(f"{url}/__sandbox/config", timeout=TIMEOUT).json()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0
    assert "Traceback" not in err
    assert (
        config["bulk_result_id_column"],
        config["bulk_result_status_case"],
        config["bulk_result_order"],
    ) == ("ID", "title", "shuffled")
    assert (config["bulk_fail_after_write"], config["bulk_lose_create_answer"]) == (2, 3)
    assert (config["bulk_download_origin"], config["bulk_job_seconds"]) == ("other", 30)
    assert config["mint_block_status"] == 200
