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
    from collections.abc import Mapping

Key = tuple[str, str]  # ("email" | "phone", canonical value)
EMAIL = "email"
PHONE = "phone"
FIELD_OF = {EMAIL: "Email", PHONE: "Phone"}
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
    return spellings


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


@dataclasses.dataclass(frozen=True)
class Identities:
    """A run's reading of identities: its default phone region, set once.

    Attributes:
        region: ISO 3166 code (``CN``) for phones written without a country
            code, or None.
    """

    region: str | None = None

    def keys(self, lead: Mapping[str, t.Any]) -> list[Key]:
        """The lead's identities, email first (it decides first)."""
        found: list[Key] = []
        email = normal_email(lead.get("Email"))
        if email:
            found.append((EMAIL, email))
        phone = lead.get("Phone")
        if phone is not None and (canonical := _canonical_phone(str(phone), self.region)):
            found.append((PHONE, canonical))
        return found

    def spellings(self, kind: str, value: t.Any) -> set[str]:
        """The spellings to look an identity up by."""
        return email_spellings(value) if kind == EMAIL else phone_spellings(value, self.region)

    def canonical_fields(self, lead: Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The lead with its email canonical and its phone in its identity form.

        A phone that parses is written in E.164. One that does not (without
        ``default_phone_region``, ``152 1822 2540`` does not) is written as
        its digits, with ``+`` when it had one: the one spelling every later
        lookup asks for, whatever spelling the next run brings.
        """
        written = dict(lead)
        email = lead.get("Email")
        if isinstance(email, str) and normal_email(email):
            written["Email"] = normal_email(email)
        phone = lead.get("Phone")
        canonical = normal_phone(phone, self.region)
        # Only a form that reads back as the same identity: "0000+0" would not.
        if canonical is not None and normal_phone(canonical, self.region) == canonical:
            written["Phone"] = canonical
        return written

    def lacks_country_code(self, lead: Mapping[str, t.Any]) -> bool:
        """Whether the lead's phone has digits but no region reads it as E.164."""
        phone = lead.get("Phone")
        return (
            phone is not None
            and bool(_NOT_DIGITS.sub("", str(phone)))
            and e164(phone, self.region) is None
        )
