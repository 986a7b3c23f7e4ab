"""When and how long to wait before trying a failed Zoho call again."""

from __future__ import annotations

import logging
import os
import random
import typing as t

import backoff

from target_zoho_leads.zoho.errors import ZohoTransientError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator

logger = logging.getLogger(__name__)

T = t.TypeVar("T")

BASE_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 60.0
# Not a setting: lets the chaos and crash tests run the real command through
# hundreds of injected faults in seconds. It can only shorten the first step
# (every wait keeps its doubling, jitter and cap) and never touches Retry-After.
BACKOFF_BASE_ENV = "TARGET_ZOHO_LEADS_BACKOFF_BASE"
# Zoho's own Retry-After is honoured, but a broken proxy asking for an hour
# must not stall an hourly pipeline; past this the run fails instead.
MAX_RETRY_AFTER_SECONDS = 300.0


def base_wait_seconds() -> float:
    """The first backoff step: 1 s, or less when ``BACKOFF_BASE_ENV`` asks for less."""
    try:
        wanted = float(os.environ.get(BACKOFF_BASE_ENV, ""))
    except ValueError:
        return BASE_WAIT_SECONDS
    return wanted if 0 < wanted < BASE_WAIT_SECONDS else BASE_WAIT_SECONDS


def wait_times(
    *, base: float | None = None, cap: float = MAX_WAIT_SECONDS
) -> Generator[float, t.Any, None]:
    """Yield the wait before each retry: Retry-After if given, else jittered doubling.

    ``backoff`` sends each failure into the generator, so the wait can follow
    the exception. Jitter is applied here rather than by ``backoff`` because
    a server's Retry-After must not be shortened.

    Args:
        base: The first step; :func:`base_wait_seconds` when not given.
        cap: The longest wait between two tries.
    """
    base = base_wait_seconds() if base is None else base
    exc = yield 0.0
    attempt = 0
    while True:
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            wait = min(float(retry_after), MAX_RETRY_AFTER_SECONDS)
        else:
            ceiling = min(cap, base * 2**attempt)
            # "Equal jitter": never less than half the step, so a burst of
            # 429s does not come straight back, yet threads spread out.
            wait = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311
        attempt += 1
        exc = yield wait


def _log_retry(details: t.Mapping[str, t.Any]) -> None:
    exc = details.get("exception")
    logger.warning(
        "Zoho call failed (%s); try %d, retrying in %.1f s",
        exc,
        details["tries"],
        details["wait"],
    )


def with_retries(
    call: Callable[[], T],
    *,
    max_tries: int,
    giveup: Callable[[Exception], bool] = lambda _exc: False,
    on_retry: Callable[[Exception], None] | None = None,
) -> T:
    """Run ``call``, retrying on ``ZohoTransientError`` up to ``max_tries`` tries.

    Args:
        call: The attempt; it raises ``ZohoTransientError`` when worth retrying.
        max_tries: Tries in all, the first included.
        giveup: Says, for a transient failure, that it must not be retried
            (a write of unknown outcome that the caller settles itself).
        on_retry: Told of each failure that is about to be retried.

    Returns:
        What the first successful attempt returned.
    """
    handlers: list[Callable[[t.Mapping[str, t.Any]], None]] = [_log_retry]
    if on_retry is not None:
        handlers.append(lambda details: on_retry(details["exception"]))
    retrying = backoff.on_exception(
        wait_times,
        ZohoTransientError,
        max_tries=max(1, max_tries),
        giveup=giveup,
        jitter=None,
        on_backoff=handlers,
        raise_on_giveup=True,
        logger=None,
    )(call)
    return retrying()
