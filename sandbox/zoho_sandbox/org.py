"""The organisation the sandbox imitates: ``GET /crm/vN/org`` and its ids."""

from __future__ import annotations

import copy
import typing as t

ORG_ID = "5725767000000000101"
# Zoho's group id of the org: what Bulk Write's X-CRM-ORG header carries.
ORG_ZGID = "60012345678"

# Every key org.json marks required, with a plausible value of its type.
ORG: dict[str, t.Any] = {
    "id": ORG_ID,
    "zgid": ORG_ZGID,
    "ezgid": "b2c3d4e5f6",
    "zia_zgid": 60012345678,
    "primary_zuid": "700000001",
    "zia_portal_id": "",
    "company_name": "Sandbox Org",
    "alias": "sandbox",
    "description": "",
    "domain_name": "org60012345678",
    "primary_email": "sandbox.user@example.com",
    "phone": "",
    "mobile": "",
    "fax": "",
    "street": "",
    "city": "",
    "state": "",
    "zip": "",
    "country": "United States",
    "country_code": "US",
    "iso_code": "USD",
    "currency": "US Dollar - USD",
    "currency_symbol": "$",
    "currency_locale": "en_US",
    "time_zone": "UTC",
    "photo_id": "",
    "call_icon": "",
    "mc_status": False,
    "gapps_enabled": False,
    "translation_enabled": False,
    "deletable_org_account": False,
    "privacy_settings": False,
    "hipaa_compliance_enabled": False,
    "lite_users_enabled": False,
    "oauth_presence": True,
    "max_per_page": 200,
    "license_details": {
        "paid_expiry": "2099-12-31T00:00:00+00:00",
        "users_license_purchased": 10,
        "trial_type": None,
        "trial_expiry": None,
        "paid": True,
        "paid_type": "enterprise",
        "trial_action": "",
    },
    "hierarchy_preferences": {"type": "Role_Hierarchy", "strictly_reporting": False},
    "checkin_preferences": {"restricted_event_types": None},
}


def org_answer() -> dict[str, t.Any]:
    """The body of ``GET /crm/vN/org``."""
    return {"org": [copy.deepcopy(ORG)]}
