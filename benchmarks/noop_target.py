"""A singer-sdk target that does nothing, with the SDK's defaults: the CPU baseline."""

from __future__ import annotations

from singer_sdk import typing as th
from singer_sdk.sinks import BatchSink
from singer_sdk.target_base import Target


class NoopSink(BatchSink):
    """Takes each batch and drops it."""

    def process_batch(self, context: dict) -> None:
        """Do nothing."""


class NoopTarget(Target):
    """The SDK's reader, validator and batching, and no work of its own."""

    name = "target-noop"
    config_jsonschema = th.PropertiesList().to_dict()
    default_sink_class = NoopSink


if __name__ == "__main__":
    NoopTarget.cli()
