"""The store contract: the in-memory stores behave like AWS (moto) where the pipeline cares.

Every scenario runs twice, on ``streamkit.testing.memory.MemoryAWS`` and on the
embedded moto endpoint over HTTP, through the same adapters the pipeline uses
(:class:`~streamkit.ledger.Ledger`, :class:`~streamkit.sinks.dynamodb.AggregateTable`,
the S3 and SQS stores), and returns what it observed; the two results must be equal,
and each scenario also asserts the AWS behaviour itself (so equal-but-wrong fails).
The fast exactly-once proof (``tests/property/test_exactly_once_memory.py``) is only
as good as this equality.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from streamkit.ledger import INLINE_LIMIT, Intent, Ledger, LedgerConflict, LedgerState
from streamkit.local.aws import DynamoDbTable, LocalAWS, S3Bucket
from streamkit.query import read_items
from streamkit.sinks.dynamodb import AggregateTable
from streamkit.sinks.s3 import list_keys
from streamkit.stores import S3Objects, SqsQueue
from streamkit.testing.memory import MemoryAWS
from streamkit.testing.memory.dynamodb import UnsupportedExpression
from streamkit.writes import AggregateWrite, MessageWrite, ObjectWrite

pytestmark = pytest.mark.integration

Clients = Callable[[str], Any]
QUEUE = "alerts.fifo"


def _memory() -> Clients:
    mem = MemoryAWS()
    mem.dynamodb.create_table("ledger", ("id",))
    mem.dynamodb.create_table("aggs", ("pk", "sk"))
    for bucket in ("objects", "intents"):
        mem.s3.create_bucket(Bucket=bucket)
    mem.sqs.create_queue(QueueName=QUEUE, Attributes={"FifoQueue": "true"})
    return mem.clients


def _moto(local_aws: LocalAWS) -> Clients:
    local_aws.reset()
    clients = local_aws.clients
    DynamoDbTable.ledger("ledger").create(clients)
    DynamoDbTable.aggregates("aggs").create(clients)
    for bucket in ("objects", "intents"):
        S3Bucket(bucket).create(clients)
    clients("sqs").create_queue(
        QueueName=QUEUE, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    )
    return clients


def _code(e: ClientError) -> str:
    return str(e.response["Error"]["Code"])


def _queue_url(clients: Clients) -> str:
    return str(clients("sqs").get_queue_url(QueueName=QUEUE)["QueueUrl"])


def _intent(generation: int, end: int, **writes: Any) -> Intent:
    return Intent("c", "shardId-000000000000", generation, (end - 1, 0), (end, 0), 7.5, **writes)


# ---------------------------------------------------------------- scenarios


def ledger_conditional_writes(clients: Clients) -> list[Any]:
    """Intent write and commit are conditional; a stale writer gets LedgerConflict."""
    ledger = Ledger("ledger", "c", clients)
    seen: list[Any] = []
    new = ledger.read("shardId-000000000000")
    first = _intent(1, 10)
    ledger.write_intent(new, first)
    state = ledger.read("shardId-000000000000")
    pending = state.intent.intent_id if state.intent else None
    seen.append((state.generation, state.position, pending == first.intent_id))
    with pytest.raises(LedgerConflict):  # a zombie that read the shard before
        ledger.write_intent(new, _intent(1, 10))
    with pytest.raises(LedgerConflict):  # commit of an intent that is not pending
        ledger.commit(_intent(1, 10))
    ledger.commit(first)
    with pytest.raises(LedgerConflict):  # committing twice
        ledger.commit(first)
    state = ledger.read("shardId-000000000000")
    seen.append((state.generation, state.position, state.watermark, state.intent))
    with pytest.raises(LedgerConflict):  # the generation moved on
        ledger.write_intent(new, _intent(2, 20))
    assert seen == [(0, None, True), (1, (10, 0), 7.5, None)]
    return seen


def ledger_large_intent(clients: Clients) -> list[Any]:
    """An intent above the inline limit goes to the intent bucket and reads back equal."""
    body = os.urandom(INLINE_LIMIT + 10_000)  # incompressible: stays above the limit
    objects = [ObjectWrite("objects", "raw/a.bin", body, "x")]
    intent = _intent(1, 10, objects=objects, aggregates=[], messages=[])
    with pytest.raises(ValueError, match="intent bucket"):
        Ledger("ledger", "c", clients).write_intent(LedgerState.new_shard(), intent)
    ledger = Ledger("ledger", "c", clients, intent_bucket="intents")
    ledger.write_intent(LedgerState.new_shard(), intent)
    back = ledger.read("shardId-000000000000").intent
    assert back is not None and back.objects == objects
    keys = list_keys(clients("s3"), "intents", "streamkit/intents/")
    assert len(keys) == 1 and keys[0].startswith("streamkit/intents/c/shardId-000000000000/")
    return [back.intent_id == intent.intent_id, len(keys)]


def _stats(count: int, total: str) -> dict[str, Any]:
    return {"count": Decimal(count), "sum": Decimal(total)}


def aggregate_version_bump(clients: Clients) -> list[Any]:
    """Applied markers make re-apply a no-op; each write bumps the item's version."""
    table = AggregateTable("aggs", clients)
    delta = AggregateWrite("views#/", "w1", _stats(2, "3.5"), aggregate="views", key="/")
    written = [
        table.apply("c#s0", 1, [delta]),
        table.apply("c#s0", 1, [delta]),  # a retry of the same generation
        table.apply("d#s0", 1, [delta]),  # another consumer on the same item
        table.apply("c#s0", 2, [delta]),
    ]
    item = clients("dynamodb").get_item(
        TableName="aggs", Key={"pk": {"S": "views#/"}, "sk": {"S": "w1"}}, ConsistentRead=True
    )["Item"]
    result = [written, item["count"], item["version"], item["applied"]]
    assert written == [1, 0, 1, 1]
    assert item["count"] == {"N": "6"} and item["version"] == {"N": "3"}
    return result


def item_conditional_put(clients: Clients) -> list[Any]:
    """Conditional puts: attribute_not_exists and a version condition."""
    ddb = clients("dynamodb")
    key = {"pk": {"S": "k"}, "sk": {"S": "s"}}
    seen: list[Any] = []

    def put(version: int, condition: str, values: dict[str, Any] | None = None) -> None:
        kwargs: dict[str, Any] = {"ConditionExpression": condition}
        if values:
            kwargs["ExpressionAttributeNames"] = {"#v": "version"}
            kwargs["ExpressionAttributeValues"] = values
        try:
            ddb.put_item(TableName="aggs", Item={**key, "version": {"N": str(version)}}, **kwargs)
            seen.append("ok")
        except ddb.exceptions.ConditionalCheckFailedException as e:
            seen.append(_code(e))

    put(1, "attribute_not_exists(pk)")
    put(1, "attribute_not_exists(pk)")
    put(2, "#v = :v", {":v": {"N": "7"}})
    put(2, "#v = :v", {":v": {"N": "1"}})
    item = ddb.get_item(TableName="aggs", Key=key, ConsistentRead=True)["Item"]
    seen.append(item["version"])
    assert seen == [
        "ok",
        "ConditionalCheckFailedException",
        "ConditionalCheckFailedException",
        "ok",
        {"N": "2"},
    ]
    return seen


def not_found(clients: Clients) -> list[Any]:
    """Missing items, keys, tables and queues: the same outcome and error codes."""
    seen: list[Any] = [
        clients("dynamodb")
        .get_item(
            TableName="aggs", Key={"pk": {"S": "nope"}, "sk": {"S": "x"}}, ConsistentRead=True
        )
        .get("Item"),
        Ledger("ledger", "c", clients).read("shardId-000000000009"),
    ]
    s3 = clients("s3")
    with pytest.raises(s3.exceptions.NoSuchKey) as key_error:
        s3.get_object(Bucket="objects", Key="missing")
    seen.append(_code(key_error.value))
    with pytest.raises(ClientError) as bucket_error:
        s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"")
    seen.append(_code(bucket_error.value))
    ddb = clients("dynamodb")
    with pytest.raises(ddb.exceptions.ResourceNotFoundException) as table_error:
        ddb.get_item(TableName="no-such-table", Key={"id": {"S": "x"}})
    seen.append(_code(table_error.value))
    assert seen[:2] == [None, LedgerState.new_shard()]
    assert seen[2:] == ["NoSuchKey", "NoSuchBucket", "ResourceNotFoundException"]
    return seen


def s3_overwrite(clients: Clients) -> list[Any]:
    """A put replaces the object; listing is by prefix, in key order."""
    store = S3Objects(clients)
    for body in (b"first", b"second"):
        store.put_objects([ObjectWrite("objects", "raw/b.json", body)])
    store.put_objects([ObjectWrite("objects", "raw/a.json", b"a")])
    store.put_objects([ObjectWrite("objects", "other/c.json", b"c")])
    s3 = clients("s3")
    body = s3.get_object(Bucket="objects", Key="raw/b.json")["Body"].read()
    keys = list_keys(s3, "objects", "raw/")
    assert (body, keys) == (b"second", ["raw/a.json", "raw/b.json"])
    return [body, keys]


def sqs_fifo_dedup(clients: Clients) -> list[Any]:
    """Within the window a deduplication id is delivered once per queue, any group."""
    url = _queue_url(clients)
    queue = SqsQueue(clients)
    sends = [
        ("g1", "d1", "alert one"),
        ("g1", "d1", "alert one again"),  # a retry: deduplicated
        ("g2", "d1", "other group, same id"),  # dedup scope is the queue
        ("g1", "d2", '{"json":true}'),
    ]
    queue.send(MessageWrite(url, body, g, d) for g, d, body in sends)
    got = clients("sqs").receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
    )
    bodies = [m["Body"] for m in got.get("Messages", ())]
    assert bodies == ["alert one", '{"json":true}']
    return bodies


def dynamodb_limits(clients: Clients) -> list[Any]:
    """Numbers outside DynamoDB's range and items over 400 KB are rejected, written never."""
    ddb = clients("dynamodb")
    seen: list[Any] = []
    values = [{"N": n} for n in ("1e-200", "1e130", "1E-130", "9.9E125")]
    for value in [*values, {"S": "x" * 410_000}]:
        try:
            ddb.put_item(TableName="aggs", Item={"pk": {"S": "p"}, "sk": {"S": "s"}, "v": value})
            seen.append("ok")
        except ClientError as e:
            seen.append((_code(e), str(e.response["Error"]["Message"]).split(".")[0]))
    assert [x if x == "ok" else x[0] for x in seen] == [
        "ValidationException",
        "ValidationException",
        "ok",
        "ok",
        "ValidationException",
    ]
    return seen


def update_expressions(clients: Clients) -> list[Any]:
    """SET (with if_not_exists) and REMOVE updates, conditional on the item's state."""
    ddb = clients("dynamodb")
    key = {"id": {"S": "c#s0"}}
    values = {":a": {"N": "1"}, ":s": {"S": "first"}}
    update = "SET a = :a, s = if_not_exists(s, :s)"
    ddb.update_item(
        TableName="ledger",
        Key=key,
        UpdateExpression=update,
        ConditionExpression="attribute_not_exists(a)",
        ExpressionAttributeValues=values,
    )
    values = {":a": {"N": "2"}, ":s": {"S": "second"}, ":one": {"N": "1.0"}}
    ddb.update_item(
        TableName="ledger",
        Key=key,
        UpdateExpression=update + " REMOVE gone",
        ConditionExpression="a = :one",
        ExpressionAttributeValues=values,
    )
    item = ddb.get_item(TableName="ledger", Key=key, ConsistentRead=True)["Item"]
    assert item == {**key, "a": {"N": "2"}, "s": {"S": "first"}}
    return [item]


def aggregate_queries(clients: Clients) -> list[Any]:
    """Query: one partition in sort-key order, each sort-key condition streamkit's
    readers use (and the other forms), newest first, and read_items on top."""
    ddb = clients("dynamodb")
    windows = ["2026-11-24T16:00:00Z", "2026-11-24T16:01:00Z", "2026-11-24T16:01:00Z#1"]
    for pk, sk in [*(("views#/a", w) for w in reversed(windows)), ("views#/b", windows[0])]:
        item = {"pk": {"S": pk}, "sk": {"S": sk}, "aggregate": {"S": "views"}}
        ddb.put_item(TableName="aggs", Item={**item, "key": {"S": pk[6:]}, "count": {"N": "1"}})
    ddb.put_item(TableName="aggs", Item={"pk": {"S": "views#/a"}, "sk": {"S": "all"}})

    def sort_keys(condition: str, **extra: Any) -> list[str]:
        values = {":pk": {"S": "views#/a"}, ":lo": {"S": windows[1]}, ":hi": {"S": "2026-11-25"}}
        used = {k: v for k, v in values.items() if k in condition}
        page = ddb.query(
            TableName="aggs",
            KeyConditionExpression=condition,
            ExpressionAttributeValues=used,
            ConsistentRead=True,
            **extra,
        )
        return [item["sk"]["S"] for item in page["Items"]]

    seen: list[Any] = [
        sort_keys("pk = :pk"),
        sort_keys("pk = :pk AND sk BETWEEN :lo AND :hi"),
        sort_keys("pk = :pk AND sk >= :lo"),
        sort_keys("pk = :pk AND sk < :lo"),
        sort_keys("#p = :pk AND begins_with(sk, :lo)", ExpressionAttributeNames={"#p": "pk"}),
        sort_keys("pk = :pk", ScanIndexForward=False),
    ]
    assert seen == [
        [*windows, "all"],
        windows[1:],
        [*windows[1:], "all"],
        windows[:1],
        windows[1:],
        ["all", *reversed(windows)],
    ]
    read = read_items(ddb, "aggs", "views", "/a", start=1795536060, end=1795536120)
    seen.append([item["sk"] for item in read])
    assert seen[-1] == windows[1:]  # the window at 16:01 and its overflow part
    return seen


SCENARIOS = [
    aggregate_queries,
    update_expressions,
    dynamodb_limits,
    ledger_conditional_writes,
    ledger_large_intent,
    aggregate_version_bump,
    item_conditional_put,
    not_found,
    s3_overwrite,
    sqs_fifo_dedup,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_memory_and_moto_give_the_same_result(
    scenario: Callable[[Clients], list[Any]], local_aws: LocalAWS
) -> None:
    in_memory = scenario(_memory())
    on_moto = scenario(_moto(local_aws))
    assert in_memory == on_moto


# Where moto is laxer than AWS, the in-memory stores follow AWS's documented limits
# (moto accepts both of these): checked here on the memory stores alone.


def test_memory_dynamodb_rejects_a_39_digit_number_like_aws() -> None:
    ddb = _memory()("dynamodb")
    with pytest.raises(ClientError, match="38 significant digits"):
        ddb.put_item(
            TableName="aggs", Item={"pk": {"S": "p"}, "sk": {"S": "s"}, "v": {"N": "1" * 39}}
        )
    assert ddb.scan(TableName="aggs")["Items"] == []


def test_memory_sqs_rejects_characters_sqs_does_not_allow() -> None:
    clients = _memory()
    with pytest.raises(clients("sqs").exceptions.InvalidMessageContents):
        clients("sqs").send_message(
            QueueUrl=_queue_url(clients),
            MessageBody="a\x00b",
            MessageGroupId="g",
            MessageDeduplicationId="d",
        )
    assert clients("sqs").messages(_queue_url(clients)) == []


def test_memory_sqs_deduplicates_for_five_minutes_only() -> None:
    now = [1_000.0]
    mem = MemoryAWS(clock=lambda: now[0])
    url = mem.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    message = MessageWrite(url, "x", group_id="g", dedup_id="d")
    mem.sqs.send([message])
    now[0] += 299.0
    mem.sqs.send([message])  # within the window: accepted, not delivered again
    now[0] += 2.0
    mem.sqs.send([message])  # 301 s after the first: a new message
    assert [m.sent_at for m in mem.sqs.messages(url)] == [1_000.0, 1_301.0]


@pytest.mark.parametrize(
    "extra",
    [{"Limit": 1}, {"ExclusiveStartKey": {"pk": {"S": "p"}, "sk": {"S": "s"}}},
     {"FilterExpression": "attribute_exists(v)"}, {"IndexName": "by-key"}],
    ids=lambda e: next(iter(e)),
)  # fmt: skip
def test_memory_dynamodb_query_refuses_what_it_does_not_implement(extra: dict[str, Any]) -> None:
    """A query option that would change the answer is refused loudly (a BaseException
    no ``except Exception`` swallows), never ignored into a plausible wrong page."""
    ddb = _memory()("dynamodb")
    ddb.put_item(TableName="aggs", Item={"pk": {"S": "p"}, "sk": {"S": "s"}})
    values = {":p": {"S": "p"}}
    with pytest.raises(UnsupportedExpression, match=next(iter(extra))):
        ddb.query(
            TableName="aggs", KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=values, **extra,
        )  # fmt: skip
    page = ddb.query(TableName="aggs", KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues=values, ConsistentRead=True)  # fmt: skip
    assert page["Count"] == 1
