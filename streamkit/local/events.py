"""Build Lambda Kinesis events (spec 1.1) and Lambda-like contexts for tests.

Used by the demo and the ``streamkit run`` reference; the test helpers package
re-exports every name, which is where users import them from (see the README).

Example::

    from streamkit.local.events import FakeContext, kinesis_event

    event = kinesis_event([b'{"page": "/"}', b"not json"])
    response = streamkit.process_batch(event, handle, FakeContext(remaining_ms=30_000))
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import Any

DEFAULT_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/test-stream"
DEFAULT_SHARD = "shardId-000000000000"
#: A realistic 56-digit Kinesis sequence number to count up from.
FIRST_SEQUENCE = 49590338271490256608559692538361571095921575989136588898


def kinesis_record(
    data: bytes,
    sequence_number: int | str,
    *,
    partition_key: str = "pk",
    shard_id: str = DEFAULT_SHARD,
    arrival: float = 1_700_000_000.0,
    stream_arn: str = DEFAULT_ARN,
    explicit_hash_key: str | None = None,
) -> dict[str, Any]:
    """One element of a Lambda event's ``Records`` array, exactly as Lambda shapes it."""
    seq = str(sequence_number)
    kin: dict[str, Any] = {
        "kinesisSchemaVersion": "1.0",
        "partitionKey": partition_key,
        "sequenceNumber": seq,
        "data": base64.b64encode(data).decode("ascii"),
        "approximateArrivalTimestamp": arrival,
    }
    if explicit_hash_key is not None:
        kin["explicitHashKey"] = explicit_hash_key
    region = stream_arn.split(":")[3] if stream_arn.count(":") >= 5 else "us-east-1"
    return {
        "kinesis": kin,
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{seq}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-kinesis-role",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def kinesis_event(
    payloads: Iterable[bytes],
    *,
    first_sequence: int = FIRST_SEQUENCE,
    step: int = 1000,
    partition_keys: Sequence[str] | None = None,
    shard_id: str = DEFAULT_SHARD,
    arrival: float = 1_700_000_000.0,
    stream_arn: str = DEFAULT_ARN,
) -> dict[str, Any]:
    """A Lambda Kinesis event with one record per payload, sequence numbers ascending."""
    records = [
        kinesis_record(
            data,
            first_sequence + i * step,
            partition_key=partition_keys[i] if partition_keys else f"pk-{i}",
            shard_id=shard_id,
            arrival=arrival + i / 1000,
            stream_arn=stream_arn,
        )
        for i, data in enumerate(payloads)
    ]
    return {"Records": records}


def kpl_aggregate(user_records: Iterable[tuple[str, bytes, str | None]]) -> bytes:
    """One KPL aggregated record built with aws_kinesis_agg's own aggregator.

    ``user_records`` are (partition key, payload, explicit hash key or None).
    Raises ValueError if they do not fit in one aggregate (1 MB).
    """
    from aws_kinesis_agg.aggregator import AggRecord

    agg = AggRecord()
    for pk, data, ehk in user_records:
        if not agg.add_user_record(pk, data, ehk):
            raise ValueError("user records do not fit in one aggregated record")
    return bytes(agg.get_contents()[2])


class FakeContext:
    """A Lambda-like context whose remaining time the test controls.

    ``remaining_ms`` is what ``get_remaining_time_in_millis`` returns; a test
    "spends" time with :meth:`advance` (e.g. from inside a record handler), so
    deadline behaviour is deterministic, with no sleeping.
    """

    function_name = "test-function"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/test-function"
    log_stream_name = "2026/11/28/[$LATEST]0"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms

    def advance(self, ms: int) -> None:
        self.remaining_ms -= ms
