"""The COQL query tree and its evaluation over leads, with Zoho's comparison rules."""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
import typing as t

from target_zoho_leads.sandbox.query_error import QueryError
from target_zoho_leads.sandbox.validation import is_empty

NUMERIC_TYPES = {"integer", "bigint", "double", "currency", "percent"}
ORDERINGS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}


def _invalid_value(field: str, data_type: str) -> QueryError:
    return QueryError(
        code="INVALID_QUERY",
        message="value given seems to be invalid for the column",
        details={"column_name": field, "expected_data_type": data_type},
    )


def _resolve(name: str, fields: dict[str, dict[str, t.Any]]) -> tuple[str, str]:
    """Map a written field name to its api name and data type, or fail."""
    if name.lower() == "id":
        return "id", "bigint"
    for api_name, field in fields.items():
        if api_name.lower() == name.lower():
            return api_name, str(field.get("data_type", "text"))
    raise QueryError(
        code="INVALID_QUERY",
        message="column given seems to be invalid",
        details={"column_name": name},
    )


def _to_number(value: object) -> float | None:
    """A stored value as a number, or None when it is not one."""
    if isinstance(value, bool):
        return None
    try:
        return float(t.cast("t.Any", value))
    except (TypeError, ValueError):
        return None


@dataclasses.dataclass(frozen=True)
class Literal:
    """A value written in a query: kind is string, number or keyword."""

    kind: str
    text: str


def _literal(literal: Literal, field: str, data_type: str) -> object:
    """The Python value of a literal, checked against the field's type."""
    text = literal.text
    if literal.kind == "keyword" and text == "null":
        return None
    if data_type in NUMERIC_TYPES:
        number = _to_number(text)
        if number is None:
            raise _invalid_value(field, data_type)
        return number
    if data_type == "boolean":
        if text.lower() not in {"true", "false"}:
            raise _invalid_value(field, data_type)
        return text.lower() == "true"
    return text


def _comparable(value: object, data_type: str) -> object:
    """A stored value in the form literals are compared with."""
    if isinstance(value, dict):
        value = value.get("id")
    if data_type in NUMERIC_TYPES:
        return _to_number(value)
    return value.casefold() if isinstance(value, str) else value


def _equal(stored: object, literal: object, data_type: str) -> bool:
    """Zoho's ``=``: case-insensitive for text, exact otherwise."""
    if isinstance(stored, list):
        return any(_equal(item, literal, data_type) for item in stored)
    wanted = literal.casefold() if isinstance(literal, str) else literal
    return stored is not None and _comparable(stored, data_type) == wanted


def _ordered(stored: object, literal: object, op: str, data_type: str) -> bool:
    """``<``, ``>``, ``<=``, ``>=`` on numbers, dates and text."""
    left: t.Any = _comparable(stored, data_type)
    right: t.Any = literal.casefold() if isinstance(literal, str) else literal
    if left is None or right is None:
        return False
    try:
        return bool(ORDERINGS[op](left, right))
    except TypeError:  # a number against text: neither before nor after
        return False


def _like(stored: object, pattern: str) -> bool:
    """``like`` with ``%`` as the wildcard, case-insensitive."""
    if not isinstance(stored, str):
        return False
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, stored, re.IGNORECASE | re.DOTALL) is not None


@dataclasses.dataclass
class Condition:
    """One criterion: ``field operator values``."""

    field: str
    operator: str
    values: list[Literal]

    def size(self) -> int:
        """How many criteria this is: one."""
        return 1

    def compile(self, fields: dict[str, dict[str, t.Any]]) -> t.Callable[[dict[str, t.Any]], bool]:
        """Check the field and literals once; return a test for one lead."""
        name, data_type = _resolve(self.field, fields)
        literals = [_literal(value, name, data_type) for value in self.values]
        operator = self.operator

        def test(lead: dict[str, t.Any]) -> bool:
            stored = lead.get(name)
            if operator == "is null":
                return is_empty(stored)
            if operator == "is not null":
                return not is_empty(stored)
            if operator in {"like", "not like"}:
                return _like(stored, str(literals[0])) == (operator == "like")
            if operator in {"=", "in"}:
                return any(_equal(stored, value, data_type) for value in literals)
            if operator in {"!=", "not in"}:
                # As in SQL, an empty field is neither equal nor unequal.
                return not is_empty(stored) and not any(
                    _equal(stored, value, data_type) for value in literals
                )
            return _ordered(stored, literals[0], operator, data_type)

        return test


@dataclasses.dataclass
class Group:
    """Two operands joined by ``and`` or ``or``."""

    joiner: str
    left: Condition | Group
    right: Condition | Group

    def size(self) -> int:
        """How many criteria the group holds."""
        return self.left.size() + self.right.size()

    def compile(self, fields: dict[str, dict[str, t.Any]]) -> t.Callable[[dict[str, t.Any]], bool]:
        """A test for one lead combining both operands' tests."""
        left, right = self.left.compile(fields), self.right.compile(fields)
        if self.joiner == "and":
            return lambda lead: left(lead) and right(lead)
        return lambda lead: left(lead) or right(lead)


@dataclasses.dataclass
class Query:
    """A parsed ``select`` query."""

    columns: list[str]
    module: str
    where: Condition | Group | None
    order: list[tuple[str, bool]]
    limit: int
    offset: int

    def run(
        self, leads: list[dict[str, t.Any]], fields: dict[str, dict[str, t.Any]]
    ) -> dict[str, t.Any] | None:
        """Evaluate over ``leads`` in their stored order.

        Args:
            leads: The leads to search.
            fields: The Leads field metadata by api name.

        Returns:
            Zoho's answer body, or None when nothing matched.

        Raises:
            QueryError: An unknown module or field, or a literal of the wrong type.
        """
        if self.module.lower() != "leads":
            raise QueryError(
                code="INVALID_QUERY",
                message="invalid query formed",
                details={"module": self.module},
            )
        columns = [_resolve(name, fields) for name in self.columns]
        test = self.where.compile(fields) if self.where else _everything
        matched = [lead for lead in leads if test(lead)]
        for name, descending in reversed(self.order):
            api_name, data_type = _resolve(name, fields)
            key = functools.partial(_sort_key, name=api_name, data_type=data_type)
            matched.sort(key=key, reverse=descending)
        page = matched[self.offset : self.offset + self.limit]
        if not page:
            return None
        data = [{"id": lead["id"], **{api: lead.get(api) for api, _ in columns}} for lead in page]
        more = len(matched) > self.offset + self.limit
        return {"data": data, "info": {"count": len(data), "more_records": more}}


def _everything(_lead: dict[str, t.Any]) -> bool:
    """The test of a query without ``where``."""
    return True


def _sort_key(lead: dict[str, t.Any], name: str, data_type: str) -> tuple[bool, t.Any]:
    """Sort empty values last, then by value, text case-insensitively."""
    value = _comparable(lead.get(name), data_type)
    if is_empty(value) or isinstance(value, list):
        return (True, "")
    return (False, value if isinstance(value, (int, float)) else str(value))
