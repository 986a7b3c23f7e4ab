"""The Singer SDK's standard target tests, run against the Zoho sandbox."""

from __future__ import annotations

import importlib.resources

import pytest
from singer_sdk.testing import TargetTestRunner, get_target_test_class, target_test_streams
from zoho_sandbox import ZohoSandbox

from target_zoho_leads.target import TargetZohoLeads

MAPPING = {"Last_Name": ["name", "id"], "Email": "email", "CDP_ID": "id", "Description": "metric"}
DEFAULTS = {"Last_Name": "Standard test", "Lead_Source": "CDP"}


def sandbox_config(sandbox: ZohoSandbox) -> dict:
    """Settings for the SDK's test streams, pointing at ``sandbox``."""
    return sandbox.target_settings(field_mapping=MAPPING, default_values=DEFAULTS, max_retries=2)


# The SDK builds the class with a fixed config; the sandbox's port is only
# known once it runs, so the runner fixture below supplies the real one.
_StandardTargetTests = get_target_test_class(
    TargetZohoLeads,
    config={"client_id": "-", "client_secret": "-", "refresh_token": "-", "field_mapping": MAPPING},
)


@pytest.fixture(scope="module")
def standard_sandbox():
    """One sandbox for the whole standard suite."""
    with ZohoSandbox() as zoho:
        yield zoho


class TestTargetZohoLeadsStandard(_StandardTargetTests):
    """Every standard target test, each run against the sandbox."""

    @pytest.fixture
    def resource(self, standard_sandbox):
        """The sandbox, emptied after each test so leads do not pile up."""
        yield standard_sandbox
        standard_sandbox.reset()

    @pytest.fixture
    def runner(self, standard_sandbox) -> TargetTestRunner:
        """A runner whose target talks to the sandbox."""
        return TargetTestRunner(
            target_class=TargetZohoLeads,
            config=sandbox_config(standard_sandbox),
            parse_env_config=False,
        )


def test_the_standard_suite_writes_its_records_to_the_sandbox(standard_sandbox):
    """A standard stream really lands as leads (the suite only checks for errors)."""
    standard_sandbox.reset()
    stream_file = importlib.resources.files(target_test_streams) / "camelcase.singer"
    with stream_file.open(encoding="utf-8") as singer_input:
        runner = TargetTestRunner(
            target_class=TargetZohoLeads,
            config=sandbox_config(standard_sandbox),
            input_io=singer_input,
        )
        runner.sync_all()
    leads = standard_sandbox.leads()
    assert leads
    assert all(lead["Last_Name"] for lead in leads)
