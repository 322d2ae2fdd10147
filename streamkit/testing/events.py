"""Lambda Kinesis events and Lambda-like contexts for tests.

Kept so that ``from streamkit.testing.events import kinesis_event`` works; the code
lives in :mod:`streamkit.local.events`, where the demo and the ``streamkit run``
reference use it too (local tooling must not import ``streamkit.testing``).
"""

from streamkit.local.events import (
    DEFAULT_ARN,
    DEFAULT_SHARD,
    FIRST_SEQUENCE,
    FakeContext,
    kinesis_event,
    kinesis_record,
    kpl_aggregate,
)

__all__ = [
    "DEFAULT_ARN",
    "DEFAULT_SHARD",
    "FIRST_SEQUENCE",
    "FakeContext",
    "kinesis_event",
    "kinesis_record",
    "kpl_aggregate",
]
