"""moto_serialize: the compiled JSON serializer writes exactly the responses moto's own does.

Every JSON-protocol response of these tests (DynamoDB, Kinesis, SQS on the embedded
endpoint, thread mode) is serialized twice, by the compiled converters and by moto's
own walk (``moto_speedups.ORIGINALS``), and the two bodies, headers and status codes
are compared byte for byte; the hot operations must not have fallen back to moto's walk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from enum import Enum
from typing import Any

import moto
import pytest
from moto.core import serialize as ms
from moto.core.utils import get_service_model

from streamkit.local.aws import LocalAWS, moto_serialize, moto_speedups

pytestmark = pytest.mark.skipif(
    not moto_speedups.applies_to(moto.__version__),
    reason=f"moto {moto.__version__} is not a version the speedups were checked against",
)


@pytest.fixture
def compared(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Operations serialized both ways (identical, or the test fails at the end)."""
    assert moto_speedups.apply()
    fast = ms.JSONSerializer._serialize_result
    original = moto_speedups.ORIGINALS[(ms.JSONSerializer, "_serialize_result")]
    seen: list[str] = []
    differing: list[str] = []

    def both(self: Any, resp: Any, result: Any) -> Any:
        mine = fast(self, self._create_default_response(), result)
        theirs = original(self, resp, result)
        seen.append(self.operation_name)
        if (mine["body"], mine["headers"], mine["status_code"]) != (
            theirs["body"],
            theirs["headers"],
            theirs["status_code"],
        ):
            differing.append(
                f"{self.operation_name}: {mine['body'][:300]} != {theirs['body'][:300]}"
            )
        return theirs

    monkeypatch.setattr(ms.JSONSerializer, "_serialize_result", both)
    moto_serialize.FALLBACKS.clear()
    yield seen
    assert differing == []


def _fast(*operations: str) -> None:
    fell_back = {
        op: moto_serialize.FALLBACKS[op] for op in operations if moto_serialize.FALLBACKS[op]
    }
    assert fell_back == {}


ITEM = {
    "pk": {"S": "page#/a"},
    "sk": {"S": "2026-12-01T10:00"},
    "n": {"N": "12345678901234567890.123456789"},
    "b": {"B": b"\x00\x01\xfe\xff" * 40},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"x", b"y\x00"]},
    "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "1"}, {"NULL": True}, {"BOOL": False}]}}},
    "l": {"L": [{"M": {"deep": {"M": {"deeper": {"S": "z"}}}}}]},
    "empty_s": {"S": ""},
    "t": {"BOOL": True},
}


def test_dynamodb_responses_are_moto_s_own(aws: LocalAWS, compared: list[str]) -> None:
    ddb = aws.client("dynamodb")
    ddb.create_table(
        TableName="t",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.describe_table(TableName="t")  # timestamps, nested structures
    ddb.list_tables()
    for i in range(30):
        ddb.put_item(
            TableName="t",
            Item={**ITEM, "sk": {"S": f"k{i:03d}"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnConsumedCapacity="TOTAL",
        )
    ddb.put_item(TableName="t", Item={**ITEM, "sk": {"S": "k000"}}, ReturnValues="ALL_OLD")
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(
            TableName="t",
            Item=ITEM | {"sk": {"S": "k001"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    got = ddb.get_item(TableName="t", Key={"pk": ITEM["pk"], "sk": {"S": "k002"}})["Item"]
    assert got["b"] == ITEM["b"] and got["l"] == ITEM["l"]
    assert "Item" not in ddb.get_item(TableName="t", Key={"pk": {"S": "none"}, "sk": {"S": "x"}})
    batch = ddb.batch_get_item(
        RequestItems={
            "t": {
                "Keys": [{"pk": ITEM["pk"], "sk": {"S": f"k{i:03d}"}} for i in range(0, 40, 2)],
            }
        },
        ReturnConsumedCapacity="INDEXES",
    )
    assert len(batch["Responses"]["t"]) == 15
    ddb.update_item(
        TableName="t",
        Key={"pk": ITEM["pk"], "sk": {"S": "k003"}},
        UpdateExpression="SET n = n + :one, newer = :s",
        ExpressionAttributeValues={":one": {"N": "1"}, ":s": {"S": "v"}},
        ReturnValues="ALL_NEW",
    )
    query = ddb.query(
        TableName="t",
        KeyConditionExpression="pk = :p AND begins_with(sk, :k)",
        ExpressionAttributeValues={":p": ITEM["pk"], ":k": {"S": "k01"}},
        Limit=5,
    )
    assert query["Count"] == 5 and "LastEvaluatedKey" in query
    scan = ddb.scan(TableName="t", ProjectionExpression="pk, sk, m")
    assert scan["Count"] == 30
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": "t", "Item": {**ITEM, "sk": {"S": "tx"}}}}]
    )
    ddb.delete_item(
        TableName="t", Key={"pk": ITEM["pk"], "sk": {"S": "tx"}}, ReturnValues="ALL_OLD"
    )
    ddb.update_time_to_live(
        TableName="t", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
    assert {"PutItem", "BatchGetItem", "Scan", "Query", "DescribeTable"} <= set(compared)
    _fast("PutItem", "GetItem", "BatchGetItem", "Scan", "Query", "UpdateItem", "DescribeTable")


def test_kinesis_responses_are_moto_s_own(aws: LocalAWS, compared: list[str]) -> None:
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=2)
    summary = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    kinesis.describe_stream(StreamName="s")
    for start in range(0, 600, 200):
        put = kinesis.put_records(
            StreamName="s",
            Records=[
                {"Data": b"\x00record %d" % i, "PartitionKey": f"k{i}"}
                for i in range(start, start + 200)
            ],
        )
        assert put["FailedRecordCount"] == 0
    kinesis.put_record(StreamName="s", Data=b"one", PartitionKey="k")
    seen = 0
    for shard in kinesis.list_shards(StreamName="s")["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName="s", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while True:
            page = kinesis.get_records(ShardIterator=iterator, Limit=250)
            seen += len(page["Records"])
            assert all(
                isinstance(r["ApproximateArrivalTimestamp"], dt.datetime) for r in page["Records"]
            )
            if not page["Records"]:
                break
            iterator = page["NextShardIterator"]
    assert seen == 601
    consumer = kinesis.register_stream_consumer(StreamARN=summary["StreamARN"], ConsumerName="c")
    kinesis.list_stream_consumers(StreamARN=summary["StreamARN"])
    kinesis.describe_stream_consumer(ConsumerARN=consumer["Consumer"]["ConsumerARN"])
    kinesis.list_streams()
    _fast("PutRecords", "GetRecords", "PutRecord", "ListShards", "DescribeStreamSummary")
    assert {"GetRecords", "PutRecords", "DescribeStream"} <= set(compared)


def test_sqs_responses_are_moto_s_own(aws: LocalAWS, compared: list[str]) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for i in range(5):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=f"body {i}",
            MessageGroupId="g",
            MessageDeduplicationId=f"d{i}",
            MessageAttributes={
                "s": {"DataType": "String", "StringValue": "x"},
                "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
                "n": {"DataType": "Number", "StringValue": "1.5"},
            },
        )
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {
                "Id": f"e{i}",
                "MessageBody": "b",
                "MessageGroupId": "g",
                "MessageDeduplicationId": f"b{i}",
            }
            for i in range(3)
        ],
    )
    got = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )["Messages"]
    assert got[0]["MessageAttributes"]["b"]["BinaryValue"] == b"\x00\x01"
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
    )
    sqs.list_queues()
    _fast("SendMessage", "ReceiveMessage", "GetQueueAttributes", "SendMessageBatch")
    assert {"SendMessage", "ReceiveMessage"} <= set(compared)


# ------------------------------------------------------------- converters directly


class _Color(Enum):
    RED = "red"


def _serializer(service: str, operation: str) -> Any:
    model = get_service_model(service).operation_model(operation)
    return ms.JSONSerializer(model, value_picker=ms.XFormedAttributePicker())


@pytest.mark.parametrize(
    "result",
    [
        None,
        {},
        {"Table": None},
        {"Table": {"TableName": _Color.RED, "ItemCount": Decimal("3"), "TableSizeBytes": 2.0}},
        {"Table": {"TableName": 7, "table_status": "ACTIVE", "TableArn": ""}},
        {"Table": {"KeySchema": [None, {"AttributeName": "a", "KeyType": "HASH"}]}},
        {"Table": {"CreationDateTime": dt.datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)}},
        {"Table": {"CreationDateTime": 1796000000.5, "TableName": {}, "TableId": []}},
        {"Table": {"AttributeDefinitions": ({"AttributeName": "x", "AttributeType": "S"},)}},
        {"Table": {"Replicas": [{"RegionName": "eu-west-1", "GlobalSecondaryIndexes": []}]}},
    ],
)
def test_odd_values_serialize_as_moto_does(result: Any) -> None:
    """Values moto's rules treat specially: None members, Enums, numbers given as
    other types, snake_case keys, None list items, timestamps, tuples."""
    assert moto_speedups.apply()
    serializer = _serializer("dynamodb", "DescribeTable")
    original = moto_speedups.ORIGINALS[(ms.JSONSerializer, "_serialize_result")]
    mine = ms.JSONSerializer._serialize_result(
        serializer, serializer._create_default_response(), result
    )
    theirs = original(serializer, serializer._create_default_response(), result)
    assert mine == theirs


def test_objects_fall_back_to_moto_s_walk() -> None:
    """An object where moto would look for attributes: moto's own serializer answers."""
    assert moto_speedups.apply()

    class Table:
        table_name = "from-an-object"

    serializer = _serializer("dynamodb", "DescribeTable")
    moto_serialize.FALLBACKS.clear()
    out = ms.JSONSerializer._serialize_result(
        serializer, serializer._create_default_response(), {"Table": Table()}
    )
    assert out["body"] == '{"Table": {"TableName": "from-an-object"}}'
    assert moto_serialize.FALLBACKS["DescribeTable"] == 1
