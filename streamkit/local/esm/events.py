"""Lambda's Kinesis invocation event, byte for byte (spec 1.1, 1.2).

Each record's JSON is encoded once and kept until the record is resolved: batch
cutting measures events against the 6 MB limit (spec 4.5) many times over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pybase64

from streamkit.local.esm.state import Lane
from streamkit.local.shards import StreamRecord


def rfc3339(ts: float) -> str:
    """``2023-11-14T22:14:00Z``: a tumbling window bound as the event spells it."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventEncoder:
    """Encodes records and invocation events for one mapping."""

    def __init__(self, role_arn: str, region: str, tumbling_window_s: int) -> None:
        self.role_arn = role_arn
        self.region = region
        self.tumbling_window_s = tumbling_window_s
        #: The stream's ARN; set when the mapping starts, before any record is encoded.
        self.stream_arn = ""
        self._encoded_records: dict[tuple[str, str], bytes] = {}

    def record(self, rec: StreamRecord) -> bytes:
        """One element of ``Records`` (spec 1.1), cached until :meth:`forget`."""
        key = (rec.shard_id, rec.sequence_number)
        encoded = self._encoded_records.get(key)
        if encoded is None:
            kinesis_fields: dict[str, Any] = {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": rec.partition_key,
                "sequenceNumber": rec.sequence_number,
                "data": pybase64.b64encode_as_string(rec.data),
                "approximateArrivalTimestamp": round(rec.arrival, 3),
            }
            doc = {
                "kinesis": kinesis_fields,
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{rec.shard_id}:{rec.sequence_number}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": self.role_arn,
                "awsRegion": self.region,
                "eventSourceARN": self.stream_arn,
            }
            encoded = self._encoded_records[key] = orjson.dumps(doc)
        return encoded

    def forget(self, records: Iterable[StreamRecord]) -> None:
        """Drop the cached encodings of resolved records."""
        for rec in records:
            self._encoded_records.pop((rec.shard_id, rec.sequence_number), None)

    def event(self, lane: Lane, records: Sequence[StreamRecord], final: bool) -> bytes:
        """The invocation event; with tumbling windows, the lane's window fields and
        state too (spec 1.2)."""
        body = b'{"Records":[' + b",".join(self.record(r) for r in records) + b"]"
        window_s = self.tumbling_window_s
        if window_s:
            start = lane.window_start if lane.window_start is not None else 0.0
            extra = {
                "window": {"start": rfc3339(start), "end": rfc3339(start + window_s)},
                "state": lane.window_state,
                "shardId": lane.shard_id,
                "eventSourceARN": self.stream_arn,
                "isFinalInvokeForWindow": final,
                "isWindowTerminatedEarly": lane.window_terminated_early,
            }
            body += b"," + orjson.dumps(extra)[1:-1]
        return body + b"}"

    def plain_event(self, records: Sequence[StreamRecord]) -> bytes:
        """The event without window fields: the S3 on-failure ``payload`` (spec 3.4)."""
        return b'{"Records":[' + b",".join(self.record(r) for r in records) + b"]}"
