"""Canonical emails and phones, and the spellings a lookup asks for, without a server."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from target_zoho_leads.unique.identities import (
    Identities,
    email_spellings,
    normal_email,
    normal_phone,
    phone_spellings,
)

ONE_PERSON_IN_CHINA = [
    "+86 152 1822 2540",
    "0086 152-1822-2540",
    "(152) 1822-2540",
    "15218222540",
    "152 1822 2540",
    "152-1822-2540",
    "+8615218222540",
    "8615218222540",
    " +86 (152) 1822.2540 ",
    # Full-width digits, as some mobile keyboards type them.
    "".join(chr(0xFF10 + int(digit)) for digit in "15218222540"),
]


@pytest.mark.parametrize("raw", ONE_PERSON_IN_CHINA)
def test_every_spelling_of_a_chinese_mobile_is_one_identity_with_region_cn(raw):
    """With default_phone_region CN, all of them are +8615218222540."""
    assert normal_phone(raw, "CN") == "+8615218222540"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 152 1822 2540", "+8615218222540"),
        ("15218222540", "15218222540"),
        ("152-1822-2540", "15218222540"),
        ("(415) 555-0134", "4155550134"),
        ("+1 (415) 555 0134", "+14155550134"),
        (18600000000, "18600000000"),
        ("0086 152-1822-2540", "008615218222540"),
    ],
)
def test_without_a_region_a_number_without_country_code_keeps_its_digits(raw, expected):
    """No default_phone_region: only numbers written with + get E.164."""
    assert normal_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0134", "US", "+14155550134"),
        ("+44 (0)20 7946 0000", None, "+442079460000"),
        ("020 7946 0000", "GB", "+442079460000"),
        ("06 1234 5678", "IT", "+390612345678"),  # Italy keeps its leading zero
        ("+86 152 1822 2540", "US", "+8615218222540"),  # a country code beats the region
    ],
)
def test_numbers_of_other_countries_read_with_their_own_rules(raw, region, expected):
    """Each country's rules: trunk prefixes dropped, Italy's zero kept."""
    assert normal_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", "12"),  # too short to be a number anywhere: its digits
        ("+12", "+12"),
        ("ext 42-x", "42"),
        ("100%", "100"),
        ("+86 139 0000 00001 999", "+86139000000001999"),  # too long
        (" - ", None),
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_a_number_that_does_not_parse_is_its_digits_and_a_leading_plus(raw, expected):
    """Unparsable: digits only, the + kept; no digit at all: no phone identity."""
    assert normal_phone(raw, "CN") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" Li.Wei@Example.COM ", "li.wei@example.com"), ("", None), (None, None), ("  ", None)],
)
def test_emails_are_trimmed_and_lower_cased(raw, expected):
    """Two emails are one identity when equal after trimming and lower-casing."""
    assert normal_email(raw) == expected


def test_a_lead_s_keys_put_email_first_and_read_the_phone_with_the_region():
    """Email decides first, so it comes first; the phone is canonical."""
    identities = Identities("CN")
    assert identities.keys({"Phone": "152 1822 2540", "Email": " A@b.C"}) == [
        ("email", "a@b.c"),
        ("phone", "+8615218222540"),
    ]
    assert identities.keys({"Last_Name": "x", "Phone": "--", "Email": " "}) == []


def test_canonical_fields_lower_case_the_email_and_write_the_phone_in_e164():
    """What a created lead stores, so any later spelling finds it."""
    identities = Identities("CN")
    lead = {"Email": " Wei@X.CN ", "Phone": "152-1822-2540", "City": "Shanghai"}
    assert identities.canonical_fields(lead) == {
        "Email": "wei@x.cn",
        "Phone": "+8615218222540",
        "City": "Shanghai",
    }
    assert lead["Phone"] == "152-1822-2540"  # the mapped lead is not changed


def test_a_phone_that_does_not_parse_is_written_as_its_digits():
    """Without a region a national number cannot be read as E.164: its identity form is stored."""
    assert Identities().canonical_fields({"Phone": "152-1822-2540"}) == {"Phone": "15218222540"}
    assert Identities("CN").canonical_fields({"Phone": "12"}) == {"Phone": "12"}
    assert Identities().canonical_fields({"Phone": "+(999) 12"}) == {"Phone": "+99912"}


@given(
    digits=st.text(alphabet="0123456789", min_size=7, max_size=12),
    first=st.sampled_from(["{}", "{} ", " {}"]),
    separators=st.lists(st.sampled_from([" ", "-", ".", "(", ")"]), max_size=4),
)
def test_without_a_region_a_respelled_national_number_finds_the_lead_written_before(
    digits, first, separators
):
    """Run one writes a number without a country code; run two spells it otherwise and asks."""
    identities = Identities()
    written = identities.canonical_fields({"Phone": first.format(digits)})["Phone"]
    respelled = digits
    for at, separator in enumerate(separators, start=1):
        cut = at * len(digits) // (len(separators) + 1)
        respelled = respelled[:cut] + separator + respelled[cut:]
    assert written in identities.spellings("phone", respelled)


def test_a_phone_without_a_country_code_is_told_apart_only_without_a_region():
    """The end-of-run warning counts numbers no region reads as E.164."""
    assert Identities().without_country_code({"Phone": "152 1822 2540"}) == 1
    assert Identities("CN").without_country_code({"Phone": "152 1822 2540"}) == 0
    assert Identities().without_country_code({"Phone": "+86 152 1822 2540"}) == 0
    assert Identities().without_country_code({"Email": "a@x.cn"}) == 0


def test_phone_spellings_ask_for_every_format_a_crm_may_hold():
    """As written, E.164 with and without +, national digits, both formats."""
    assert phone_spellings("15218222540", "CN") == {
        "15218222540",
        "+8615218222540",
        "8615218222540",
        "+86 152 1822 2540",
        "152 1822 2540",
    }
    assert phone_spellings("020-7946-0000", "GB") == {
        "020-7946-0000",
        "+442079460000",
        "442079460000",
        "2079460000",
        "+44 20 7946 0000",
        "020 7946 0000",
        "02079460000",
    }


def test_phone_spellings_leave_out_forms_that_would_read_as_another_identity():
    """No region: a national format is another identity, so it is not asked for."""
    assert phone_spellings("+86 152 1822 2540") == {"+86 152 1822 2540", "+8615218222540"}
    assert phone_spellings("+86 152 1822 2540", "US") == {"+86 152 1822 2540", "+8615218222540"}
    assert phone_spellings("12", "CN") == {"12"}
    assert phone_spellings("--", "CN") == set()


def test_email_spellings_are_as_written_and_lower_cased():
    """COQL may compare letter case: the lower-cased form finds canonical writes."""
    assert email_spellings(" Wei@X.cn ") == {"Wei@X.cn", "wei@x.cn"}
    assert email_spellings("") == set()


# Property: any spelling of a number is the number, and canonical writes are found.

REGIONS = ["CN", "US", "GB", "DE", "IN", "BR", None]
SEPARATORS = st.sampled_from(["", " ", "-", ".", "  "])
DIAL_OUT_WITH_00 = {"CN", "GB", "DE", "IN"}  # their international prefix; the US dials 011


@st.composite
def spelled_numbers(draw):
    """A real number of some region, and a random way of writing it."""
    import phonenumbers  # noqa: PLC0415 - example numbers are a test-only need

    region = draw(st.sampled_from([r for r in REGIONS if r]))
    if draw(st.booleans()):
        example = phonenumbers.example_number(region)
    else:
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    # Same length, other last digits: a possible number, though perhaps unassigned.
    tail = draw(st.integers(0, 999))
    national = example.national_number // 1000 * 1000 + tail
    number = phonenumbers.PhoneNumber(
        country_code=example.country_code,
        national_number=national,
        italian_leading_zero=example.italian_leading_zero,
    )
    styles = ["e164", "international", "national", "digits"]
    if region in DIAL_OUT_WITH_00:
        styles.append("00")
    style = draw(st.sampled_from(styles))
    if style == "e164":
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    elif style == "international":
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    elif style == "00":
        e164_text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        text = "00" + e164_text[1:]
    else:
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        if style == "digits":
            text = "".join(c for c in text if c.isdigit())
    separator = draw(SEPARATORS)
    text = text.replace(" ", separator) if separator != " " else text
    padding = draw(st.sampled_from(["", " ", "\t"]))
    return region, number, padding + text + padding, style


@settings(max_examples=300, deadline=None)
@given(spelled=spelled_numbers())
def test_any_spelling_of_a_number_is_its_e164_in_its_own_region(spelled):
    """The region's own spellings all read as the number's E.164."""
    import phonenumbers  # noqa: PLC0415

    region, number, text, _ = spelled
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert normal_phone(text, region) == expected


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(alphabet="0123456789 +-().x", max_size=25),
        st.text(max_size=25),
        spelled_numbers().map(lambda s: s[2]),
    ),
    region=st.sampled_from(REGIONS),
)
def test_canonical_writes_keep_the_identity_and_are_among_the_spellings_asked(text, region):
    """A lead written canonically is found again: same identity, a spelling asked for."""
    identities = Identities(region)
    identity = normal_phone(text, region)
    written = identities.canonical_fields({"Phone": text})["Phone"]
    # What is written reads back as the same person. (E.164 itself need not:
    # libphonenumber formats "+86 000000000" as +8600000000, which reads back
    # as +860000000, so such a number is written as sent.)
    assert normal_phone(written, region) == identity
    spellings = phone_spellings(text, region)
    if identity is None:
        assert spellings == set()
    else:
        assert str(written).strip() in spellings
        international = {s for s in spellings if s.startswith("+")}
        assert all(normal_phone(s, region) == identity for s in international)


@settings(max_examples=300, deadline=None)
@given(spelled=spelled_numbers())
def test_every_spelling_asked_for_a_real_number_reads_as_that_number(spelled):
    """For a number of the region, national forms too: no query value is wasted."""
    import phonenumbers  # noqa: PLC0415

    region, number, text, _ = spelled
    identity = normal_phone(text, region)
    spellings = phone_spellings(text, region)
    assert len(spellings) >= 5
    if phonenumbers.is_valid_number(number):
        for spelling in spellings:
            assert normal_phone(spelling, region) == identity, spelling


@given(text=st.text(max_size=30))
def test_an_email_identity_does_not_change_when_written_canonically(text):
    """normal_email is idempotent, and its spellings hold the canonical form."""
    identity = normal_email(text)
    assert normal_email(identity) == identity
    if identity:
        assert identity in email_spellings(text)
