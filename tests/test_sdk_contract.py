"""The SDK internals the target leans on: a change upstream fails here, naming what to recheck."""

from __future__ import annotations

import hashlib
import inspect

import pytest
from singer_sdk.plugin_base import PluginBase
from singer_sdk.sinks import BatchSink
from singer_sdk.target_base import Target

# (owner, method, sha256 prefix of its source in singer-sdk 0.54.9, what rests on it)
LEANED_ON = [
    (
        Target,
        "_process_record_message",
        "08aaf4096e2d39e7",
        (
            "TargetZohoLeads._process_record_message repeats this method's steps for plain "
            "streams: compare the two and carry any new step over"
        ),
    ),
    (
        BatchSink,
        "_validate_and_parse",
        "970aadabcc4da8c7",
        (
            "the short record path skips this step (the sink checks records itself); make "
            "sure it still does nothing a plain stream needs"
        ),
    ),
    (
        BatchSink,
        "preprocess_record",
        "f8282df62eb5388b",
        "the short record path skips preprocess_record; ZohoLeadsSink does not override it",
    ),
    (
        BatchSink,
        "_remove_sdc_metadata_from_record",
        "7cd9e5fb192f13ec",
        "called by the short record path",
    ),
    (BatchSink, "_singer_validate_message", "018b08ee7f624f61", "called by the short path"),
    (BatchSink, "_get_context", "4e0d39040097dc9b", "called by the short record path"),
    (
        BatchSink,
        "_parse_timestamps_in_record",
        "b99dc17613b2e3ac",
        "ZohoLeadsSink overrides it to leave date-times as text",
    ),
    (
        BatchSink,
        "_after_process_record",
        "185b5536ec21f7fb",
        "ZohoLeadsSink overrides it to log nothing per record (the SDK logs people's data)",
    ),
    (
        PluginBase,
        "_validate_config",
        "0584b9e347e353fa",
        "TargetZohoLeads._validate_config replaces it to build Settings without echoing values",
    ),
]


@pytest.mark.parametrize(
    ("owner", "method", "digest", "recheck"),
    LEANED_ON,
    ids=[f"{owner.__name__}.{method}" for owner, method, _, _ in LEANED_ON],
)
def test_the_sdk_internals_the_target_relies_on_are_unchanged(owner, method, digest, recheck):
    """A new singer-sdk release that changes one of these fails here with what to recheck."""
    source = inspect.getsource(getattr(owner, method))
    found = hashlib.sha256(source.encode()).hexdigest()[:16]
    assert found == digest, (
        f"singer-sdk changed {owner.__name__}.{method}: {recheck}; "
        f"then record its new digest {found} in tests/test_sdk_contract.py"
    )
