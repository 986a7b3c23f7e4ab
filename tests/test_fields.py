"""Tests for the Leads field metadata: start-up checks and value coercion."""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from target_zoho_leads.leads.fields import (
    INVALID_VALUE_POLICIES,
    FieldProblem,
    LeadFields,
)

# --- A Leads field list as GET /crm/v8/settings/fields?module=Leads answers it ---

JSON_TYPES = {
    "bigint": "string",
    "integer": "integer",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "boolean": "boolean",
    "multiselectpicklist": "jsonarray",
    "fileupload": "jsonarray",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
}


def zoho_field(api_name, data_type, length=255, **extra):
    """One item of Zoho's `fields` array, with the keys this target reads and more."""
    read_only = extra.pop("read_only", False)
    label = extra.pop("field_label", api_name.replace("_", " "))
    field = {
        "api_name": api_name,
        "field_label": label,
        "display_label": label,
        "data_type": data_type,
        "json_type": JSON_TYPES.get(data_type, "string"),
        "length": length,
        "system_mandatory": False,
        "read_only": read_only,
        "field_read_only": read_only,
        "custom_field": False,
        "visible": True,
        "id": f"5725767000000{sum(map(ord, api_name)):06d}",
        "column_name": api_name.upper(),
        "decimal_place": None,
        "operation_type": {
            "web_update": not read_only,
            "api_create": not read_only,
            "web_create": not read_only,
            "api_update": not read_only,
        },
        "pick_list_values": [],
        "lookup": None,
        "currency": None,
        "formula": None,
        "autonumber": {"prefix": None, "suffix": None, "start_number": None},
        "multiselectlookup": None,
        "subform": None,
        "unique": None,
    }
    field.update(extra)
    return field


def pick_list(*values):
    """Picklist entries led by Zoho's `-None-`; a pair is (display, actual)."""
    entries = []
    for number, value in enumerate(["-None-", *values], start=1):
        display, actual = value if isinstance(value, tuple) else (value, value)
        entries.append(
            {
                "display_value": display,
                "actual_value": actual,
                "reference_value": actual,
                "id": f"57257670000003{number:05d}",
                "colour_code": None,
                "type": "used",
                "sequence_number": number,
            }
        )
    return entries


LEADS_FIELDS = [
    zoho_field("id", "bigint", 18, read_only=True, field_label="Record Id"),
    zoho_field(
        "Owner",
        "ownerlookup",
        120,
        field_label="Lead Owner",
        lookup={"module": {"api_name": "users", "id": None}},
    ),
    zoho_field("First_Name", "text", 40),
    zoho_field("Last_Name", "text", 80, system_mandatory=True),
    zoho_field("Full_Name", "text", 120, read_only=True),
    zoho_field("Designation", "text", 100, field_label="Title"),
    zoho_field("Company", "text", 200),
    zoho_field("Email", "email", 100),
    zoho_field("Phone", "phone", 30),
    zoho_field("Website", "website", 255),
    zoho_field(
        "Lead_Source",
        "picklist",
        120,
        pick_list_values=pick_list(
            ("Advertisement (paid)", "Advertisement"),
            "Cold Call",
            "Web Download",
            "CDP",
        ),
    ),
    zoho_field(
        "Interests",
        "multiselectpicklist",
        2000,
        custom_field=True,
        pick_list_values=pick_list(
            "Pricing", "Demo", "Webinar", "Newsletter", "Support", "Sales, EMEA"
        ),
    ),
    zoho_field("No_of_Employees", "integer", 9, field_label="No. of Employees"),
    zoho_field("Big_Number", "bigint", 18, custom_field=True),
    zoho_field("Annual_Revenue", "currency", 16, decimal_place=2),
    zoho_field("Lead_Score", "double", 16, decimal_place=2, custom_field=True),
    zoho_field("Discount", "percent", 5, custom_field=True),
    zoho_field("Email_Opt_Out", "boolean", 5),
    zoho_field("Event_Date", "date", 20, custom_field=True),
    zoho_field("Visit_Time", "datetime", 120, custom_field=True),
    zoho_field("Description", "textarea", 32000, textarea={"type": "large"}),
    zoho_field("CDP_ID", "text", 255, custom_field=True),
    zoho_field("Created_Time", "datetime", 120, read_only=True),
    zoho_field(
        "Campaign_Source",
        "lookup",
        120,
        custom_field=True,
        lookup={"module": {"api_name": "Campaigns", "id": "5725767000000002183"}},
    ),
    zoho_field("Attachment_File", "fileupload", 120, custom_field=True),
    zoho_field("Record_Image", "profileimage", 255),
]


@pytest.fixture
def fields():
    """The Leads fields of a realistic org."""
    return LeadFields.from_metadata(LEADS_FIELDS)


def coerce_one(fields, name, value):
    """Coerce a lead holding one value; return (value sent or absent, problems)."""
    lead, problems, _ = fields.coerce({name: value}, "drop_field")
    assert lead is not None
    return lead.get(name, "<absent>"), problems


# --- Start-up checks ------------------------------------------------------------


def test_a_typo_is_refused_with_the_closest_name(fields):
    """`Frist_Name` is unknown and First_Name is suggested, and only it."""
    assert fields.check_config(["Frist_Name", "Last_Name"], []) == [
        "Frist_Name: no such Leads field; did you mean First_Name?"
    ]


def test_names_equally_close_are_all_suggested(fields):
    """Up to three fields that are about as close are offered together."""
    [problem] = fields.check_config(["Last_Name", "Pone"], [])
    assert problem.startswith("Pone: no such Leads field; did you mean ")
    assert "Phone" in problem


def test_a_field_named_by_its_layout_label_suggests_its_api_name(fields):
    """`Title` is the label of Designation, so Designation is suggested."""
    assert fields.check_config(["Last_Name", "Title"], []) == [
        "Title: no such Leads field; did you mean Designation?"
    ]


def test_a_name_like_no_field_gets_a_plain_message(fields):
    """Without a close name there is nothing to suggest."""
    assert fields.check_config(["Last_Name", "Xyzzy_Qwop"], []) == [
        "Xyzzy_Qwop: no such Leads field, and none has a similar name"
    ]


def test_read_only_fields_are_never_suggested(fields):
    """Full_Name is read-only, so a typo of it does not point to it."""
    [problem] = fields.check_config(["Last_Name", "Ful_Name"], [])
    assert "Full_Name" not in problem


def test_a_read_only_field_is_refused(fields):
    """Zoho fills Created_Time itself."""
    assert fields.check_config(["Last_Name", "Created_Time"], []) == [
        "Created_Time is read-only in Zoho Leads: Zoho ignores a value sent"
    ]


def test_a_lookup_field_is_refused_with_the_reason(fields):
    """A lookup needs a record id of its module, which no event carries."""
    assert fields.check_config(["Last_Name"], ["Campaign_Source"]) == [
        (
            "Campaign_Source is a lookup field: it needs the id of a Campaigns record, "
            "which a CDP event does not carry"
        )
    ]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Owner", "is an owner field: it needs the id of a Zoho user"),
        ("Attachment_File", "is a file upload field: it needs files uploaded"),
        ("Record_Image", "is the record image"),
    ],
)
def test_fields_an_event_cannot_fill_are_refused_with_the_reason(fields, name, why):
    """Owners, files and images cannot come from a CDP event."""
    [problem] = fields.check_config(["Last_Name", name], [])
    assert problem.startswith(f"{name} {why}")


@pytest.mark.parametrize(
    ("data_type", "json_type", "expected"),
    [
        ("subform", "jsonarray", "Box is a subform"),
        ("formula", "double", "Box is a formula field: Zoho computes it"),
        ("autonumber", "string", "Box is an auto-number field"),
        ("multiselectlookup", "jsonarray", "Box is a multi-select lookup"),
        ("userlookup", "jsonobject", "Box is a user lookup"),
        ("mystery", "jsonobject", "Box has the data type mystery, which this target"),
    ],
)
def test_other_unfillable_types_are_refused(data_type, json_type, expected):
    """Computed fields, subforms and unknown object types are refused too."""
    lead_fields = LeadFields.from_metadata([zoho_field("Box", data_type, json_type=json_type)])
    [problem] = lead_fields.check_config(["Box"], [])
    assert problem.startswith(expected)


def test_an_unknown_type_of_json_type_string_is_filled_as_text():
    """A data type this target does not know but Zoho stores as text is allowed."""
    lead_fields = LeadFields.from_metadata([zoho_field("Geo", "geo_tag")])
    assert lead_fields.check_config(["Geo"], []) == []
    assert coerce_one(lead_fields, "Geo", 12) == ("12", [])


def test_a_missing_last_name_is_refused(fields):
    """Last_Name is system-mandatory: without a mapping or default nothing inserts."""
    assert fields.check_config(["Email", "CDP_ID"], ["Lead_Source"]) == [
        (
            "Last_Name is mandatory in Zoho Leads but has no mapping and no default: "
            "add Last_Name=<source> to field_mapping or Last_Name=<value> to "
            "default_values"
        )
    ]


def test_a_default_alone_satisfies_last_name(fields):
    """A constant Last_Name (e.g. `Unknown`) is enough."""
    assert fields.check_config(["Email"], ["Last_Name"]) == []


def test_a_mandatory_id_is_not_asked_for():
    """`id` is mandatory only on update; Zoho assigns it on insert."""
    lead_fields = LeadFields.from_metadata([zoho_field("id", "bigint", 18, system_mandatory=True)])
    assert lead_fields.check_config([], []) == []


def test_every_problem_is_listed_at_once(fields):
    """A typo, a read-only field, a lookup and a missing Last_Name in one answer."""
    problems = fields.check_config(
        ["Frist_Name", "Created_Time", "Email"], ["Campaign_Source", "Frist_Name"]
    )
    assert [problem.split(" ", 1)[0].rstrip(":") for problem in problems] == [
        "Frist_Name",
        "Created_Time",
        "Campaign_Source",
        "Last_Name",
    ]


def test_a_good_mapping_has_no_problems(fields):
    """Every writable field may be mapped."""
    writable = [
        "First_Name", "Last_Name", "Email", "Phone", "Website", "Lead_Source",
        "Interests", "No_of_Employees", "Big_Number", "Annual_Revenue",
        "Lead_Score", "Discount", "Email_Opt_Out", "Event_Date", "Visit_Time",
        "Description", "CDP_ID",
    ]  # fmt: skip
    assert fields.check_config(writable, ["Lead_Source"]) == []


# --- Coercion, one table per data type --------------------------------------------

# (field, input, exact output)
CONVERTS = [
    # date: ISO dates and date-times (the date as written), yyyy/MM/dd, epochs
    ("Event_Date", "2026-11-28", "2026-11-28"),
    ("Event_Date", " 2026-11-28 ", "2026-11-28"),
    ("Event_Date", "2026/11/28", "2026-11-28"),
    ("Event_Date", "2026/1/5", "2026-01-05"),
    ("Event_Date", "2026-11-28T23:30:00-05:00", "2026-11-28"),
    ("Event_Date", "2026-11-28T02:00:00+08:00", "2026-11-28"),
    ("Event_Date", "2026-11-28T10:00:00Z", "2026-11-28"),
    ("Event_Date", "2026-11-28 10:00:00.123456", "2026-11-28"),
    ("Event_Date", 1795824000, "2026-11-28"),
    ("Event_Date", 1795824000000, "2026-11-28"),
    ("Event_Date", 1795824000.75, "2026-11-28"),
    ("Event_Date", "1795824000", "2026-11-28"),
    ("Event_Date", "1795824000000", "2026-11-28"),
    ("Event_Date", 0, "1970-01-01"),
    # datetime: offsets kept, none means UTC, fractions dropped, epochs in UTC
    ("Visit_Time", "2026-11-28T10:15:30+08:00", "2026-11-28T10:15:30+08:00"),
    ("Visit_Time", "2026-11-28T10:15:30", "2026-11-28T10:15:30+00:00"),
    ("Visit_Time", "2026-11-28T10:15:30Z", "2026-11-28T10:15:30+00:00"),
    ("Visit_Time", "2026-11-28t10:15:30z", "2026-11-28T10:15:30+00:00"),
    ("Visit_Time", "2026-11-28T10:15:30.987654Z", "2026-11-28T10:15:30+00:00"),
    ("Visit_Time", "2026-11-28 10:15:30", "2026-11-28T10:15:30+00:00"),
    ("Visit_Time", "2026-11-28 10:15:30 UTC", "2026-11-28T10:15:30+00:00"),
    ("Visit_Time", "2026-11-28T10:15:30-0530", "2026-11-28T10:15:30-05:30"),
    ("Visit_Time", "2026-11-28T10:15:30+08", "2026-11-28T10:15:30+08:00"),
    ("Visit_Time", "2026-11-28T10:15", "2026-11-28T10:15:00+00:00"),
    ("Visit_Time", "2026/11/28 10:15:30", "2026-11-28T10:15:30+00:00"),
    ("Visit_Time", "2026-11-28", "2026-11-28T00:00:00+00:00"),
    ("Visit_Time", 1795860930, "2026-11-28T10:15:30+00:00"),
    ("Visit_Time", 1795860930123, "2026-11-28T10:15:30+00:00"),
    ("Visit_Time", "1795860930123", "2026-11-28T10:15:30+00:00"),
    ("Visit_Time", 1795860930.9, "2026-11-28T10:15:30+00:00"),
    # integer: numbers and numeric text, thousands separators, the field's 9 digits
    ("No_of_Employees", 42, 42),
    ("No_of_Employees", "42", 42),
    ("No_of_Employees", " 3 ", 3),
    ("No_of_Employees", "1,200", 1200),
    ("No_of_Employees", "-7", -7),
    ("No_of_Employees", "+5", 5),
    ("No_of_Employees", "12.0", 12),
    ("No_of_Employees", 12.0, 12),
    ("No_of_Employees", "1e3", 1000),
    ("No_of_Employees", 999999999, 999999999),
    ("No_of_Employees", "-999,999,999", -999999999),
    # bigint: sent as a string of digits
    ("Big_Number", 9007199254740993, "9007199254740993"),
    ("Big_Number", "999,999,999,999,999,999", "999999999999999999"),
    ("Big_Number", "-42", "-42"),
    ("Big_Number", "+42", "42"),
    ("Big_Number", 42.0, "42"),
    ("Big_Number", " 7 ", "7"),
    # double, currency, percent: JSON numbers, exact
    ("Lead_Score", "1,234.5", 1234.5),
    ("Lead_Score", 1234.5, 1234.5),
    ("Lead_Score", "3", 3),
    ("Lead_Score", 12, 12),
    ("Lead_Score", " -0.25 ", -0.25),
    ("Lead_Score", "1e3", 1000),
    ("Lead_Score", "0.1", 0.1),
    ("Annual_Revenue", "1,200", 1200),
    ("Annual_Revenue", "99.99", 99.99),
    ("Annual_Revenue", 1_000_000.0, 1000000),
    ("Discount", "12.5", 12.5),
    ("Discount", "12.5%", 12.5),
    ("Discount", " 10 % ", 10),
    ("Discount", 15, 15),
    # boolean
    ("Email_Opt_Out", True, True),
    ("Email_Opt_Out", False, False),
    ("Email_Opt_Out", 1, True),
    ("Email_Opt_Out", 0, False),
    ("Email_Opt_Out", "true", True),
    ("Email_Opt_Out", "FALSE", False),
    ("Email_Opt_Out", " Yes ", True),
    ("Email_Opt_Out", "no", False),
    ("Email_Opt_Out", "1", True),
    ("Email_Opt_Out", "0", False),
    # multiselectpicklist: lists, JSON lists, `;` or `,` text; trimmed, distinct
    ("Interests", ["Pricing", "Demo"], ["Pricing", "Demo"]),
    ("Interests", "Pricing;Demo", ["Pricing", "Demo"]),
    ("Interests", "Pricing, Demo", ["Pricing", "Demo"]),
    ("Interests", " Pricing ; ; Demo ;", ["Pricing", "Demo"]),
    ("Interests", "Sales, EMEA; Demo", ["Sales, EMEA", "Demo"]),
    ("Interests", "Sales, EMEA", ["Sales, EMEA"]),
    ("Interests", ["Pricing", "Pricing", " Demo "], ["Pricing", "Demo"]),
    ("Interests", '["Demo", "Webinar"]', ["Demo", "Webinar"]),
    ("Interests", ["Demo", None, ""], ["Demo"]),
    ("Interests", "Demo", ["Demo"]),
    # picklist: sent as text; a display value becomes its actual value
    ("Lead_Source", "CDP", "CDP"),
    ("Lead_Source", " Web Download ", "Web Download"),
    ("Lead_Source", "Advertisement (paid)", "Advertisement"),
    # text-like: numbers and booleans as text, objects and lists as compact JSON
    ("First_Name", "Ann", "Ann"),
    ("First_Name", 42, "42"),
    ("First_Name", 3.5, "3.5"),
    ("First_Name", 2.0, "2"),
    ("First_Name", True, "true"),
    ("First_Name", False, "false"),
    ("Description", {"a": 1, "b": "é"}, '{"a":1,"b":"é"}'),
    ("Description", [1, "x", None], '[1,"x",null]'),
    ("CDP_ID", 18600000000.0, "18600000000"),
    # email, phone, website: trimmed and checked
    ("Email", " Ann@Example.com ", "Ann@Example.com"),
    ("Email", "a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk"),
    ("Phone", "+86 186-0000-0000", "+86 186-0000-0000"),
    ("Phone", "(555) 123.4567", "(555) 123.4567"),
    ("Phone", 18600000000, "18600000000"),
    ("Phone", 18600000000.0, "18600000000"),
    ("Phone", " 12345 ", "12345"),
    ("Website", "https://example.com", "https://example.com"),
    ("Website", "http://example.com/path?q=1#top", "http://example.com/path?q=1#top"),
    ("Website", "example.com/path", "example.com/path"),
    ("Website", "HTTPS://WWW.Example.COM:8443/", "HTTPS://WWW.Example.COM:8443/"),
    ("Website", " https://例え.jp/ページ ", "https://例え.jp/ページ"),
]

# (field, input) that no rule turns into an acceptable value
INVALID = [
    ("Event_Date", "28/11/2026"),
    ("Event_Date", "11/28/2026"),
    ("Event_Date", "28.11.2026"),
    ("Event_Date", "2026-13-01"),
    ("Event_Date", "2026-02-30"),
    ("Event_Date", "tomorrow"),
    ("Event_Date", "2026-11-28T25:00:00"),
    ("Event_Date", 10**20),
    ("Event_Date", True),
    ("Event_Date", ["2026-11-28"]),
    ("Event_Date", {"date": "2026-11-28"}),
    ("Visit_Time", "28/11/2026 10:15"),
    ("Visit_Time", "2026-11-28T24:00:00"),
    ("Visit_Time", "2026-11-28T10:15:30+25:00"),
    ("Visit_Time", "2026-11-28T10:15:30+08:75"),
    ("Visit_Time", "yesterday noon"),
    ("Visit_Time", "99999999999999999999"),
    ("Visit_Time", False),
    ("Visit_Time", math.inf),
    ("Visit_Time", {"at": 1795860930}),
    ("No_of_Employees", "12.5"),
    ("No_of_Employees", 12.5),
    ("No_of_Employees", True),
    ("No_of_Employees", "abc"),
    ("No_of_Employees", "1,5"),
    ("No_of_Employees", "1,20,0"),
    ("No_of_Employees", "12 apples"),
    ("No_of_Employees", 2147483648),
    ("No_of_Employees", "-2147483649"),
    ("No_of_Employees", math.nan),
    ("No_of_Employees", math.inf),
    ("No_of_Employees", [12]),
    ("No_of_Employees", {"count": 12}),
    ("Big_Number", "9223372036854775808"),
    ("Big_Number", "1000000000000000000"),
    ("No_of_Employees", 1000000000),
    ("Lead_Score", "100,000,000,000,000"),
    ("Annual_Revenue", 1e14),
    ("Discount", 123456),
    ("Big_Number", "1e99999"),
    ("Big_Number", 1.5),
    ("Big_Number", "twelve"),
    ("Big_Number", False),
    ("Lead_Score", True),
    ("Lead_Score", "12,5"),
    ("Lead_Score", "€12"),
    ("Lead_Score", "1e400"),
    ("Lead_Score", 10**400),
    ("Lead_Score", math.nan),
    ("Lead_Score", -math.inf),
    ("Lead_Score", [1.5]),
    ("Annual_Revenue", "$1,200"),
    ("Discount", "%%"),
    ("Email_Opt_Out", 2),
    ("Email_Opt_Out", -1),
    ("Email_Opt_Out", "maybe"),
    ("Email_Opt_Out", "treu"),
    ("Email_Opt_Out", [True]),
    ("Email_Opt_Out", {"opt_out": True}),
    ("Interests", [{"name": "Demo"}]),
    ("Interests", [["Demo"]]),
    ("Interests", {"Demo": True}),
    ("First_Name", math.nan),
    ("Description", math.inf),
    ("Email", "123.test.com"),
    ("Email", "ann@example"),
    ("Email", "ann smith@example.com"),
    ("Email", "ann@@example.com"),
    ("Email", "ann@example..com"),
    ("Email", "x" * 90 + "@example.com"),
    ("Email", 123456),
    ("Email", ["ann@example.com"]),
    ("Phone", "1234"),
    ("Phone", "555-CALL-NOW"),
    ("Phone", "+1 555 123 4567 x89"),
    ("Phone", "1" * 31),
    ("Phone", True),
    ("Phone", ["5551234567"]),
    ("Website", "our shop on main street"),
    ("Website", "ftp://example.com"),
    ("Website", "localhost"),
    ("Website", "https://exa mple.com"),
    ("Website", "javascript:alert(1)"),
    ("Website", "https://" + "a" * 250 + ".com"),
    ("Website", 42),
]


@pytest.mark.parametrize(("name", "value", "expected"), CONVERTS)
def test_values_convert_to_the_shape_zoho_accepts(fields, name, value, expected):
    """Each accepted source shape converts to exactly this value, with no problem."""
    sent, problems = coerce_one(fields, name, value)
    assert problems == []
    assert sent == expected
    assert type(sent) is type(expected)


@pytest.mark.parametrize(("name", "value"), INVALID)
def test_bad_values_are_problems(fields, name, value):
    """An invalid value is an INVALID_DATA problem on its field and is not sent."""
    sent, problems = coerce_one(fields, name, value)
    assert sent == "<absent>"
    assert [(problem.field, problem.code) for problem in problems] == [(name, "INVALID_DATA")]


@pytest.mark.parametrize(("name", "value"), INVALID)
def test_a_problem_never_quotes_the_value(fields, name, value):
    """Reasons name the expected shape, never the (personal) value itself."""
    _, problems, _ = fields.coerce({name: value}, "reject")
    text = value if isinstance(value, str) else repr(value)
    assert problems
    assert all(text not in problem.reason for problem in problems)


@pytest.mark.parametrize("value", ["28/11/2026", "11/28/2026", "28.11.2026", "5-6-26"])
def test_a_day_first_date_is_refused_as_ambiguous(fields, value):
    """Whether 05/06 is May or June cannot be known, so nothing is guessed."""
    _, [problem] = coerce_one(fields, "Event_Date", value)
    assert problem.reason == ("day and month order is ambiguous (expected yyyy-MM-dd, year first)")


def test_a_multi_select_of_only_separators_is_not_sent(fields):
    """`;;` means no choice: nothing is sent, and it is no problem either."""
    assert coerce_one(fields, "Interests", " ; ; ") == ("<absent>", [])


def test_fields_the_metadata_lacks_pass_untouched(fields):
    """The start-up check refused unknown mapped fields; coerce stays total."""
    value = {"nested": [1, 2]}
    assert coerce_one(fields, "Not_A_Field", value) == (value, [])


@pytest.mark.parametrize("name", ["Owner", "id", "Created_Time"])
def test_unwritable_fields_pass_untouched(fields, name):
    """Read-only and unfillable fields are the start-up check's business."""
    assert coerce_one(fields, name, {"id": "5725767000000123456"})[0] == {
        "id": "5725767000000123456"
    }


# --- Number digits -------------------------------------------------------------


def one_field(data_type, **extra):
    """LeadFields of one field `Amount` of ``data_type``, with these metadata keys."""
    field = zoho_field("Amount", data_type, **extra)
    return LeadFields.from_metadata([field])


@pytest.mark.parametrize(
    ("data_type", "metadata", "largest"),
    [
        ("integer", {"length": 5}, 99999),
        ("integer", {"length": None}, 999_999_999),  # Zoho's 9 digits by default
        ("bigint", {"length": None}, 999_999_999_999_999_999),
        ("bigint", {"length": 12}, 999_999_999_999),
        ("double", {"length": 16, "decimal_place": 2}, 99_999_999_999_999),
        ("double", {"length": 10, "decimal_place": None}, 9_999_999_999),
        ("currency", {"length": 16, "decimal_place": 2}, 99_999_999_999_999),
        (
            "currency",
            {"length": 12, "decimal_place": None, "currency": {"precision": 4}},
            99_999_999,
        ),
        ("percent", {"length": 5}, 99999),
    ],
    ids=lambda value: str(value)[:20],
)
def test_a_number_takes_at_most_the_digits_its_metadata_allows(data_type, metadata, largest):
    """The largest whole part fits; one more digit is a problem, not a call Zoho refuses."""
    lead_fields = one_field(data_type, **metadata)
    for sign in (1, -1):
        lead, problems, _ = lead_fields.coerce({"Amount": sign * largest}, "reject")
        assert problems == []
        assert lead is not None
        lead, problems, _ = lead_fields.coerce({"Amount": sign * (largest + 1)}, "reject")
        assert lead is None
        [problem] = problems
        assert (problem.field, problem.code) == ("Amount", "INVALID_DATA")
        assert problem.reason.startswith("more than the field's ")


def test_a_decimal_may_carry_its_places_beyond_the_whole_digits():
    """Sixteen digits with two places is fourteen whole digits, and then the decimals."""
    lead_fields = one_field("double", length=16, decimal_place=2)
    lead, problems, _ = lead_fields.coerce({"Amount": "99,999,999,999,999.5"}, "reject")
    assert problems == []
    assert lead == {"Amount": 99999999999999.5}


def test_the_digits_reason_names_the_limit_and_not_the_value():
    """An integer says how many digits; a decimal says they are before the point."""
    _, [problem], _ = one_field("integer", length=9).coerce({"Amount": 1234567890}, "reject")
    assert problem.reason == "more than the field's 9 digits"
    _, [problem], _ = one_field("currency", length=16, decimal_place=2).coerce(
        {"Amount": "123456789012345"}, "reject"
    )
    assert problem.reason == "more than the field's 14 digits before the decimal point"


def test_too_many_digits_drop_only_that_field_under_drop_field():
    """The rest of the lead is sent; the counter and the warning name the field."""
    lead_fields = LeadFields.from_metadata(
        [zoho_field("Last_Name", "text", 80), zoho_field("Staff", "integer", 9)]
    )
    lead, problems, _ = lead_fields.coerce({"Last_Name": "Li", "Staff": 10**9}, "drop_field")
    assert lead == {"Last_Name": "Li"}
    assert [problem.field for problem in problems] == ["Staff"]
    assert lead_fields.dropped == {"Staff": 1}


def test_the_integer_range_still_holds_where_the_metadata_allows_more_digits():
    """A 12-digit integer field still cannot take a number beyond 32 bits."""
    _, [problem], _ = one_field("integer", length=12).coerce({"Amount": 2**31}, "reject")
    assert problem.reason == "outside the 32-bit integer range"


# --- Encrypted fields -----------------------------------------------------------


ENCRYPTED = {"mode": "decryption", "status": 1}


@pytest.mark.parametrize(
    ("crypt", "encrypted"),
    [
        (ENCRYPTED, True),
        ({"mode": None, "status": 1}, True),
        ({"mode": None, "status": None}, False),  # what unencrypted fields may carry
        (None, False),
        ("yes", False),
    ],
    ids=repr,
)
def test_encrypted_fields_are_read_from_crypt(crypt, encrypted):
    """A `crypt` block with a mode or a status marks the field encrypted."""
    lead_fields = LeadFields.from_metadata(
        [zoho_field("Email", "email", 100, crypt=crypt), zoho_field("Phone", "phone", 30)]
    )
    assert lead_fields.encrypted == (frozenset({"Email"}) if encrypted else frozenset())


def test_unique_lead_cannot_look_up_by_an_encrypted_email_or_phone():
    """Each encrypted identity gets one message saying why and what to do."""
    lead_fields = LeadFields.from_metadata(
        [
            zoho_field("Email", "email", 100, crypt=ENCRYPTED),
            zoho_field("Phone", "phone", 30, crypt=ENCRYPTED),
            zoho_field("Secret", "text", 30, crypt=ENCRYPTED),
        ]
    )
    assert lead_fields.unique_lead_problems() == [
        (
            "unique_lead: Email is encrypted in Zoho Leads, and Zoho's query API can only ask"
            " whether an encrypted field is empty, so leads cannot be looked up by Email;"
            " turn unique_lead off or remove the encryption of Email"
        ),
        (
            "unique_lead: Phone is encrypted in Zoho Leads, and Zoho's query API can only ask"
            " whether an encrypted field is empty, so leads cannot be looked up by Phone;"
            " turn unique_lead off or remove the encryption of Phone"
        ),
    ]


def test_unique_lead_has_no_problem_when_no_identity_is_encrypted(fields):
    """The realistic org encrypts nothing; another encrypted field does not matter."""
    assert fields.unique_lead_problems() == []
    other = LeadFields.from_metadata([zoho_field("Secret", "text", 30, crypt=ENCRYPTED)])
    assert other.unique_lead_problems() == []


# --- Policies ------------------------------------------------------------------

BAD_LEAD = {
    "Last_Name": "Lovelace",
    "Email": "ada at example",
    "No_of_Employees": "1,200",
    "Event_Date": "2026/11/28",
}


def test_reject_sends_nothing_of_a_lead_with_a_bad_value(fields):
    """Under `reject` the record goes to the rejected records with field and reason."""
    lead, problems, notes = fields.coerce(BAD_LEAD, "reject")
    assert lead is None
    assert problems == [
        FieldProblem("Email", "INVALID_DATA", "not an email address (expected local@domain.tld)")
    ]
    assert notes == []
    assert fields.dropped == {}


def test_drop_field_sends_the_rest_of_the_lead(fields):
    """Under `drop_field` the bad field is left out and the others are coerced."""
    lead, problems, _ = fields.coerce(BAD_LEAD, "drop_field")
    assert lead == {
        "Last_Name": "Lovelace",
        "No_of_Employees": 1200,
        "Event_Date": "2026-11-28",
    }
    assert [problem.field for problem in problems] == ["Email"]


def test_drops_are_counted_and_warned_once_per_field(fields):
    """The count grows with each drop; the log line comes once and names the field."""
    for _ in range(3):
        fields.coerce(BAD_LEAD, "drop_field")
    assert fields.dropped == {"Email": 3}
    [warning] = fields.take_warnings()
    assert warning.startswith("Email: invalid values are left out of the lead")
    assert "ada at example" not in warning


def test_a_lead_with_no_problem_is_the_same_under_both_policies(fields):
    """The policy matters only when a value is bad."""
    lead = {"Last_Name": "Lovelace", "Email_Opt_Out": "yes"}
    for policy in INVALID_VALUE_POLICIES:
        assert fields.coerce(lead, policy) == (
            {"Last_Name": "Lovelace", "Email_Opt_Out": True},
            [],
            [],
        )


def test_an_unknown_policy_is_an_error(fields):
    """Only the documented policies exist."""
    with pytest.raises(ValueError, match="invalid_value_policy"):
        fields.coerce({"Last_Name": "Lovelace"}, "ignore")


# --- Truncation and new picklist values -----------------------------------------


def test_long_text_is_cut_counted_and_warned_once(fields):
    """A text longer than the field's length is cut to it, not refused."""
    full_name = "Augusta Ada King, Countess of Lovelace, née Byron"
    for _ in range(3):
        lead, problems, notes = fields.coerce({"First_Name": full_name}, "reject")
        assert lead == {"First_Name": full_name[:40]}
        assert problems == []
        assert notes == ["First_Name: cut to 40 characters"]
    assert fields.truncated == {"First_Name": 3}
    warnings = fields.take_warnings()
    assert len(warnings) == 1
    assert warnings[0].startswith("First_Name: values longer than 40 characters")
    assert full_name[:10] not in warnings[0]
    assert fields.take_warnings() == []


def test_a_cut_in_a_rejected_lead_is_not_counted(fields):
    """Counters describe leads sent."""
    fields.coerce({"First_Name": "x" * 41, "Email": "nope"}, "reject")
    assert fields.truncated == {}
    assert fields.take_warnings() == []


def test_text_within_its_length_is_left_whole(fields):
    """A 40-character First_Name is exactly the limit."""
    assert coerce_one(fields, "First_Name", "y" * 40) == ("y" * 40, [])
    assert fields.truncated == {}


def test_a_new_picklist_value_is_sent_and_warned_once_per_value(fields):
    """Zoho accepts new values; each new one is warned once, naming the field only."""
    for value in ["Flyer", "Flyer", "Podcast", "CDP", "Flyer"]:
        lead, problems, _ = fields.coerce({"Lead_Source": value}, "reject")
        assert lead == {"Lead_Source": value}
        assert problems == []
    warnings = fields.take_warnings()
    assert len(warnings) == 2
    assert all(warning.startswith("Lead_Source: value not in the picklist") for warning in warnings)
    assert not any("Flyer" in warning or "Podcast" in warning for warning in warnings)
    assert fields.new_picklist_values == {"Lead_Source": 2}


def test_new_multi_select_choices_are_counted_like_picklist_values(fields):
    """Interests take new choices too, warned once per field and value."""
    fields.coerce({"Interests": "Demo;Golf;Sailing"}, "reject")
    lead, _, notes = fields.coerce({"Interests": ["Golf"]}, "reject")
    assert lead == {"Interests": ["Golf"]}
    assert notes == ["Interests: value not in the picklist, sent as is"]
    assert fields.new_picklist_values == {"Interests": 2}
    warnings = fields.take_warnings()
    assert len(warnings) == 2
    assert not any("Golf" in warning or "Sailing" in warning for warning in warnings)


def test_new_picklist_warnings_stop_after_a_hundred_values(fields):
    """A picklist fed free text warns a hundred times, then says it stops."""
    for number in range(150):
        fields.coerce({"Lead_Source": f"source {number}"}, "reject")
    warnings = fields.take_warnings()
    assert len(warnings) == 101
    assert warnings[-1].startswith("Lead_Source: over 100 values not in the picklist")
    assert fields.new_picklist_values == {"Lead_Source": 100}


def test_counters_are_exact_across_threads(fields):
    """Sinks coerce from several threads; no count is lost and warnings stay single."""

    def work(_):
        for _ in range(200):
            fields.coerce({"First_Name": "z" * 50, "Lead_Source": "Flyer"}, "reject")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(8)))
    assert fields.truncated == {"First_Name": 1600}
    assert len(fields.take_warnings()) == 2


# --- Totality ----------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=8,
)
# Strings near the accepted shapes reach the parsers' deeper branches.
NEAR_MISSES = st.from_regex(
    r"\A[ +-]?[0-9]{1,5}([-/.,:][0-9]{1,4}){0,3}([T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2})?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{0,2})?[ %]?\Z"
)
FIELD_NAMES = [field["api_name"] for field in LEADS_FIELDS] + ["Not_A_Field"]


@settings(max_examples=300, deadline=None)
@given(
    lead=st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_VALUES | NEAR_MISSES),
    policy=st.sampled_from(INVALID_VALUE_POLICIES),
)
def test_coerce_never_raises_and_returns_json(lead, policy):
    """Any JSON-like value in any field type gives a JSON-serialisable answer."""
    fields = LeadFields.from_metadata(LEADS_FIELDS)
    sent, problems, notes = fields.coerce(lead, policy)
    json.dumps([sent, notes, fields.take_warnings()], allow_nan=False)
    assert all(problem.code == "INVALID_DATA" for problem in problems)
    assert {problem.field for problem in problems} <= set(lead)
    if sent is None:
        assert problems
        assert policy == "reject"
    else:
        assert set(sent) <= set(lead)
        # Only a bad value or one that comes to nothing is left out.
        for name in set(lead) - set(sent) - {problem.field for problem in problems}:
            value = lead[name]
            assert name == "Interests" or (isinstance(value, str) and not value.strip())
