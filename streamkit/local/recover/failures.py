"""Reading a consumer's on-failure destination back: the ranges Lambda discarded.

Lambda sends one document per discarded batch (spec 3.3): for SQS the message body,
for SNS the notification (read it through an SQS queue subscribed to the topic), for
S3 an object under ``aws/lambda/<ESM-UUID>/<shardId>/...`` holding the same document
plus ``payload``, the whole invocation event as a JSON string (spec 3.4, 3.5; an
object is accepted too). Only documents of the consumer's stream are taken. A message
or object that is not such a document (not JSON, no ``KinesisBatchInfo``, a sequence
number that is not a number...) comes out as a :class:`MalformedFailure` naming its
source and what is wrong, so one bad message never stops the others' recovery.

Example::

    ranges = read_failures(clients, "sqs", queue_url, stream_arn)
    [(r.shard_id, r.start, r.end, r.condition) for r in ranges]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

#: Key prefix of Lambda's S3 on-failure objects (spec 3.5).
S3_PREFIX = "aws/lambda/"
#: Seconds a received SQS message stays invisible while its range is recovered.
VISIBILITY_S = 900


@dataclass(frozen=True)
class DiscardedRange:
    """One on-failure document: a shard's sequence range Lambda gave up on."""

    shard_id: str
    start: str  # first discarded sequence number
    end: str  # last discarded sequence number
    batch_size: int
    condition: str  # RetryAttemptsExhausted or RecordAgeExceeded
    timestamp: str
    stream_arn: str
    #: Where the document came from: the SQS message id or the S3 key.
    source: str
    #: The invocation event's records (S3 destination only), else None: re-read the stream.
    records: list[dict[str, Any]] | None = None
    #: The SQS receipt handle, to delete the message once the range is recovered.
    receipt: str | None = None

    @property
    def lane(self) -> str:
        """The range's own ledger lane: its first sequence number fixes it, so a
        second recovery of the same range finds it committed."""
        return f"recover#{self.start}"


@dataclass(frozen=True)
class OtherStreamFailure:
    """A valid on-failure document of another stream (a destination shared by several
    mappings): not this consumer's to recover; its SQS message is released at once."""

    source: str
    stream_arn: str
    receipt: str | None = None


@dataclass(frozen=True)
class MalformedFailure:
    """A message or object at the destination that is not an on-failure document.

    It is reported and left where it is (an SQS message becomes visible again).
    """

    #: The SQS message id or the S3 key.
    source: str
    #: What is wrong with it, e.g. "not JSON" or "no KinesisBatchInfo object".
    reason: str
    receipt: str | None = None


class _Malformed(ValueError):
    """Internal: the document at hand is not a valid on-failure document."""


def read_failures(
    clients: Any, kind: str, target: str, stream_arn: str
) -> Iterator[DiscardedRange | MalformedFailure | OtherStreamFailure]:
    """Every discarded range of ``stream_arn`` at the destination (``kind`` sqs or s3),
    every message or object there that is not an on-failure document, and the
    documents of other streams (so their messages can be made visible again)."""
    documents = _sqs_documents(clients, target) if kind == "sqs" else _s3_documents(clients, target)
    for body, source, receipt in documents:
        try:
            discarded = _parse(body, source, receipt)
        except _Malformed as e:
            yield MalformedFailure(source, str(e), receipt)
            continue
        if discarded.stream_arn == stream_arn:
            yield discarded
        else:  # another mapping's document: not ours, but it must not stay hidden
            yield OtherStreamFailure(source, discarded.stream_arn, receipt)


def _parse(body: bytes | str, source: str, receipt: str | None) -> DiscardedRange:
    doc = _json_object(body, "body")
    if doc.get("Type") == "Notification":  # SNS -> SQS, not raw delivery
        message = doc.get("Message")
        if not isinstance(message, str):
            raise _Malformed("SNS notification without a string Message")
        doc = _json_object(message, "SNS Message")
    info = doc.get("KinesisBatchInfo")
    if not isinstance(info, dict):
        raise _Malformed("no KinesisBatchInfo object (not a Lambda on-failure document)")
    for name in ("shardId", "streamArn"):
        if not isinstance(info.get(name), str) or not info[name]:
            raise _Malformed(f"KinesisBatchInfo.{name} is missing or not a string")
    for name in ("startSequenceNumber", "endSequenceNumber"):
        value = info.get(name)
        if not isinstance(value, str) or not value.isdigit():
            raise _Malformed(f"KinesisBatchInfo.{name} is {value!r}, not a decimal sequence number")
    batch_size = info.get("batchSize", 0)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 0:
        raise _Malformed(f"KinesisBatchInfo.batchSize is {batch_size!r}, not a count")
    records = None
    if "payload" in doc:
        payload = doc["payload"]
        event = _json_object(payload, "payload") if isinstance(payload, str | bytes) else payload
        if not isinstance(event, dict) or not isinstance(event.get("Records", []), list):
            raise _Malformed("payload is not an invocation event with a Records list")
        records = list(event.get("Records", []))
    context = doc.get("requestContext")
    condition = context.get("condition", "?") if isinstance(context, dict) else "?"
    return DiscardedRange(
        shard_id=info["shardId"],
        start=info["startSequenceNumber"],
        end=info["endSequenceNumber"],
        batch_size=batch_size,
        condition=str(condition),
        timestamp=str(doc.get("timestamp", "")),
        stream_arn=info["streamArn"],
        source=source,
        records=records,
        receipt=receipt,
    )


def _json_object(text: bytes | str, what: str) -> dict[str, Any]:
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise _Malformed(f"{what} is not JSON ({e})") from None
    if not isinstance(doc, dict):
        kind = "null" if doc is None else "an array" if isinstance(doc, list) else "a scalar"
        raise _Malformed(f"{what} is {kind}, not a JSON object")
    return doc


def delete_message(clients: Any, queue_url: str, receipt: str) -> None:
    """Remove a recovered range's SQS message."""
    clients("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)


def _sqs_documents(clients: Any, queue_url: str) -> Iterator[tuple[str, str, str]]:
    sqs = clients("sqs")
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=VISIBILITY_S,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return
        for m in messages:
            yield m["Body"], m["MessageId"], m["ReceiptHandle"]


def _s3_documents(clients: Any, bucket: str) -> Iterator[tuple[bytes, str, None]]:
    s3 = clients("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=S3_PREFIX):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            yield body, obj["Key"], None
