"""How ``streamkit run`` reads a consumer's stream: standard, or enhanced fan-out.

A consumer with ``"stream": {"enhanced_fan_out": true}`` reads through a registered
stream consumer named like its function, as Terraform deploys it (spec 0.5, 4.2):
:func:`register_stream_consumer` registers it on the endpoint (once; a second run
finds it) and its ARN is the mapping's event source. :class:`ReadSource` is what the
summary shows of it: the source ARN and the read budget the mapping had under
``--read-limits`` (its own 2 MB/s per shard, or the stream's limits shared by every
standard consumer, spec 7.2, 7.6).

Example::

    arn = register_stream_consumer(kinesis, "clickstream", "clickstream")
    # arn:aws:kinesis:us-east-1:123456789012:stream/clickstream/consumer/clickstream...
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from streamkit.local.esm import EventSourceMapping
from streamkit.local.esm.read_limits import PUSHED_CALLS_PER_SECOND

#: How long a registered consumer may take to become ACTIVE (AWS: a few seconds).
_ACTIVE_WITHIN_S = 60.0


def register_stream_consumer(kinesis: Any, stream_name: str, consumer_name: str) -> str:
    """The ARN of stream consumer ``consumer_name`` of ``stream_name``, registered if
    missing (RegisterStreamConsumer), once it is ACTIVE."""
    stream_arn = kinesis.describe_stream_summary(StreamName=stream_name)[
        "StreamDescriptionSummary"
    ]["StreamARN"]
    try:  # registered by an earlier run? (moto would register a second one)
        consumer = _describe(kinesis, stream_arn, consumer_name)
    except kinesis.exceptions.ResourceNotFoundException:
        try:
            consumer = kinesis.register_stream_consumer(
                StreamARN=stream_arn, ConsumerName=consumer_name
            )["Consumer"]
        except kinesis.exceptions.ResourceInUseException:  # registered meanwhile
            consumer = _describe(kinesis, stream_arn, consumer_name)
    deadline = time.monotonic() + _ACTIVE_WITHIN_S
    while consumer["ConsumerStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"stream consumer {consumer_name!r} of {stream_name!r} is still "
                f"{consumer['ConsumerStatus']} after {_ACTIVE_WITHIN_S:.0f} s"
            )
        time.sleep(0.5)  # CREATING on AWS for a few seconds; moto is ACTIVE at once
        consumer = _describe(kinesis, stream_arn, consumer_name)
    return str(consumer["ConsumerARN"])


def _describe(kinesis: Any, stream_arn: str, consumer_name: str) -> dict[str, Any]:
    description: dict[str, Any] = kinesis.describe_stream_consumer(
        StreamARN=stream_arn, ConsumerName=consumer_name
    )["ConsumerDescription"]
    return description


Budget = Literal["own", "shared", "unlimited"]


@dataclass(frozen=True, slots=True)
class ReadSource:
    """Where one consumer's mapping read from, and within which read budget."""

    enhanced_fan_out: bool
    #: The mapping's EventSourceArn: the stream's, or its registered consumer's.
    event_source_arn: str
    #: own: enhanced fan-out's dedicated 2 MB/s per shard; shared: the stream's
    #: per-shard limits, shared by its standard consumers; unlimited: no --read-limits.
    budget: Budget
    #: The budget's GetRecords calls per second per shard (None: pushed, or unlimited).
    calls_per_second: int | None
    #: The budget's bytes per second per shard (None: unlimited).
    bytes_per_second: int | None
    get_records_calls: int
    #: Reads refused for the budget or throttled by the endpoint (spec 7.9).
    read_throttles: int

    @classmethod
    def of(cls, esm: EventSourceMapping) -> ReadSource:
        """What ``esm`` read from, after its run."""
        limits = esm.stream_read_limits
        budget: Budget = "unlimited"
        calls = nbytes = None
        if limits is not None:
            budget = "own" if limits.dedicated else "shared"
            nbytes = limits.bytes_per_second
            if limits.calls_per_second < PUSHED_CALLS_PER_SECOND:
                calls = limits.calls_per_second
        return cls(
            esm.enhanced_fan_out,
            esm.event_source_arn,
            budget,
            calls,
            nbytes,
            esm.stats.get_records_calls,
            esm.stats.read_throttles,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``reads`` object of the run summary."""
        return {
            "budget": self.budget,
            "calls_per_second": self.calls_per_second,
            "bytes_per_second": self.bytes_per_second,
            "get_records_calls": self.get_records_calls,
            "read_throttles": self.read_throttles,
        }
