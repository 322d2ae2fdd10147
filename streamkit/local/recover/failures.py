"""Reading a consumer's on-failure destination back: the ranges Lambda discarded.

Lambda sends one document per discarded batch (spec 3.3): for SQS the message body,
for SNS the notification (read it through an SQS queue subscribed to the topic), for
S3 an object under ``aws/lambda/<ESM-UUID>/<shardId>/...`` holding the same document
plus ``payload``, the whole invocation event as a JSON string (spec 3.4, 3.5; an
object is accepted too). Only documents of the consumer's stream are taken.

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


def read_failures(
    clients: Any, kind: str, target: str, stream_arn: str
) -> Iterator[DiscardedRange]:
    """Every discarded range of ``stream_arn`` at the destination (``kind`` sqs or s3)."""
    documents = _sqs_documents(clients, target) if kind == "sqs" else _s3_documents(clients, target)
    for doc, source, receipt in documents:
        info = doc.get("KinesisBatchInfo")
        if not isinstance(info, dict) or info.get("streamArn") != stream_arn:
            continue
        records = None
        if "payload" in doc:
            payload = doc["payload"]
            event = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
            records = list(event.get("Records", []))
        yield DiscardedRange(
            shard_id=info["shardId"],
            start=info["startSequenceNumber"],
            end=info["endSequenceNumber"],
            batch_size=int(info.get("batchSize", 0)),
            condition=doc.get("requestContext", {}).get("condition", "?"),
            timestamp=doc.get("timestamp", ""),
            stream_arn=info["streamArn"],
            source=source,
            records=records,
            receipt=receipt,
        )


def delete_message(clients: Any, queue_url: str, receipt: str) -> None:
    """Remove a recovered range's SQS message."""
    clients("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)


def _sqs_documents(clients: Any, queue_url: str) -> Iterator[tuple[dict[str, Any], str, str]]:
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
            body = orjson.loads(m["Body"])
            if isinstance(body, dict) and body.get("Type") == "Notification":
                body = orjson.loads(body["Message"])  # SNS -> SQS, not raw delivery
            yield body, m["MessageId"], m["ReceiptHandle"]


def _s3_documents(clients: Any, bucket: str) -> Iterator[tuple[dict[str, Any], str, None]]:
    s3 = clients("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=S3_PREFIX):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            yield orjson.loads(body), obj["Key"], None
