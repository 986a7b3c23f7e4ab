"""Which records a COQL ``where`` clause can match, answered from the store's indexes.

The plan only narrows: every candidate still goes through the query's own
test (``coql_eval``), so the rows are exactly those of a walk over every
record, in the same store order.
"""

from __future__ import annotations

import typing as t

from zoho_sandbox.coql_eval import NUMERIC_TYPES, Condition, Group, resolve_field
from zoho_sandbox.query_error import QueryError
from zoho_sandbox.record_index import lookup_key

if t.TYPE_CHECKING:
    from zoho_sandbox.records import Lookup

# Operators an exact-value index answers; the rest need every record tested.
INDEXED_OPERATORS = frozenset({"=", "in"})
# Types whose stored values compare as numbers or flags, not as text keys.
UNINDEXED_TYPES = NUMERIC_TYPES | {"boolean"}


def candidates(
    where: Condition | Group | None,
    fields: dict[str, dict[str, t.Any]],
    lookup: Lookup,
) -> set[str] | None:
    """The ids of the records ``where`` may match, or None when it must test them all.

    ``or`` takes the union of its operands' candidates (None if either is
    None); ``and`` the intersection (one operand's, if the other is None).

    Args:
        where: The query's ``where`` clause, if any.
        fields: The module's field metadata by api name.
        lookup: ``(field, keys) -> ids`` over the store's indexes.

    Returns:
        Candidate record ids, or None.
    """
    if where is None:
        return None
    if isinstance(where, Condition):
        return _condition(where, fields, lookup)
    left = candidates(where.left, fields, lookup)
    right = candidates(where.right, fields, lookup)
    if where.joiner == "and":
        if left is None or right is None:
            return right if left is None else left
        return left & right
    if left is None or right is None:
        return None
    return left | right


def _condition(
    condition: Condition, fields: dict[str, dict[str, t.Any]], lookup: Lookup
) -> set[str] | None:
    """The candidates of one ``field = value`` or ``field in (...)``, else None."""
    if condition.operator not in INDEXED_OPERATORS:
        return None
    try:
        name, data_type = resolve_field(condition.field, fields)
    except QueryError:
        return None  # the query's own test raises Zoho's error for it
    if data_type in UNINDEXED_TYPES:
        return None
    # A literal reads as its text for such a field (coql_eval._literal); null
    # equals nothing, so it adds no key.
    keys = [
        key
        for literal in condition.values
        if not (literal.kind == "keyword" and literal.text == "null")
        and (key := lookup_key(literal.text)) is not None
    ]
    return lookup(name, keys)
