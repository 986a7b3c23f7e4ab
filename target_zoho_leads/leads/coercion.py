"""Turn event values into the shapes Zoho CRM accepts for each field data type."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import math
import re
import typing as t
from collections.abc import Callable

if t.TYPE_CHECKING:
    from collections.abc import Collection

_N = t.TypeVar("_N", int, float)

INT32_RANGE = (-(2**31), 2**31 - 1)
INT64_RANGE = (-(2**63), 2**63 - 1)
# Epoch numbers this large are milliseconds: 1e11 seconds is the year 5138.
EPOCH_MS_THRESHOLD = 1e11
_EPOCH_START = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
DEFAULT_EMAIL_LENGTH = 100
DEFAULT_PHONE_LENGTH = 30
DEFAULT_WEBSITE_LENGTH = 255
MIN_PHONE_DIGITS = 5
# Whole numbers above 2**53 lose digits as floats; below it a JSON int is exact.
_EXACT_INT = 2**53
# No quantity is written with more characters; the cap also keeps Decimal away
# from exponents that would take long to expand.
_MAX_NUMBER_TEXT = 64

# re.ASCII throughout: \d would otherwise take Arabic or Devanagari digits,
# which Zoho refuses in a phone and Python happily turns into numbers.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,4})?", re.ASCII)
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)
_EPOCH = re.compile(r"[+-]?\d+(?:\.\d+)?", re.ASCII)
_MOMENT = re.compile(
    r"(?P<y>\d{4})(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?"
    r" ?(?P<tz>Z|UTC|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII | re.IGNORECASE,
)
_DAY_FIRST = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b", re.ASCII)
_EMAIL = re.compile(r'[^@\s,;<>()\[\]\\"]+@[^@\s,;<>()\[\]\\".]+(?:\.[^@\s,;<>()\[\]\\".]+)+')
_PHONE = re.compile(r"[0-9+\-(). ]+", re.ASCII)
_WEBSITE = re.compile(
    r"(?:https?://)?(?:[^\s/?#@.:]+\.)+[^\s/?#@.:]+(?::\d{1,5})?(?:[/?#]\S*)?",
    re.IGNORECASE,
)
# Text these match is already what Zoho takes for the field type, and is sent
# as it is: the usual CDP value skips the conversion. Each match is a value
# the type's `to_...` function returns unchanged (whitespace cannot match at
# either end); other values take that function.
_PLAIN_PHONE = re.compile(r"\+?\d{5,}", re.ASCII)  # +8613800138000, 13800138000
SENT_AS_IS: dict[str, tuple[Callable[[str], object], int]] = {
    "email": (_EMAIL.fullmatch, DEFAULT_EMAIL_LENGTH),
    "phone": (_PLAIN_PHONE.fullmatch, DEFAULT_PHONE_LENGTH),
    "website": (_WEBSITE.fullmatch, DEFAULT_WEBSITE_LENGTH),
}
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})

NOT_A_DATE = "not a date (expected yyyy-MM-dd, an ISO date-time or epoch seconds)"
NOT_A_DATETIME = "not a date-time (expected yyyy-MM-ddTHH:mm:ss with an offset, or epoch seconds)"
NOT_A_NUMBER = "not a number"


class InvalidValue(ValueError):  # noqa: N818 - reads as what it is at the raise site
    """A value that cannot be sent for its field; the reason never quotes it."""

    def __init__(self, reason: str) -> None:
        """Keep the reason, which names the expected shape and not the value."""
        super().__init__(reason)
        self.reason = reason


def to_date(value: t.Any, _length: int | None = None) -> str:
    """Return a date as ``yyyy-MM-dd``, taken as written in the value's own offset."""
    moment = _moment(value, NOT_A_DATE)
    day = moment.date() if isinstance(moment, dt.datetime) else moment
    return day.isoformat()


def to_datetime(value: t.Any, _length: int | None = None) -> str:
    """Return a date-time as ``yyyy-MM-ddTHH:mm:ss±HH:mm``; no offset means UTC."""
    moment = _moment(value, NOT_A_DATETIME)
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time(), dt.timezone.utc)
    return moment.replace(microsecond=0).isoformat()


def _moment(value: t.Any, reason: str) -> dt.date | dt.datetime:
    """Read epoch seconds or milliseconds, an ISO date or an ISO date-time."""
    if isinstance(value, bool):
        raise InvalidValue(reason)
    if isinstance(value, (int, float)):
        return _from_epoch(value, reason)
    if not isinstance(value, str):
        raise InvalidValue(reason)
    text = value.strip()
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text), reason)
    match = _MOMENT.fullmatch(text)
    if not match and _DAY_FIRST.match(text):
        # `28/11/2026` or `11/28/2026`: which number is the day cannot be known.
        msg = "day and month order is ambiguous (expected yyyy-MM-dd, year first)"
        raise InvalidValue(msg)
    if not match:
        raise InvalidValue(reason)
    try:
        day = dt.date(int(match["y"]), int(match["m"]), int(match["d"]))
        if match["H"] is None:
            return day
        clock = dt.time(int(match["H"]), int(match["M"]), int(match["S"] or 0))
        return dt.datetime.combine(day, clock, _zone(match["tz"]))
    except ValueError:
        raise InvalidValue(reason) from None


def _zone(text: str | None) -> dt.timezone:
    """Read ``Z``, ``UTC``, ``+08``, ``+0800`` or ``+08:00``; None means UTC."""
    if text is None or text.upper() in {"Z", "UTC"}:
        return dt.timezone.utc
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if minutes > 59:  # noqa: PLR2004 - minutes in an hour
        msg = "minutes of an offset"
        raise ValueError(msg)
    offset = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-offset if text[0] == "-" else offset)


def _from_epoch(number: float, reason: str) -> dt.datetime:
    """Read epoch seconds, or milliseconds when the number is that large, as UTC."""
    try:
        if abs(number) >= EPOCH_MS_THRESHOLD:
            return _EPOCH_START + dt.timedelta(milliseconds=number)
        return _EPOCH_START + dt.timedelta(seconds=number)
    except (OverflowError, ValueError):
        raise InvalidValue(reason) from None


def to_integer(value: t.Any, digits: int | None = None) -> int:
    """Return a whole number in Zoho's 32-bit integer range, of at most ``digits``."""
    number = _whole(_number(value))
    if not INT32_RANGE[0] <= number <= INT32_RANGE[1]:
        msg = "outside the 32-bit integer range"
        raise InvalidValue(msg)
    return _within_digits(number, digits, "digits")


def to_bigint(value: t.Any, digits: int | None = None) -> str:
    """Return a whole number in the 64-bit range, of at most ``digits``, as text."""
    number = _whole(_number(value))
    if not INT64_RANGE[0] <= number <= INT64_RANGE[1]:
        msg = "outside the 64-bit integer range"
        raise InvalidValue(msg)
    return str(_within_digits(number, digits, "digits"))


def to_decimal(value: t.Any, digits: int | None = None) -> int | float:
    """Return a JSON number for a double or currency: whole ones as exact ints.

    Args:
        value: A number or numeric text.
        digits: The most digits its whole part may have.
    """
    try:
        number = float(_number(value))
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        msg = "too large for a number field"
        raise InvalidValue(msg)
    _within_digits(number, digits, "digits before the decimal point")
    return int(number) if number.is_integer() and abs(number) < _EXACT_INT else number


_MOST_DIGITS = 310  # a float's whole part has at most 309 digits


def _within_digits(number: _N, digits: int | None, what: str) -> _N:
    """Refuse a number whose whole part has more digits than its field allows.

    Zoho refuses it too; sending it would spend a call to learn so. A
    field's digits are clamped where its metadata is read; past
    :data:`_MOST_DIGITS` (more than any float has) no bound applies, and
    ``10**digits`` is never built.
    """
    if digits is not None and digits < _MOST_DIGITS and abs(number) >= 10**digits:
        msg = f"more than the field's {digits} {what}"
        raise InvalidValue(msg)
    return number


def to_percent(value: t.Any, digits: int | None = None) -> int | float:
    """Return a percent as a number; text may end with ``%`` (``"12.5%"``)."""
    if isinstance(value, str) and value.strip().endswith("%"):
        value = value.strip()[:-1]
    return to_decimal(value, digits)


def _number(value: t.Any) -> int | float | decimal.Decimal:
    """Read a number or numeric text; commas are taken only as thousands groups."""
    if isinstance(value, bool):
        msg = "true/false is not a number"
        raise InvalidValue(msg)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = "not a finite number"
            raise InvalidValue(msg)
        return value
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > _MAX_NUMBER_TEXT:
        raise InvalidValue(NOT_A_NUMBER)
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    # `1,5` is refused rather than read as 15: it may well mean one and a half.
    if not _NUMBER.fullmatch(text):
        raise InvalidValue(NOT_A_NUMBER)
    return decimal.Decimal(text)


def _whole(number: float | decimal.Decimal) -> int:
    """Return the number as an int when it has no fractional part."""
    if isinstance(number, int):
        return number
    big = isinstance(number, decimal.Decimal) and number.adjusted() > _MAX_NUMBER_TEXT
    if big and number:
        # Far outside any range checked next; int() would spell out every digit.
        return INT64_RANGE[1] + 1
    if number != int(number):
        msg = "not a whole number"
        raise InvalidValue(msg)
    return int(number)


def to_boolean(value: t.Any, _length: int | None = None) -> bool:
    """Return true/false from a boolean, 1/0, or true/false, yes/no, 1/0 as text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return value == 1
    key = value.strip().lower() if isinstance(value, str) else None
    if key in _TRUE or key in _FALSE:
        return key in _TRUE
    msg = "not a boolean (expected true/false, yes/no or 1/0)"
    raise InvalidValue(msg)


def to_text(value: t.Any, _length: int | None = None) -> str:
    """Write any JSON value as text; objects and lists as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = "not a finite number"
            raise InvalidValue(msg)
        # A phone or an id that came through JSON as 18600000000.0.
        whole = value.is_integer() and abs(value) < _EXACT_INT
        return str(int(value)) if whole else repr(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    try:
        if isinstance(value, (dict, list, tuple)):
            return json.dumps(
                value,
                separators=(",", ":"),
                ensure_ascii=False,
                allow_nan=False,
                default=str,
            )
        return str(value)
    except (TypeError, ValueError, RecursionError):
        msg = "cannot be written as text"
        raise InvalidValue(msg) from None


def to_email(value: t.Any, length: int | None = None) -> str:
    """Return a trimmed email address that looks like ``local@domain.tld``."""
    text = value.strip() if isinstance(value, str) else ""
    if not _EMAIL.fullmatch(text):
        msg = "not an email address (expected local@domain.tld)"
        raise InvalidValue(msg)
    return _within(text, length or DEFAULT_EMAIL_LENGTH)


def to_phone(value: t.Any, length: int | None = None) -> str:
    """Return a phone of digits, spaces and ``+ - ( ) .``, with five digits at least."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = to_text(value)
    text = value.strip() if isinstance(value, str) else ""
    digits = sum(map(str.isdigit, text))
    if not _PHONE.fullmatch(text) or digits < MIN_PHONE_DIGITS:
        msg = "not a phone number (expected 5+ digits, spaces and + - ( ) . only)"
        raise InvalidValue(msg)
    return _within(text, length or DEFAULT_PHONE_LENGTH)


def to_website(value: t.Any, length: int | None = None) -> str:
    """Return an ``http(s)://`` URL or a bare domain with an optional path."""
    text = value.strip() if isinstance(value, str) else ""
    if not _WEBSITE.fullmatch(text):
        msg = "not a website (expected https://example.com/path or example.com)"
        raise InvalidValue(msg)
    return _within(text, length or DEFAULT_WEBSITE_LENGTH)


def _within(text: str, length: int) -> str:
    """Refuse a value Zoho would refuse as too long; cutting it would corrupt it."""
    if len(text) > length:
        msg = f"longer than the field's {length} characters"
        raise InvalidValue(msg)
    return text


def to_choices(value: t.Any, known: Collection[str] = ()) -> list[str]:
    """Split a multi-select value into its trimmed, distinct choices.

    Args:
        value: A list, JSON list text, or text separated by ``;`` or ``,``.
        known: The field's choices: one that itself contains a comma stays whole.

    Returns:
        The choices in their first order; possibly empty.
    """
    if isinstance(value, str):
        text = value.strip()
        if text in known:
            return [text]
        if text.startswith("["):
            # Not JSON after all: split it as text.
            with contextlib.suppress(ValueError, RecursionError):
                value = json.loads(text)
    if isinstance(value, str):
        # `;` first: with it, a comma inside a choice is not a separator.
        items: t.Iterable[t.Any] = value.split(";" if ";" in value else ",")
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        items = [value]
    choices: dict[str, None] = {}
    for item in items:
        if isinstance(item, (dict, list, tuple)):
            msg = "not a multi-select value (expected texts or numbers)"
            raise InvalidValue(msg)
        text = "" if item is None else to_text(item).strip()
        if text:
            choices[text] = None
    return list(choices)


# The converter of each data type that is not text (text, picklists and
# multi-selects are converted with their field's length and choices).
# Writes one value in its field's format; the number is the field's length or digits.
Converter = Callable[[t.Any, int | None], t.Any]

CONVERTERS: dict[str, Converter] = {
    "date": to_date,
    "datetime": to_datetime,
    "integer": to_integer,
    "bigint": to_bigint,
    "double": to_decimal,
    "currency": to_decimal,
    "percent": to_percent,
    "boolean": to_boolean,
    "email": to_email,
    "phone": to_phone,
    "website": to_website,
}
