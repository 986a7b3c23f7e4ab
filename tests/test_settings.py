"""Settings: how each is read and which values stop the run before any input."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from target_zoho_leads.settings import parse_flag, settings_schema
from target_zoho_leads.target import TargetZohoLeads

BASE = {
    "client_id": "c",
    "client_secret": "s",
    "refresh_token": "r",
    "field_mapping": "Last_Name=name",
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("1", True),
        ("0", False),
        ("true", True),
        (" FALSE ", False),
    ],
)
def test_unique_lead_reads_as_the_cdp_form_writes_it(value, expected):
    """true/false, 1/0 and "1"/"0" all work."""
    assert parse_flag(value) is expected


@pytest.mark.parametrize("value", ["yes please", 2, "", None])
def test_other_switch_values_are_refused(value):
    """Anything else is a mistake worth stopping for."""
    with pytest.raises(ValueError, match="expected true/false"):
        parse_flag(value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"unique_lead": "maybe"}, "unique_lead"),
        ({"trigger": ["workflow", "fireworks"]}, "fireworks"),
        ({"max_concurrency": 40}, "max_concurrency must be 1 to 25"),
        ({"max_retries": 0}, "max_retries must be 1 or more"),
        ({"request_timeout": 0}, "request_timeout"),
        ({"api_version": "8"}, "api_version"),
        ({"accounts_url": "http://accounts.zoho.com"}, "https://"),
        ({"invalid_value_policy": "ignore"}, "invalid_value_policy"),
        ({"tracking_id_field": "CDP ID"}, "tracking_id_field"),
    ],
)
def test_a_wrong_setting_stops_the_target_before_any_input(extra, message):
    """Each cross-setting check raises ConfigValidationError naming the setting."""
    with pytest.raises(ConfigValidationError) as caught:
        TargetZohoLeads(config={**BASE, **extra}, parse_env_config=False)
    assert any(message in error for error in [str(caught.value), *caught.value.errors])


def test_optional_union_settings_are_valid_json_schema():
    """The SDK's bare "null" in an anyOf is written as {"type": "null"}."""
    for name, prop in settings_schema()["properties"].items():
        for option in prop.get("anyOf", []):
            assert isinstance(option, dict), (name, option)
