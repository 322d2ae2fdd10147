"""Test helpers for streamkit consumers: event builders and hypothesis strategies.

Local tooling: never imported by a Lambda handler.
"""

from streamkit.testing.events import FakeContext, kinesis_event, kinesis_record, kpl_aggregate

__all__ = ["FakeContext", "kinesis_event", "kinesis_record", "kpl_aggregate"]
