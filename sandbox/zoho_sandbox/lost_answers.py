"""Deterministic lost answers: do the N-th call of a route, then hang up unanswered.

A rule names a call as its request-log route key, ``METHOD /crm/vN/path`` with
record ids written ``{id}`` (``POST /crm/v8/Leads``, ``PUT /crm/v8/Leads/{id}``),
and which of the matching calls loses its answer (``nth``, from 1). Only calls
the API actually handled count (not those refused by a fault, a concurrency
limit or a bad token), counted from when the rule was set; each rule fires once.
"""

from __future__ import annotations

import threading
import typing as t

_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def lost_answer_rule(value: object) -> dict[str, t.Any]:
    """One rule in its stored form, from a dict or a ``"POST /crm/v8/Leads#2"`` string.

    Args:
        value: ``{"call": "POST /crm/v8/Leads", "nth": 2}`` (``nth`` defaults
            to 1) or the same as ``"POST /crm/v8/Leads#2"``.

    Returns:
        ``{"call": ..., "nth": ...}`` with the method upper-cased.

    Raises:
        ValueError: The rule names no method and path, or ``nth`` is not a
            whole number from 1.
    """
    if isinstance(value, str):
        call, hash_sign, nth_text = value.partition("#")
        wanted = nth_text.strip() if hash_sign else "1"
        value = {"call": call, "nth": int(wanted) if wanted.isdigit() else wanted}
    if not isinstance(value, dict) or set(value) - {"call", "nth"}:
        msg = 'a lost answer is {"call": "METHOD /crm/v8/path", "nth": N}'
        raise ValueError(msg)
    method, _, path = str(value.get("call", "")).strip().partition(" ")
    nth = value.get("nth", 1)
    if method.upper() not in _METHODS or not path.startswith("/"):
        msg = f"a lost answer's call must be 'METHOD /path', not {value.get('call')!r}"
        raise ValueError(msg)
    if isinstance(nth, bool) or not isinstance(nth, int) or nth < 1:
        msg = f"a lost answer's nth must be a whole number from 1, not {nth!r}"
        raise ValueError(msg)
    return {"call": f"{method.upper()} {path.strip()}", "nth": nth}


class AnswerLoser:
    """Counts handled calls per rule and says which answer to lose."""

    def __init__(self) -> None:
        """Start with no rules."""
        self._lock = threading.Lock()
        self._rules: list[dict[str, t.Any]] = []
        self._seen: list[int] = []

    def arm(self, rules: list[dict[str, t.Any]]) -> None:
        """Replace every rule; their counts start from zero now."""
        with self._lock:
            self._rules = [dict(rule) for rule in rules]
            self._seen = [0] * len(rules)

    def take(self, route_key: str) -> bool:
        """Count one handled call of ``route_key``; True when its answer is to be lost.

        Args:
            route_key: The call's route key, e.g. ``POST /crm/v8/Leads``.

        Returns:
            Whether some rule picked this very call.
        """
        lose = False
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule["call"] == route_key:
                    self._seen[index] += 1
                    lose = lose or self._seen[index] == rule["nth"]
        return lose
