"""A SCHEMA's ``pattern`` and ``patternProperties`` run within their record's time budget.

Python's ``re`` backtracks: ``^(a|aa)+$`` against sixty a's and a ``!``
takes longer than a run has. The ``regex`` package reads the same
patterns the same way and stops a match after a time limit: each match
gets what is left of its record's budget (fifty values of a record share
one second, not a second each); the value it could not judge makes its
record a rejected one, and the run goes on.
"""

from __future__ import annotations

import typing as t

import regex

if t.TYPE_CHECKING:
    from target_zoho_leads.singer_input.schema_budget import RecordBudget


class PatternTimeout(Exception):  # noqa: N818 - it is what happened, not an error of ours
    """A value could not be matched against ``pattern`` within the time limit."""

    def __init__(self, pattern: str) -> None:
        """Remember the pattern, to name where in the SCHEMA it is."""
        super().__init__(pattern)
        self.pattern = pattern


class BoundedPattern:
    """Stands in for a compiled ``re`` pattern in fastjsonschema's code: ``search`` only."""

    def __init__(self, key: str, compiled: t.Any, budget: RecordBudget) -> None:
        """Compile the same pattern, with the same flags, in the ``regex`` package.

        Raises:
            regex.error: ``regex`` cannot read a pattern ``re`` could.
        """
        self._key = key
        self._regex = regex.compile(compiled.pattern, compiled.flags)
        self._budget = budget

    def search(self, text: str) -> t.Any:
        """Search ``text``; raise :class:`PatternTimeout` past the record's time budget."""
        try:
            return self._regex.search(text, timeout=self._budget.remaining())
        except TimeoutError:
            raise PatternTimeout(self._key) from None


def bound_patterns(validate: t.Callable[..., t.Any], budget: RecordBudget) -> None:
    """Swap the ``re`` patterns of a fastjsonschema check for ones within ``budget``.

    fastjsonschema compiles a SCHEMA's patterns into ``REGEX_PATTERNS`` in
    the globals of the code it generates, and only ever calls ``search`` on
    them (test_schema_checks guards that assumption).

    Raises:
        TypeError: fastjsonschema no longer keeps its patterns there.
        regex.error: A pattern ``regex`` cannot read.
    """
    patterns = getattr(validate, "__globals__", {}).get("REGEX_PATTERNS")
    if not isinstance(patterns, dict):
        msg = "fastjsonschema keeps its patterns elsewhere: pattern checks cannot be bounded"
        raise TypeError(msg)  # a failed test, never a user's problem
    for key, compiled in list(patterns.items()):
        patterns[key] = BoundedPattern(key, compiled, budget)


class Place(t.NamedTuple):
    """Where a pattern is: the value at ``place``, or the names of its properties."""

    place: str  # as fastjsonschema names it: data.email, data.tags[], data.extra.*
    names: bool = False


def pattern_places(schema: t.Any) -> dict[str, list[Place]]:
    """Where each pattern is, by the SCHEMA's own property names.

    A ``patternProperties`` pattern judges an object's property names.
    """
    places: dict[str, list[Place]] = {}
    stack: list[tuple[t.Any, str]] = [(schema, "data")]
    while stack:
        item, place = stack.pop()
        if isinstance(item, list):
            stack.extend((value, place) for value in item)
            continue
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("pattern"), str):
            places.setdefault(item["pattern"], []).append(Place(place))
        for key, value in item.items():
            if key in ("properties", "patternProperties") and isinstance(value, dict):
                for name, inner in value.items():
                    stack.append((inner, f"{place}.{name if key == 'properties' else '*'}"))
                    if key == "patternProperties":
                        places.setdefault(name, []).append(Place(place, names=True))
            else:
                stack.append((value, _child_place(place, key)))
    return places


def _child_place(place: str, keyword: str) -> str:
    """The place of what another keyword holds: items are ``[]``, other properties ``*``."""
    if keyword == "items":
        return f"{place}[]"
    if keyword == "additionalProperties":
        return f"{place}.*"
    return place
