"""Read Zoho's Leads field metadata, and check the mapping settings against it."""

from __future__ import annotations

import dataclasses
import difflib
import typing as t

from target_zoho_leads.leads.coercion import CONVERTERS

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

MAX_SUGGESTIONS = 3
SUGGESTION_CUTOFF = 0.6  # difflib's own default for close matches
SUGGESTION_BAND = 0.1  # how far below the best match a suggestion may score
NUMBER_TYPES = frozenset({"integer", "bigint", "double", "currency", "percent"})
# The most a field's `length` can honestly be, from Zoho's field docs
# (www.zoho.com/developer/help/build-vertical-crm/customization/custom-fields.html:
# text 255 characters, text area 32,000, integer 9 digits, decimal and
# currency 16 including decimal places, long integer 18); fields.json in
# the v8 OAS types `length` only as an int32. A larger `length` is clamped
# before any arithmetic: 10**length for a number of ten million digits cost
# six seconds a value. A field whose metadata gives no `length` gets these too.
_MAX_LENGTHS = {
    "text": 255,
    "textarea": 32000,
    "integer": 9,
    "bigint": 18,
    "double": 16,
    "currency": 16,
}
# Types the docs give no size for: the largest any Zoho text field takes,
# and the digits of Zoho's widest number (long integer).
_MAX_TEXT_LENGTH = 32000
_MAX_DIGITS = 18
# The identities Unique Lead looks leads up by unless match_fields says otherwise (SPEC §4).
IDENTITY_FIELDS = ("Email", "Phone", "Mobile")
_TEXT_TYPES = frozenset({"text", "textarea", "picklist", "multiselectpicklist"})
# A data type this module does not know is handled by the JSON type Zoho gives it.
_BY_JSON_TYPE = {
    "string": "other",
    "integer": "integer",
    "double": "double",
    "boolean": "boolean",
}
# Types a CDP event cannot fill: (what the field is, what it needs instead).
_NEEDS = {
    "lookup": ("a lookup field", "the id of {record}"),
    "multi_module_lookup": ("a lookup field", "the id of {record}"),
    "multiselectlookup": ("a multi-select lookup", "ids of {record}s"),
    "ownerlookup": ("an owner field", "the id of a Zoho user"),
    "userlookup": ("a user lookup", "the id of a Zoho user"),
    "multiuserlookup": ("a multi-user lookup", "ids of Zoho users"),
    "fileupload": ("a file upload field", "files uploaded to Zoho first"),
    "imageupload": ("an image upload field", "images uploaded to Zoho first"),
    "consent_lookup": ("a consent field", "a Data Processing Basis record"),
}
# Types Zoho fills itself, or through another API.
_NOT_WRITTEN = {
    "profileimage": "the record image: Zoho sets it from an uploaded photo",
    "subform": "a subform: its rows are records this target does not write",
    "formula": "a formula field: Zoho computes it",
    "autonumber": "an auto-number field: Zoho numbers each record",
    "rollup_summary": "a rollup summary: Zoho computes it from related records",
}


@dataclasses.dataclass(frozen=True)
class LeadField:
    """What coercion and the start-up checks need of one Zoho field."""

    name: str
    label: str
    data_type: str
    kind: str | None  # how values are converted; None: this target cannot fill it
    length: int | None  # characters for text; digits for numbers
    decimals: int | None  # decimal places of a number, of `length`'s digits
    choices: dict[str, str]  # actual or display value -> the actual value to send
    read_only: bool
    mandatory: bool
    encrypted: bool  # COQL can only ask `is null` of it
    module: str | None  # the module a lookup points to

    @classmethod
    def from_metadata(cls, field: Mapping[str, t.Any]) -> LeadField:
        """Read one item of Zoho's ``fields`` array."""
        data_type = str(field.get("data_type") or "")
        lookup = field.get("lookup")
        module = lookup.get("module") if isinstance(lookup, dict) else None
        return cls(
            name=str(field["api_name"]),
            label=str(field.get("field_label") or field.get("display_label") or ""),
            data_type=data_type,
            kind=_kind(data_type, field.get("json_type")),
            length=_clamped(data_type, _positive(field.get("length")))
            or _MAX_LENGTHS.get(data_type),
            decimals=_decimals(field),
            choices=_choices(field.get("pick_list_values")),
            read_only=bool(field.get("read_only") or field.get("field_read_only")),
            mandatory=bool(field.get("system_mandatory")),
            encrypted=_encrypted(field.get("crypt")),
            module=module.get("api_name") if isinstance(module, dict) else None,
        )

    @property
    def writable(self) -> bool:
        """Tell whether a mapping may feed this field."""
        return not self.read_only and self.kind is not None

    @property
    def limit(self) -> int | None:
        """What a value's converter is bounded by: whole-number digits, or characters."""
        if self.data_type not in NUMBER_TYPES or self.length is None:
            return self.length
        # Zoho counts a decimal's places among its digits: 16 with 2 places is 14 whole.
        return max(self.length - (self.decimals or 0), 1)

    def refusal(self) -> str | None:
        """Say why the mapping may not feed this field, or None when it may."""
        if self.read_only:
            return f"{self.name} is read-only in Zoho Leads: Zoho ignores a value sent"
        if self.kind is not None:
            return None
        if self.data_type in _NOT_WRITTEN:
            return f"{self.name} is {_NOT_WRITTEN[self.data_type]}"
        if self.data_type not in _NEEDS:
            return (
                f"{self.name} has the data type {self.data_type or 'none'}, "
                "which this target cannot fill from an event"
            )
        what, needs = _NEEDS[self.data_type]
        record = f"a {self.module} record" if self.module else "another module's record"
        needs = needs.format(record=record)
        return f"{self.name} is {what}: it needs {needs}, which a CDP event does not carry"


def _kind(data_type: str, json_type: object) -> str | None:
    """How values of a data type are converted; None where a CDP event cannot fill it."""
    if data_type in CONVERTERS or data_type in _TEXT_TYPES:
        return data_type
    if data_type in _NEEDS or data_type in _NOT_WRITTEN:
        return None
    return _BY_JSON_TYPE.get(str(json_type or "string"))


def _positive(value: object) -> int | None:
    """The value when it is a positive whole number, else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value > 0 else None


def _clamped(data_type: str, length: int | None) -> int | None:
    """``length`` at most what Zoho documents for ``data_type`` (see :data:`_MAX_LENGTHS`)."""
    if length is None:
        return None
    default = _MAX_DIGITS if data_type in NUMBER_TYPES else _MAX_TEXT_LENGTH
    return min(length, _MAX_LENGTHS.get(data_type, default))


def _decimals(field: Mapping[str, t.Any]) -> int | None:
    """A number field's decimal places: ``decimal_place``, or a currency's precision."""
    places = field.get("decimal_place")
    currency = field.get("currency")
    if places is None and isinstance(currency, dict):
        places = currency.get("precision")
    if isinstance(places, bool) or not isinstance(places, int):
        return None
    return min(places, _MAX_DIGITS) if places >= 0 else None  # no more places than digits


def _encrypted(crypt: object) -> bool:
    """Tell an encrypted field: Zoho gives ``crypt`` a mode or status, else null ones."""
    if not isinstance(crypt, dict):
        return False
    return crypt.get("mode") is not None or crypt.get("status") is not None


def _choices(items: object) -> dict[str, str]:
    """A picklist's actual and display values, each -> the actual value to send."""
    choices: dict[str, str] = {}
    for item in items if isinstance(items, list) else ():
        actual = item.get("actual_value") if isinstance(item, dict) else None
        if isinstance(actual, str):
            choices.setdefault(actual, actual)
            choices.setdefault(str(item.get("display_value") or actual), actual)
    return choices


def config_problems(
    fields: Mapping[str, LeadField], mapped: Iterable[str], defaulted: Iterable[str]
) -> list[str]:
    """Find every start-up problem of the mapping and defaults, worded for the user.

    Args:
        fields: The Leads fields by API name.
        mapped: Zoho fields that have a source mapping.
        defaulted: Zoho fields that have a default value.

    Returns:
        One message per problem, in the order the fields were given; [] when fine.
    """
    given = dict.fromkeys([*mapped, *defaulted])
    problems = []
    for name in given:
        field = fields.get(name)
        problem = field.refusal() if field else _unknown(fields, name)
        if problem:
            problems.append(problem)
    # `id` is mandatory only on update, and Zoho assigns it on insert.
    missing = [
        field.name
        for field in fields.values()
        if field.mandatory and field.writable and field.name not in {"id", *given}
    ]
    problems.extend(
        f"{name} is mandatory in Zoho Leads but has no mapping and no default: add"
        f" {name}=<source> to field_mapping or {name}=<value> to default_values"
        for name in missing
    )
    return problems


def unique_lead_problems(
    fields: Mapping[str, LeadField], match_fields: Sequence[str] | None = None
) -> list[str]:
    """Say which match fields Unique Lead cannot look leads up by; [] when none.

    Args:
        fields: The Leads fields by API name.
        match_fields: The ``match_fields`` setting; None: the default ones,
            each checked only if the org has it.

    Returns:
        One message per unknown or encrypted match field, naming the setting.
    """
    problems = []
    for name in match_fields if match_fields is not None else IDENTITY_FIELDS:
        field = fields.get(name)
        if field is None and match_fields is not None:
            problems.append(f"match_fields {_unknown(fields, name)}")
        elif field is not None and field.encrypted:
            problems.append(
                f"unique_lead: {name} is encrypted in Zoho Leads, and Zoho's query API can"
                f" only ask whether an encrypted field is empty, so leads cannot be looked up"
                f" by {name}; turn unique_lead off or remove the encryption of {name}"
            )
    return problems


def _unknown(fields: Mapping[str, LeadField], name: str) -> str:
    """Word an unknown field; suggest writable ones of a similar name or label."""
    candidates: dict[str, str] = {}
    for field in fields.values():
        if field.writable:
            candidates.setdefault(field.name.lower(), field.name)
            # Users copy names from the layout, where First_Name reads "First Name".
            label = field.label.replace(" ", "_").lower()
            candidates.setdefault(label, field.name)
    scores: dict[str, float] = {}
    for key, api_name in candidates.items():
        ratio = difflib.SequenceMatcher(None, name.lower(), key).ratio()
        if ratio >= SUGGESTION_CUTOFF:
            scores[api_name] = max(scores.get(api_name, 0.0), ratio)
    ranked = sorted(scores, key=lambda field: (-scores[field], field))
    # `Frist_Name` is plainly First_Name: Last_Name, a distant second, is noise.
    best = scores[ranked[0]] if ranked else 1.0
    near = [field for field in ranked if scores[field] >= best - SUGGESTION_BAND]
    names = near[:MAX_SUGGESTIONS]
    if not names:
        return f"{name}: no such Leads field, and none has a similar name"
    listed = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    return f"{name}: no such Leads field; did you mean {listed}?"
