"""Zoho's token-mint block, end to end: waited out past the retry budget, or one clear line.

Each run is the real command against the sandbox, whose token endpoint
refuses mints (HTTP 400 Access Denied) the way Zoho does after 10 mints in
10 minutes. Backoff starts at 10 ms, so ``max_retries`` covers a few
hundredths of a second: only the wait can outlast a block of seconds.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import singer_lines

pytestmark = pytest.mark.slow

PEOPLE = [{"name": f"P{i}", "anonymous_id": f"a{i}"} for i in range(250)]
THROTTLE_LINE = (
    "Zoho refused the token request at 127.0.0.1 (Access Denied): Zoho is throttling token "
    "requests (at most 10 access tokens per refresh token in 10 minutes); wait ten minutes "
    "and make sure no other job is refreshing the same token in a loop"
)


def test_a_mid_run_token_block_longer_than_the_retry_budget_is_waited_out(
    sandbox, config, run_target
):
    """Tokens die every 3 calls, a second mint meets a 2 s block: the run waits and completes."""
    sandbox.configure(token_limit=1, token_block_seconds=2, token_expiry_calls=3)
    config.update(max_retries=2, batch_size_rows=50)
    run = run_target(config, singer_lines("web", PEOPLE, state_every=50))
    stats = sandbox.stats()
    waits = re.findall(r"Zoho's token-mint block passed after (\d+) s", run.stderr)
    print(
        f"token block: exit {run.returncode}, {stats['token_denials']} mints refused, "
        f"{stats['tokens_minted']} minted, waits {waits} s"
    )
    assert run.returncode == 0, run.errors
    assert len(sandbox.leads()) == 250
    assert stats["token_denials"] >= 1  # the block was met
    assert waits  # ... and waited out
    assert f"{THROTTLE_LINE}; waiting up to 660 s (token_wait_max)" in run.stderr
    assert run.states[-1] == {"done": 250}


def test_a_block_past_token_wait_max_fails_with_one_clear_line(sandbox, config, run_target):
    """Blocked for ten minutes, token_wait_max 1 s: exit 1, the throttle's line, STATE holds."""
    sandbox.configure(token_limit=1, token_block_seconds=600, token_expiry_calls=2)
    config.update(max_retries=3, batch_size_rows=50, max_concurrency=4, token_wait_max=1)
    run = run_target(config, singer_lines("web", PEOPLE[:200], state_every=50))
    assert run.returncode == 1
    assert len(run.errors) == 1
    assert run.errors[0].endswith(f"{THROTTLE_LINE} (still refused after waiting token_wait_max)")
    assert "Traceback" not in run.stderr
    # One waiting thread asks, at most once a (shortened) minute; the others fail with it.
    assert sandbox.stats()["token_requests"] <= 1 + 10
    assert run.states == [{"done": 50}]
    assert len(sandbox.leads()) == 50
