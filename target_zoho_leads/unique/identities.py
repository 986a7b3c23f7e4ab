"""Who a lead is: canonical emails and phones, and the spellings a CRM may hold them in.

Two values are one identity when their canonical forms are equal (SPEC §4):
an email trimmed and lower-cased; a phone in E.164 as ``phonenumbers``
(Google's libphonenumber) parses it, with a default region for numbers
written without a country code; a number it cannot parse, its digits and a
leading ``+``. Pure functions, no I/O.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing as t

import phonenumbers
from phonenumbers import PhoneNumberFormat

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

Key = tuple[str, str]  # (kind, canonical value): kind "email", "phone" or "text:<Field>"
EMAIL = "email"
PHONE = "phone"
TEXT = "text:"  # a field compared as trimmed text, only with itself: "text:WeChat_OpenID__c"
DEFAULT_MATCH_FIELDS = ("Email", "Phone", "Mobile")
# How a match field compares without Zoho's field metadata (SPEC §4).
_KIND_WITHOUT_METADATA = {"Email": EMAIL, "Phone": PHONE, "Mobile": PHONE}
# Zoho's data_type of a field (GET /settings/fields, SPEC §5) -> how it compares.
_KIND_OF_DATA_TYPE = {"email": EMAIL, "phone": PHONE}
PHONE_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
_NOT_DIGITS = re.compile(r"[^0-9]")
# Records repeat people, and each record's identity is read more than once:
# a phone is parsed once per distinct spelling (libphonenumber costs ~50 µs).
_CACHED = 1 << 17


def normal_email(value: t.Any) -> str | None:
    """Email as an identity: trimmed and lower-cased; None when empty."""
    text = str(value).strip().lower() if value is not None else ""
    return text or None


def normal_phone(value: t.Any, region: str | None = None) -> str | None:
    """Phone as an identity: E.164 when it parses, else its digits and a leading ``+``.

    Args:
        value: The phone as written.
        region: ISO 3166 code for numbers written without a country code;
            None: such numbers keep their digits only.

    Returns:
        The canonical phone, or None when it holds no digit.
    """
    return _canonical_phone(str(value), region) if value is not None else None


def e164(value: t.Any, region: str | None = None) -> str | None:
    """The phone in E.164 (``+8615218222540``), or None when it does not parse."""
    number = _parsed(str(value), region) if value is not None else None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if number else None


@functools.lru_cache(maxsize=_CACHED)
def _parsed(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """The number ``text`` names, if libphonenumber reads one of a possible length."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # "12" parses (as +86 12 in region CN) but is no phone: it keeps its digits.
    return number if phonenumbers.is_possible_number(number) else None


@functools.lru_cache(maxsize=_CACHED)
def _canonical_phone(text: str, region: str | None) -> str | None:
    number = _parsed(text, region)
    if number is not None:
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    digits = _NOT_DIGITS.sub("", text)
    if not digits:
        return None
    return "+" + digits if text.lstrip().startswith("+") else digits


def phone_spellings(value: t.Any, region: str | None = None) -> set[str]:
    """The spellings a CRM may hold this phone in.

    As written; E.164; the international format (``+86 152 1822 2540``);
    and, for a number of the default region's country, the national digits
    and the national format (``152 1822 2540``), which read as this same
    identity only there, and E.164 without ``+`` where it reads back as the
    number (``8615218222540`` does in China; in Germany ``4915...`` is a
    national number). A lookup keeps a row only when its own identity is one
    asked for, so a spelling that reads otherwise would only waste a value.
    """
    text = str(value).strip()
    canonical = _canonical_phone(text, region)
    if canonical is None:
        return set()
    spellings = {text, canonical}
    number = _parsed(text, region)
    if number is None:
        return spellings
    spellings.add(phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL))
    if region is not None and phonenumbers.country_code_for_region(region) == number.country_code:
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        spellings |= {
            phonenumbers.national_significant_number(number),
            national,
            _NOT_DIGITS.sub("", national),  # with its trunk prefix: 02079460000
        }
        without_plus = canonical.removeprefix("+")
        if _reads_as(without_plus, region, canonical):
            spellings.add(without_plus)
    # libphonenumber does not read every number's own E.164 and international
    # forms back as that number ("000000000" in CN): such a spelling would find
    # only rows of another identity, which the lookup drops, so it is not asked.
    return {
        s
        for s in spellings
        if s == text or not s.startswith("+") or _reads_back(s, region, canonical)
    }


def _reads_back(spelling: str, region: str | None, canonical: str) -> bool:
    return _canonical_phone(spelling, region) == canonical


def _reads_as(text: str, region: str, canonical: str) -> bool:
    """Whether ``text`` reads as the identity ``canonical``; parsed outside the cache."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) == canonical


def email_spellings(value: t.Any) -> set[str]:
    """An email as written and lower-cased: COQL may compare letter case."""
    text = str(value).strip() if value is not None else ""
    return {text, text.lower()} - {""}


def kind_of_field(field: str, data_type: str | None = None) -> str:
    """How a match field compares: by its Zoho ``data_type``, else by its name.

    Args:
        field: The Zoho field's API name.
        data_type: Its ``data_type`` in Zoho's field metadata; None when the
            server gave none (then ``Email`` is an email, ``Phone`` and
            ``Mobile`` are phones).
    """
    if data_type is not None:
        kind = _KIND_OF_DATA_TYPE.get(data_type)
    else:
        kind = _KIND_WITHOUT_METADATA.get(field)
    return kind or TEXT + field


def normal_text(value: t.Any) -> str | None:
    """A text identity (a tracking id, an open id): trimmed; None when empty."""
    text = str(value).strip() if value is not None else ""
    return text or None


@dataclasses.dataclass(frozen=True)
class Identities:
    """A run's reading of identities: its match fields and default phone region, set once.

    Attributes:
        region: ISO 3166 code (``CN``) for phones written without a country
            code, or None.
        match_fields: The Zoho fields that identify a person, the earlier
            deciding first.
        kinds: How each match field compares (:func:`kind_of_field`).
    """

    region: str | None = None
    match_fields: tuple[str, ...] = DEFAULT_MATCH_FIELDS
    kinds: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        """Read each match field's kind by its name where none was given."""
        kinds = {f: self.kinds.get(f) or kind_of_field(f) for f in self.match_fields}
        object.__setattr__(self, "kinds", kinds)

    @classmethod
    def of(
        cls,
        region: str | None,
        match_fields: Sequence[str],
        data_types: Mapping[str, str] | None = None,
    ) -> Identities:
        """The reading of ``match_fields``, by Zoho's data types when known."""
        types = data_types or {}
        kinds = {f: kind_of_field(f, types.get(f) if data_types else None) for f in match_fields}
        return cls(region, tuple(match_fields), kinds)

    def fields_of(self, kind: str) -> tuple[str, ...]:
        """The match fields an identity of ``kind`` is asked in (every phone field, say)."""
        return tuple(f for f in self.match_fields if self.kinds[f] == kind)

    def written(self, lead: Mapping[str, t.Any]) -> list[tuple[Key, str, t.Any]]:
        """Each identity of the lead, with the field and value it came from; once each.

        In ``match_fields`` order, so the earlier field decides. A number in
        both ``Phone`` and ``Mobile`` is one identity.
        """
        found: dict[Key, tuple[Key, str, t.Any]] = {}
        for field in self.match_fields:
            value = lead.get(field)
            key = self.key(field, value) if value is not None else None
            if key is not None and key not in found:
                found[key] = (key, field, value)
        return list(found.values())

    def key(self, field: str, value: t.Any) -> Key | None:
        """The identity ``value`` is in match field ``field``, or None when it is empty."""
        kind = self.kinds[field]
        if kind == EMAIL:
            canonical = normal_email(value)
        elif kind == PHONE:
            canonical = _canonical_phone(str(value), self.region)
        else:
            canonical = normal_text(value)
        return (kind, canonical) if canonical else None

    def keys(self, lead: Mapping[str, t.Any]) -> list[Key]:
        """The lead's identities, in ``match_fields`` order (the earlier decides first)."""
        return [key for key, _, _ in self.written(lead)]

    def spellings(self, kind: str, value: t.Any) -> set[str]:
        """The spellings to look an identity up by."""
        if kind == EMAIL:
            return email_spellings(value)
        if kind == PHONE:
            return phone_spellings(value, self.region)
        text = normal_text(value)
        return {text} if text else set()

    def compares(self, key: Key, field: str | None) -> bool:
        """Whether Zoho, comparing ``field``, compared identity ``key``."""
        return field is not None and self.kinds.get(field) == key[0]

    def canonical_fields(self, lead: Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The lead with its emails canonical and its phones in their identity form.

        A phone that parses is written in E.164. One that does not (without
        ``default_phone_region``, ``152 1822 2540`` does not) is written as
        its digits, with ``+`` when it had one: the one spelling every later
        lookup asks for, whatever spelling the next run brings. Text match
        fields are written as they come.
        """
        written = dict(lead)
        for field in self.fields_of(EMAIL):
            email = lead.get(field)
            if isinstance(email, str) and normal_email(email):
                written[field] = normal_email(email)
        for field in self.fields_of(PHONE):
            canonical = normal_phone(lead.get(field), self.region)
            # Only a form that reads back as the same identity: "0000+0" would not.
            if canonical is not None and normal_phone(canonical, self.region) == canonical:
                written[field] = canonical
        return written

    def without_country_code(self, lead: Mapping[str, t.Any]) -> int:
        """How many of the lead's phone fields hold digits no region reads as E.164."""
        return sum(
            1
            for field in self.fields_of(PHONE)
            if (phone := lead.get(field)) is not None
            and bool(_NOT_DIGITS.sub("", str(phone)))
            and e164(phone, self.region) is None
        )
