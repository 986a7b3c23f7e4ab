"""Tests for the field mapping, default values and record-to-lead mapping."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from singer_sdk.exceptions import ConfigValidationError

from target_zoho_leads.leads import mapping
from target_zoho_leads.leads.mapping import LeadMapper
from target_zoho_leads.leads.mapping_config import (
    FIELD_NAME_PATTERN,
    is_empty,
    parse_default_values,
    parse_field_mapping,
)

SEED_MAPPING = "Phone=cluePhoneNumber,CDP_ID=anonymous_id,First_Name=adUcName"
SEED_DEFAULTS = "Phone=18600000000, First_Name=Advertising Account Name, Email= 123.test.com"


def mapper(field_mapping, default_values=None) -> LeadMapper:
    """Build a mapper from settings written as a user would."""
    return LeadMapper(parse_field_mapping(field_mapping), parse_default_values(default_values))


# --- The seed's examples ----------------------------------------------------


def test_the_seed_mapping_example_parses_verbatim():
    """The CDP admin screen's mapping example gives one source per field."""
    assert parse_field_mapping(SEED_MAPPING) == {
        "Phone": ("cluePhoneNumber",),
        "CDP_ID": ("anonymous_id",),
        "First_Name": ("adUcName",),
    }


def test_the_seed_default_values_example_parses_verbatim():
    """The CDP admin screen's defaults example is trimmed and kept as text."""
    assert parse_default_values(SEED_DEFAULTS) == {
        "Phone": "18600000000",
        "First_Name": "Advertising Account Name",
        "Email": "123.test.com",
    }


def test_the_seed_examples_together_map_a_cdp_event():
    """A CDP event gets its own values and the defaults fill the rest."""
    lead = mapper(SEED_MAPPING, SEED_DEFAULTS).map(
        {"anonymous_id": "a-1", "event": "form_submit", "properties": {"ip": "1.2.3.4"}}
    )
    assert lead == {
        "Phone": "18600000000",
        "CDP_ID": "a-1",
        "First_Name": "Advertising Account Name",
        "Email": "123.test.com",
    }


# --- String form ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Phone=phone", {"Phone": ("phone",)}),
        (
            "  Phone =  phone  ,  Email= mail ",
            {"Phone": ("phone",), "Email": ("mail",)},
        ),
        ("Phone=phone,", {"Phone": ("phone",)}),
        ("Phone=phone,,Email=mail", {"Phone": ("phone",), "Email": ("mail",)}),
        (",Phone=phone, ,", {"Phone": ("phone",)}),
        ("Note=a=b", {"Note": ("a=b",)}),
        ("Note=a\\,b", {"Note": ("a,b",)}),
        ("Note=a\\b\\c", {"Note": ("a\\b\\c",)}),
        ("Phone=phone,Phone=wxPhone", {"Phone": ("phone", "wxPhone")}),
        (
            "Phone=phone,Email=mail,Phone=wxPhone,Phone=tel",
            {"Phone": ("phone", "wxPhone", "tel"), "Email": ("mail",)},
        ),
        ("CDP_ID2=properties.utm.source", {"CDP_ID2": ("properties.utm.source",)}),
    ],
)
def test_the_string_form_splits_trims_and_keeps_order(text, expected):
    """Pairs split on commas and the first "=", trimmed, repeats kept in order."""
    assert parse_field_mapping(text) == expected


def test_repeated_fields_keep_their_first_position_in_the_order():
    """A field's position is where it first appears, whatever repeats later."""
    parsed = parse_field_mapping("Phone=a,Email=b,Phone=c")
    assert list(parsed) == ["Phone", "Email"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lead_Source=CDP", {"Lead_Source": "CDP"}),
        ("Description=one\\, two", {"Description": "one, two"}),
        ("Website=https://x.example/?a=b", {"Website": "https://x.example/?a=b"}),
        ("  Last_Name =  Unknown person ,", {"Last_Name": "Unknown person"}),
        ("Path=C:\\temp", {"Path": "C:\\temp"}),
    ],
)
def test_the_string_form_of_defaults_splits_trims_and_unescapes(text, expected):
    """Defaults follow the same pair rules as the mapping."""
    assert parse_default_values(text) == expected


@pytest.mark.parametrize("value", [None, "", "   ", {}])
def test_no_default_values_gives_an_empty_dict(value):
    """An unset or blank default_values setting means no defaults."""
    assert parse_default_values(value) == {}


# --- Object form ------------------------------------------------------------


def test_the_object_form_takes_a_name_or_a_list_of_names():
    """A string is one source, a list is several sources in order."""
    parsed = parse_field_mapping({"Phone": ["phone", "wxPhone"], "CDP_ID": "anonymous_id"})
    assert parsed == {"Phone": ("phone", "wxPhone"), "CDP_ID": ("anonymous_id",)}


def test_the_object_form_keeps_commas_and_trims_names():
    """Object values need no escaping; surrounding whitespace still goes."""
    parsed = parse_field_mapping({" Description ": [" a,b ", "c\\,d"]})
    assert parsed == {"Description": ("a,b", "c\\,d")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"Phone": ["phone", "wxPhone"]}', {"Phone": ("phone", "wxPhone")}),
        ('  {"CDP_ID": "anonymous_id"}', {"CDP_ID": ("anonymous_id",)}),
        ('{"Phone": "phone", "Phone": "wxPhone"}', {"Phone": ("phone", "wxPhone")}),
    ],
)
def test_a_json_object_string_is_the_object_form(text, expected):
    """Meltano and env vars hand objects over as JSON text."""
    assert parse_field_mapping(text) == expected


def test_default_values_in_the_object_form_are_used_as_given():
    """Numbers, booleans and multi-select lists keep their types."""
    defaults = {
        "Lead_Source": "CDP",
        "No_of_Employees": 12,
        "Annual_Revenue": 1.5,
        "Email_Opt_Out": False,
        "Interests": ["a", "b"],
    }
    assert parse_default_values(defaults) == defaults
    assert parse_default_values(json.dumps(defaults)) == defaults


# --- Bad config -------------------------------------------------------------


def test_a_bad_field_name_message_names_the_pair_by_its_place():
    """The message says which pair and what an API name is, without quoting the pair."""
    with pytest.raises(ConfigValidationError) as caught:
        parse_field_mapping("Phone=cluePhoneNumber,First Name=adUcName")
    expected = (
        "field_mapping: pair 2: the Zoho field name is not an API name "
        "(letters, digits and underscores, e.g. First_Name)"
    )
    assert str(caught.value) == expected
    assert caught.value.errors == [expected]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("Phone", r'pair 1: no "="'),
        ("Phone=phone,Email", r'pair 2: no "="'),
        ("=phone", r"pair 1: the Zoho field name is empty"),
        ("1abc=x", r"pair 1: the Zoho field name is not an API name"),
        ("Phone-Number=x", r"pair 1: the Zoho field name is not"),
        ("_Phone=x", r"the Zoho field name is not an API name"),
        ("Tél=x", r"the Zoho field name is not an API name"),
        ("Phone=", r"pair 1 \(Phone\): the source field is empty"),
        ("Phone=  ,Email=mail", r"pair 1 \(Phone\): the source field is empty"),
        ("", r"field_mapping is empty"),
        (" , ,", r"field_mapping is empty"),
        ({}, r"field_mapping is empty"),
        ("{}", r"field_mapping is empty"),
        ({"Phone": []}, r"entry 1 \(Phone\): the source list is empty"),
        ({"Phone": ""}, r"entry 1 \(Phone\): the source field is empty"),
        ({"Phone": ["phone", 3]}, r"entry 1 \(Phone\): source 2 is a int"),
        ({"Phone": ["phone", " "]}, r"entry 1 \(Phone\): source 2 is empty"),
        ({"Phone": 3}, r"entry 1 \(Phone\): the source must be a field name"),
        ({"Phone": None}, r"entry 1 \(Phone\): the source must be a field name"),
        ({"First Name": "x"}, r"entry 1: the Zoho field name is not"),
        ('{"Phone": {"a": "b"}}', r"entry 1 \(Phone\): the source must be a field name"),
        ('{"Phone": "phone"', r"field_mapping: not valid JSON"),
        ("{Phone=phone}", r"field_mapping: not valid JSON"),
        (None, r"field_mapping must be text .* not missing"),
        (["Phone=phone"], r"field_mapping must be text .* not a list"),
        (12, r"field_mapping must be text .* not a int"),
    ],
)
def test_a_bad_field_mapping_is_a_config_error_naming_the_pair(value, match):
    """Every kind of bad mapping stops the run with the pair in the message."""
    with pytest.raises(ConfigValidationError, match=match):
        parse_field_mapping(value)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("Phone=", r"default_values: pair 1 \(Phone\): the default value is empty"),
        (
            "Phone=1,Phone=2",
            r"pair 2 \(Phone\): Phone already has a default, pair 1 \(Phone\)",
        ),
        ("Lead_Source", r'pair 1: no "="'),
        ("Lead Source=CDP", r"the Zoho field name is not an API name"),
        ("=CDP", r"pair 1: the Zoho field name is empty"),
        ('{"Phone": "1", "Phone": "2"}', r"entry 2 \(Phone\): Phone already has a default"),
        ({"Phone": ""}, r"entry 1 \(Phone\): the default value is empty"),
        ({"Phone": None}, r"entry 1 \(Phone\): the default value is empty"),
        ({"Tags": []}, r"entry 1 \(Tags\): the default value is empty"),
        ({"Tags": ["a", 1]}, r"entry 1 \(Tags\): a default must be"),
        ({"Extra": {"a": 1}}, r"entry 1 \(Extra\): a default must be"),
        ('{"Extra": {"a": 1}}', r"entry 1 \(Extra\): a default must be"),
        ('{"Score": NaN}', r"entry 1 \(Score\): the default number is not finite"),
        ('{"Phone": 1', r"default_values: not valid JSON"),
        (12, r"default_values must be text .* not a int"),
    ],
)
def test_bad_default_values_are_a_config_error_naming_the_pair(value, match):
    """Every kind of bad default stops the run with the pair in the message."""
    with pytest.raises(ConfigValidationError, match=match):
        parse_default_values(value)


def test_a_bad_pair_is_never_quoted_in_the_message():
    """A phone pasted into the settings by mistake does not reach the log."""
    with pytest.raises(ConfigValidationError) as caught:
        parse_default_values("Phone=1,Phone=13800138000,+8613800138000")
    text = " ".join([str(caught.value), *caught.value.errors])
    assert "13800138000" not in text


def test_every_bad_pair_is_reported_in_one_error():
    """A user fixes all mistakes in one go: one error lists them all."""
    with pytest.raises(ConfigValidationError) as caught:
        parse_field_mapping("Phone,First Name=x,Email=mail,=y,CDP_ID=")
    errors = caught.value.errors
    assert len(errors) == 4
    for pair in ("pair 1:", "pair 2:", "pair 4:", "pair 5 (CDP_ID):"):
        assert any(error.startswith(f"field_mapping: {pair}") for error in errors)
        assert pair in str(caught.value)
    assert str(caught.value).startswith("4 problems: ")


def test_from_config_reports_both_settings_problems_together():
    """Bad mapping and bad defaults come out in one ConfigValidationError."""
    config = {"field_mapping": "Phone", "default_values": "Email="}
    with pytest.raises(ConfigValidationError) as caught:
        LeadMapper.from_config(config)
    assert len(caught.value.errors) == 2
    assert caught.value.errors[0].startswith("field_mapping:")
    assert caught.value.errors[1].startswith("default_values:")


def test_from_config_without_a_field_mapping_is_a_config_error():
    """The mapping is required."""
    with pytest.raises(ConfigValidationError, match="field_mapping must be"):
        LeadMapper.from_config({"default_values": "Lead_Source=CDP"})


def test_from_config_reads_both_settings():
    """field_mapping and the optional default_values build the mapper."""
    lead_mapper = LeadMapper.from_config(
        {"field_mapping": "Email=email", "default_values": {"Lead_Source": "CDP"}}
    )
    assert lead_mapper.map({"email": "a@x.com"}) == {
        "Email": "a@x.com",
        "Lead_Source": "CDP",
    }
    assert LeadMapper.from_config({"field_mapping": "Email=email"}).map({"x": 1}) == {}


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("First_Name", True),
        ("CDP_ID", True),
        ("a", True),
        ("Field2_x", True),
        ("First Name", False),
        ("1abc", False),
        ("Phone-Number", False),
        ("_x", False),
        ("", False),
        ("Phone\n", False),
    ],
)
def test_field_name_pattern_accepts_only_api_names(name, valid):
    """Letters, digits and underscores, starting with a letter."""
    assert bool(FIELD_NAME_PATTERN.match(name)) is valid


# --- Looking sources up in a record -----------------------------------------


def test_a_top_level_key_wins_over_the_same_key_in_properties():
    """Step 1 (top level) comes before step 2 (properties)."""
    lead = mapper("Email=email").map({"email": "top@x.com", "properties": {"email": "props@x.com"}})
    assert lead == {"Email": "top@x.com"}


def test_properties_are_used_when_the_top_level_key_is_empty():
    """An empty top-level value falls through to properties."""
    lead = mapper("Email=email").map({"email": " ", "properties": {"email": "props@x.com"}})
    assert lead == {"Email": "props@x.com"}


@pytest.mark.parametrize(
    "properties",
    [
        {"area": "Shanghai", "utm": {"source": "baidu"}},
        json.dumps({"area": "Shanghai", "utm": {"source": "baidu"}}),
        "  " + json.dumps({"area": "Shanghai", "utm": {"source": "baidu"}}),
    ],
)
def test_properties_may_be_an_object_or_its_json_text(properties):
    """CDP events keep form answers in properties, sometimes JSON-encoded."""
    lead_mapper = mapper("City=area,Source=properties.utm.source,Medium=utm.source")
    assert lead_mapper.map({"properties": properties}) == {
        "City": "Shanghai",
        "Source": "baidu",
        "Medium": "baidu",
    }


@pytest.mark.parametrize("properties", ["not json", "[1, 2]", '"text"', "12", 12, None])
def test_properties_that_are_not_an_object_count_as_none(properties):
    """Text that is not a JSON object, or any other value, has nothing inside."""
    lead_mapper = mapper("City=area,Source=properties.utm.source")
    assert lead_mapper.map({"properties": properties}) == {}


def test_a_dotted_path_walks_nested_objects_from_the_top_level():
    """Step 3: a dotted name follows nested objects explicitly."""
    record = {"context": {"page": {"url": "https://x.example/"}}}
    assert mapper("Website=context.page.url").map(record) == {"Website": "https://x.example/"}


def test_a_dotted_path_is_also_tried_inside_properties():
    """Step 4: the same path inside properties."""
    record = {"properties": json.dumps({"form": {"phone": "123"}})}
    assert mapper("Phone=form.phone").map(record) == {"Phone": "123"}


def test_a_top_level_key_with_a_dot_in_its_name_wins_over_the_path():
    """The exact key comes before any walk of the path."""
    record = {"utm.source": "exact", "utm": {"source": "walked"}}
    assert mapper("Source=utm.source").map(record) == {"Source": "exact"}


def test_a_dotted_path_stops_at_values_that_are_not_objects():
    """A path through a string or a list gives nothing, and no error."""
    record = {"a": "text", "b": [{"c": 1}], "properties": {"a": {"b": "ok"}}}
    assert mapper("X=a.b,Y=b.c,Z=a.missing").map(record) == {"X": "ok"}


def test_json_text_inside_properties_other_than_properties_is_not_decoded():
    """Only properties itself arrives JSON-encoded; other text stays text."""
    record = {"properties": {"utm": json.dumps({"source": "baidu"})}}
    assert mapper("Source=utm.source").map(record) == {}


def test_the_first_non_empty_source_wins_in_the_order_written():
    """Several channels feed one field: the first source with a value wins."""
    lead_mapper = mapper("Phone=phone,Phone=wxPhone,Phone=tel")
    assert lead_mapper.map({"wxPhone": "2", "tel": "3"}) == {"Phone": "2"}
    assert lead_mapper.map({"phone": "1", "wxPhone": "2"}) == {"Phone": "1"}
    assert lead_mapper.map({"phone": "", "properties": {"tel": "3"}}) == {"Phone": "3"}


def test_a_later_source_at_top_level_does_not_beat_an_earlier_one_in_properties():
    """Sources are tried in order, each through all its lookup steps."""
    lead_mapper = mapper("Phone=phone,Phone=wxPhone")
    record = {"wxPhone": "top", "properties": {"phone": "props"}}
    assert lead_mapper.map(record) == {"Phone": "props"}


@pytest.mark.parametrize("empty", [None, "", "   ", "\t\n", [], {}], ids=repr)
def test_empty_values_are_skipped_and_never_sent(empty):
    """Null, blank text, an empty list and an empty object all count as nothing."""
    lead_mapper = mapper("Phone=phone,Phone=wxPhone,Email=email")
    lead = lead_mapper.map({"phone": empty, "wxPhone": "2", "email": empty})
    assert lead == {"Phone": "2"}


def test_a_missing_source_gives_nothing():
    """A record without the source key leaves the field out."""
    assert mapper("Phone=phone").map({"event": "x"}) == {}


def test_json_text_properties_are_decoded_once_per_record(monkeypatch):
    """Decoding is lazy and shared by every field of the record."""
    calls = []

    def loads(text):
        calls.append(text)
        return json.loads(text)

    monkeypatch.setattr(mapping, "json", types.SimpleNamespace(loads=loads))
    lead_mapper = mapper("A=a,B=b,C=x.y,D=properties.x.y,E=missing")
    record = {"properties": json.dumps({"a": "1", "b": "2", "x": {"y": "3"}})}
    lead = lead_mapper.map(record)
    assert lead == {"A": "1", "B": "2", "C": "3", "D": "3"}
    assert len(calls) == 1
    lead_mapper.map({"a": "top", "b": "top", "x.y": "top", "D": "x"})
    assert len(calls) == 1  # every field found at top level: nothing decoded


# --- Values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Ada  ", "Ada"),
        (
            dt.datetime(2024, 5, 1, 8, 30, tzinfo=dt.timezone.utc),
            "2024-05-01T08:30:00+00:00",
        ),
        (dt.date(2024, 5, 1), "2024-05-01"),
        (decimal.Decimal(12), 12),
        (decimal.Decimal("12.0"), 12),
        (decimal.Decimal("12.5"), 12.5),
        (True, True),
        (False, False),
        (0, 0),
        (1.25, 1.25),
        ([" a ", decimal.Decimal("1.5")], ["a", 1.5]),
        ({"k": [dt.date(2024, 1, 2)]}, {"k": ["2024-01-02"]}),
    ],
    ids=repr,
)
def test_values_become_plain_json(value, expected):
    """Strings are trimmed, dates become ISO text, Decimals become numbers."""
    lead = mapper("X=x").map({"x": value})
    assert lead == {"X": expected}
    assert type(lead["X"]) is type(expected)


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), decimal.Decimal("NaN"), decimal.Decimal("-Infinity")],
    ids=repr,
)
def test_numbers_that_json_cannot_hold_count_as_empty(value):
    """NaN and infinities are not JSON, so they are never sent."""
    assert mapper("X=x", "X=fallback").map({"x": value}) == {"X": "fallback"}


def test_a_value_written_as_blank_text_counts_as_empty():
    """An object of no JSON type is sent as its text, and blank text is nothing."""

    class Blank:
        def __str__(self):
            return ""

    assert mapper("X=x,X=y.z").map({"x": Blank(), "y": {"z": Blank()}}) == {}


def test_the_lead_is_json_serialisable():
    """Whatever the record held, the lead can be sent as strict JSON."""
    record = {
        "when": dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc),
        "amount": decimal.Decimal("10.50"),
        "tags": ("a", decimal.Decimal(2)),
        "huge": decimal.Decimal("1E+5000"),
        "nested": {"n": [float("nan"), decimal.Decimal(1)]},
    }
    lead = mapper("A=when,B=amount,C=tags,D=huge,E=nested").map(record)
    json.dumps(lead, allow_nan=False)
    assert "D" not in lead  # too big for a float, too long for an int
    assert lead["C"] == ["a", 2]
    assert lead["E"] == {"n": [None, 1]}


# --- Defaults ---------------------------------------------------------------


def test_a_default_fills_a_mapped_field_that_got_nothing():
    """The default is the fallback when every source is empty."""
    lead_mapper = mapper("Phone=phone", "Phone=18600000000")
    assert lead_mapper.map({"phone": "  "}) == {"Phone": "18600000000"}
    assert lead_mapper.map({"phone": "123"}) == {"Phone": "123"}


def test_a_default_without_a_mapping_is_a_constant_on_every_lead():
    """Lead_Source=CDP lands on every lead."""
    lead_mapper = mapper("Email=email", {"Lead_Source": "CDP"})
    assert lead_mapper.map({}) == {"Lead_Source": "CDP"}
    assert lead_mapper.map({"email": "a@x.com"}) == {
        "Email": "a@x.com",
        "Lead_Source": "CDP",
    }


def test_a_lead_lists_mapped_fields_then_default_only_fields():
    """The order is the mapping's, then fields only the defaults fill."""
    lead_mapper = mapper("Phone=p,Email=e,Phone=q", "Lead_Source=CDP,Email=x,Last_Name=U")
    lead = lead_mapper.map({"e": "a@x.com", "q": "1"})
    assert list(lead) == ["Phone", "Email", "Lead_Source", "Last_Name"]


def test_the_lead_follows_the_mappings_order():
    """Output keys come in the mapping's order, whatever the record's order."""
    lead_mapper = mapper("Phone=p,Email=e", "Last_Name=U")
    lead = lead_mapper.map({"e": "a@x.com", "p": "1"})
    assert list(lead) == ["Phone", "Email", "Last_Name"]


def test_a_list_default_is_a_fresh_copy_on_each_lead():
    """Editing one lead's multi-select leaves the next lead's alone."""
    lead_mapper = mapper("Email=email", {"Interests": ["a", "b"]})
    first = lead_mapper.map({})
    first["Interests"].append("c")
    assert lead_mapper.map({})["Interests"] == ["a", "b"]


def test_blank_defaults_given_directly_to_the_mapper_are_ignored():
    """A mapper built by hand never sends an empty default."""
    lead_mapper = LeadMapper({"Email": ("email",)}, {"Email": " ", "Tags": []})
    assert lead_mapper.map({}) == {}
    assert lead_mapper.map({"email": "a@x.com"}) == {"Email": "a@x.com"}


# --- is_empty ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "empty"),
    [
        (None, True),
        ("", True),
        (" \t", True),
        ([], True),
        ({}, True),
        ((), True),
        ("x", False),
        (0, False),
        (False, False),
        (0.0, False),
        ([None], False),
        ({"a": None}, False),
    ],
    ids=repr,
)
def test_is_empty_follows_the_spec(value, empty):
    """Missing, null, blank text, empty list or object are empty; zero is not."""
    assert is_empty(value) is empty


# --- Property ---------------------------------------------------------------

KEYS = st.sampled_from(["phone", "wxPhone", "email", "utm", "source", "properties", "a.b"])
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=5)
    | st.sampled_from(["", " ", "\n"])
    | st.decimals()
    | st.datetimes()
    | st.dates()
)
VALUES = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(KEYS | st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=10,
)
RECORDS = st.dictionaries(
    KEYS | st.text(max_size=3),
    VALUES | VALUES.map(lambda v: json.dumps(v, default=str)) | st.text(max_size=8),
    max_size=6,
)
PROPERTY_MAPPER = mapper(
    "Phone=phone,Phone=wxPhone,Email=email,Source=properties.utm.source,"
    "Source=utm.source,Nested=a.b,Whole=properties,Deep=phone.phone.phone",
    "Last_Name=Unknown",
)


@settings(max_examples=300, deadline=None)
@given(RECORDS)
def test_mapping_random_records_never_raises_nor_sends_an_empty_value(record):
    """Whatever a tap sends, the lead holds only non-empty, JSON-ready values."""
    lead = PROPERTY_MAPPER.map(record)
    assert lead["Last_Name"] == "Unknown"
    order = ["Phone", "Email", "Source", "Nested", "Whole", "Deep", "Last_Name"]
    assert list(lead) == [f for f in order if f in lead]
    for value in lead.values():
        assert not is_empty(value)
    json.dumps(lead, allow_nan=False)


# --- Against a reference ---------------------------------------------------


def plain_json(value):
    """The reference's value cleaning: trimmed text, no NaN, deeply."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [plain_json(item) for item in value]
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    return value


def reference_value(record, properties, name):
    """The reference's look-up of one source: the first non-empty place, or None."""

    def walk(container, keys):
        for key in keys:
            container = container.get(key) if isinstance(container, dict) else None
        return container

    places = [record.get(name), properties.get(name)]
    if "." in name:
        keys = name.split(".")
        if keys[0] == "properties":
            places.append(walk(properties, keys[1:]))
        else:
            places.append(walk(record, keys))
        places.append(walk(properties, keys))
    values = [plain_json(place) for place in places]
    return next((value for value in values if value not in (None, "", [], {})), None)


def reference_map(rules, defaults, record):
    """SPEC §3 written as plainly as possible, for JSON values only."""
    properties = record.get("properties")
    if isinstance(properties, str):
        try:
            properties = json.loads(properties)
        except ValueError:
            properties = None
    if not isinstance(properties, dict):
        properties = {}
    lead = {}
    for field in [*rules, *(field for field in defaults if field not in rules)]:
        values = [reference_value(record, properties, name) for name in rules.get(field, ())]
        value = next((value for value in values if value is not None), defaults.get(field))
        if value is not None:
            lead[field] = value
    return lead


NAMES = st.sampled_from(
    [
        "phone",
        "wxPhone",
        "email",
        "utm",
        "utm.source",
        "properties.utm.source",
        "properties",
        "a.b",
        "a.b.c",
        "b.c",
        "properties.a",
    ]
)
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=4)
    | st.sampled_from(["", " ", "\t", " x "])
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["utm", "source", "a", "b", "c", "phone"]), children, max_size=3
        )
    ),
    max_leaves=8,
)
# Objects whose keys the dotted sources follow, so paths often lead somewhere.
PATH_KEYS = st.sampled_from(["utm", "source", "a", "b", "c", "properties"])
OBJECTS = st.recursive(
    st.dictionaries(PATH_KEYS, JSON_LEAVES, min_size=1, max_size=3),
    lambda children: st.dictionaries(PATH_KEYS, children | JSON_LEAVES, min_size=1, max_size=3),
    max_leaves=6,
)
JSON_VALUES = JSON_VALUES | OBJECTS
PROPERTIES = st.dictionaries(NAMES, JSON_VALUES, max_size=5)
RECORD_KEYS = NAMES | st.sampled_from(["a", "b", "source"])
REFERENCE_RECORDS = st.builds(
    lambda top, properties: {**top, **({} if properties is None else {"properties": properties})},
    st.dictionaries(RECORD_KEYS, JSON_VALUES, max_size=5),
    st.none()
    | PROPERTIES
    | PROPERTIES.map(json.dumps)
    | JSON_VALUES
    | st.sampled_from(["not json", "[1]", " "]),
)
FIELDS = st.sampled_from(["Phone", "Email", "Source", "Lead_Source", "Tags"])
RULES = st.dictionaries(FIELDS, st.lists(NAMES, min_size=1, max_size=3).map(tuple), max_size=4)
DEFAULTS = st.dictionaries(
    FIELDS, st.sampled_from(["CDP", "Unknown", 0, False, ["a", "b"]]), max_size=3
)


@settings(max_examples=500, deadline=None)
@given(RULES, DEFAULTS, st.lists(REFERENCE_RECORDS, min_size=1, max_size=3))
def test_mapping_agrees_with_a_plain_reference_of_the_spec(rules, defaults, records):
    """Top level, properties (object or JSON text), dotted paths, emptiness, defaults."""
    lead_mapper = LeadMapper(rules, defaults)
    for record in records:
        expected = reference_map(rules, defaults, record)
        lead = lead_mapper.map(record)
        assert lead == expected
        assert list(lead) == list(expected)


def test_field_name_pattern_is_a_compiled_regex():
    """Other modules reuse the pattern to check names from Zoho's metadata."""
    assert isinstance(FIELD_NAME_PATTERN, re.Pattern)
