"""Spec 3: on-failure destinations, read back from a real (moto) SQS queue, SNS
topic (through a subscribed SQS queue) and S3 bucket.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from streamkit.local.destinations import DestinationSender

pytestmark = pytest.mark.integration

ESM_UUID = "2b733gdc-8ac3-cdf5-af3a-1827b3b11284"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ISO_MS_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
TOP_KEYS = ["requestContext", "responseContext", "version", "timestamp", "KinesisBatchInfo"]
BATCH_INFO_KEYS = [
    "shardId",
    "startSequenceNumber",
    "endSequenceNumber",
    "approximateArrivalOfFirstRecord",
    "approximateArrivalOfLastRecord",
    "batchSize",
    "streamArn",
]


def _iso_ms(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _always_raise(event: dict[str, Any], n: int) -> Any:
    raise RuntimeError("poison")


def _queue(aws: Any, name: str) -> tuple[str, str]:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _drain(aws: Any, url: str) -> list[str]:
    sqs = aws.client("sqs")
    bodies: list[str] = []
    while True:
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        msgs = resp.get("Messages", [])
        if not msgs:
            return bodies
        for m in msgs:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def _run_failing(esm_env: Any, destination: DestinationSender | None, **kw: Any) -> Any:
    """3 records (arrivals T0+0.25, +0.5, +1.5), one batch, always failing, N=1."""
    esm_env.stream("src", shards=1)
    esm_env.put_n(3)
    offsets = {1: 0.25, 2: 0.5, 3: 1.5}
    rec = esm_env.recorder(kw.pop("respond", _always_raise))
    settings: dict[str, Any] = {"batch_size": 10, "maximum_retry_attempts": 1}
    settings.update(kw)
    stats = esm_env.esm(
        rec,
        destination=destination,
        arrival=lambda shard, seq: offsets[seq],
        start=esm_env.T0 + 2,
        **settings,
    ).run()
    return rec, stats


def _check_unhandled_document(esm_env: Any, doc: dict[str, Any], stats: Any) -> None:
    """The exact spec 3.3 document for the 3-record batch of _run_failing."""
    assert list(doc) == TOP_KEYS
    acct, region = esm_env.aws.account_id, esm_env.aws.region
    rc = doc["requestContext"]
    assert list(rc) == ["requestId", "functionArn", "condition", "approximateInvokeCount"]
    assert re.fullmatch(UUID_RE, rc["requestId"])
    assert re.fullmatch(rf"arn:aws:lambda:{region}:{acct}:function:[\w-]+", rc["functionArn"])
    assert rc["condition"] == "RetryAttemptsExhausted"
    assert rc["approximateInvokeCount"] == 2
    assert doc["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert list(doc["responseContext"]) == ["statusCode", "executedVersion", "functionError"]
    assert doc["version"] == "1.0"
    assert re.fullmatch(ISO_MS_RE, doc["timestamp"])
    # The discard happens right after the last invocation (virtual clock).
    last = max(e.time for e in stats.log)
    stamp = datetime.strptime(doc["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert last - 0.001 <= stamp.timestamp() < last + 1
    info = doc["KinesisBatchInfo"]
    assert list(info) == BATCH_INFO_KEYS
    assert info == {
        "shardId": esm_env.SHARD_0,
        "startSequenceNumber": "1",
        "endSequenceNumber": "3",
        "approximateArrivalOfFirstRecord": _iso_ms(esm_env.T0 + 0.25),
        "approximateArrivalOfLastRecord": _iso_ms(esm_env.T0 + 1.5),
        "batchSize": 3,
        "streamArn": f"arn:aws:kinesis:{region}:{acct}:stream/src",
    }
    assert info["approximateArrivalOfLastRecord"].endswith(".500Z")
    # Metadata only: the records themselves are not included (3.3).
    assert "payload" not in doc and "Records" not in json.dumps(doc)


def test_3_3_sqs_document_exact_shape(esm_env: Any, aws: Any) -> None:
    """3.3: the SQS message body is exactly the documented JSON document, keys in the
    documented order, for a batch discarded after function errors."""
    url, _ = _queue(aws, "dlq")
    rec, stats = _run_failing(esm_env, DestinationSender("sqs", url, aws.client, ESM_UUID))
    bodies = _drain(aws, url)
    assert len(bodies) == 1
    doc = json.loads(bodies[0])
    _check_unhandled_document(esm_env, doc, stats)
    assert doc == stats.failure_documents[0]
    assert stats.on_failure_messages == 1
    assert rec.calls == 2


def test_3_3_sns_document_is_the_notification_message(esm_env: Any, aws: Any) -> None:
    """3.3: for SNS the JSON document is the notification's Message (a string); read
    back through an SQS queue subscribed to the topic."""
    sns = aws.client("sns")
    topic = sns.create_topic(Name="failures")["TopicArn"]
    url, queue_arn = _queue(aws, "sns-reader")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    _, stats = _run_failing(esm_env, DestinationSender("sns", topic, aws.client, ESM_UUID))
    bodies = _drain(aws, url)
    assert len(bodies) == 1
    notification = json.loads(bodies[0])
    assert notification["Type"] == "Notification"
    assert notification["TopicArn"] == topic
    assert isinstance(notification["Message"], str)
    doc = json.loads(notification["Message"])
    _check_unhandled_document(esm_env, doc, stats)
    assert stats.on_failure_messages == 1


def test_3_3_partial_failure_document_has_null_function_error(esm_env: Any, aws: Any) -> None:
    """3.3 / 2.2.7: when the function returned normally but the response meant
    failure, responseContext.functionError is present and JSON null."""
    url, _ = _queue(aws, "dlq")

    def respond(event: dict[str, Any], n: int) -> Any:
        return {"batchItemFailures": [{"itemIdentifier": "2"}]}

    _, stats = _run_failing(
        esm_env,
        DestinationSender("sqs", url, aws.client, ESM_UUID),
        respond=respond,
        function_response_types=("ReportBatchItemFailures",),
    )
    [body] = _drain(aws, url)
    assert '"functionError":null' in body.replace(" ", "")
    doc = json.loads(body)
    assert doc["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": None,
    }
    info = doc["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        "2",
        "3",
        2,
    )
    assert info["approximateArrivalOfFirstRecord"] == _iso_ms(esm_env.T0 + 0.5)
    assert stats.outcomes[(esm_env.SHARD_0, "1")] == "processed"


def test_3_3_record_age_document_has_no_response_context(esm_env: Any, aws: Any) -> None:
    """3.3 / 9.10: RecordAgeExceeded documents have no responseContext key at all and
    approximateInvokeCount 1 when the records were never invoked."""
    url, _ = _queue(aws, "dlq")
    esm_env.put_n(2)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec,
        destination=DestinationSender("sqs", url, aws.client, ESM_UUID),
        maximum_record_age_in_seconds=60,
        start=esm_env.T0 + 3600,
    ).run()
    assert rec.calls == 0
    [body] = _drain(aws, url)
    doc = json.loads(body)
    assert list(doc) == ["requestContext", "version", "timestamp", "KinesisBatchInfo"]
    assert doc["requestContext"]["condition"] == "RecordAgeExceeded"
    assert doc["requestContext"]["approximateInvokeCount"] == 1
    assert doc["KinesisBatchInfo"]["batchSize"] == 2
    assert doc["timestamp"] == _iso_ms(esm_env.T0 + 3600)
    assert stats.records_discarded == 2


def test_3_3_one_message_per_discarded_batch_with_its_shard(esm_env: Any, aws: Any) -> None:
    """3.1 / 3.3: every discarded batch yields one message naming its own shard."""
    url, _ = _queue(aws, "dlq")
    esm_env.stream("two", shards=2)
    esm_env.put_n(2, shard=esm_env.SHARD_0)
    esm_env.put_n(3, shard=esm_env.SHARD_1)
    rec = esm_env.recorder(_always_raise)
    stats = esm_env.esm(
        rec,
        destination=DestinationSender("sqs", url, aws.client, ESM_UUID),
        batch_size=10,
        maximum_retry_attempts=0,
    ).run()
    docs = sorted(
        (json.loads(b) for b in _drain(aws, url)), key=lambda d: d["KinesisBatchInfo"]["shardId"]
    )
    assert [
        (d["KinesisBatchInfo"]["shardId"], d["KinesisBatchInfo"]["batchSize"]) for d in docs
    ] == [
        (esm_env.SHARD_0, 2),
        (esm_env.SHARD_1, 3),
    ]
    assert stats.on_failure_messages == 2


# ------------------------------------------------------------------------ 3.4 / 3.5 S3


def test_3_4_3_5_s3_object_key_layout_and_payload_string(esm_env: Any, aws: Any) -> None:
    """3.4 / 3.5 / 9.3 (simulator choice: payload is a JSON string): one object per
    discarded batch under aws/lambda/<ESM-UUID>/<shardId>/YYYY/MM/DD/
    YYYY-MM-DDTHH.MM.SS-<uuid>, date parts from the document's timestamp; the body
    is the document plus ``payload`` holding the invocation event."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="failures")
    rec, stats = _run_failing(esm_env, DestinationSender("s3", "failures", aws.client, ESM_UUID))
    listing = s3.list_objects_v2(Bucket="failures").get("Contents", [])
    assert len(listing) == 1
    key = listing[0]["Key"]
    m = re.fullmatch(
        rf"aws/lambda/{re.escape(ESM_UUID)}/(shardId-\d{{12}})/(\d{{4}})/(\d\d)/(\d\d)/"
        rf"(\d{{4}}-\d\d-\d\dT\d\d\.\d\d\.\d\d)-({UUID_RE})",
        key,
    )
    assert m, key
    body = json.loads(s3.get_object(Bucket="failures", Key=key)["Body"].read())
    assert m.group(1) == esm_env.SHARD_0 == body["KinesisBatchInfo"]["shardId"]
    stamp = datetime.strptime(body["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert (m.group(2), m.group(3), m.group(4)) == (
        f"{stamp:%Y}",
        f"{stamp:%m}",
        f"{stamp:%d}",
    )
    assert m.group(5) == f"{stamp:%Y-%m-%dT%H.%M.%S}"
    uuid.UUID(m.group(6))
    # Same document as SQS/SNS, plus payload.
    doc = {k: v for k, v in body.items() if k != "payload"}
    _check_unhandled_document(esm_env, doc, stats)
    assert list(body) == [*TOP_KEYS, "payload"]
    payload = body["payload"]
    assert isinstance(payload, str)
    event = json.loads(payload)
    assert event == {"Records": rec.events[-1]["Records"]}
    assert [r["kinesis"]["sequenceNumber"] for r in event["Records"]] == ["1", "2", "3"]


def test_3_4_s3_payload_for_age_discard_contains_full_records(esm_env: Any, aws: Any) -> None:
    """3.4: the payload holds full records (base64 data included) even for records
    that were never invoked (RecordAgeExceeded); one object per discarded batch."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="failures")
    raw = [b"\x00\x01binary", b'{"x": 1}']
    esm_env.put(raw)
    esm_env.put_n(1)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec,
        destination=DestinationSender("s3", "failures", aws.client, ESM_UUID),
        maximum_record_age_in_seconds=60,
        arrival=lambda shard, seq: 0.0 if seq <= 2 else 3600.0,
        start=esm_env.T0 + 3600,
    ).run()
    assert rec.batches == [[3]]
    objects = s3.list_objects_v2(Bucket="failures").get("Contents", [])
    assert len(objects) == 1
    body = json.loads(s3.get_object(Bucket="failures", Key=objects[0]["Key"])["Body"].read())
    assert "responseContext" not in body
    records = json.loads(body["payload"])["Records"]
    assert [r["kinesis"]["sequenceNumber"] for r in records] == ["1", "2"]
    import base64

    assert [base64.b64decode(r["kinesis"]["data"]) for r in records] == raw
    assert records[0]["eventID"] == f"{esm_env.SHARD_0}:1"
    assert stats.on_failure_messages == 1


# --------------------------------------------------------------- 3.6 delivery failure


@pytest.mark.parametrize("kind", ["sqs", "sns", "s3"])
def test_3_6_delivery_failure_does_not_stop_processing(esm_env: Any, aws: Any, kind: str) -> None:
    """3.6: if the destination cannot be reached (queue/topic/bucket missing), the
    records are still discarded and the shard goes on with later records."""
    acct, region = aws.account_id, aws.region
    target = {
        "sqs": f"{aws.endpoint_url}/{acct}/no-such-queue",
        "sns": f"arn:aws:sns:{region}:{acct}:no-such-topic",
        "s3": "no-such-bucket",
    }[kind]
    esm_env.put_n(4)

    def respond(event: dict[str, Any], n: int) -> Any:
        if 1 in [int(r["kinesis"]["sequenceNumber"]) for r in event["Records"]]:
            raise RuntimeError("poison")
        return None

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(
        rec,
        destination=DestinationSender(kind, target, aws.client, ESM_UUID),
        batch_size=2,
        maximum_retry_attempts=0,
    ).run()
    assert rec.batches == [[1, 2], [3, 4]]
    assert stats.records_discarded == 2
    assert stats.records_processed == 2
    assert stats.on_failure_messages == 0
    assert stats.on_failure_delivery_errors == 1
    assert len(stats.failure_documents) == 1
    assert stats.unresolved == 0
