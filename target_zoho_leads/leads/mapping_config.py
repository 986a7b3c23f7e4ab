"""Parse the `field_mapping` and `default_values` settings (SPEC §3's pair grammar)."""

from __future__ import annotations

import json
import math
import re
import typing as t
from collections.abc import Mapping

from singer_sdk.exceptions import ConfigValidationError

if t.TYPE_CHECKING:
    Entry = tuple[str, str, t.Any]  # (label naming the pair, Zoho field, raw value)

FIELD_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*\Z")

_NAME_HINT = "letters, digits and underscores, e.g. First_Name"
# `\,` is the one escape: a comma preceded by a backslash belongs to the value.
_PAIR_SEPARATOR = re.compile(r"(?<!\\),")
_NO_EQUALS = 'no "=" (write ZohoField=value, e.g. Phone=phone)'


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


def parse_mapping_settings(
    config: t.Mapping[str, t.Any],
) -> tuple[dict[str, tuple[str, ...]], dict[str, t.Any]]:
    """Parse both mapping settings, reporting the problems of both together.

    Args:
        config: Settings holding `field_mapping` and maybe `default_values`.

    Returns:
        The parsed `field_mapping` and `default_values`.

    Raises:
        ConfigValidationError: With every problem of both settings.
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
    return field_mapping, default_values


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
        field, equals, rest = written.partition("=")
        field = field.strip()
        label = _label(setting, f"pair {number}", field if equals else "")
        problem = _field_problem(field) if equals else _NO_EQUALS
        if problem:
            errors.append(f"{label}: {problem}")
        else:
            entries.append((label, field, rest.strip().replace("\\,", ",")))
    return entries


def _object_entries(setting: str, value: t.Any, errors: list[str]) -> list[Entry]:
    """Check the keys of the object form; values are checked by the caller."""
    entries = []
    items = value.items() if isinstance(value, Mapping) else value
    for number, (key, raw) in enumerate(items, start=1):
        field = key.strip() if isinstance(key, str) else str(key)
        label = _label(setting, f"entry {number}", field)
        problem = _field_problem(field)
        if problem:
            errors.append(f"{label}: {problem}")
        else:
            # A nested JSON object arrives as pairs; make it an object again.
            entries.append((label, field, dict(raw) if isinstance(raw, _Pairs) else raw))
    return entries


def _label(setting: str, place: str, field: str) -> str:
    """Name a pair by its place, and by its Zoho field when that is an API name.

    A pair's text is never quoted: a value or a mistyped name can be a
    person's phone or email pasted into the settings.
    """
    named = f" ({field})" if FIELD_NAME_PATTERN.match(field) else ""
    return f"{setting}: {place}{named}"


def _field_problem(field: str) -> str | None:
    """Say what is wrong with a Zoho field name, or None if nothing is."""
    if not field:
        return "the Zoho field name is empty"
    if not FIELD_NAME_PATTERN.match(field):
        return f"the Zoho field name is not an API name ({_NAME_HINT})"
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
