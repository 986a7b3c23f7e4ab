"""Field metadata of the sandbox's Leads and Contacts, in Zoho's ``settings/fields`` shape."""

from __future__ import annotations

import typing as t

from zoho_sandbox.field_shape import build_field

MODULE_API_NAME = "Leads"
MODULE_ID = "5725767000000002175"
CONTACTS_MODULE_ID = "5725767000000002179"
# The ``module`` object Zoho names a record's module with (``duplicate_record``).
LEADS_MODULE = {"api_name": MODULE_API_NAME, "id": MODULE_ID}
CONTACTS_MODULE = {"api_name": "Contacts", "id": CONTACTS_MODULE_ID}
# Zoho's system flag of a converted lead; COQL and search read it.
CONVERTED_FLAG = "Converted__s"

# (api_name, field_label, data_type, length, extras). Kept as data so a test or
# a user can read at a glance what the sandbox org looks like.
LEADS_FIELDS: list[tuple[str, str, str, int, dict[str, t.Any]]] = [
    ("id", "Record Id", "bigint", 18, {"read_only": True}),
    ("Owner", "Lead Owner", "ownerlookup", 120, {}),
    (
        "Salutation",
        "Salutation",
        "picklist",
        120,
        {"values": ["Mr.", "Mrs.", "Ms.", "Dr.", "Prof."]},
    ),
    ("First_Name", "First Name", "text", 40, {}),
    ("Last_Name", "Last Name", "text", 80, {"system_mandatory": True}),
    ("Full_Name", "Full Name", "text", 120, {"read_only": True}),
    ("Company", "Company", "text", 200, {}),
    ("Designation", "Title", "text", 100, {}),
    ("Email", "Email", "email", 100, {}),
    ("Secondary_Email", "Secondary Email", "email", 100, {}),
    ("Phone", "Phone", "phone", 30, {}),
    ("Mobile", "Mobile", "phone", 30, {}),
    ("Fax", "Fax", "phone", 30, {}),
    ("Website", "Website", "website", 255, {}),
    (
        "Lead_Source",
        "Lead Source",
        "picklist",
        120,
        {
            "values": [
                "Advertisement",
                "Cold Call",
                "Employee Referral",
                "External Referral",
                "Online Store",
                "Partner",
                "Public Relations",
                "Sales Email Alias",
                "Seminar Partner",
                "Internal Seminar",
                "Trade Show",
                "Web Download",
                "Web Research",
                "Chat",
                "CDP",
            ]
        },
    ),
    (
        "Lead_Status",
        "Lead Status",
        "picklist",
        120,
        {
            "values": [
                "Attempted to Contact",
                "Contact in Future",
                "Contacted",
                "Junk Lead",
                "Lost Lead",
                "Not Contacted",
                "Pre-Qualified",
                "Not Qualified",
            ]
        },
    ),
    (
        "Industry",
        "Industry",
        "picklist",
        120,
        {
            "values": [
                "ASP (Application Service Provider)",
                "Data/Telecom OEM",
                "ERP (Enterprise Resource Planning)",
                "Government/Military",
                "Large Enterprise",
                "ManagementISV",
                "Network Equipment Enterprise",
                "Non-management ISV",
                "Optical Networking",
                "Service Provider",
                "Small/Medium Enterprise",
                "Storage Equipment",
                "Storage Service Provider",
                "Systems Integrator",
                "Wireless Industry",
            ]
        },
    ),
    ("No_of_Employees", "No. of Employees", "integer", 9, {}),
    ("Annual_Revenue", "Annual Revenue", "currency", 16, {"decimal_place": 2}),
    (
        "Rating",
        "Rating",
        "picklist",
        120,
        {
            "values": [
                "Acquired",
                "Active",
                "Market Failed",
                "Project Cancelled",
                "Shut Down",
            ]
        },
    ),
    ("Email_Opt_Out", "Email Opt Out", "boolean", 5, {}),
    ("Skype_ID", "Skype ID", "text", 50, {}),
    ("Twitter", "Twitter", "text", 50, {}),
    ("Street", "Street", "text", 250, {}),
    ("City", "City", "text", 100, {}),
    ("State", "State", "text", 100, {}),
    ("Zip_Code", "Zip Code", "text", 30, {}),
    ("Country", "Country", "text", 100, {}),
    ("Description", "Description", "textarea", 32000, {}),
    ("Created_Time", "Created Time", "datetime", 120, {"read_only": True}),
    ("Modified_Time", "Modified Time", "datetime", 120, {"read_only": True}),
    ("Created_By", "Created By", "ownerlookup", 120, {"read_only": True}),
    ("Modified_By", "Modified By", "ownerlookup", 120, {"read_only": True}),
    ("Tag", "Tag", "text", 2000, {"read_only": True, "json_type": "jsonarray"}),
    ("CDP_ID", "CDP ID", "text", 255, {"custom": True}),
    ("Event_Name", "Event Name", "text", 100, {"custom": True}),
    ("Tag_ID", "Tag ID", "text", 100, {"custom": True}),
    ("IP_Address", "IP Address", "text", 45, {"custom": True}),
    ("Landing_Page", "Landing Page", "website", 255, {"custom": True}),
    ("Area", "Area", "text", 100, {"custom": True}),
    ("WeChat_OpenID__c", "WeChat OpenID", "text", 100, {"custom": True}),
    ("Visit_Time", "Visit Time", "datetime", 120, {"custom": True}),
    ("Event_Date", "Event Date", "date", 20, {"custom": True}),
    (
        "Interests",
        "Interests",
        "multiselectpicklist",
        2000,
        {
            "custom": True,
            "values": ["Pricing", "Demo", "Webinar", "Newsletter", "Support"],
        },
    ),
    ("Lead_Score", "Lead Score", "double", 16, {"custom": True, "decimal_place": 2}),
    ("Discount", "Discount", "percent", 5, {"custom": True}),
    ("Big_Number", "Big Number", "bigint", 18, {"custom": True}),
    ("Campaign_Source", "Campaign Source", "lookup", 120, {"custom": True}),
    ("Attachment_File", "Attachment File", "fileupload", 120, {"custom": True}),
    (CONVERTED_FLAG, "Converted", "boolean", 5, {"read_only": True}),
]

# The Contacts fields a lead's identity can be matched on, and what Zoho requires.
CONTACTS_FIELDS: list[tuple[str, str, str, int, dict[str, t.Any]]] = [
    ("id", "Record Id", "bigint", 18, {"read_only": True}),
    ("Owner", "Contact Owner", "ownerlookup", 120, {}),
    ("First_Name", "First Name", "text", 40, {}),
    ("Last_Name", "Last Name", "text", 80, {"system_mandatory": True}),
    ("Full_Name", "Full Name", "text", 120, {"read_only": True}),
    ("Email", "Email", "email", 100, {}),
    ("Secondary_Email", "Secondary Email", "email", 100, {}),
    ("Phone", "Phone", "phone", 30, {}),
    ("Mobile", "Mobile", "phone", 30, {}),
    ("Mailing_City", "Mailing City", "text", 100, {}),
    ("Description", "Description", "textarea", 32000, {}),
    ("Created_Time", "Created Time", "datetime", 120, {"read_only": True}),
    ("Modified_Time", "Modified Time", "datetime", 120, {"read_only": True}),
    ("Created_By", "Created By", "ownerlookup", 120, {"read_only": True}),
    ("Modified_By", "Modified By", "ownerlookup", 120, {"read_only": True}),
]


def _build(
    table: list[tuple[str, str, str, int, dict[str, t.Any]]], prefix: str, first_id: int
) -> list[dict[str, t.Any]]:
    """Full Zoho field objects from a table of short specs, ids from ``first_id`` on."""
    fields = []
    for index, (api_name, label, data_type, length, extras) in enumerate(table):
        spec: dict[str, t.Any] = {
            "api_name": api_name,
            "field_label": label,
            "display_label": label,
            "data_type": data_type,
            "length": length,
            "system_mandatory": extras.get("system_mandatory", False),
            "read_only": extras.get("read_only", False),
            "custom_field": extras.get("custom", False),
            "id": f"5725767{first_id + index:012d}",
        }
        if extras.get("custom"):
            spec["created_source"] = "user"
            spec["column_name"] = f"{prefix}CF{index}"
        for key in ("values", "decimal_place", "json_type"):
            if key in extras:
                spec[key] = extras[key]
        fields.append(build_field(spec, index))
    return fields


def default_leads_fields() -> list[dict[str, t.Any]]:
    """The sandbox org's Leads fields, each a full Zoho field object.

    Returns:
        A fresh list: callers may change it without touching the defaults.
    """
    return _build(LEADS_FIELDS, "LEAD", 2591)


def default_contacts_fields() -> list[dict[str, t.Any]]:
    """The sandbox org's Contacts fields, each a full Zoho field object.

    Returns:
        A fresh list: callers may change it without touching the defaults.
    """
    return _build(CONTACTS_FIELDS, "CONTACT", 3591)


def normalise_fields(fields: t.Iterable[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Complete user-given field descriptions (the ``fields=`` override).

    Args:
        fields: Dicts with at least ``api_name`` and ``data_type``.

    Returns:
        Full field objects.

    Raises:
        ValueError: A field lacks ``api_name`` or ``data_type``.
    """
    result = []
    for index, spec in enumerate(fields):
        if "api_name" not in spec or "data_type" not in spec:
            msg = f"field #{index} needs api_name and data_type"
            raise ValueError(msg)
        result.append(build_field(dict(spec), index))
    return result
