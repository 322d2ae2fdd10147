"""moto_speedups: each replaced moto method answers as moto's own does on the same state.

The replacements are compared with the originals (``moto_speedups.ORIGINALS``) on
the embedded endpoint's backends after real requests, and end to end through boto3.
"""

from __future__ import annotations

from typing import Any

import moto
import pytest
from moto.kinesis.models import Record, Shard, kinesis_backends
from moto.sqs.models import Queue, SQSBackend, sqs_backends

from streamkit.local.aws import MOTO_ACCOUNT_ID, LocalAWS, moto_speedups

pytestmark = pytest.mark.skipif(
    not moto_speedups.applies_to(moto.__version__),
    reason=f"moto {moto.__version__} is not a version the speedups were checked against",
)


def _original(owner: object, name: str) -> Any:
    return moto_speedups.ORIGINALS[(owner, name)]


@pytest.fixture
def speedups(aws: LocalAWS) -> LocalAWS:
    """The reset session endpoint (thread mode: the backends are in this process)."""
    assert moto_speedups.apply()
    return aws


def _records(result: tuple[list[Any], int, int]) -> tuple[list[int], int, int]:
    records, last, behind = result
    return [r.sequence_number for r in records], last, behind


def test_versions_checked() -> None:
    assert moto_speedups.applies_to("5.2.5")
    assert not moto_speedups.applies_to("5.3.0")
    assert not moto_speedups.applies_to("6.0.0")


def test_the_backend_list_is_moto_s_own() -> None:
    import moto.backends as backends

    assert moto_speedups.apply()
    listed = list(backends.list_of_moto_modules())
    assert listed == list(_original(backends, "list_of_moto_modules")())
    assert {"kinesis", "dynamodb", "s3", "sqs"} <= set(listed)


def test_the_response_methods_are_moto_s_own() -> None:
    import moto.core.responses as responses
    from moto.dynamodb.responses import DynamoHandler
    from moto.kinesis.responses import KinesisResponse

    assert moto_speedups.apply()
    cached = vars(responses)["method_names_from_class"]
    for cls in (DynamoHandler, KinesisResponse):
        names = cached(cls)
        assert names == _original(responses, "method_names_from_class")(cls)
        assert "put_item" in names if cls is DynamoHandler else "get_records" in names
        assert cached(cls) is names  # computed once


def test_kinesis_put_and_get_records_answer_as_moto_does(speedups: LocalAWS) -> None:
    kinesis = speedups.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=2)
    for start in range(0, 1200, 400):
        entries = [{"Data": b"x%d" % i, "PartitionKey": f"k{i}"} for i in range(start, start + 400)]
        put = kinesis.put_records(StreamName="s", Records=entries)
        assert put["FailedRecordCount"] == 0
    stream = kinesis_backends[MOTO_ACCOUNT_ID][speedups.region].describe_stream(
        stream_arn=None, stream_name="s"
    )
    original_get = _original(Shard, "get_records")
    for shard in stream.shards.values():
        n = len(shard.records)
        assert n > 100
        # Sequence numbers 1..n in order, as moto numbers them.
        assert list(shard.records) == list(range(1, n + 1))
        assert (
            shard.get_min_sequence_number()
            == 1
            == _original(Shard, "get_min_sequence_number")(shard)
        )
        assert (
            shard.get_max_sequence_number()
            == n
            == _original(Shard, "get_max_sequence_number")(shard)
        )
        for last in ("0", "1", "57", str(n - 1), str(n), str(n + 5)):
            for limit in (None, 1, 10, 1000, 10_000):
                got = _records(shard.get_records(last, limit))
                assert got == _records(original_get(shard, last, limit)), (last, limit)
    # And through the API: every record read back once, in order, shard by shard.
    shards = kinesis.list_shards(StreamName="s")["Shards"]
    seen: list[bytes] = []
    for s in shards:
        iterator = kinesis.get_shard_iterator(
            StreamName="s", ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while True:
            page = kinesis.get_records(ShardIterator=iterator, Limit=150)
            seen.extend(r["Data"] for r in page["Records"])
            if not page["Records"]:
                break
            iterator = page["NextShardIterator"]
    assert sorted(seen) == sorted(b"x%d" % i for i in range(1200))


def test_kinesis_get_records_falls_back_when_numbers_have_gaps() -> None:
    assert moto_speedups.apply()
    shard = Shard(0, 0, 2**128)
    for n in (1, 2, 5, 6, 9):
        shard.records[n] = Record("pk", "eA==", n, "")
    for last in ("0", "2", "5", "9"):
        for limit in (None, 1, 2):
            assert _records(shard.get_records(last, limit)) == _records(
                _original(Shard, "get_records")(shard, last, limit)
            )
    assert shard.put_record("pk", "eA==", "") == "10"


def test_sqs_fifo_send_receive_and_attributes_answer_as_moto_does(speedups: LocalAWS) -> None:
    sqs = speedups.client("sqs")
    url = sqs.create_queue(
        QueueName="alerts.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for i in range(30):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i % 20}", MessageGroupId="g")
    backend: SQSBackend = sqs_backends[MOTO_ACCOUNT_ID][speedups.region]
    queue = backend.get_queue("alerts.fifo")
    # Content-based deduplication still applies: 20 distinct bodies.
    assert len(queue._messages) == 20
    compute = _original(Queue, "attributes").fget
    original_attributes = _original(SQSBackend, "get_queue_attributes")
    for names in (["All"], ["ApproximateNumberOfMessages", "FifoQueue"], ["QueueArn"]):
        assert backend.get_queue_attributes("alerts.fifo", names) == original_attributes(
            backend, "alerts.fifo", names
        )
    assert queue.attributes == compute(queue)
    api = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert api["ApproximateNumberOfMessages"] == "20"
    assert api["ContentBasedDeduplication"] == "true"

    received: list[str] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        received.extend(m["Body"] for m in batch)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    assert received == [f"m{i}" for i in range(20)]

    valid = _original(SQSBackend, "is_message_valid_based_on_retention_period")
    sqs.send_message(QueueUrl=url, MessageBody="later", MessageGroupId="g")
    message = queue._messages[0]
    assert backend.is_message_valid_based_on_retention_period("alerts.fifo", message)
    assert valid(backend, "alerts.fifo", message)
    message_: Any = message
    retention_s = int(vars(queue)["message_retention_period"])
    message_.sent_timestamp -= (retention_s + 1) * 1000  # now past the retention period
    assert not backend.is_message_valid_based_on_retention_period("alerts.fifo", message)
    assert not valid(backend, "alerts.fifo", message)


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"FifoQueue": "true"},
        {"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        {
            "FifoQueue": "true",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
        {"KmsMasterKeyId": "alias/x", "DelaySeconds": "3"},
    ],
)
def test_queue_attributes_on_first_use_are_moto_s(
    speedups: LocalAWS, attributes: dict[str, str]
) -> None:
    sqs = speedups.client("sqs")
    name = "q.fifo" if "FifoQueue" in attributes else "q"
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    group = {"MessageGroupId": "g", "MessageDeduplicationId": "d"} if name == "q.fifo" else {}
    sqs.send_message(QueueUrl=url, MessageBody="m", **group)
    queue = sqs_backends[MOTO_ACCOUNT_ID][speedups.region].get_queue(name)
    compute = _original(Queue, "attributes").fget
    expected = compute(queue)
    names = [*queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES, "Missing"]
    for attribute in names:  # each looked up first, on a fresh set
        assert moto_speedups._QueueAttributes(queue, compute).get(attribute) == expected.get(
            attribute
        )
    lazy = moto_speedups._QueueAttributes(queue, compute)
    assert lazy.get("FifoQueue") == expected.get("FifoQueue")
    assert dict(lazy) == expected and len(lazy) == len(expected)


def test_a_missing_queue_is_still_an_error(speedups: LocalAWS) -> None:
    sqs = speedups.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url, MessageBody="x")


@pytest.mark.parametrize("speedups", [True, False])
def test_process_mode_access_log_only_without_speedups(speedups: bool) -> None:
    with LocalAWS(mode="process", speedups=speedups) as child:
        kinesis = child.client("kinesis")
        kinesis.create_stream(StreamName="c", ShardCount=1)
        put = kinesis.put_records(
            StreamName="c", Records=[{"Data": b"%d" % i, "PartitionKey": "k"} for i in range(3)]
        )
        assert [r["SequenceNumber"] for r in put["Records"]] == ["1", "2", "3"]
        assert child._child is not None
        logged = '"POST / HTTP/1.1" 200' in child._child.output(limit=1 << 16)
        assert logged is not speedups


def test_a_conditional_write_parses_its_condition_once(
    speedups: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same outcomes (written, refused, names checked) with one parse per write."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    key = (ConditionExpressionParser, "parse")
    original = moto_speedups.ORIGINALS[key]
    parses: list[str | None] = []

    def counted(self: Any) -> Any:
        parses.append(self.condition_expression)
        return original(self)

    monkeypatch.setitem(moto_speedups.ORIGINALS, key, counted)
    ddb = speedups.client("dynamodb")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    new = "attribute_not_exists(pk) OR #v < :v"
    for version, written in ((1, True), (2, True), (2, False), (1, False), (3, True)):
        parses.clear()
        try:
            ddb.put_item(
                TableName="t",
                Item={"pk": {"S": "a"}, "v": {"N": str(version)}},
                ConditionExpression=new,
                ExpressionAttributeNames={"#v": "v"},
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            assert not written, version
        else:
            assert written, version
        assert parses == [new]  # was twice: the response handler's, then the table's
    item = ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
    assert item["v"] == {"N": "3"}
    # An unused name is still refused, by the response handler's parse.
    with pytest.raises(ddb.exceptions.ClientError, match="unused"):
        ddb.put_item(
            TableName="t",
            Item={"pk": {"S": "b"}},
            ConditionExpression="attribute_not_exists(pk)",
            ExpressionAttributeNames={"#unused": "x"},
        )
    parses.clear()
    ddb.delete_item(
        TableName="t",
        Key={"pk": {"S": "a"}},
        ConditionExpression="#v = :v",
        ExpressionAttributeNames={"#v": "v"},
        ExpressionAttributeValues={":v": {"N": "3"}},
    )
    assert "Item" not in ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert 1 <= len(parses) <= 2 and set(parses) == {"#v = :v"}
