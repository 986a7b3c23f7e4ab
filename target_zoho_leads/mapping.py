"""Parse the field mapping and default values, and turn a record into a lead."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import types
import typing as t
from collections.abc import Mapping

from singer_sdk.exceptions import ConfigValidationError

from target_zoho_leads.limits import MAX_NESTING, brackets, nesting

if t.TYPE_CHECKING:
    from collections.abc import Callable

    # A compiled source: (record, decoded-properties cache) -> value or None.
    Getter = Callable[[t.Mapping[str, t.Any], list[t.Mapping[str, t.Any]]], t.Any]
    Entry = tuple[str, str, t.Any]  # (label naming the pair, Zoho field, raw value)

FIELD_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*\Z")

_NAME_HINT = "letters, digits and underscores, e.g. First_Name"
# `\,` is the one escape: a comma preceded by a backslash belongs to the value.
_PAIR_SEPARATOR = re.compile(r"(?<!\\),")
_NO_PROPERTIES: t.Mapping[str, t.Any] = types.MappingProxyType({})
_NO_EQUALS = 'no "=" (write ZohoField=value, e.g. Phone=phone)'
# Python refuses to print ints of 4300+ digits; such a Decimal goes out as a float.
_MAX_INT_DIGITS = 4000


class _Pairs(list):  # type: ignore[type-arg]
    """A JSON object kept as its (key, value) pairs, so repeated keys stay visible."""


def parse_field_mapping(
    value: str | t.Mapping[str, str | t.Sequence[str]],
) -> dict[str, tuple[str, ...]]:
    """Parse the `field_mapping` setting.

    Args:
        value: ``"Phone=phone,Phone=wxPhone"``, an object such as
            ``{"Phone": ["phone", "wxPhone"]}``, or that object as JSON text.

    Returns:
        Zoho field -> source names in the order to try them (insertion-ordered).

    Raises:
        ConfigValidationError: Listing every offending pair.
    """
    errors: list[str] = []
    mapping: dict[str, list[str]] = {}
    for label, field, raw in _entries("field_mapping", value, errors):
        sources = _sources(label, raw, errors)
        if sources:
            mapping.setdefault(field, []).extend(sources)
    if not mapping and not errors:
        errors.append("field_mapping is empty: give pairs such as Phone=phone")
    _raise_if_any(errors)
    return {field: tuple(sources) for field, sources in mapping.items()}


def parse_default_values(
    value: str | t.Mapping[str, t.Any] | None,
) -> dict[str, t.Any]:
    """Parse the `default_values` setting.

    Args:
        value: ``"Lead_Source=CDP, Last_Name=Unknown"``, an object such as
            ``{"Lead_Source": "CDP"}``, that object as JSON text, or None.

    Returns:
        Zoho field -> default value.

    Raises:
        ConfigValidationError: Listing every offending pair.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    errors: list[str] = []
    defaults: dict[str, t.Any] = {}
    first_label: dict[str, str] = {}
    for label, field, raw in _entries("default_values", value, errors):
        if field in first_label:
            # Which of two defaults was meant cannot be guessed: say so.
            errors.append(f"{label}: {field} already has a default, {first_label[field]}")
            continue
        first_label[field] = label.partition(": ")[2]
        problem = _default_problem(raw)
        if problem:
            errors.append(f"{label}: {problem}")
        else:
            defaults[field] = raw
    _raise_if_any(errors)
    return defaults


def is_empty(value: t.Any) -> bool:
    """Tell whether a value counts as nothing (and so is never sent).

    Args:
        value: A record value.

    Returns:
        True for None, a blank string, an empty list or an empty object.
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, Mapping)):
        return not value
    return False


class LeadMapper:
    """Turns records into Zoho lead payloads with a compiled field mapping."""

    def __init__(
        self,
        field_mapping: dict[str, tuple[str, ...]],
        default_values: dict[str, t.Any],
    ) -> None:
        """Compile the mapping once, so mapping a record does no parsing.

        Args:
            field_mapping: Zoho field -> source names, from `parse_field_mapping`.
            default_values: Zoho field -> default, from `parse_default_values`.
        """
        # A directly built mapper may carry blank defaults: they mean nothing.
        defaults = {k: v for k, v in default_values.items() if not is_empty(v)}
        only_defaults = (field for field in defaults if field not in field_mapping)
        self.mapped_fields: tuple[str, ...] = tuple(field_mapping)
        self.default_values: dict[str, t.Any] = defaults
        self._fields = (*field_mapping, *only_defaults)
        self._map = _write_out(self._fields, field_mapping, defaults)

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> LeadMapper:
        """Build a mapper from the target's settings.

        Args:
            config: Settings holding `field_mapping` and maybe `default_values`.

        Returns:
            The mapper.

        Raises:
            ConfigValidationError: With the problems of both settings together.
        """
        errors: list[str] = []
        field_mapping: dict[str, tuple[str, ...]] = {}
        default_values: dict[str, t.Any] = {}
        try:
            field_mapping = parse_field_mapping(config.get("field_mapping"))  # type: ignore[arg-type]
        except ConfigValidationError as exc:
            errors += exc.errors
        try:
            default_values = parse_default_values(config.get("default_values"))
        except ConfigValidationError as exc:
            errors += exc.errors
        _raise_if_any(errors)
        return cls(field_mapping, default_values)

    @property
    def zoho_fields(self) -> tuple[str, ...]:
        """Every Zoho field a lead can get: mapped ones, then default-only ones."""
        return self._fields

    def map(self, record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """Build the lead for one record.

        Args:
            record: The record, as the SDK hands it over.

        Returns:
            Zoho field -> value, only fields with a non-empty value, in
            `zoho_fields` order; always JSON-serialisable.
        """
        return self._map(record)


def _entries(setting: str, value: object, errors: list[str]) -> list[Entry]:
    """Split a setting into (label, Zoho field, raw value), checking field names."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value, object_pairs_hook=_Pairs)
        except ValueError as exc:
            # Only the position: the text itself may be long.
            errors.append(f"{setting}: not valid JSON ({exc})")
            return []
    if isinstance(value, str):
        return _string_entries(setting, value, errors)
    if isinstance(value, (Mapping, _Pairs)):
        return _object_entries(setting, value, errors)
    kind = "missing" if value is None else f"a {type(value).__name__}"
    errors.append(f"{setting} must be text like Phone=phone or an object, not {kind}")
    return []


def _string_entries(setting: str, text: str, errors: list[str]) -> list[Entry]:
    """Parse ``Field=value,Field=value`` (the CDP's admin-screen form)."""
    entries = []
    for number, raw in enumerate(_PAIR_SEPARATOR.split(text), start=1):
        written = raw.strip()
        if not written:
            continue  # a trailing comma or ",," is harmless
        label = f'{setting}: pair {number} "{written}"'
        field, equals, rest = written.partition("=")
        field = field.strip()
        problem = _field_problem(field) if equals else _NO_EQUALS
        if problem:
            errors.append(f"{label}: {problem}")
        else:
            entries.append((label, field, rest.strip().replace("\\,", ",")))
    return entries


def _object_entries(setting: str, value: t.Any, errors: list[str]) -> list[Entry]:
    """Check the keys of the object form; values are checked by the caller."""
    entries = []
    for key, raw in value.items() if isinstance(value, Mapping) else value:
        field = key.strip() if isinstance(key, str) else str(key)
        label = f'{setting}: entry "{key}"'
        problem = _field_problem(field)
        if problem:
            errors.append(f"{label}: {problem}")
        else:
            # A nested JSON object arrives as pairs; make it an object again.
            entries.append((label, field, dict(raw) if isinstance(raw, _Pairs) else raw))
    return entries


def _field_problem(field: str) -> str | None:
    """Say what is wrong with a Zoho field name, or None if nothing is."""
    if not field:
        return "the Zoho field name is empty"
    if not FIELD_NAME_PATTERN.match(field):
        return f'"{field}" is not a Zoho API name ({_NAME_HINT})'
    return None


def _sources(label: str, raw: t.Any, errors: list[str]) -> list[str]:
    """Check one mapping entry's source names and return them trimmed."""
    if isinstance(raw, str):
        if not raw.strip():
            errors.append(f"{label}: the source field is empty")
            return []
        return [raw.strip()]
    if not isinstance(raw, (list, tuple)):
        errors.append(f"{label}: the source must be a field name or a list of them")
        return []
    if not raw:
        errors.append(f"{label}: the source list is empty")
    sources = []
    for number, source in enumerate(raw, start=1):
        if not isinstance(source, str):
            kind = type(source).__name__
            errors.append(f"{label}: source {number} is a {kind}, not a field name")
        elif not source.strip():
            errors.append(f"{label}: source {number} is empty")
        else:
            sources.append(source.strip())
    return sources


def _default_problem(raw: t.Any) -> str | None:
    """Say what is wrong with one default value, or None if nothing is."""
    if is_empty(raw):
        return "the default value is empty"
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return None  # a multi-select's choices
    if isinstance(raw, float) and not math.isfinite(raw):
        return "the default number is not finite"
    if isinstance(raw, (str, bool, int, float)):
        return None
    return "a default must be text, a number, true/false or a list of texts"


def _raise_if_any(errors: list[str]) -> None:
    """Raise one ConfigValidationError for all the problems found."""
    if len(errors) == 1:
        raise ConfigValidationError(errors[0], errors=errors)
    if errors:
        msg = f"{len(errors)} problems: " + "; ".join(errors)
        raise ConfigValidationError(msg, errors=errors)


def _compile_source(name: str) -> Getter:
    """Make the getter of one source: top level, properties, then dotted paths."""
    path = tuple(name.split(".")) if "." in name else ()
    # A path through `properties` must see it decoded, so start from the cache.
    via_properties = bool(path) and path[0] == "properties"
    rest = path[1:] if via_properties else path

    def get(record: t.Mapping[str, t.Any], cache: list[t.Any]) -> t.Any:
        raw = record.get(name)
        if raw is not None:
            # Text, the usual value, is cleaned here: a call less per field.
            value = raw.strip() if type(raw) is str else _clean(raw)
            if value is not None and value != "":  # 0 and false are values
                return value
        properties = cache[0] if cache else _remember_properties(record, cache)
        raw = properties.get(name)
        if raw is not None:
            value = raw.strip() if type(raw) is str else _clean(raw)
            if value is not None and value != "":
                return value
        if not path:
            return None
        value = _clean(_walk(properties if via_properties else record, rest))
        return value if value is not None else _clean(_walk(properties, path))

    return get


# One source of a field in the unrolled mapping: the record's top level, then
# its `properties`. {name} and {field} are Python literals (repr).
_SOURCE_CODE = """
        raw = record.get({name})
        if raw is not None:
            value = raw.strip() if type(raw) is str else clean(raw)
            if value is not None and value != "":
                lead[{field}] = value
                break
        raw = (cache[0] if cache else remember(record, cache)).get({name})
        if raw is not None:
            value = raw.strip() if type(raw) is str else clean(raw)
            if value is not None and value != "":
                lead[{field}] = value
                break"""
# A source with a dotted path keeps its compiled getter, number {index}.
_PATH_CODE = """
        value = getters[{index}](record, cache)
        if value is not None:
            lead[{field}] = value
            break"""


def _write_out(
    fields: tuple[str, ...],
    field_mapping: dict[str, tuple[str, ...]],
    defaults: dict[str, t.Any],
) -> Callable[[t.Mapping[str, t.Any]], dict[str, t.Any]]:
    """Unroll the mapping into one Python function, compiled once per run.

    Mapping runs on every record, and a loop over fields and sources, with a
    call per source, cost twice the lookups themselves. For each field in
    turn the function tries its sources in order (top level, then
    ``properties``, then a dotted path through the source's getter) and
    falls back to the field's default; names and values enter it only as
    ``repr`` literals or through its namespace, never as code.
    """
    getters: list[Getter] = []
    blocks: list[str] = []
    for index, field in enumerate(fields):
        literal = repr(field)
        block = ["    while True:"]
        for name in field_mapping.get(field, ()):
            if "." in name:
                getters.append(_compile_source(name))
                code = _PATH_CODE.format(index=len(getters) - 1, field=literal)
            else:
                code = _SOURCE_CODE.format(name=repr(name), field=literal)
            block.append(code)
        if field in defaults:
            copy = ".copy()" if type(defaults[field]) is list else ""
            block.append(f"\n        lead[{literal}] = defaults[{index}]{copy}")
        block.append("\n        break")
        blocks.append("".join(block))
    source = (
        "def map_record(record):\n    lead = {}\n    cache = []\n"
        + "\n".join(blocks)
        + "\n    return lead\n"
    )
    namespace: dict[str, t.Any] = {
        "clean": _clean,
        "remember": _remember_properties,
        "getters": tuple(getters),
        "defaults": tuple(defaults.get(field) for field in fields),
    }
    exec(compile(source, "<field_mapping>", "exec"), namespace)  # noqa: S102
    return namespace["map_record"]


def _remember_properties(record: t.Mapping[str, t.Any], cache: list[t.Any]) -> t.Any:
    """Decode the record's `properties` (an object or its JSON text) once."""
    properties = record.get("properties")
    if isinstance(properties, str):
        text = properties
        try:
            properties = json.loads(text)
        except (ValueError, RecursionError):
            properties = None  # text that is not JSON: no properties to look in
        # Deeper than the reader allows for a line: values this deep would
        # exhaust the stack when converted, and no mapping reaches them.
        if brackets(text) > MAX_NESTING and nesting(properties) > MAX_NESTING:
            properties = None
    if not isinstance(properties, Mapping):
        properties = _NO_PROPERTIES
    cache.append(properties)
    return properties


def _walk(container: t.Any, keys: tuple[str, ...]) -> t.Any:
    """Follow keys through nested objects; None where the path breaks."""
    for key in keys:
        if not isinstance(container, Mapping):
            return None
        container = container.get(key)
    return container


def _clean(value: t.Any) -> t.Any:
    """Return the value as Zoho gets it, or None when it is empty."""
    if isinstance(value, str):
        return value.strip() or None
    value = _to_json(value)
    if value is None or (isinstance(value, (list, dict)) and not value):
        return None
    return value


def _to_json(value: t.Any) -> t.Any:  # noqa: PLR0911 - one branch per type
    """Convert a record value (deeply) into plain JSON types."""
    if isinstance(value, str):
        return value.strip()
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # NaN is not JSON
    if isinstance(value, decimal.Decimal):
        return _decimal_number(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    return str(value)


def _decimal_number(value: decimal.Decimal) -> int | float | None:
    """Return an integral Decimal as an int, others as a float; None if infinite."""
    if not value.is_finite():
        return None
    if value == value.to_integral_value() and value.adjusted() < _MAX_INT_DIGITS:
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None
