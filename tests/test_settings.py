"""Settings: how each is read and which values stop the run before any input."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from target_zoho_leads.settings.model import Settings, parse_flag
from target_zoho_leads.settings.schema import settings_schema
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
        ({"trigger": ["workflow", "fireworks"]}, "trigger item 2 must be one of workflow"),
        ({"max_concurrency": 40}, "max_concurrency must be 1 to 25"),
        ({"max_retries": 0}, "max_retries must be 1 or more"),
        ({"request_timeout": 0}, "request_timeout"),
        ({"api_version": "8"}, "api_version"),
        ({"api_version": "v6"}, "api_version must be one of v7, v8"),
        ({"default_phone_region": "XX"}, "default_phone_region must be an ISO 3166 region"),
        ({"default_phone_region": "China"}, "default_phone_region"),
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


@pytest.mark.parametrize(
    ("extra", "secret"),
    [
        ({"client_secret": 98765432101234}, "98765432101234"),
        ({"refresh_token": ["1000.abcdef.secret"]}, "1000.abcdef.secret"),
        ({"client_id": {"id": "1000.CLIENTID"}}, "1000.CLIENTID"),
        ({"field_mapping": 13800138000}, "13800138000"),
        ({"unique_lead": "13800138000"}, "13800138000"),
        ({"max_concurrency": "4242424242"}, "4242424242"),
    ],
)
def test_a_wrong_setting_is_named_without_its_value(extra, secret, caplog):
    """A secret or a person's data given in the wrong shape is never echoed."""
    with pytest.raises(ConfigValidationError) as caught:
        TargetZohoLeads(config={**BASE, **extra}, parse_env_config=False)
    everything = " ".join([str(caught.value), *caught.value.errors, caplog.text])
    assert secret not in everything
    assert next(iter(extra)) in everything


def test_every_setting_has_its_default_when_not_given():
    """Settings.from_config is the one place defaults come from."""
    settings = Settings.from_config(BASE)
    assert (settings.accounts_url, settings.api_version, settings.max_concurrency) == (
        "https://accounts.zoho.com",
        "v8",
        4,
    )
    assert (settings.unique_lead, settings.tracking_id_field, settings.trigger) == (
        False,
        "CDP_ID",
        None,
    )


def test_a_misspelt_setting_is_warned_about_with_the_closest_name(caplog):
    """uniqe_lead is not silently ignored: the warning names unique_lead."""
    Settings.from_config({**BASE, "uniqe_lead": True})
    assert "Unknown setting uniqe_lead is ignored; did you mean unique_lead?" in caplog.text


def test_settings_repr_leaves_the_credentials_out():
    """A Settings object can be logged: no secret is in its repr."""
    settings = Settings.from_config(
        {**BASE, "client_secret": "top-secret-value", "refresh_token": "1000.refresh.value"}
    )
    assert "top-secret-value" not in repr(settings)
    assert "1000.refresh.value" not in repr(settings)


def test_a_phone_region_is_read_in_any_case():
    """A region written cn is read as CN: libphonenumber knows only upper-case codes."""
    assert Settings.from_config({**BASE, "default_phone_region": "cn"}).default_phone_region == "CN"
