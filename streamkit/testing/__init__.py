"""Test helpers for streamkit consumers: event builders and hypothesis strategies.

The event builders live in :mod:`streamkit.local.events` and are re-exported here.

Local tooling: never imported by a Lambda handler.
"""

from streamkit.local.events import FakeContext, kinesis_event, kinesis_record, kpl_aggregate

__all__ = ["FakeContext", "kinesis_event", "kinesis_record", "kpl_aggregate"]
