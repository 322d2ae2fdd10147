"""Where the ledger keeps an intent: inline in its item, or in the intent bucket.

Cost (issue 13): a ledger write costs one write unit per started KB of the whole item,
and an inline intent is paid twice (the intent write and the commit, which DynamoDB
charges at the larger of the item before and after). With an intent bucket, intents
above BUCKET_INLINE_LIMIT go to S3 (one PUT); without one, up to INLINE_LIMIT inline.
"""

from __future__ import annotations

import os

import pytest

from streamkit.ledger import BUCKET_INLINE_LIMIT, INLINE_LIMIT, Intent, Ledger
from streamkit.testing.memory import MemoryAWS
from streamkit.writes import ObjectWrite

SHARD = "shardId-000000000000"


def intent_of(size: int) -> Intent:
    body = os.urandom(size)  # incompressible: the gzip intent is about this size
    obj = ObjectWrite("archive", "raw/a.jsonl.gz", body, "application/gzip")
    return Intent("c", SHARD, 1, (1, 0), (2, 0), None, objects=[obj])


def stored(bucket: str | None, size: int, **kwargs: int) -> str:
    aws = MemoryAWS()
    aws.dynamodb.create_table("ledger", ("id",))
    aws.s3.create_bucket(Bucket="intents")
    ledger = Ledger("ledger", "c", aws.clients, intent_bucket=bucket, **kwargs)
    intent = intent_of(size)
    ledger.write_intent(ledger.read(SHARD), intent)
    assert ledger.read(SHARD).intent == intent  # read back whole, wherever it is
    item = aws.dynamodb.get_item(TableName="ledger", Key={"id": {"S": f"c#{SHARD}"}})["Item"]
    return "s3" if "intent_s3" in item else "inline"


@pytest.mark.parametrize(
    ("bucket", "size", "where"),
    [
        ("intents", 1_000, "inline"),
        ("intents", BUCKET_INLINE_LIMIT + 1_000, "s3"),  # cheaper as one PUT
        (None, BUCKET_INLINE_LIMIT + 1_000, "inline"),  # no bucket: inline up to 300 KB
        (None, INLINE_LIMIT - 10_000, "inline"),
    ],
)
def test_where_an_intent_is_kept(bucket: str | None, size: int, where: str) -> None:
    assert stored(bucket, size) == where


def test_the_inline_limit_can_be_chosen_but_not_above_the_item_limit() -> None:
    assert stored("intents", 20_000, inline_limit=50_000) == "inline"
    aws = MemoryAWS()
    assert Ledger("l", "c", aws.clients, inline_limit=10**9).inline_limit == INLINE_LIMIT


def test_a_record_whose_writes_alone_exceed_the_inline_limit_is_dead_lettered() -> None:
    """No bucket for intents (no dead-letter bucket, no archive): a record whose
    aggregate deltas alone make an intent over INLINE_LIMIT could never be committed,
    so it is dead-lettered ``too_large`` and the shard goes on (it used to fail
    write_intent on every retry and block the shard)."""
    import random
    import string

    import orjson

    from streamkit.pipeline import Aggregate, Pipeline
    from streamkit.testing import kinesis_event

    aws = MemoryAWS()
    aws.dynamodb.create_table("ledger", ("id",))
    aws.dynamodb.create_table("aggs", ("pk", "sk"))
    rnd = random.Random(5)
    # Eight aggregates keep the record's 60 KB random text as their last value: the
    # one record's intent is ~8 x 45 KB gzip, over the 300 KB inline limit.
    aggregates = [
        Aggregate(f"a{i}", key=lambda d: d["k"], last=lambda d: d.get("blob")) for i in range(8)
    ]
    pipeline = Pipeline(
        "c", aggregates=aggregates, table="aggs", ledger_table="ledger", clients=aws.clients,
        metrics=False,
    )  # fmt: skip
    blob = "".join(rnd.choices(string.ascii_letters + string.digits, k=60_000))
    event = kinesis_event(
        [orjson.dumps({"k": "small"}), orjson.dumps({"k": "big", "blob": blob}),
         orjson.dumps({"k": "small"})]
    )  # fmt: skip
    results = [pipeline.run(event) for _ in range(3)]  # the retries Lambda would make
    first = results[0]
    assert first.succeeded == 1 and first.retried == 2  # halved until the big one alone
    letters = [d for r in results for d in r.dead_letters]
    assert [d.reason for d in letters] == ["too_large"], letters
    assert "inline limit" in letters[0].error
    assert results[-1].response == {"batchItemFailures": []}
    assert sum(r.succeeded for r in results) == 2
