"""Checking records against their SCHEMA: a quick check, and an exact one behind it."""

from __future__ import annotations

import re
import typing as t

import fastjsonschema
import msgspec
from singer_sdk.exceptions import InvalidJSONSchema

# Keywords that say nothing about which values are valid (formats are not
# enforced, as in the SDK's default).
_ANNOTATIONS = frozenset(
    {
        "$comment",
        "$schema",
        "default",
        "deprecated",
        "description",
        "examples",
        "format",
        "readOnly",
        "title",
        "writeOnly",
    }
)
_PLAIN_TYPES: dict[str, t.Any] = {
    "string": str,
    "integer": int,  # not 1.0, which JSON Schema counts: the exact check decides
    "number": float,  # msgspec takes ints for floats, as JSON Schema does
    "boolean": bool,
    "null": None,
}
# Deeper schemas are left to the exact check alone.
_MAX_DEPTH = 30


class RecordCheck:
    """One stream's record check; raises ``JsonSchemaValueException`` for a bad record.

    fastjsonschema compiles the SCHEMA to Python, several times faster than
    the SDK's jsonschema, yet it still costs microseconds a record. Where the
    SCHEMA only states types, properties and required keys, the same rules
    become a msgspec type, checked in C in a fraction of that. A record the
    quick check passes is valid; one it does not pass goes to fastjsonschema,
    whose verdict and message stand.
    """

    def __init__(self, stream: str, schema: dict) -> None:
        """Compile both checks once for the stream.

        Raises:
            InvalidJSONSchema: The SCHEMA is not one the compiler can use.
        """
        self._exact = compile_exact_check(stream, schema)
        self._quick = quick_type(schema)

    def __call__(self, record: dict) -> None:
        """Check one record.

        Raises:
            fastjsonschema.JsonSchemaValueException: It breaks the SCHEMA.
        """
        if self._quick is not None:
            try:
                msgspec.convert(record, self._quick)
            except msgspec.ValidationError:
                pass
            else:
                return
        self._exact(record)


def quick_type(schema: t.Any, depth: int = 0) -> t.Any:  # noqa: PLR0911
    """The msgspec type taking only values ``schema`` takes, or None.

    None where the schema says more than msgspec types can (enum, pattern,
    minimum, anyOf, additionalProperties false, ...): every record of such a
    stream takes the exact check. A type may refuse more than the schema
    (1.0 for an integer, ints past 64 bits); the exact check decides those.
    """
    if schema is True or (isinstance(schema, dict) and set(schema) <= _ANNOTATIONS):
        return t.Any
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    if not set(schema) <= {"type", "properties", "required", "items"} | _ANNOTATIONS:
        return None
    if "additionalProperties" in schema or "type" not in schema:
        return None
    names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if not names or not all(isinstance(name, str) for name in names):
        return None
    members = [_member_type(name, schema, depth) for name in dict.fromkeys(names)]
    if _UNUSABLE in members:
        return None
    try:
        quick = t.Union[tuple(members)]  # noqa: UP007 - built at run time
        msgspec.inspect.type_info(quick)  # msgspec refuses some unions
    except (TypeError, ValueError):
        return None
    return quick


_UNUSABLE = object()


def _member_type(name: str, schema: dict, depth: int) -> t.Any:
    """The msgspec type of one JSON type a schema allows; ``_UNUSABLE`` if none."""
    if name in _PLAIN_TYPES:
        return _PLAIN_TYPES[name]
    if name == "object":
        return _object_type(schema, depth)
    if name == "array":
        return _array_type(schema, depth)
    return _UNUSABLE


_UNUSABLE = object()


def _object_type(schema: dict, depth: int) -> t.Any:
    """A Struct of the object's properties, or ``dict`` when it names none."""
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(properties, dict) or not isinstance(required, list):
        return _UNUSABLE
    if not properties and not required:
        return dict
    fields: list[tuple[str, t.Any, t.Any]] = []
    keys = dict.fromkeys([*properties, *required])
    for index, key in enumerate(keys):
        if not isinstance(key, str):
            return _UNUSABLE
        value_type = quick_type(properties[key], depth + 1) if key in properties else t.Any
        if value_type is None:
            return _UNUSABLE
        # The JSON key is the field's encoded name; the attribute is f0, f1, ...
        # so any key (`__init__`, `a b`) is fine.
        if key in required:
            field = msgspec.field(name=key)
        else:
            field = msgspec.field(name=key, default=None)
        fields.append((f"f{index}", value_type, field))
    return msgspec.defstruct(f"Object{depth}", fields, kw_only=True)


def _array_type(schema: dict, depth: int) -> t.Any:
    """A list of the items' type, or ``list`` when the schema says none."""
    if "items" not in schema:
        return list
    item_type = quick_type(schema["items"], depth + 1)
    return _UNUSABLE if item_type is None else list[item_type]


def _refuse_remote_ref(uri: str) -> t.NoReturn:
    """A SCHEMA's ``$ref`` to a URL is never fetched: the target reads stdin only."""
    msg = f"$ref to {uri.split(':', 1)[0]}: URLs is not followed"
    raise fastjsonschema.JsonSchemaDefinitionException(msg)


_NO_REMOTE_REFS = dict.fromkeys(("http", "https", "file", "ftp", "data", ""), _refuse_remote_ref)


def compile_exact_check(stream: str, schema: dict) -> t.Callable[[dict], t.Any]:
    """Compile a stream's SCHEMA into Python: the exact check, with clear messages.

    Formats are not enforced, as in the SDK's default: a tap's loose
    date-time string is for Zoho's coercion to judge, not the schema.

    Raises:
        InvalidJSONSchema: The SCHEMA is not one the compiler can use; the
            message names the stream and the kind of problem only.
    """
    try:
        return fastjsonschema.compile(schema, use_formats=False, handlers=_NO_REMOTE_REFS)
    except fastjsonschema.JsonSchemaDefinitionException as exc:
        reason = str(exc)[:200]
    except (
        TypeError,
        ValueError,
        KeyError,
        AttributeError,
        IndexError,
        re.error,
        RecursionError,
    ) as exc:
        # fastjsonschema assumes well-typed keywords ({"items": 5} is a TypeError).
        reason = f"a keyword has a value of the wrong kind ({type(exc).__name__})"
    msg = f"the SCHEMA of stream '{stream[:100]}' is not valid JSON Schema: {reason}"
    raise InvalidJSONSchema(msg) from None
