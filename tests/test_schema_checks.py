"""The record check: msgspec's quick check never passes what the exact check refuses."""

from __future__ import annotations

import typing as t

import fastjsonschema
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from singer_sdk.exceptions import InvalidJSONSchema

from target_zoho_leads.schema_checks import RecordCheck, compile_exact_check, quick_type

TYPE_NAMES = ("string", "integer", "number", "boolean", "null", "object", "array")
KEYS = ("a", "b", "properties", "__init__", "a b")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1.0, 0.0, -3.0])
    | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)


def _schemas(inner: st.SearchStrategy[t.Any]) -> st.SearchStrategy[dict[str, t.Any]]:
    types = st.sampled_from(TYPE_NAMES) | st.lists(
        st.sampled_from(TYPE_NAMES), min_size=1, max_size=3, unique=True
    )
    return st.fixed_dictionaries(
        {"type": types},
        optional={
            "properties": st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
            "required": st.lists(st.sampled_from(KEYS), max_size=2, unique=True),
            "items": inner,
            "description": st.just("annotations change nothing"),
            "format": st.just("date-time"),
            # Keywords types cannot say: the quick check must stand aside.
            "minimum": st.just(0),
            "enum": st.just(["a", 1]),
            "additionalProperties": st.just(value=False),
        },
    )


schemas = st.recursive(
    st.just({}) | st.fixed_dictionaries({"type": st.sampled_from(TYPE_NAMES)}),
    _schemas,
    max_leaves=6,
)


def _exact_verdict(schema: dict, value: t.Any) -> bool:
    check = compile_exact_check("s", schema)
    try:
        check(value)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(schema=schemas, value=json_values)
def test_the_record_check_agrees_with_fastjsonschema_on_any_schema_and_value(schema, value):
    """Whatever the quick check makes of a value, the verdict is fastjsonschema's."""
    try:
        record_check = RecordCheck("s", schema)
    except InvalidJSONSchema:
        assume(condition=False)  # a SCHEMA refused at once, tested elsewhere
    try:
        record_check(value)
        verdict = True
    except fastjsonschema.JsonSchemaValueException:
        verdict = False
    assert verdict == _exact_verdict(schema, value)


def test_a_schema_of_types_and_properties_gets_the_quick_check():
    """The usual tap SCHEMA: types, nullable types, properties, required keys."""
    schema = {
        "type": "object",
        "properties": {
            "anonymous_id": {"type": "string", "description": "the CDP's id"},
            "email": {"type": ["string", "null"], "format": "email"},
            "score": {"type": ["integer", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "properties": {"type": ["object", "null"], "properties": {}},
        },
        "required": ["anonymous_id"],
    }
    assert quick_type(schema) is not None


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}},
        {"type": "object", "properties": {"s": {"anyOf": [{"type": "string"}]}}},
        {"type": "object", "additionalProperties": False},
        {"type": "object", "properties": {"s": {"enum": ["a", "b"]}}},
        {"properties": {"s": {"type": "string"}}},  # no type: any non-object passes
    ],
)
def test_a_schema_that_says_more_than_types_is_left_to_the_exact_check(schema):
    """Constraints msgspec types cannot state turn the quick check off."""
    assert quick_type(schema) is None


def test_a_bad_record_gets_fastjsonschemas_message_which_never_quotes_the_value():
    """The quick check only says a record is fine; errors come from the exact one."""
    record_check = RecordCheck("s", {"type": "object", "properties": {"n": {"type": "integer"}}})
    with pytest.raises(fastjsonschema.JsonSchemaValueException) as caught:
        record_check({"n": "secret@example.com"})
    assert caught.value.message == "data.n must be integer"


def test_an_integral_float_still_passes_an_integer_field():
    """1.0 is an integer to JSON Schema: the exact check decides, not the quick one."""
    record_check = RecordCheck("s", {"type": "object", "properties": {"n": {"type": "integer"}}})
    record_check({"n": 1.0})
