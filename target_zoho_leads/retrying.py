"""When and how long to wait before trying a failed Zoho call again."""

from __future__ import annotations

import logging
import random
import typing as t

import backoff

from target_zoho_leads.exceptions import ZohoTransientError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator

logger = logging.getLogger(__name__)

T = t.TypeVar("T")

BASE_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 60.0
# Zoho's own Retry-After is honoured, but a broken proxy asking for an hour
# must not stall an hourly pipeline; past this the run fails instead.
MAX_RETRY_AFTER_SECONDS = 300.0


def wait_times(
    *, base: float = BASE_WAIT_SECONDS, cap: float = MAX_WAIT_SECONDS
) -> Generator[float, t.Any, None]:
    """Yield the wait before each retry: Retry-After if given, else jittered doubling.

    ``backoff`` sends each failure into the generator, so the wait can follow
    the exception. Jitter is applied here rather than by ``backoff`` because
    a server's Retry-After must not be shortened.
    """
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
) -> T:
    """Run ``call``, retrying on ``ZohoTransientError`` up to ``max_tries`` tries.

    Args:
        call: The attempt; it raises ``ZohoTransientError`` when worth retrying.
        max_tries: Tries in all, the first included.
        giveup: Says, for a transient failure, that it must not be retried
            (a write of unknown outcome that the caller settles itself).

    Returns:
        What the first successful attempt returned.
    """
    retrying = backoff.on_exception(
        wait_times,
        ZohoTransientError,
        max_tries=max(1, max_tries),
        giveup=giveup,
        jitter=None,
        on_backoff=_log_retry,
        raise_on_giveup=True,
        logger=None,
    )(call)
    return retrying()
