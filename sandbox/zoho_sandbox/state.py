"""The sandbox's knobs, its seeded fault dice, its stats and its request log."""

from __future__ import annotations

import collections
import copy
import dataclasses
import random
import threading
import typing as t

from zoho_sandbox import bulk_variants
from zoho_sandbox.lost_answers import lost_answer_rule


def _names(value: object) -> list[str]:
    """A list of field names; one name alone is a list of one, not of its letters."""
    if isinstance(value, str):
        return [value]
    return [str(name) for name in t.cast("t.Iterable[object]", value)]


def _lost_answers(value: object) -> list[dict[str, t.Any]]:
    """Lost-answer rules in their stored form; one rule alone is a list of one."""
    rules = [value] if isinstance(value, (str, dict)) else t.cast("list[object]", value)
    return [lost_answer_rule(rule) for rule in rules]


def _preference(value: object) -> str | None:
    """A duplicate check preference: None, ``converted_records`` or ``mapped_module_records``."""
    if value in (None, "", "converted_records", "mapped_module_records"):
        return value or None
    msg = (
        "duplicate_check_preference must be null, converted_records or "
        f"mapped_module_records, not {value!r}"
    )
    raise ValueError(msg)


# Knobs whose value is checked or reshaped as it is set.
NORMALISERS: dict[str, t.Callable[[object], object]] = {
    "unique_fields": _names,
    "encrypted_fields": _names,
    "duplicate_check_fields": _names,
    "duplicate_check_preference": _preference,
    "lose_answers": _lost_answers,
    **bulk_variants.NORMALISERS,
}


@dataclasses.dataclass
class Knobs:
    """Behaviour switches; every fault is off by default.

    Rates are probabilities per ``/crm`` call, from 0 to 1. Set them with
    ``ZohoSandbox(**knobs)``, ``sandbox.configure(**knobs)`` or
    ``POST /__sandbox/config`` with a JSON object of knobs.

    Attributes:
        latency_ms: Delay added to every API call.
        fail_429_rate: Share of API calls answered 429 TOO_MANY_REQUESTS.
        fail_5xx_rate: Share of API calls answered 500/502/503.
        retry_after: Seconds to put in ``Retry-After`` on 429s (None: no header,
            as Zoho promises none).
        drop_before_rate: Share of API calls hung up on before any work.
        drop_after_rate: Share of API calls whose work is done, then hung up on.
        hang_rate: Share of API calls never answered (for ``hang_seconds``).
        hang_seconds: How long a hanging call holds its connection.
        lose_answers: Deterministic lost answers: rules
            ``{"call": "POST /crm/v8/Leads", "nth": 2}`` (or
            ``"POST /crm/v8/Leads#2"``): the N-th handled call of that route
            since the rule was set is done, then hung up on unanswered.
        token_expiry_calls: An access token dies after this many API calls (0: never).
        token_ttl_seconds: An access token's lifetime.
        token_limit: Mints per refresh token allowed in ``token_window_seconds``
            (Zoho: 10 in 10 minutes); past it the token endpoint answers HTTP
            ``mint_block_status`` ``{"error": "Access Denied", ...}``.
        mint_block_status: The HTTP status of that Access Denied answer: 400
            or 200 (Zoho's Kaizen #43: the status stays 200).
        token_window_seconds: The mint-throttle window; a refused mint waits
            until the oldest mint in it is this old.
        token_block_seconds: When set, going past ``token_limit`` blocks
            minting for this long instead, then the window starts afresh
            (``block_tokens(seconds)`` starts such a block at once).
        token_fail_rate: Share of token requests answered 500.
        coql_scope: Whether tokens carry ``ZohoCRM.coql.READ`` (False: COQL
            answers 401 OAUTH_SCOPE_MISMATCH).
        contacts_scope: Whether tokens carry ``ZohoCRM.modules.contacts.READ``
            (False: Contacts calls and COQL on Contacts answer 401
            OAUTH_SCOPE_MISMATCH).
        coql_case_sensitive: COQL compares text exactly (Zoho documents no
            case rule; default: case-insensitively).
        coql_hides_converted: COQL leaves converted leads out unless the
            ``where`` clause tests ``Converted__s`` (as Zoho was seen to).
        search_lag_seconds: How long a new lead stays invisible to search.
        unique_fields: Leads fields the org marks unique (DUPLICATE_DATA on a clash).
        duplicate_check_preference: Zoho's duplicate check preference for new
            and updated leads: None, ``converted_records`` (a converted lead
            holding a ``duplicate_check_fields`` value refuses it, naming that
            lead) or ``mapped_module_records`` (a Contact holding it refuses
            it, naming the Contact and module Contacts).
        duplicate_check_fields: The Leads fields the preference compares
            (mapped to the Contacts field of the same name).
        org_concurrency: Calls in flight beyond which a call answers 429
            TOO_MANY_REQUESTS (0: no limit; Zoho: 5/10/15/20/25 by edition).
        sub_concurrency: COQL calls, and writes of more than 10 records, in
            flight beyond which such a call answers 429 (0: no limit; Zoho:
            10 on every edition).
        encrypted_fields: Fields (of Leads and Contacts) marked encrypted in
            their ``crypt`` metadata; COQL may test them only with
            ``is [not] null`` (numbers also ``=``/``!=``), search only with
            ``equals``.
        bulk_job_seconds: How long a Bulk Write job stays ADDED, then IN
            PROGRESS, before it runs and is COMPLETED.
        bulk_fail_jobs: How many of the next Bulk Write jobs end FAILED.
        bulk_drop_result_rows: Rows left off the end of every job's result file.
        bulk_fail_after_write: How many of the next Bulk Write jobs write
            their rows (the leads exist), then end FAILED with no counts and
            no result link.
        bulk_lose_create_answer: N (0: off): the N-th job created from now
            (an accepted ``POST /crm/bulk/vN/write``) is queued and will run,
            but the connection is hung up on before its answer; that job runs
            once ``bulk_job_seconds`` is over, on the next API call or
            ``leads()``, though nobody reads it.
        bulk_result_id_column: The result CSV's id column: ``RECORD_ID`` or
            ``ID`` (Zoho's Download Result page names it both ways).
        bulk_result_status_case: The case of the result rows' statuses:
            ``upper`` (``ADDED``), ``lower`` (``added``), ``title`` (``Added``).
        bulk_result_order: The result rows' order: ``input``, ``reversed`` or
            ``shuffled`` (by ``seed`` and the job id).
        bulk_download_origin: None (the result link names the API's origin),
            ``"other"`` (a second loopback listener, on another port, serves
            results with no token asked for and logs each request with
            ``listener: download`` and whether it carried an
            ``Authorization`` header) or an ``http(s)://`` origin the link
            names and nobody here serves.
        bulk_max_upload_bytes: Largest Bulk Write upload taken (Zoho: 25 MB);
            a larger one answers 413 FILE_TOO_LARGE.
        missing_scopes: Scopes the tokens lack among ``ZohoCRM.bulk.ALL``,
            ``ZohoFiles.files.ALL`` and ``ZohoCRM.org.READ``: the calls that
            need one answer 401 OAUTH_SCOPE_MISMATCH.
        seed: Seed of the fault dice (None: from the system).
    """

    latency_ms: float = 0
    fail_429_rate: float = 0
    fail_5xx_rate: float = 0
    retry_after: float | None = None
    drop_before_rate: float = 0
    drop_after_rate: float = 0
    hang_rate: float = 0
    hang_seconds: float = 30
    lose_answers: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)
    token_expiry_calls: int = 0
    token_ttl_seconds: float = 3600
    token_limit: int = 10
    token_window_seconds: float = 600
    token_block_seconds: float | None = None
    token_fail_rate: float = 0
    coql_scope: bool = True
    contacts_scope: bool = True
    coql_case_sensitive: bool = False
    coql_hides_converted: bool = True
    search_lag_seconds: float = 0
    unique_fields: list[str] = dataclasses.field(default_factory=list)
    duplicate_check_preference: str | None = None
    duplicate_check_fields: list[str] = dataclasses.field(
        default_factory=lambda: ["Email", "Phone"]
    )
    org_concurrency: int = 0
    sub_concurrency: int = 10
    encrypted_fields: list[str] = dataclasses.field(default_factory=list)
    bulk_job_seconds: float = 0
    bulk_fail_jobs: int = 0
    bulk_drop_result_rows: int = 0
    bulk_fail_after_write: int = 0
    bulk_lose_create_answer: int = 0
    bulk_result_id_column: str = "RECORD_ID"
    bulk_result_status_case: str = "upper"
    bulk_result_order: str = "input"
    bulk_download_origin: str | None = None
    mint_block_status: int = 400
    bulk_max_upload_bytes: int = 25 * 1024 * 1024
    missing_scopes: list[str] = dataclasses.field(default_factory=list)
    seed: int | None = None

    def update(self, **knobs: object) -> None:
        """Set knobs by name.

        Args:
            **knobs: Knob names and values.

        Raises:
            ValueError: A name is not a knob, or a value is not one the knob takes.
        """
        names = {field.name for field in dataclasses.fields(self)}
        unknown = sorted(set(knobs) - names)
        if unknown:
            msg = f"unknown sandbox knob(s): {', '.join(unknown)}"
            raise ValueError(msg)
        values = {
            name: NORMALISERS[name](value) if name in NORMALISERS else value
            for name, value in knobs.items()
        }
        for name, value in values.items():
            setattr(self, name, value)


class FaultDice:
    """Draws the faults of each call from one seeded generator.

    Every call draws the same number of numbers whatever the rates, so a seed
    gives the same fault sequence however the knobs are set.
    """

    def __init__(self, seed: int | None) -> None:
        """Seed the generator (None: from the system)."""
        self._lock = threading.Lock()
        self._random = random.Random(seed)  # noqa: S311 - fault injection, not crypto

    def reseed(self, seed: int | None) -> None:
        """Restart the sequence from ``seed``."""
        with self._lock:
            self._random.seed(seed)

    def draw(self, knobs: Knobs) -> tuple[str | None, bool, int]:
        """Decide one call's fate.

        Args:
            knobs: The current knobs.

        Returns:
            The fault to answer with before any work (``hang``,
            ``drop_before``, ``429``, ``5xx`` or None), whether to drop the
            answer after the work, and the 5xx status to use.
        """
        with self._lock:
            rolls = [self._random.random() for _ in range(5)]
            status = self._random.choice([500, 502, 503])
        before = None
        for name, rate, roll in (
            ("hang", knobs.hang_rate, rolls[0]),
            ("drop_before", knobs.drop_before_rate, rolls[1]),
            ("429", knobs.fail_429_rate, rolls[2]),
            ("5xx", knobs.fail_5xx_rate, rolls[3]),
        ):
            if roll < rate:
                before = name
                break
        return before, rolls[4] < knobs.drop_after_rate, status

    def token_fails(self, knobs: Knobs) -> bool:
        """Whether a token request should fail with a server error."""
        if knobs.token_fail_rate <= 0:
            return False  # no draw: keeps the API calls' fault sequence unchanged
        with self._lock:
            return self._random.random() < knobs.token_fail_rate


class Recorder:
    """Counts calls and keeps the request log, behind its own lock."""

    def __init__(self) -> None:
        """Start with nothing recorded."""
        self._lock = threading.Lock()
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        """Forget the stats, the request log and the minted tokens."""
        with self._lock:
            self._stats: dict[str, t.Any] = {
                "api_calls": 0,
                "calls": collections.Counter(),
                "token_requests": 0,
                "tokens_minted": 0,
                "token_denials": 0,
                "token_mint_times": [],
                "max_in_flight": 0,
                "faults": {
                    "429": 0,
                    "5xx": 0,
                    "drop_before": 0,
                    "drop_after": 0,
                    "hang": 0,
                    "lost_answer": 0,
                },
                "concurrency_429": {"org": 0, "sub": 0},
                "credits": 0,
                "credits_by_call": collections.Counter(),
                "records_created": 0,
                "records_updated": 0,
            }
            self._log: list[dict[str, t.Any]] = []
            self._tokens: list[str] = []

    def begin_call(self) -> None:
        """Count a ``/crm`` call entering."""
        with self._lock:
            self.in_flight += 1
            self._stats["api_calls"] += 1
            self._stats["max_in_flight"] = max(self._stats["max_in_flight"], self.in_flight)

    def end_call(self) -> None:
        """Count a ``/crm`` call leaving."""
        with self._lock:
            self.in_flight -= 1

    def add(self, key: str, amount: int = 1) -> None:
        """Add to a top-level counter such as ``records_created``."""
        with self._lock:
            self._stats[key] += amount

    def count_route(self, route: str) -> None:
        """Count one call of ``METHOD /path`` (ids replaced by ``{id}``)."""
        with self._lock:
            self._stats["calls"][route] += 1

    def fault(self, kind: str) -> None:
        """Count one injected fault."""
        with self._lock:
            self._stats["faults"][kind] += 1

    def refused(self, limit: str) -> None:
        """Count a 429 for a concurrency limit (``org`` or ``sub``); also in ``faults``."""
        with self._lock:
            self._stats["faults"]["429"] += 1
            self._stats["concurrency_429"][limit] += 1

    def spend(self, route: str, cost: int) -> None:
        """Count the API credits one handled call of ``route`` cost."""
        with self._lock:
            self._stats["credits"] += cost
            self._stats["credits_by_call"][route] += cost

    def minted(self, token: str, when: float) -> None:
        """Remember a minted access token and when it was minted."""
        with self._lock:
            self._stats["tokens_minted"] += 1
            self._stats["token_mint_times"].append(when)
            self._tokens.append(token)

    def log(self, entry: dict[str, t.Any]) -> dict[str, t.Any]:
        """Append a request-log entry; the caller may still set its status."""
        with self._lock:
            self._log.append(entry)
        return entry

    def stats(self) -> dict[str, t.Any]:
        """A copy of the stats.

        ``faults["429"]`` counts every 429 answered (drawn or for a
        concurrency limit), ``concurrency_429`` those for each limit;
        ``credits`` the API credits spent (``credits_by_call`` by route);
        ``token_denials`` the mints refused as Access Denied.
        """
        with self._lock:
            stats = copy.deepcopy(self._stats)
        stats["calls"] = dict(stats["calls"])
        stats["credits_by_call"] = dict(stats["credits_by_call"])
        return stats

    def requests(self) -> list[dict[str, t.Any]]:
        """A copy of the request log."""
        with self._lock:
            return copy.deepcopy(self._log)

    def tokens(self) -> list[str]:
        """Every access token minted since the last reset."""
        with self._lock:
            return list(self._tokens)
