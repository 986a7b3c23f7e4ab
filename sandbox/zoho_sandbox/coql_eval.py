"""The COQL query tree and its evaluation over leads, with Zoho's comparison rules."""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
import typing as t

from zoho_sandbox.query_error import QueryError
from zoho_sandbox.validation import is_empty

NUMERIC_TYPES = {"integer", "bigint", "double", "currency", "percent"}
ORDERINGS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
# What Zoho lets a query do with an encrypted field: only test it for emptiness
# (numbers may also be compared with = and !=).
ENCRYPTED_OPERATORS = {"is null", "is not null"}
ENCRYPTED_NUMBER_OPERATORS = {"=", "!=", "is null", "is not null"}

Fold = t.Callable[[object], object]


def _casefold(value: object) -> object:
    """Text without case, for case-insensitive comparison; other values as they are."""
    return value.casefold() if isinstance(value, str) else value


def _as_is(value: object) -> object:
    """The value unchanged, for case-sensitive comparison."""
    return value


@dataclasses.dataclass(frozen=True)
class EvalRules:
    """How the org compares values.

    Attributes:
        case_sensitive: Text compares exactly (Zoho does not document either way).
        encrypted: Api names of encrypted fields, which only ``is [not] null``
            may test (numbers also ``=`` and ``!=``).
    """

    case_sensitive: bool = False
    encrypted: frozenset[str] = frozenset()

    @property
    def fold(self) -> Fold:
        """The function text goes through before it is compared."""
        return _as_is if self.case_sensitive else _casefold


def _invalid_value(field: str, data_type: str) -> QueryError:
    return QueryError(
        code="INVALID_QUERY",
        message="value given seems to be invalid for the column",
        details={"column_name": field, "expected_data_type": data_type},
    )


def resolve_field(name: str, fields: dict[str, dict[str, t.Any]]) -> tuple[str, str]:
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


def _comparable(value: object, data_type: str, fold: Fold = _casefold) -> object:
    """A stored value in the form literals are compared with."""
    if isinstance(value, dict):
        value = value.get("id")
    if data_type in NUMERIC_TYPES:
        return _to_number(value)
    return fold(value)


def _equal(stored: object, literal: object, data_type: str, fold: Fold) -> bool:
    """Zoho's ``=``: text through ``fold`` (case-insensitive by default), else exact."""
    if isinstance(stored, list):
        return any(_equal(item, literal, data_type, fold) for item in stored)
    return stored is not None and _comparable(stored, data_type, fold) == fold(literal)


def _ordered(stored: object, literal: object, op: str, data_type: str, fold: Fold) -> bool:
    """``<``, ``>``, ``<=``, ``>=`` on numbers, dates and text."""
    left: t.Any = _comparable(stored, data_type, fold)
    right: t.Any = fold(literal)
    if left is None or right is None:
        return False
    try:
        return bool(ORDERINGS[op](left, right))
    except TypeError:  # a number against text: neither before nor after
        return False


def _like(stored: object, pattern: str, *, case_sensitive: bool) -> bool:
    """``like`` with ``%`` as the wildcard, case-insensitive unless asked."""
    if not isinstance(stored, str):
        return False
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    flags = re.DOTALL if case_sensitive else re.IGNORECASE | re.DOTALL
    return re.fullmatch(regex, stored, flags) is not None


def stored_value(record: dict[str, t.Any], name: str, data_type: str) -> object:
    """A record's value as a query sees it: an unset checkbox reads false, as in Zoho."""
    value = record.get(name)
    return False if value is None and data_type == "boolean" else value


def _encrypted_refusal(field: str, operator: str, data_type: str) -> QueryError:
    """Zoho's INVALID_QUERY for a comparison an encrypted field does not allow."""
    return QueryError(
        code="INVALID_QUERY",
        message="invalid query formed",
        details={
            "column_name": field,
            "operator": operator,
            "data_type": data_type,
            "reason": "the operator is not supported for an encrypted field",
        },
    )


@dataclasses.dataclass
class Condition:
    """One criterion: ``field operator values``."""

    field: str
    operator: str
    values: list[Literal]

    def size(self) -> int:
        """How many criteria this is: one."""
        return 1

    def names(self) -> set[str]:
        """The lower-cased field names the criterion tests."""
        return {self.field.lower()}

    def compile(
        self, fields: dict[str, dict[str, t.Any]], rules: EvalRules
    ) -> t.Callable[[dict[str, t.Any]], bool]:
        """Check the field, operator and literals once; return a test for one record.

        Raises:
            QueryError: An unknown field, a literal of the wrong type, or an
                operator an encrypted field does not allow.
        """
        name, data_type = resolve_field(self.field, fields)
        allowed = ENCRYPTED_NUMBER_OPERATORS if data_type in NUMERIC_TYPES else ENCRYPTED_OPERATORS
        if name in rules.encrypted and self.operator not in allowed:
            raise _encrypted_refusal(name, self.operator, data_type)
        literals = [_literal(value, name, data_type) for value in self.values]
        operator, fold = self.operator, rules.fold

        def matches(stored: object) -> bool:
            return any(_equal(stored, value, data_type, fold) for value in literals)

        def test(record: dict[str, t.Any]) -> bool:
            stored = stored_value(record, name, data_type)
            if operator in {"is null", "is not null"}:
                return is_empty(stored) == (operator == "is null")
            if operator in {"like", "not like"}:
                found = _like(stored, str(literals[0]), case_sensitive=rules.case_sensitive)
                return found == (operator == "like")
            if operator in {"=", "in"}:
                return matches(stored)
            if operator in {"!=", "not in"}:
                # As in SQL, an empty field is neither equal nor unequal.
                return not is_empty(stored) and not matches(stored)
            return _ordered(stored, literals[0], operator, data_type, fold)

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

    def names(self) -> set[str]:
        """The lower-cased field names both operands test."""
        return self.left.names() | self.right.names()

    def compile(
        self, fields: dict[str, dict[str, t.Any]], rules: EvalRules
    ) -> t.Callable[[dict[str, t.Any]], bool]:
        """A test for one record combining both operands' tests."""
        left, right = self.left.compile(fields, rules), self.right.compile(fields, rules)
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

    def names(self) -> set[str]:
        """The lower-cased field names the ``where`` clause tests."""
        return self.where.names() if self.where else set()

    def run(
        self,
        records: list[dict[str, t.Any]],
        fields: dict[str, dict[str, t.Any]],
        rules: EvalRules | None = None,
    ) -> dict[str, t.Any] | None:
        """Evaluate over ``records`` (of the query's module) in their stored order.

        Args:
            records: The records to search.
            fields: The module's field metadata by api name.
            rules: How the org compares values (default: case-insensitively,
                nothing encrypted).

        Returns:
            Zoho's answer body, or None when nothing matched.

        Raises:
            QueryError: An unknown field, a literal of the wrong type, or a
                comparison of an encrypted field.
        """
        rules = rules or EvalRules()
        columns = [resolve_field(name, fields) for name in self.columns]
        test = self.where.compile(fields, rules) if self.where else _everything
        matched = [record for record in records if test(record)]
        for name, descending in reversed(self.order):
            api_name, data_type = resolve_field(name, fields)
            key = functools.partial(_sort_key, name=api_name, data_type=data_type)
            matched.sort(key=key, reverse=descending)
        page = matched[self.offset : self.offset + self.limit]
        if not page:
            return None
        data = [
            {"id": record["id"], **{api: stored_value(record, api, kind) for api, kind in columns}}
            for record in page
        ]
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
