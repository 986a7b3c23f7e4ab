"""The record check: msgspec's quick check never passes what the exact check refuses."""

from __future__ import annotations

import typing as t

import fastjsonschema
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from singer_sdk.exceptions import InvalidJSONSchema

from target_zoho_leads.singer_input.schema_checks import (
    SCHEMA_CHECK_TIMEOUT,
    SCHEMA_MISMATCH,
    RecordCheck,
    SchemaMismatch,
    compile_exact_check,
    quick_type,
    schema_place,
)
from target_zoho_leads.singer_input.schema_patterns import BoundedPattern

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


# Hostile SCHEMAs: every compile ends, every check ends, no message quotes a record's key.

BACKTRACKING = "^(a|aa)+$"  # exponential in Python's re on sixty a's and a "!"


def test_a_backtracking_pattern_is_a_timeout_rejection_naming_the_property():
    """The value cannot be judged in time: the record is refused, the run goes on."""
    record_check = RecordCheck(
        "s", {"type": "object", "properties": {"name": {"type": "string", "pattern": BACKTRACKING}}}
    )
    with pytest.raises(SchemaMismatch) as caught:
        record_check({"name": "a" * 60 + "!"})
    assert caught.value.code == SCHEMA_CHECK_TIMEOUT
    assert caught.value.name == "data.name"
    assert caught.value.message.startswith("data.name could not be checked against the SCHEMA's")


def test_a_backtracking_pattern_property_times_out_without_naming_the_key():
    """Patterns of property names judge a record's keys: the message names the object only."""
    record_check = RecordCheck("s", {"type": "object", "patternProperties": {BACKTRACKING: {}}})
    key = "a" * 60 + "!"
    with pytest.raises(SchemaMismatch) as caught:
        record_check({key: 1})
    assert caught.value.code == SCHEMA_CHECK_TIMEOUT
    assert caught.value.message.startswith("the property names of data could not be checked")
    assert key not in caught.value.message


def test_the_reviews_pattern_is_judged_at_once():
    """^(a+)+$ against 34 a's and a "!" hung the run: now it is a plain mismatch."""
    record_check = RecordCheck("s", {"properties": {"n": {"pattern": "^(a+)+$"}}})
    with pytest.raises(SchemaMismatch) as caught:
        record_check({"n": "a" * 34 + "!"})
    assert caught.value.code == SCHEMA_MISMATCH
    assert caught.value.message == "data.n must match pattern ^(a+)+$"


def test_every_pattern_fastjsonschema_compiles_is_time_limited():
    """Guards the assumption bound_patterns rests on: patterns live in REGEX_PATTERNS."""
    check = compile_exact_check(
        "s",
        {
            "properties": {"a": {"pattern": "^x"}},
            "patternProperties": {"^y": {"pattern": "z$"}},
        },
    )
    patterns = check.__globals__["REGEX_PATTERNS"]  # type: ignore[attr-defined]
    assert set(patterns) >= {"^x", "^y", "z$"}
    assert all(isinstance(pattern, BoundedPattern) for pattern in patterns.values())


def _definitions(count: int) -> dict:
    """Definitions d0..d{count}, each an anyOf of two references to the next."""
    chain = {
        f"d{i}": {
            "anyOf": [{"$ref": f"#/definitions/d{i + 1}"}, {"$ref": f"#/definitions/d{i + 1}"}]
        }
        for i in range(count)
    }
    return {**chain, f"d{count}": {"type": "string"}}


REFUSED = {
    "an $id inside that makes new scopes without end": (
        {"properties": {"a": {"$id": "a/", "properties": {"b": {"$ref": "#"}}}}},
        "an $id inside a SCHEMA that uses $ref (at properties/a)",
    ),
    "a $ref loop between definitions": (
        {
            "properties": {"a": {"$ref": "#/definitions/b"}},
            "definitions": {"b": {"$ref": "#/definitions/c"}, "c": {"$ref": "#/definitions/b"}},
        },
        "a $ref loop through definitions/",
    ),
    "a root that refers to itself": ({"$ref": "#", "properties": {}}, "a $ref loop through"),
    "a loop through allOf": (
        {
            "definitions": {"a": {"allOf": [{"$ref": "#/definitions/a"}]}},
            "properties": {"x": {"$ref": "#/definitions/a"}},
        },
        "a $ref loop through definitions/a",
    ),
    "a property that refers to itself": (
        {"properties": {"a": {"$ref": "#/properties/a"}}},
        "a $ref loop through properties/a",
    ),
    "a $ref to nothing": (
        {"properties": {"a": {"$ref": "#/definitions/none"}}},
        "the $ref at properties/a points at nothing in the SCHEMA",
    ),
    "a $ref to an anchor": (
        {"properties": {"a": {"$ref": "#foo"}}},
        "the $ref at properties/a names an anchor",
    ),
    "a $ref to a list of names": (
        {"required": ["a"], "properties": {"a": {"$ref": "#/required"}}},
        "points at something that is not a schema",
    ),
    "a $ref that is not text": ({"properties": {"a": {"$ref": 5}}}, "is not text"),
    "a $ref to another document": (
        {"properties": {"a": {"$ref": "other.json#/x"}}},
        "refers to another document",
    ),
    "twenty anyOf pairs, each referring to the next": (
        {"definitions": _definitions(20), "properties": {"x": {"$ref": "#/definitions/d0"}}},
        "check one value more than 10,000 times",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_a_schema_whose_references_cannot_end_is_refused_when_compiled(case):
    """One InvalidJSONSchema naming the stream and a place in the SCHEMA; nothing runs away."""
    schema, reason = REFUSED[case]
    with pytest.raises(InvalidJSONSchema) as caught:
        RecordCheck("web", schema)
    message = str(caught.value)
    assert message.startswith("the SCHEMA of stream 'web' cannot be checked safely: ")
    assert reason in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "root_id", ["foo:bar#baz", "http://[::1", "#", "", "http://example.com/s.json", "%zz"]
)
def test_an_odd_root_id_is_ignored_and_references_are_read_within_the_schema(root_id):
    """The root's $id names the document only: it is never fetched, and never breaks a $ref."""
    record_check = RecordCheck(
        "web",
        {
            "$id": root_id,
            "properties": {"a": {"$ref": "#/definitions/d"}},
            "definitions": {"d": {"type": "string"}},
        },
    )
    record_check({"a": "text"})
    with pytest.raises(SchemaMismatch, match=r"^data\.a must be string$"):
        record_check({"a": 1})


def test_a_recursive_schema_that_goes_into_properties_is_fine():
    """A tree refers to itself one level down: each step checks a smaller value, so it ends."""
    record_check = RecordCheck(
        "web", {"type": "object", "properties": {"name": {}, "child": {"$ref": "#"}}}
    )
    record_check({"child": {"child": {"name": "leaf"}}})


EMAILS = st.emails() | st.text(min_size=1, max_size=12).map(lambda s: f"{s}.x@example.com")


@settings(max_examples=150, deadline=None)
@given(key=EMAILS, nested=st.booleans(), bad_value=st.booleans(), value=json_values)
def test_a_failed_check_never_names_a_key_the_schema_does_not(key, nested, bad_value, value):
    """Keys matched by patternProperties or left to additionalProperties stay out of the words."""
    inner = {
        "type": "object",
        "properties": {"known": {"type": "string"}},
        "patternProperties": {"@": {"type": "object", "properties": {"deep": {"type": "string"}}}},
        "additionalProperties": False,
    }
    schema = {"type": "object", "properties": {"props": inner}} if nested else inner
    if bad_value:  # the key matches the pattern, its value breaks the pattern's schema
        record = {key: {"deep": 5, "more": value}}
    else:  # a key no pattern matches: additionalProperties false lists it
        record = {key: {"deep": "ok"}, key.replace("@", "_"): value}
    with pytest.raises(SchemaMismatch) as caught:
        RecordCheck("web", schema)({"props": record} if nested else record)
    for key_ in record:
        assert key_ not in caught.value.message
        assert key_ not in caught.value.name


@pytest.mark.parametrize(
    ("name", "place"),
    [
        ("data", "data"),
        ("data.known", "data.known"),
        ("data.known[3].deep", "data.known[3].deep"),
        ("data.bob@example.com", "data.*"),
        ("data.known.bob.x@example.com.deep", "data.known.*"),
        ("data.a.b.c", "data.a.b.c"),  # a SCHEMA name with a dot in it
        ("data.known[x]", "data.known"),
    ],
)
def test_a_place_keeps_only_the_schemas_own_names(name, place):
    """Read from the left, longest SCHEMA name first; a key the SCHEMA does not name ends it."""
    assert schema_place(name, {"known", "deep", "a.b", "c", "a"}) == place
