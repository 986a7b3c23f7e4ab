"""The progress line an operator sees on a long run."""

from __future__ import annotations

import logging
import time

from target_zoho_leads.loading.progress import ProgressReporter
from target_zoho_leads.loading.stats import StreamStats
from target_zoho_leads.zoho.outcomes import CREATED, REJECTED, UNCHANGED, UPDATED, Outcome


def test_progress_is_logged_at_a_steady_rhythm_with_the_running_counts(caplog):
    """Records read, leads written, rejected, rate and API calls, every interval."""
    web = StreamStats("web")
    kinds = [CREATED] * 40 + [UPDATED] * 5 + [UNCHANGED] * 3 + [REJECTED] * 2
    web.count_outcomes(Outcome(kind) for kind in kinds)
    for _ in range(7):
        web.count_call()
    reporter = ProgressReporter(lambda: 120, lambda: [web], every=0.05)

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "target-zoho-leads.progress"]

    with caplog.at_level(logging.INFO, logger="target-zoho-leads.progress"):
        reporter.start()
        # Wait for the lines, not for a time: a loaded machine may run the thread late.
        deadline = time.monotonic() + 60
        while len(lines()) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        reporter.stop()
    assert len(lines()) >= 3
    first = lines()[0]
    assert first.startswith("Progress: 120 records read, 48 written to Zoho, 2 rejected, ")
    assert first.endswith(" records/s, 7 API calls")


def test_stopping_ends_the_reporting_thread():
    """No line comes after stop, and the thread is gone."""
    reporter = ProgressReporter(lambda: 0, list, every=10)
    reporter.start()
    reporter.stop()
    assert reporter._thread is not None  # noqa: SLF001
    assert not reporter._thread.is_alive()  # noqa: SLF001
