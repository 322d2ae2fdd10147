"""Reading a discarded range back from its stream, as Lambda would have delivered it.

An SQS or SNS on-failure record names only the shard and the sequence range (spec
3.3), so recovery re-reads ``[start, end]`` with ``GetShardIterator``
(``AT_SEQUENCE_NUMBER``) and ``GetRecords``, keeps what the mapping's
``FilterCriteria`` would deliver (spec 5.2) and shapes each record as a Lambda
event record (spec 1.1). This works while the stream's retention still holds the
range: a range whose first record is gone is reported as trimmed, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from streamkit.local.events import kinesis_record
from streamkit.local.filters import FilterSet
from streamkit.local.shards import epoch_seconds

#: GetRecords calls that return nothing while behind the tip before giving up.
_MAX_EMPTY_READS = 20
_LIMIT = 1_000


@dataclass
class RangeRead:
    """What the stream still holds of one range."""

    #: Lambda event records (``{"kinesis": ..., "eventSourceARN": ...}``), in order.
    records: list[dict[str, Any]] = field(default_factory=list)
    #: Records of the range the filter criteria drop (Lambda never delivered them).
    filtered: int = 0
    #: Why the range cannot be read (whole or in part), or None.
    trimmed: str | None = None


def read_range(
    kinesis: Any,
    stream: str,
    stream_arn: str,
    shard_id: str,
    start: str,
    end: str,
    filters: FilterSet,
) -> RangeRead:
    """The records of ``shard_id`` from sequence number ``start`` to ``end`` (inclusive)."""
    out = RangeRead()
    first, last = int(start), int(end)
    try:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=start,
        )["ShardIterator"]
    except ClientError as e:
        out.trimmed = f"{e.response['Error']['Code']}: {e.response['Error'].get('Message', '')}"
        return out
    empty = 0
    seen_first = False
    while iterator and empty < _MAX_EMPTY_READS:
        try:
            page = kinesis.get_records(ShardIterator=iterator, Limit=_LIMIT)
        except ClientError as e:
            out.trimmed = f"{e.response['Error']['Code']} while reading the range"
            return out
        iterator = page.get("NextShardIterator")
        records = page.get("Records", [])
        if not records:
            if not page.get("MillisBehindLatest"):
                break  # at the tip (or the end of a closed shard)
            empty += 1
            continue
        for r in records:
            seq = int(r["SequenceNumber"])
            if not seen_first:
                seen_first = True
                if seq != first:
                    # AT_SEQUENCE_NUMBER started later: the range's head was trimmed.
                    out.trimmed = (
                        f"the stream no longer holds sequence number {start} (retention "
                        f"expired); it starts again at {seq}"
                    )
            if seq > last:
                return out
            if not filters.matches_all and not filters.matches(bytes(r["Data"])):
                out.filtered += 1
                continue
            out.records.append(_lambda_record(r, shard_id, stream_arn))
    if not seen_first:
        out.trimmed = f"the stream holds nothing from sequence number {start} on"
    return out


def _lambda_record(r: Mapping[str, Any], shard_id: str, stream_arn: str) -> dict[str, Any]:
    # Lambda's events carry arrival times in seconds with millisecond precision (spec 1.1.2).
    return kinesis_record(
        bytes(r["Data"]),
        r["SequenceNumber"],
        partition_key=r["PartitionKey"],
        shard_id=shard_id,
        arrival=round(epoch_seconds(r["ApproximateArrivalTimestamp"]), 3),
        stream_arn=stream_arn,
        explicit_hash_key=r.get("ExplicitHashKey"),
    )
