"""Coerce leads to the shapes their Zoho fields accept, and count what that changed."""

from __future__ import annotations

import dataclasses
import sys
import threading
import typing as t

from target_zoho_leads.leads import coercion
from target_zoho_leads.leads.coercion import Converter, InvalidValue
from target_zoho_leads.leads.field_metadata import LeadField, config_problems, unique_lead_problems

if t.TYPE_CHECKING:
    from collections.abc import Callable

INVALID_VALUE_POLICIES = ("reject", "drop_field")
INVALID_DATA = "INVALID_DATA"
# Beyond this many new values a field is clearly fed free text: stop warning.
MAX_NEW_PICKLIST_VALUES = 100


@dataclasses.dataclass(frozen=True)
class _AsIs:
    """How to tell that a text value can go to a field unchanged.

    A value that passes is exactly what the full conversion would return for
    it; one that fails takes the full conversion, which decides.
    """

    room: int  # the most characters
    match: Callable[[str], object] | None = None  # must match, when set
    choices: t.Container[str] | None = None  # must be one of, when set

    @classmethod
    def of(cls, field: LeadField) -> _AsIs | None:
        """The test for ``field``, or None where every value needs converting."""
        kind = field.kind
        if kind in {"text", "textarea"}:
            return cls(field.length if field.length is not None else sys.maxsize)
        if kind in coercion.SENT_AS_IS:
            match, default_length = coercion.SENT_AS_IS[kind]
            return cls(field.length or default_length, match=match)
        if kind == "picklist" and field.choices:
            actual = {value for key, value in field.choices.items() if key == value}
            return cls(sys.maxsize, choices=actual)
        return None

    def __call__(self, value: t.Any) -> bool:
        """Tell whether one value goes unchanged."""
        return (
            type(value) is str
            and len(value) <= self.room
            and (self.match is None or self.match(value) is not None)
            and (self.choices is None or value in self.choices)
        )

    def all(self, texts: list[str]) -> bool:
        """Tell whether every one of ``texts`` goes unchanged, a C loop per test."""
        if max(map(len, texts), default=0) > self.room:
            return False
        if self.match is None and self.choices is None:
            return True
        # Each distinct value once: landing pages, sources and picklist values
        # repeat across a batch, and so do a person's events.
        distinct = set(texts)
        if self.match is not None and not all(map(self.match, distinct)):
            return False
        return self.choices is None or all(map(self.choices.__contains__, distinct))


@dataclasses.dataclass(frozen=True)
class FieldProblem:
    """One value that cannot be sent; its reason never quotes it (personal data)."""

    field: str
    code: str
    reason: str


class LeadFields:
    """The Leads fields of one org: start-up checks and per-value coercion.

    Counters are shared by every sink thread of a run, so they change under a lock.

    Attributes:
        truncated: Field -> text values cut to the field's length, in leads sent.
        dropped: Field -> invalid values left out under the ``drop_field`` policy.
        new_picklist_values: Field -> distinct values sent that its picklist lacks
            (counting stops at ``MAX_NEW_PICKLIST_VALUES``).
    """

    def __init__(self, fields: t.Iterable[LeadField]) -> None:
        """Keep the fields by API name (`from_metadata` reads Zoho's answer)."""
        self._fields = {field.name: field for field in fields}
        # The fields coerce() converts; the rest of a lead passes untouched.
        self._writable = {n: f for n, f in self._fields.items() if f.writable}
        # Text already in its field's shape is sent as it is: the fast path
        # for most CDP values.
        self._as_is = {
            name: check
            for name, field in self._writable.items()
            if (check := _AsIs.of(field)) is not None
        }
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._new_values: dict[str, set[str]] = {}
        self.truncated: dict[str, int] = {}
        self.dropped: dict[str, int] = {}
        self.new_picklist_values: dict[str, int] = {}

    @classmethod
    def from_metadata(cls, fields: list[dict[str, t.Any]]) -> LeadFields:
        """Build from the ``fields`` array of ``GET /settings/fields?module=Leads``.

        Args:
            fields: Zoho's field objects; items without an ``api_name`` are skipped.
        """
        return cls(
            LeadField.from_metadata(field)
            for field in fields
            if isinstance(field, dict) and field.get("api_name")
        )

    @property
    def names(self) -> frozenset[str]:
        """The api_name of every Leads field."""
        return frozenset(self._fields)

    @property
    def encrypted(self) -> frozenset[str]:
        """The api_name of every encrypted Leads field (COQL can only ask `is null`)."""
        return frozenset(name for name, field in self._fields.items() if field.encrypted)

    def unique_lead_problems(self, match_fields: t.Sequence[str] | None = None) -> list[str]:
        """Say which match fields Unique Lead cannot look leads up by; [] when fine.

        Returns:
            One message per unknown or encrypted match field, worded for the user.
        """
        return unique_lead_problems(self._fields, match_fields)

    @property
    def data_types(self) -> dict[str, str]:
        """Each Leads field's Zoho ``data_type``, by API name."""
        return {name: field.data_type for name, field in self._fields.items()}

    def check_config(self, mapped: t.Iterable[str], defaulted: t.Iterable[str]) -> list[str]:
        """Find every start-up problem of the mapping and defaults, worded for the user.

        Args:
            mapped: Zoho fields that have a source mapping.
            defaulted: Zoho fields that have a default value.

        Returns:
            One message per problem, in the order the fields were given; [] when fine.
        """
        return config_problems(self._fields, mapped, defaulted)

    def coerce(
        self, lead: dict[str, t.Any], policy: str
    ) -> tuple[dict[str, t.Any] | None, list[FieldProblem], list[str]]:
        """Convert each value of a lead to the shape Zoho accepts for its field.

        Fields the metadata lacks, read-only fields, fields this target cannot
        fill and null values are passed on untouched: the start-up checks deal
        with those, and coercion stays total.

        Args:
            lead: Zoho field -> JSON value, as the mapper made it.
            policy: ``reject`` (any problem rejects the lead) or ``drop_field``
                (invalid values are left out and the rest is sent).

        Returns:
            The lead to send (None when rejected), the problems found, and notes
            on this lead (a text cut, a new picklist value), naming fields only.
            Counters and the log-once messages of `take_warnings` change only
            for a lead that is sent.

        Raises:
            ValueError: An unknown policy.
        """
        if policy not in INVALID_VALUE_POLICIES:
            msg = f"invalid_value_policy must be one of {INVALID_VALUE_POLICIES}"
            raise ValueError(msg)
        sent: dict[str, t.Any] = {}
        problems: list[FieldProblem] = []
        events: list[tuple[LeadField, str | None]] = []
        writable = self._writable
        as_is = self._as_is
        for name, value in lead.items():
            if type(value) is str and (check := as_is.get(name)) and check(value):
                sent[name] = value
                continue
            field = writable.get(name)
            if field is None or value is None:
                sent[name] = value
                continue
            try:
                converted = self._convert(field, value, events)
            except InvalidValue as exc:
                problems.append(FieldProblem(name, INVALID_DATA, exc.reason))
                continue
            # `;;` for a multi-select is nothing, and nothing is never sent; not a
            # falsiness test, since 0 and false are values.
            if converted not in ([], ""):
                sent[name] = converted
        if problems and policy == "reject":
            return None, problems, []
        if not events and not problems:
            return sent, problems, []  # the common case needs no lock
        return sent, problems, self._record(events, problems)

    def coerce_all(
        self, leads: list[dict[str, t.Any]], policy: str
    ) -> list[tuple[dict[str, t.Any] | None, t.Sequence[FieldProblem]]]:
        """:meth:`coerce` for each lead of a batch, far faster: (payload, problems).

        A batch is checked a field at a time: where every value of a field is
        already in its shape (most CDP values are) the checks run in C over
        the whole column, and only the leads holding some other value go
        through :meth:`coerce`. A lead that needs nothing converted is
        returned as its own payload.
        """
        if policy not in INVALID_VALUE_POLICIES:
            msg = f"invalid_value_policy must be one of {INVALID_VALUE_POLICIES}"
            raise ValueError(msg)
        convert: set[int] = set()  # the leads that need `coerce`
        for name in set().union(*leads).intersection(self._writable):
            column = [lead.get(name) for lead in leads]
            present = [value for value in column if value is not None]
            as_is = self._as_is.get(name)
            if as_is is not None and set(map(type, present)) <= {str} and as_is.all(present):
                continue
            convert.update(
                index
                for index, value in enumerate(column)
                if value is not None and (as_is is None or not as_is(value))
            )
        results: list[tuple[dict[str, t.Any] | None, t.Sequence[FieldProblem]]]
        results = [(lead, ()) for lead in leads]
        for index in convert:
            payload, problems, _ = self.coerce(leads[index], policy)
            results[index] = (payload, problems)
        return results

    def _convert(
        self,
        field: LeadField,
        value: t.Any,
        events: list[tuple[LeadField, str | None]],
    ) -> t.Any:
        """Convert one value; note a text cut (None) or a new picklist value."""
        if field.kind == "multiselectpicklist":
            choices = coercion.to_choices(value, field.choices)
            if field.choices:
                new = (item for item in choices if item not in field.choices)
                events.extend((field, item) for item in new)
            return [field.choices.get(choice, choice) for choice in choices]
        if field.kind == "picklist":
            text = coercion.to_text(value).strip()
            if text and field.choices and text not in field.choices:
                events.append((field, text))
            return field.choices.get(text, text)
        if field.kind in {"text", "textarea"}:
            text = coercion.to_text(value)
            if field.length is not None and len(text) > field.length:
                events.append((field, None))
                return text[: field.length]
            return text
        convert: Converter = coercion.CONVERTERS.get(field.kind or "", coercion.to_text)
        return convert(value, field.limit)

    def _record(
        self, events: list[tuple[LeadField, str | None]], problems: list[FieldProblem]
    ) -> list[str]:
        """Count what a sent lead went through; return its notes."""
        notes: list[str] = []
        with self._lock:
            for field, new_value in events:
                if new_value is None:
                    notes.append(f"{field.name}: cut to {field.length} characters")
                    self._count_cut(field)
                else:
                    notes.append(f"{field.name}: value not in the picklist, sent as is")
                    self._count_new_value(field.name, new_value)
            for problem in problems:
                self.dropped[problem.field] = self.dropped.get(problem.field, 0) + 1
                if self.dropped[problem.field] == 1:
                    self._pending.append(
                        f"{problem.field}: invalid values are left out of the lead"
                        f" (invalid_value_policy drop_field); first: {problem.reason}"
                    )
        return list(dict.fromkeys(notes))  # one note per field and kind

    def _count_cut(self, field: LeadField) -> None:
        """Count one text cut; warn on the field's first."""
        self.truncated[field.name] = self.truncated.get(field.name, 0) + 1
        if self.truncated[field.name] == 1:
            self._pending.append(
                f"{field.name}: values longer than {field.length} characters are cut "
                f"to {field.length} (first seen; counted in the summary)"
            )

    def _count_new_value(self, name: str, value: str) -> None:
        """Count a value its picklist lacks; warn once per value, naming the field."""
        seen = self._new_values.setdefault(name, set())
        if value in seen or len(seen) > MAX_NEW_PICKLIST_VALUES:
            return
        if len(seen) == MAX_NEW_PICKLIST_VALUES:
            seen.add("")  # a marker that closes the set: later values are not tracked
            self._pending.append(
                f"{name}: over {MAX_NEW_PICKLIST_VALUES} values not in the picklist; "
                "further ones are sent without a warning"
            )
            return
        seen.add(value)
        self.new_picklist_values[name] = len(seen)
        self._pending.append(
            f"{name}: value not in the picklist; Zoho will add it "
            f"(first seen; {len(seen)} new value(s) of this field so far)"
        )

    def take_warnings(self) -> list[str]:
        """Return the log-once warnings queued since the last call, and forget them.

        They name fields and counts, never a value.
        """
        with self._lock:
            pending, self._pending = self._pending, []
        return pending
