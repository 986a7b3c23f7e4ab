"""Checking records against their SCHEMA: a quick check, and an exact one behind it.

A SCHEMA comes from the tap, so compiling it must end, and so must checking
a record with it: ``$ref`` loops and odd ``$id`` values are refused when it
is compiled (schema_refs), so is a SCHEMA too large to compile in bounded
memory, and each record's check has one time budget (schema_budget), its
patterns included (schema_patterns);
and what a failed check says names fields by the SCHEMA's own property
names or positions, never by a record's keys, which can be emails.
"""

from __future__ import annotations

import re
import typing as t

import fastjsonschema
import msgspec
import regex
from singer_sdk.exceptions import InvalidJSONSchema

from target_zoho_leads.singer_input.schema_budget import (
    RECORD_CHECK_SECONDS,
    CheckTimeout,
    RecordBudget,
    SchemaTooLargeError,
    check_code_size,
    check_size,
)
from target_zoho_leads.singer_input.schema_patterns import (
    PatternTimeout,
    Place,
    bound_patterns,
    pattern_places,
)
from target_zoho_leads.singer_input.schema_refs import (
    SchemaReferenceError,
    check_references,
    without_root_id,
)

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


SCHEMA_MISMATCH = "SCHEMA_MISMATCH"
SCHEMA_CHECK_TIMEOUT = "SCHEMA_CHECK_TIMEOUT"
# The most of fastjsonschema's message kept: its enum and const quote the SCHEMA at length.
_MESSAGE_CHARS = 300


class SchemaMismatch(fastjsonschema.JsonSchemaValueException):
    """A record the check refused, told in the SCHEMA's own names; ``code`` says why.

    ``name`` is the place (``data.email``, ``data.tags[2]``, ``data.extra.*``
    for a property the SCHEMA does not name); ``value`` is never kept.
    """

    def __init__(self, message: str, name: str, rule: str | None, code: str) -> None:
        """Build it from words that hold no record data."""
        super().__init__(message, value=None, name=name, rule=rule)
        self.code = code


class RecordCheck:
    """One stream's record check; raises :class:`SchemaMismatch` for a bad record.

    fastjsonschema compiles the SCHEMA to Python, several times faster than
    the SDK's jsonschema, yet it still costs microseconds a record. Where the
    SCHEMA only states types, properties and required keys, the same rules
    become a msgspec type, checked in C in a fraction of that. A record the
    quick check passes is valid; one it does not pass goes to fastjsonschema,
    whose verdict stands, in words rewritten here.
    """

    def __init__(self, stream: str, schema: dict[str, t.Any]) -> None:
        """Compile both checks once for the stream.

        Raises:
            InvalidJSONSchema: The SCHEMA is not one the compiler can use.
        """
        self._budget = RecordBudget()
        self._exact = compile_exact_check(stream, schema, self._budget)
        self._quick = quick_type(schema)
        self._names = _property_names(schema)
        self._patterns = pattern_places(schema)

    def __call__(self, record: dict[str, t.Any]) -> None:
        """Check one record.

        Raises:
            SchemaMismatch: It breaks the SCHEMA, or could not be checked in time.
        """
        if self._quick is not None:
            try:
                msgspec.convert(record, self._quick)
            except msgspec.ValidationError:
                pass
            else:
                return
        try:
            self._budget.run(self._exact, record)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise self._mismatch(exc) from None
        except PatternTimeout as exc:
            raise self._timeout(exc.pattern) from None
        except CheckTimeout:
            msg = f"data could not be checked against the SCHEMA within {RECORD_CHECK_SECONDS:g} s"
            raise SchemaMismatch(msg, "data", None, SCHEMA_CHECK_TIMEOUT) from None
        except RecursionError:  # a recursive SCHEMA on data nested near the limit
            msg = "data is nested too deeply to check against the SCHEMA"
            raise SchemaMismatch(msg, "data", None, SCHEMA_MISMATCH) from None

    def _mismatch(self, exc: fastjsonschema.JsonSchemaValueException) -> SchemaMismatch:
        """The error, with any name the SCHEMA does not give cut out."""
        name = exc.name or "data"
        place = schema_place(name, self._names)
        if exc.rule == "additionalProperties":  # it lists the record's own keys
            message = f"{place} must not contain properties the SCHEMA does not name"
        elif name in exc.message:
            message = exc.message.replace(name, place, 1)
        else:
            message = f"{place} does not match the SCHEMA ({exc.rule})"
        return SchemaMismatch(message[:_MESSAGE_CHARS], place, exc.rule, SCHEMA_MISMATCH)

    def _timeout(self, pattern: str) -> SchemaMismatch:
        places = self._patterns.get(pattern) or [Place("data")]
        where = " or ".join(
            f"the property names of {p.place}" if p.names else p.place for p in places[:3]
        )
        message = (
            f"{where} could not be checked against the SCHEMA's pattern "
            f"{pattern[:60]!r} within {RECORD_CHECK_SECONDS:g} s"
        )
        return SchemaMismatch(message, places[0].place, "pattern", SCHEMA_CHECK_TIMEOUT)


def schema_place(name: str, declared: t.Collection[str]) -> str:
    """The place ``data.a.b[0]`` cut at the first part the SCHEMA does not name.

    What follows a property only a pattern or ``additionalProperties``
    admits becomes ``*``: that part is the record's own key. The name is
    read from the left, longest SCHEMA name first, since keys may hold dots.
    """
    if not name.startswith("data"):
        return "data"
    place, rest = "data", name[4:]
    while rest:
        if rest.startswith("["):
            index, bracket, after = rest[1:].partition("]")
            if not (bracket and index.isdigit()):
                break
            place, rest = f"{place}[{index}]", after
            continue
        known = [
            key
            for key in declared
            if rest.startswith(key, 1) and rest[1 + len(key) : 2 + len(key)] in ("", ".", "[")
        ]
        if not rest.startswith(".") or not known:
            return f"{place}.*"
        key = max(known, key=len)
        place, rest = f"{place}.{key}", rest[1 + len(key) :]
    return place


def _property_names(schema: t.Any) -> frozenset[str]:
    """Every name under a ``properties`` anywhere in the SCHEMA."""
    names: set[str] = set()
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            properties = item.get("properties")
            if isinstance(properties, dict):
                names.update(key for key in properties if isinstance(key, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return frozenset(names)


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
        quick: t.Any = t.Union[tuple(members)]  # noqa: UP007 - built at run time
        msgspec.inspect.type_info(quick)  # msgspec refuses some unions
    except (TypeError, ValueError):
        return None
    return quick


_UNUSABLE = object()


def _member_type(name: str, schema: dict[str, t.Any], depth: int) -> t.Any:
    """The msgspec type of one JSON type a schema allows; ``_UNUSABLE`` if none."""
    if name in _PLAIN_TYPES:
        return _PLAIN_TYPES[name]
    if name == "object":
        return _object_type(schema, depth)
    if name == "array":
        return _array_type(schema, depth)
    return _UNUSABLE


def _object_type(schema: dict[str, t.Any], depth: int) -> t.Any:
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


def _array_type(schema: dict[str, t.Any], depth: int) -> t.Any:
    """A list of the items' type, or ``list`` when the schema says none."""
    if "items" not in schema:
        return list
    item_type = quick_type(schema["items"], depth + 1)
    return _UNUSABLE if item_type is None else list[item_type]  # type: ignore[valid-type]


def _refuse_remote_ref(uri: str) -> t.NoReturn:
    """A SCHEMA's ``$ref`` to a URL is never fetched: the target reads stdin only."""
    msg = f"$ref to {uri.split(':', 1)[0]}: URLs is not followed"
    raise fastjsonschema.JsonSchemaDefinitionException(msg)


_NO_REMOTE_REFS = dict.fromkeys(("http", "https", "file", "ftp", "data", ""), _refuse_remote_ref)


def compile_exact_check(
    stream: str, schema: dict[str, t.Any], budget: RecordBudget | None = None
) -> t.Callable[[dict[str, t.Any]], t.Any]:
    """Compile a stream's SCHEMA into Python: the exact check, with clear messages.

    Formats are not enforced, as in the SDK's default: a tap's loose
    date-time string is for Zoho's coercion to judge, not the schema. The
    root's ``$id`` is left out (every ``$ref`` is read within the SCHEMA);
    patterns are swapped for ones within ``budget``. The code is generated
    once to be measured and again to be compiled (fastjsonschema's public
    calls): generating costs a tenth of compiling, and a SCHEMA past
    :data:`MAX_CHECK_CODE_BYTES` is never compiled.

    Raises:
        InvalidJSONSchema: The SCHEMA is not one the compiler can use, or
            its references cannot be followed safely; the message names the
            stream and the kind of problem only.
    """
    try:
        check_size(schema)
        check_references(schema)
        options: dict[str, t.Any] = {"use_formats": False, "handlers": _NO_REMOTE_REFS}
        check_code_size(fastjsonschema.compile_to_code(without_root_id(schema), **options))
        validate = fastjsonschema.compile(without_root_id(schema), **options)
        bound_patterns(validate, budget or RecordBudget())
    except (SchemaReferenceError, SchemaTooLargeError) as exc:
        msg = f"the SCHEMA of stream '{stream[:100]}' cannot be checked safely: {exc}"
        raise InvalidJSONSchema(msg) from None
    except fastjsonschema.JsonSchemaDefinitionException as exc:
        reason = str(exc)[:200]
    except (re.error, regex.error):
        reason = "a pattern is not a regular expression this target can read"
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as exc:
        # fastjsonschema assumes well-typed keywords ({"items": 5} is a TypeError).
        reason = f"a keyword has a value of the wrong kind ({type(exc).__name__})"
    else:
        return validate
    msg = f"the SCHEMA of stream '{stream[:100]}' is not valid JSON Schema: {reason}"
    raise InvalidJSONSchema(msg) from None
