"""Captures: what a consumer actually saw on a shard, saved to a file for replay.

Local tooling (imports boto3 only when capturing); never on a Lambda path.

The capture format (version 1)
------------------------------

JSON Lines, UTF-8, gzip-compressed when the file name ends in ``.gz`` (readers
detect gzip by its magic bytes, whatever the name). A file is one or more *shard
sections*; each section is a header line followed by that shard's records, one per
line, in shard order (each object is one line in the file; wrapped here)::

    {"streamkit_capture": 1,
     "stream_arn": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks",
     "shard_id": "shardId-000000000000", "region": "us-east-1",
     "captured_at": "2026-11-28T10:00:00.000000Z"}
    {"SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
     "ApproximateArrivalTimestamp": 1700000000.125, "Data": "eyJwYWdlIjogIi8ifQ==",
     "PartitionKey": "user-1"}
    {"SequenceNumber": "49590338271490256608559692538361571095921575989136589898",
     "ApproximateArrivalTimestamp": 1700000000.5, "Data": "eyJwYWdlIjogIi9jYXJ0In0=",
     "PartitionKey": "user-2"}

Header fields: ``streamkit_capture`` (format version, 1), ``stream_arn``,
``shard_id``, ``region`` and ``captured_at`` (ISO 8601 UTC, or null when unknown).
Record lines use the GetRecords record shape: ``SequenceNumber`` (decimal string),
``ApproximateArrivalTimestamp`` (epoch seconds; an ISO 8601 string is accepted when
reading), ``Data`` (base64 of the raw record, KPL aggregates left aggregated),
``PartitionKey``, and optionally ``ExplicitHashKey`` and ``EncryptionType``. A new
header line starts the next shard's section, so a capture of several shards is the
shard sections concatenated (``cat a.jsonl b.jsonl`` is a valid capture; gzip
members may be concatenated too). Blank lines are ignored; unknown keys are ignored.

:func:`load_records` also reads what users already have: the JSON printed by
``aws kinesis get-records`` and a saved Lambda Kinesis event.

Example::

    from streamkit.local.capture import capture_stream, kinesis_client, load_records

    summary = capture_stream(kinesis_client(), "clicks", "clicks.jsonl.gz")
    for shard in load_records("clicks.jsonl.gz"):
        print(shard.shard_id, len(shard.records))
"""

from __future__ import annotations

from streamkit.local.capture.format import (
    DEFAULT_SHARD_ID,
    FORMAT_VERSION,
    CapturedRecord,
    CaptureError,
    CaptureFormatError,
    CaptureWriter,
    ShardCapture,
    write_capture,
)
from streamkit.local.capture.live import (
    START_POSITIONS,
    CaptureSummary,
    StartPosition,
    capture_stream,
    kinesis_client,
)
from streamkit.local.capture.readers import load_records

__all__ = [
    "DEFAULT_SHARD_ID",
    "FORMAT_VERSION",
    "START_POSITIONS",
    "CaptureError",
    "CaptureFormatError",
    "CaptureSummary",
    "CaptureWriter",
    "CapturedRecord",
    "ShardCapture",
    "StartPosition",
    "capture_stream",
    "kinesis_client",
    "load_records",
    "write_capture",
]
