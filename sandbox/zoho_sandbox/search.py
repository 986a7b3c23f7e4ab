"""Record search: the ``(Field:operator:value)`` criteria grammar and matching."""

from __future__ import annotations

import operator
import re
import typing as t

from zoho_sandbox.query_error import QueryError
from zoho_sandbox.validation import is_empty

MAX_CRITERIA = 15
MAX_RECORDS = 2000
MAX_PER_PAGE = 200
OPERATORS = {
    "equals",
    "not_equal",
    "starts_with",
    "in",
    "greater_than",
    "greater_equal",
    "less_than",
    "less_equal",
}
ORDERINGS = {
    "greater_than": operator.gt,
    "greater_equal": operator.ge,
    "less_than": operator.lt,
    "less_equal": operator.le,
}
_NAME_RE = re.compile(r"[A-Za-z0-9_$.]+")
_JOINER_RE = re.compile(r"\s*(and|or)\s*", re.IGNORECASE)

Test = t.Callable[[dict[str, t.Any]], bool]


def invalid(*, reason: str, api_name: str) -> QueryError:
    """Zoho's INVALID_QUERY answer for a criteria it cannot read."""
    return QueryError(
        code="INVALID_QUERY",
        message="Invalid query formed",
        details={"reason": reason, "api_name": api_name},
    )


def _text(value: object) -> str:
    """A stored value as the text the search index holds."""
    if isinstance(value, dict):
        return str(value.get("id", ""))
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return "" if value is None else str(value)


def _number(value: object) -> float | None:
    try:
        return float(t.cast("t.Any", value))
    except (TypeError, ValueError):
        return None


def matcher(field: str, op: str, values: list[str]) -> Test:
    """A test for one criterion.

    Like the real Zoho, ``equals`` on text matches when the value is found
    anywhere in the field, case-insensitively: a client must filter exactly.

    Args:
        field: The field's api name.
        op: The operator, one of :data:`OPERATORS`.
        values: The unescaped values (several for ``in`` or a comma list).

    Returns:
        A predicate over a lead.
    """
    wanted = [value.casefold() for value in values]

    def contains(lead: dict[str, t.Any]) -> bool:
        stored = lead.get(field)
        return not is_empty(stored) and any(w in _text(stored).casefold() for w in wanted)

    if op in {"equals", "in"}:
        return contains
    if op == "not_equal":
        return lambda lead: not contains(lead)
    if op == "starts_with":
        return lambda lead: any(
            _text(lead.get(field)).casefold().startswith(w) for w in wanted if w
        )
    limit = _number(values[0])
    compare = ORDERINGS[op]

    def ordered(lead: dict[str, t.Any]) -> bool:
        stored = _number(lead.get(field))
        return stored is not None and limit is not None and compare(stored, limit)

    return ordered


def _join(joiner: str, left: Test, right: Test) -> Test:
    """Combine two tests with ``and`` or ``or``."""
    if joiner == "and":
        return lambda lead: left(lead) and right(lead)
    return lambda lead: left(lead) or right(lead)


class CriteriaParser:
    """Reads ``((A:equals:x)or(B:starts_with:y))`` into a predicate."""

    def __init__(
        self, text: str, fields: dict[str, dict[str, t.Any]], encrypted: set[str] | None = None
    ) -> None:
        """Prepare to parse ``text`` against the module's fields (``encrypted``: their names)."""
        self.text = text
        self.encrypted = encrypted or set()
        self.fields = {name.lower(): name for name in fields} | {"id": "id"}
        self.position = 0
        self.count = 0

    def parse(self) -> Test:
        """Parse the whole criteria string.

        Returns:
            A predicate over a lead.

        Raises:
            QueryError: The criteria is malformed, names an unknown field or
                operator, or holds more than 15 criteria.
        """
        test = self.chain()
        if self.position != len(self.text.rstrip()):
            raise invalid(reason="invalid criteria", api_name="criteria")
        return test

    def chain(self) -> Test:
        """``group (and|or group)*``, evaluated left to right."""
        test = self.group()
        while match := _JOINER_RE.match(self.text, self.position):
            self.position = match.end()
            test = _join(match.group(1).lower(), test, self.group())
        return test

    def group(self) -> Test:
        """``( chain )`` or ``( field:operator:value )``."""
        self.skip_spaces()
        if not self.text.startswith("(", self.position):
            raise invalid(reason="invalid criteria", api_name="criteria")
        self.position += 1
        self.skip_spaces()
        test = self.chain() if self.text.startswith("(", self.position) else self.criterion()
        self.skip_spaces()
        if not self.text.startswith(")", self.position):
            raise invalid(reason="invalid criteria", api_name="criteria")
        self.position += 1
        return test

    def skip_spaces(self) -> None:
        """Step over blanks between brackets and joiners."""
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def criterion(self) -> Test:
        """``field:operator:value[,value...]`` up to the closing bracket."""
        match = _NAME_RE.match(self.text, self.position)
        name = match.group() if match else ""
        if name.lower() not in self.fields:
            raise invalid(
                reason="the field is not available in the module",
                api_name=name or "criteria",
            )
        self.position += len(name)
        operator = self.take_operator(self.fields[name.lower()])
        if self.fields[name.lower()] in self.encrypted and operator != "equals":
            raise QueryError(
                code="INVALID_QUERY",
                message="Invalid query formed",
                details={
                    "operator": operator,
                    "reason": "only equals is supported for an encrypted field",
                    "api_name": self.fields[name.lower()],
                },
            )
        values = self.take_values()
        self.count += 1
        if self.count > MAX_CRITERIA:
            raise QueryError(
                code="CRITERIA_LIMIT_EXCEEDED",
                message="no of criterium that can be given exceed the limit 15",
                details={},
            )
        return matcher(self.fields[name.lower()], operator, values)

    def take_operator(self, field: str) -> str:
        """``:operator:`` after the field name."""
        match = re.compile(r":([a-z_]+):").match(self.text, self.position)
        if match is None:
            raise invalid(reason="invalid criteria", api_name=field)
        if match.group(1) not in OPERATORS:
            raise QueryError(
                code="INVALID_QUERY",
                message="Invalid query formed",
                details={
                    "operator": match.group(1),
                    "reason": "invalid operator found",
                    "api_name": field,
                },
            )
        self.position = match.end()
        return match.group(1)

    def take_values(self) -> list[str]:
        r"""Values up to the closing bracket; ``\`` escapes ``( ) , \``."""
        values, current = [], []
        while self.position < len(self.text):
            char = self.text[self.position]
            if char == "\\" and self.position + 1 < len(self.text):
                current.append(self.text[self.position + 1])
                self.position += 2
                continue
            if char == ")":
                break
            if char == "(":
                raise invalid(reason="unescaped bracket in value", api_name="criteria")
            if char == ",":
                values.append("".join(current))
                current = []
            else:
                current.append(char)
            self.position += 1
        values.append("".join(current))
        if "" in values:
            raise invalid(reason="a value is empty", api_name="criteria")
        return values


def parse_criteria(
    text: str, fields: dict[str, dict[str, t.Any]], encrypted: set[str] | None = None
) -> Test:
    """Parse a search ``criteria`` parameter.

    Args:
        text: The criteria as sent (already URL-decoded).
        fields: The module's field metadata by api name.
        encrypted: The names of encrypted fields (Zoho searches them with
            ``equals`` only).

    Returns:
        A predicate over a lead.

    Raises:
        QueryError: Zoho's 400 error for the criteria.
    """
    return CriteriaParser(text, fields, encrypted).parse()


def simple_matcher(params: dict[str, str], fields: dict[str, dict[str, t.Any]]) -> Test:
    """The test for ``email=``, ``phone=`` or ``word=`` searches.

    Args:
        params: The query parameters, one value each.
        fields: The Leads field metadata by api name.

    Returns:
        A predicate over a lead; text matches anywhere, case-insensitively.
    """
    if "email" in params:
        names = [n for n, f in fields.items() if f.get("data_type") == "email"]
        value = params["email"]
    elif "phone" in params:
        names = [n for n, f in fields.items() if f.get("data_type") == "phone"]
        value = params["phone"]
    else:
        names = [
            n
            for n, f in fields.items()
            if f.get("json_type") == "string" and not f.get("read_only")
        ]
        value = params.get("word", "")
    tests = [matcher(name, "equals", [value]) for name in names]
    return lambda lead: any(test(lead) for test in tests)
