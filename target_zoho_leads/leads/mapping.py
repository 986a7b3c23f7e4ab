"""Turn a record into a Zoho lead with the field mapping and default values (SPEC §3)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import types
import typing as t
from collections.abc import Mapping

from target_zoho_leads.leads.mapping_config import (
    FIELD_NAME_PATTERN,
    is_empty,
    parse_default_values,
    parse_field_mapping,
    parse_mapping_settings,
)
from target_zoho_leads.singer_input.bounds import MAX_NESTING, brackets, nesting

__all__ = [
    "FIELD_NAME_PATTERN",
    "LeadMapper",
    "is_empty",
    "parse_default_values",
    "parse_field_mapping",
]

if t.TYPE_CHECKING:
    # A walk down a dotted path: (start in `properties`?, the keys to follow).
    Walk = tuple[bool, tuple[str, ...]]
    # One source name and the walks its dotted path adds (none for a plain name).
    Source = tuple[str, tuple[Walk, ...]]
    # One Zoho field: its sources in order, and its default (None: none).
    Step = tuple[str, tuple[Source, ...], t.Any]

_NO_PROPERTIES: t.Mapping[str, t.Any] = types.MappingProxyType({})
# Python refuses to print ints of 4300+ digits; such a Decimal goes out as a float.
_MAX_INT_DIGITS = 4000


class LeadMapper:
    """Turns records into Zoho lead payloads with a plan built once from the settings.

    Attributes:
        mapped_fields: Zoho fields with a source mapping, in the mapping's order.
        default_values: Zoho field -> default value (blank ones left out).
    """

    def __init__(
        self,
        field_mapping: t.Mapping[str, t.Sequence[str]],
        default_values: t.Mapping[str, t.Any],
    ) -> None:
        """Build the plan once, so mapping a record does no parsing.

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
        self._plan: tuple[Step, ...] = tuple(
            (field, tuple(map(_source, field_mapping.get(field, ()))), defaults.get(field))
            for field in self._fields
        )

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> LeadMapper:
        """Build a mapper from the target's raw settings.

        Args:
            config: Settings holding `field_mapping` and maybe `default_values`.

        Returns:
            The mapper.

        Raises:
            ConfigValidationError: With the problems of both settings together.
        """
        return cls(*parse_mapping_settings(config))

    def map(self, record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """Build the lead for one record.

        Each field takes its first source with a non-empty value, each source
        looked up at the top level, then inside `properties`, then along its
        dotted path; else the field's default.

        Args:
            record: The record, as the SDK hands it over.

        Returns:
            Zoho field -> value, only fields with a non-empty value, in the
            mapping's order, then the fields only a default fills; always
            JSON-serialisable.
        """
        lead: dict[str, t.Any] = {}
        properties = None  # decoded when a source first needs it
        get, clean = record.get, _clean  # local names: this loop runs per record
        for field, sources, default in self._plan:
            for name, walks in sources:
                # Text, the usual value, is trimmed inline: a call less per lookup.
                value = get(name)
                if value is not None:
                    value = (value.strip() or None) if type(value) is str else clean(value)
                if value is None:
                    if properties is None:
                        properties = _decoded_properties(record)
                    value = properties.get(name)
                    if value is not None:
                        value = (value.strip() or None) if type(value) is str else clean(value)
                    if value is None and walks:
                        value = _follow(record, properties, walks)
                if value is not None:
                    lead[field] = value
                    break
            else:
                if default is not None:
                    # A multi-select's list is the lead's own, so edits stay local.
                    lead[field] = default.copy() if type(default) is list else default
        return lead


def _source(name: str) -> Source:
    """Plan one source: its name, and the walks its dotted path adds, in order."""
    if "." not in name:
        return name, ()
    keys = tuple(name.split("."))
    # `properties.x.y` walks the decoded properties, not the text they may arrive as.
    first: Walk = (True, keys[1:]) if keys[0] == "properties" else (False, keys)
    return name, (first, (True, keys))


def _follow(
    record: t.Mapping[str, t.Any],
    properties: t.Mapping[str, t.Any],
    walks: tuple[Walk, ...],
) -> t.Any:
    """Return the first non-empty value at the end of the walks, or None."""
    for in_properties, keys in walks:
        container: t.Any = properties if in_properties else record
        for key in keys:
            if not isinstance(container, Mapping):
                container = None
                break
            container = container.get(key)
        value = _clean(container)
        if value is not None:
            return value
    return None


def _decoded_properties(record: t.Mapping[str, t.Any]) -> t.Mapping[str, t.Any]:
    """Return the record's `properties` as an object, decoding its JSON text."""
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
    return properties if isinstance(properties, Mapping) else _NO_PROPERTIES


def _clean(value: t.Any) -> t.Any:
    """Return the value as Zoho gets it, or None when it is empty."""
    if value is None:
        return None
    if type(value) is str:  # the usual value, so tested first
        return value.strip() or None
    value = _to_json(value)
    if value == "" or (isinstance(value, (list, dict)) and not value):
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
