"""Bounded answers through the real command: how long a run takes, how much memory, what it says.

Each attack of issue 20 is played by a loopback server against the real
``target-zoho-leads`` command, which runs under a small wrapper process that
reports the command's peak RSS (as in ``test_bounded_input.py``). Time and
memory bounds are generous (the machine is shared); the figures measured are
printed and kept in docs/RELIABILITY.md.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
import typing as t

import pytest

from tests.bounded_answers_server import answer, dribble, raw, scripted
from tests.conftest import singer_lines, target_command
from tests.reliability_helpers import TRACEBACK, error_lines
from tests.support.peak_rss import MEASURE as _MEASURE

if t.TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow

PEAK_RSS_LIMIT_MB = 300
REQUEST_TIMEOUT = 2
PERSON = {"name": "Lee", "email": "bounded@example.com"}


class Measured(t.NamedTuple):
    returncode: int
    stderr: str
    seconds: float  # the whole run, start-up included
    peak_mb: float
    ended: float  # time.monotonic() when the command had exited


def run_measured(tmp_path: Path, url: str, **settings: t.Any) -> Measured:
    """The real command against ``url`` for one record, timed, its peak RSS measured."""
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "client_id": "cid",
                "client_secret": "secret",
                "refresh_token": "refresh",
                "accounts_url": url,
                "field_mapping": "Last_Name=name,Email=email",
                "request_timeout": REQUEST_TIMEOUT,
                "max_retries": 1,
                **settings,
            }
        )
    )
    peak = tmp_path / "peak"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(peak), *target_command(), "--config", str(config)],
        input=singer_lines("web", [PERSON]).encode(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    seconds = time.monotonic() - started
    return Measured(
        done.returncode,
        done.stderr.decode(errors="replace"),
        seconds,
        int(peak.read_text()) / 1024,  # kilobytes on Linux
        time.monotonic(),
    )


def assert_one_line(run: Measured, *words: str) -> None:
    """Exit 1, exactly one ERROR line holding ``words``, no traceback, no personal value."""
    assert run.returncode == 1, run.stderr[-3000:]
    errors = error_lines(run.stderr)
    assert len(errors) == 1, run.stderr[-3000:]
    for word in words:
        assert word in errors[0], errors[0]
    assert not TRACEBACK.search(run.stderr), run.stderr[-3000:]
    assert PERSON["email"] not in run.stderr


def test_a_close_delimited_token_answer_dribbled_ends_at_request_timeout(tmp_path):
    """A byte every 2 s, no length, Connection: close: the run ends a deadline later."""
    with scripted() as zoho:
        head = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n"
        body = json.dumps({"access_token": "t", "api_domain": zoho.url}).encode()
        zoho.token = dribble(head, body, 2.0)
        run = run_measured(tmp_path, zoho.url)
        call = run.ended - zoho.asked_at[0]  # from the token request to the run's end
    print(
        f"dribbled close-delimited token answer: call to exit {call:.1f} s "
        f"(run {run.seconds:.1f} s), {run.peak_mb:.0f} MB"
    )
    assert_one_line(run, "no answer within request_timeout")
    assert zoho.seen == ["POST /oauth/v2/token"]
    assert call < 5 * REQUEST_TIMEOUT  # a 2 s deadline; the rest is a busy machine's slack


def test_a_gzip_bomb_token_answer_ends_in_one_line_within_bound(tmp_path):
    """1 MB of gzip that inflates to 1 GiB: not asked for, not inflated, refused by its size."""
    bomb = gzip.compress(b"\0" * (1 << 30), compresslevel=9)
    with scripted() as zoho:
        zoho.token = answer(200, bomb, {"Content-Encoding": "gzip"})
        run = run_measured(tmp_path, zoho.url)
    print(
        f"gzip bomb token answer ({len(bomb):,} bytes): {run.seconds:.1f} s, {run.peak_mb:.0f} MB"
    )
    assert_one_line(run, "more than 65,536 bytes")
    assert run.peak_mb < PEAK_RSS_LIMIT_MB


def test_a_content_length_of_ten_to_the_twelve_ends_in_one_line_within_bound(tmp_path):
    """Refused on its header, before a byte of the body is read."""
    with scripted() as zoho:
        zoho.token = raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n{")
        run = run_measured(tmp_path, zoho.url)
    print(f"Content-Length 10^12: {run.seconds:.1f} s, {run.peak_mb:.0f} MB")
    assert_one_line(run, "more than 65,536 bytes")
    assert run.peak_mb < PEAK_RSS_LIMIT_MB


@pytest.mark.parametrize(
    "token",
    [
        {"access_token": "tok", "expires_in": "abc"},
        {"access_token": "tok", "expires_in": 3600, "api_domain": ["x"]},
    ],
    ids=["expires_in-text", "api_domain-list"],
)
def test_a_token_answer_of_the_wrong_shape_is_one_line(tmp_path, token):
    """One ERROR line naming the field, no traceback."""
    with scripted() as zoho:
        zoho.token = answer(200, {"api_domain": zoho.url, **token})
        run = run_measured(tmp_path, zoho.url)
    assert_one_line(run, "token answer is not of the expected shape", "$.")


@pytest.mark.parametrize(
    "fields",
    [b"not json", b"[1, 2]", json.dumps({"fields": "Email"}).encode()],
    ids=["text", "list", "string"],
)
def test_a_fields_answer_of_the_wrong_shape_is_one_line(tmp_path, fields):
    """The first API call of a run answered wrongly: one ERROR line naming the call."""
    with scripted() as zoho:
        zoho.routes["/crm/v8/settings/fields"] = answer(200, fields)
        run = run_measured(tmp_path, zoho.url)
    assert_one_line(run, "GET /crm/v8/settings/fields", "expected shape")


# A Bulk Write job whose result zip (about 1 MB) holds a 1 GiB cell, written
# and read by the real writer in a process of its own, its peak RSS measured.
_BULK_BOMB = """
import io, sys, zipfile
import requests
from target_zoho_leads.zoho.auth import ZohoAuth
from target_zoho_leads.zoho.bulk.jobs import BulkWriter
from target_zoho_leads.zoho.bulk.unavailable import BulkResultUnavailableError
from target_zoho_leads.zoho.client import ZohoCRMClient
from tests.bounded_answers_server import answer, scripted

out = io.BytesIO()
with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
    with archive.open("r.csv", "w", force_zip64=True) as member:
        member.write(b"Last_Name,Email,ID,STATUS,ERRORS\\nLee,")
        for _ in range(1024):
            member.write(b"x" * (1 << 20))
        member.write(b",1,ADDED,\\n")
bomb = out.getvalue()
with scripted() as zoho:
    zoho.routes.update({
        "/crm/v8/org": answer(200, {"org": [{"zgid": "42"}]}),
        "/crm/v8/upload": answer(200, {"status": "success", "details": {"file_id": "4001"}}),
        "/crm/bulk/v8/write": answer(201, {"details": {"id": "9"}}),
        "/crm/bulk/v8/write/9": answer(
            200, {"status": "COMPLETED", "result": {"download_url": zoho.url + "/r.zip"}}
        ),
        "/r.zip": answer(200, bomb),
    })
    session = requests.Session()
    auth = ZohoAuth(accounts_url=zoho.url, client_id="c", client_secret="s",
                    refresh_token="r", session=session, timeout=10)
    client = ZohoCRMClient(auth=auth, session=session, timeout=10, max_retries=1)
    writer = BulkWriter(client, poll_first=0.01, sleep=lambda _s: None)
    try:
        writer.insert([{"Last_Name": "Lee", "Email": "lee@example.com"}])
    except BulkResultUnavailableError as exc:
        print(len(bomb), exc.ambiguous, exc)
        sys.exit(3)
"""


def test_a_result_zip_bomb_is_left_to_settle_within_the_memory_bound(tmp_path):
    """A 1 GiB cell in a 1 MB zip: refused by its declared size, the job left to settle."""
    peak = tmp_path / "peak"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(peak), sys.executable, "-c", _BULK_BOMB],
        capture_output=True,
        timeout=300,
        check=False,
    )
    seconds = time.monotonic() - started
    peak_mb = int(peak.read_text()) / 1024
    size, ambiguous, message = done.stdout.decode().strip().split(" ", 2)
    print(f"result zip bomb ({int(size):,} bytes): {seconds:.1f} s, {peak_mb:.0f} MB: {message}")
    assert done.returncode == 3, done.stderr.decode()[-3000:]
    assert ambiguous == "True"  # its records are looked up, not failed
    assert "its records' outcomes are unknown" in message
    assert peak_mb < PEAK_RSS_LIMIT_MB
