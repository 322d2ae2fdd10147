"""Lambda's Kinesis invocation event, byte for byte (spec 1.1, 1.2).

Each record's JSON is encoded once and kept until the record is resolved: batch
cutting measures events against the 6 MB limit (spec 4.5) many times over.

A replay puts captured records on a local stream, whose emulator gives them new
sequence numbers (``1``, ``2``, ... on moto). An :data:`IdentityMap` from each
(local shard, emulator sequence number) to the record's :class:`CapturedIdentity`
makes the simulator *show* the captured identity everywhere a user sees a record
(the event, ``batchItemFailures``, on-failure records, the stats), while it keeps
reading and checkpointing with the emulator's numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pybase64

from streamkit.local.esm import choices
from streamkit.local.esm.state import Lane
from streamkit.local.shards import StreamRecord


@dataclass(frozen=True, slots=True)
class CapturedIdentity:
    """Who a replayed record was where it was captured.

    ``explicit_hash_key`` is kept for completeness: Lambda's event has no such key
    (spec 1.1.2), so a handler never sees it, on AWS or here.
    """

    sequence_number: str
    partition_key: str
    arrival: float
    explicit_hash_key: str | None = None


#: (local shard id, emulator sequence number) -> the record's captured identity.
IdentityMap = Mapping[tuple[str, str], CapturedIdentity]


def rfc3339(ts: float) -> str:
    """``2023-11-14T22:14:00Z``: a tumbling window bound as the event spells it."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventEncoder:
    """Encodes records and invocation events for one mapping."""

    def __init__(
        self,
        role_arn: str,
        region: str,
        tumbling_window_s: int,
        identities: IdentityMap | None = None,
    ) -> None:
        self.role_arn = role_arn
        self.region = region
        self.tumbling_window_s = tumbling_window_s
        #: The stream's ARN; set when the mapping starts, before any record is encoded.
        self.stream_arn = ""
        self.identities: IdentityMap = identities or {}
        self._encoded_records: dict[tuple[str, str], bytes] = {}

    def shown(self, rec: StreamRecord) -> StreamRecord:
        """``rec`` as the handler and the user see it: with its captured sequence
        number and partition key when it has a captured identity."""
        ident = self.identities.get((rec.shard_id, rec.sequence_number))
        if ident is None:
            return rec
        return dataclasses.replace(
            rec,
            sequence_number=ident.sequence_number,
            partition_key=ident.partition_key,
            explicit_hash_key=ident.explicit_hash_key,
        )

    def shown_sequence(self, rec: StreamRecord) -> str:
        """The sequence number the handler sees for ``rec`` (and reports back)."""
        ident = self.identities.get((rec.shard_id, rec.sequence_number))
        return rec.sequence_number if ident is None else ident.sequence_number

    def key(self, rec: StreamRecord) -> tuple[str, str]:
        """``rec``'s key in the stats' outcomes: (shard id, shown sequence number)."""
        return rec.shard_id, self.shown_sequence(rec)

    def record(self, rec: StreamRecord) -> bytes:
        """One element of ``Records`` (spec 1.1), cached until :meth:`forget`."""
        key = (rec.shard_id, rec.sequence_number)
        encoded = self._encoded_records.get(key)
        if encoded is None:
            shown = self.shown(rec)
            kinesis_fields: dict[str, Any] = {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": shown.partition_key,
                "sequenceNumber": shown.sequence_number,
                "data": pybase64.b64encode_as_string(rec.data),
                "approximateArrivalTimestamp": round(rec.arrival, 3),
            }
            # Open point S9.9b: AWS is not known to emit it (choices.EMIT_ENCRYPTION_TYPE).
            if choices.EMIT_ENCRYPTION_TYPE and rec.encryption_type is not None:
                kinesis_fields["encryptionType"] = rec.encryption_type
            doc = {
                "kinesis": kinesis_fields,
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{rec.shard_id}:{shown.sequence_number}",
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
