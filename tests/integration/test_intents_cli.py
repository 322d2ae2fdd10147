"""Pending intents that cannot be applied, and `streamkit intents`, against the local endpoint.

A pending intent whose table was deleted blocks its shard loudly (ERROR log line and
``PendingIntentBlocked`` metric naming the ledger id, generation and cause), never
silently; `streamkit intents list|show|resolve` inspects it and settles it on purpose.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import orjson
import pytest

from streamkit.ledger import LedgerState
from streamkit.local.aws import DynamoDbTable, LocalAWS, S3Bucket
from streamkit.local.faults import SimulatedCrash
from streamkit.local.writefaults import WriteFaults
from streamkit.pipeline import Aggregate, Archive, Pipeline
from streamkit.sinks.s3 import read_archive
from streamkit.testing import FakeContext, kinesis_event

pytestmark = pytest.mark.integration

SHARD = "shardId-000000000000"


@pytest.fixture
def stores(aws: LocalAWS) -> Any:
    for r in (
        DynamoDbTable.ledger("ledger"),
        DynamoDbTable.aggregates("aggs"),
        S3Bucket("archive-bucket"),
        S3Bucket("dlq-bucket"),
    ):
        r.create(aws.clients)
    return aws.clients


def pipeline(clients: Any, *, metrics: bool = False) -> Pipeline:
    return Pipeline(
        "clicks",
        event_time=lambda d, r: d["ts"],
        aggregates=[Aggregate("views", key=lambda d: d["page"], window_s=60)],
        table="aggs",
        archive=Archive("archive-bucket", "raw"),
        dead_letter_bucket="dlq-bucket",
        ledger_table="ledger",
        clients=clients,
        metrics=metrics,
    )


def docs(n: int, start: int = 0) -> list[bytes]:
    return [orjson.dumps({"page": f"/p{i % 2}", "ts": 1_764_000_000 + i}) for i in range(start, n)]


def run_logged(p: Pipeline, event: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    """Run ``p`` on ``event``; the result and the JSON lines it printed (logs, EMF)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = p.run(event, FakeContext(60_000))
    return result, [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def pending_intent(clients: Any, events: list[dict[str, Any]]) -> Pipeline:
    """Leave the first event's intent pending (a crash right after the intent write)."""
    p = pipeline(clients)
    faults = WriteFaults({1: "crash_after"})  # write 1: the ledger's intent write
    faults.attach(clients("dynamodb"), clients("s3"))
    try:
        with pytest.raises(SimulatedCrash), contextlib.redirect_stdout(io.StringIO()):
            p.run(events[0], FakeContext(60_000))
    finally:
        faults.detach()
    assert p.ledger.read(SHARD).intent is not None
    return p


def test_an_intent_whose_table_was_deleted_blocks_the_shard_loudly(stores: Any) -> None:
    first = kinesis_event(docs(4))
    later = kinesis_event(docs(6, start=4), first_sequence=7 * 10**55)
    p = pending_intent(stores, [first])
    stores("dynamodb").delete_table(TableName="aggs")
    p = pipeline(stores, metrics=True)

    result, lines = run_logged(p, later)

    state = p.ledger.read(SHARD)
    assert state.intent is not None and state.intent.generation == 1  # still pending
    assert state.position is None  # nothing committed past it
    errors = [line for line in lines if line.get("level") == "ERROR"]
    assert len(errors) == 1
    blocked = errors[0]["intent"]
    assert blocked["ledger_id"] == f"clicks#{SHARD}"
    assert blocked["generation"] == 1
    assert blocked["cause"].startswith("ResourceNotFoundException")
    metrics = [line for line in lines if "_aws" in line and "PendingIntentBlocked" in line]
    assert len(metrics) == 1  # once per invocation
    assert metrics[0]["PendingIntentBlocked"] == [1.0]
    assert metrics[0]["ledger_id"] == f"clicks#{SHARD}" and metrics[0]["generation"] == 1
    # The later records are not processed: Lambda retries them from the first one
    # (the intent's own records are the ledger's, so they are never in a retry).
    seqs = [r["kinesis"]["sequenceNumber"] for r in later["Records"]]
    assert result.response == {"batchItemFailures": [{"itemIdentifier": seqs[0]}]}
    assert read_archive(stores("s3"), "archive-bucket", "raw") == []


def test_a_redelivery_of_the_intents_own_records_is_not_retried(stores: Any) -> None:
    """Lambda must never discard records an intent holds: it gets success for them."""
    first = kinesis_event(docs(4))
    p = pending_intent(stores, [first])
    stores("dynamodb").delete_table(TableName="aggs")
    result, lines = run_logged(p, first)
    assert result.response == {"batchItemFailures": []}
    assert [line["intent"]["generation"] for line in lines if line.get("level") == "ERROR"] == [1]
    assert p.ledger.read(SHARD).intent is not None


def test_a_failed_apply_leaves_the_intent_pending_and_the_next_batch_rolls_it_forward(
    stores: Any,
) -> None:
    first = kinesis_event(docs(4))
    later = kinesis_event(docs(6, start=4), first_sequence=7 * 10**55)
    p = pipeline(stores)
    faults = WriteFaults({2: "throttle"})  # write 2: the aggregate update
    faults.attach(stores("dynamodb"), stores("s3"))
    try:
        result, _ = run_logged(p, first)
    finally:
        faults.detach()
    assert faults.fired and result.response == {"batchItemFailures": []}
    assert p.ledger.read(SHARD).intent is not None
    second, _ = run_logged(p, later)
    assert second.rolled_forward and second.response == {"batchItemFailures": []}
    state: LedgerState = p.ledger.read(SHARD)
    assert state.intent is None and state.generation == 2
    items = stores("dynamodb").scan(TableName="aggs")["Items"]
    assert sum(int(i["count"]["N"]) for i in items) == 6
