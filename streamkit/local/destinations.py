"""On-failure destination records (spec 3): their exact shape and their delivery.

When the simulator discards records (retries exhausted, record too old) it sends
one metadata document per discarded batch to the mapping's on-failure destination:
the message body for SQS, the notification ``Message`` for SNS, and for S3 the
same document plus ``payload`` (the invocation event) under
``aws/lambda/<ESM-UUID>/<shardId>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>``.

Choice for spec 9.3 (unconfirmed): the S3 ``payload`` is a JSON *string* holding
the event, as AWS's documentation describes it ("an escaped JSON string").
Delivery failures are counted and swallowed: the records are discarded anyway
and processing goes on (spec 3.6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from streamkit.local.shards import StreamRecord

RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


def iso_millis(ts: float) -> str:
    """``2019-11-14T00:38:06.021Z``: ISO-8601 UTC with milliseconds (spec 3.3)."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class FailureContext:
    """Everything the document needs besides the records."""

    request_id: str
    function_arn: str
    condition: str
    approximate_invoke_count: int
    #: "Unhandled" when the function threw or timed out; None when it returned a
    #: response meaning failure (spec 3.3). Ignored for RecordAgeExceeded.
    function_error: str | None
    timestamp: float
    shard_id: str
    stream_arn: str


def failure_document(ctx: FailureContext, records: Sequence[StreamRecord]) -> dict[str, Any]:
    """The SQS/SNS on-failure document of spec 3.3, keys in the documented order."""
    doc: dict[str, Any] = {
        "requestContext": {
            "requestId": ctx.request_id,
            "functionArn": ctx.function_arn,
            "condition": ctx.condition,
            "approximateInvokeCount": ctx.approximate_invoke_count,
        }
    }
    if ctx.condition != RECORD_AGE_EXCEEDED:  # no responseContext at all for age (spec 3.3)
        doc["responseContext"] = {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": ctx.function_error,
        }
    doc["version"] = "1.0"
    doc["timestamp"] = iso_millis(ctx.timestamp)
    doc["KinesisBatchInfo"] = {
        "shardId": ctx.shard_id,
        "startSequenceNumber": records[0].sequence_number,
        "endSequenceNumber": records[-1].sequence_number,
        "approximateArrivalOfFirstRecord": iso_millis(records[0].arrival),
        "approximateArrivalOfLastRecord": iso_millis(records[-1].arrival),
        "batchSize": len(records),
        "streamArn": ctx.stream_arn,
    }
    return doc


def s3_key(esm_uuid: str, shard_id: str, timestamp: float, object_uuid: str) -> str:
    """Object key of spec 3.5 (dots, not colons, in the time part)."""
    dt = datetime.fromtimestamp(timestamp, UTC)
    return f"aws/lambda/{esm_uuid}/{shard_id}/{dt:%Y/%m/%d}/{dt:%Y-%m-%dT%H.%M.%S}-{object_uuid}"


class DestinationSender:
    """Delivers on-failure documents to an SQS queue, SNS topic or S3 bucket."""

    def __init__(self, kind: str, target: str, clients: Any, esm_uuid: str) -> None:
        if kind not in ("sqs", "sns", "s3"):
            raise ValueError(f"destination type must be sqs, sns or s3, got {kind!r}")
        self.kind = kind
        self.target = target  # queue URL, topic ARN or bucket name
        self.clients = clients  # callable: service name -> boto3 client
        self.esm_uuid = esm_uuid
        self.delivered = 0
        self.failed = 0

    def send(
        self,
        document: dict[str, Any],
        event: dict[str, Any],
        object_uuid: str,
        *,
        payload_as_string: bool = True,
    ) -> bool:
        """Deliver one document; False (and counted) when delivery failed.

        ``payload_as_string``: the S3 object's ``payload`` is the event as a JSON
        string (spec 9.3's choice, ``esm.choices.S3_PAYLOAD_AS_STRING``), else an object.
        """
        try:
            if self.kind == "sqs":
                self.clients("sqs").send_message(
                    QueueUrl=self.target, MessageBody=orjson.dumps(document).decode()
                )
            elif self.kind == "sns":
                self.clients("sns").publish(
                    TopicArn=self.target, Message=orjson.dumps(document).decode()
                )
            else:
                payload: Any = orjson.dumps(event).decode() if payload_as_string else event
                body = dict(document, payload=payload)
                shard = document["KinesisBatchInfo"]["shardId"]
                ts = datetime.strptime(document["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
                key = s3_key(self.esm_uuid, shard, ts.replace(tzinfo=UTC).timestamp(), object_uuid)
                self.clients("s3").put_object(Bucket=self.target, Key=key, Body=orjson.dumps(body))
        except Exception:
            self.failed += 1
            return False
        self.delivered += 1
        return True
