"""Pending intents that cannot be applied, and `streamkit intents`, against the local endpoint.

A pending intent whose table was deleted blocks its shard loudly (ERROR log line and
``PendingIntentBlocked`` metric naming the ledger id, generation and cause), never
silently; `streamkit intents list|show|resolve` inspects it and settles it on purpose.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.ledger import LedgerState
from streamkit.local.aws import DynamoDbTable, LocalAWS, provision
from streamkit.local.cli import main
from streamkit.local.config import load_consumers
from streamkit.local.dlq.store import DeadLetterStore
from streamkit.local.events import kinesis_record
from streamkit.local.faults import SimulatedCrash
from streamkit.local.generators.clickstream import clickstream
from streamkit.local.recover.consumer import Consumer, open_consumer
from streamkit.local.writefaults import WriteFaults
from streamkit.pipeline import Aggregate, Archive, Pipeline
from streamkit.plan import BatchPlan
from streamkit.sinks.s3 import read_archive
from streamkit.testing import FakeContext, kinesis_event

pytestmark = pytest.mark.integration

SHARD = "shardId-000000000000"


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


# ---------------------------------------------------------- streamkit intents (CLI)

CONSUMER = "clickstream"
REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "infra" / "consumers.json")


@dataclass
class Blocked:
    """A clickstream shard blocked by a pending intent whose aggregate table is gone."""

    consumer: Consumer
    records: list[dict[str, Any]]
    plan: BatchPlan

    @property
    def ledger_id(self) -> str:
        return f"{CONSUMER}#{self.records[0]['eventID'].split(':')[0]}"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def shard_records(consumer: Consumer, shard_id: str) -> list[dict[str, Any]]:
    """Every record of the shard, shaped as Lambda delivers it."""
    kinesis = consumer.kinesis
    it = kinesis.get_shard_iterator(
        StreamName=consumer.stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    page = kinesis.get_records(ShardIterator=it, Limit=10_000)
    return [
        kinesis_record(
            bytes(r["Data"]),
            r["SequenceNumber"],
            partition_key=r["PartitionKey"],
            shard_id=shard_id,
            arrival=round(float(r["ApproximateArrivalTimestamp"]), 3),
            stream_arn=consumer.stream_arn,
        )
        for r in page["Records"]
    ]


@pytest.fixture
def blocked(aws: LocalAWS) -> Blocked:
    provision(load_consumers(CONFIG), aws.clients)
    consumer = open_consumer(CONSUMER, CONFIG)
    start = time.time() - 60
    traffic = list(clickstream(seed=3, rate=30, duration=4, start=start, malformed=0.1, late=0))
    kinesis = consumer.kinesis
    shard = kinesis.list_shards(StreamName=consumer.stream)["Shards"][0]
    for r in traffic:  # all on the first shard
        kinesis.put_record(
            StreamName=consumer.stream,
            PartitionKey=r.partition_key,
            Data=r.data,
            ExplicitHashKey=shard["HashKeyRange"]["StartingHashKey"],
        )
    records = shard_records(consumer, shard["ShardId"])
    pipeline = consumer.pipeline
    plan = pipeline.plan(records, LedgerState.new_shard())
    # The ledger's intent write (its first DynamoDB write; a large intent's S3 object is
    # written before it) lands, then a crash.
    faults = WriteFaults({1: "crash_after"})
    faults.attach(pipeline.clients("dynamodb"))
    try:
        with pytest.raises(SimulatedCrash), contextlib.redirect_stdout(io.StringIO()):
            pipeline.run({"Records": records}, FakeContext(60_000))
    finally:
        faults.detach()
    aws.clients("dynamodb").delete_table(TableName="clickstream-aggregates")
    return Blocked(consumer, records, plan)


def test_intents_list_and_show_name_the_pending_intent(
    blocked: Blocked, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(
        capsys, "intents", "list", "--consumer", CONSUMER, "--config", CONFIG, "--json"
    )
    assert code == 0
    doc = json.loads(out)  # exactly one JSON document
    assert doc["consumer"] == CONSUMER
    [pending] = doc["pending"]
    planned = blocked.plan.intent
    assert planned is not None
    assert pending["ledger_id"] == blocked.ledger_id
    assert pending["generation"] == 1
    assert pending["stream"] == "clickstream"
    assert pending["records"] == len(blocked.records) == planned.record_count
    assert pending["writes"]["aggregate_items"] == len(planned.aggregates) > 0
    assert pending["writes"]["objects"]["streamkit-clickstream-archive"] >= 1
    assert pending["size_bytes"] > 0 and pending["age_s"] is not None
    assert pending["start"]["sequence"] == blocked.records[0]["kinesis"]["sequenceNumber"]

    code, out, _ = cli(capsys, "intents", "list", "--consumer", CONSUMER, "--config", CONFIG)
    assert code == 0 and blocked.ledger_id in out and "1 pending intent" in out

    code, out, _ = cli(
        capsys,
        "intents",
        "show",
        blocked.ledger_id,
        "--consumer",
        CONSUMER,
        "--config",
        CONFIG,
        "--json",
    )
    assert code == 0
    shown = json.loads(out)
    assert {(a["pk"], a["sk"]) for a in shown["aggregates"]} == {
        (a.pk, a.sk) for a in planned.aggregates
    }


def test_intents_resolve_reapply_fails_loudly_then_rolls_forward_once_fixed(
    blocked: Blocked, aws: LocalAWS, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--consumer", CONSUMER, "--config", CONFIG)
    code, _, err = cli(capsys, "intents", "resolve", blocked.ledger_id, "--reapply", *args)
    assert code == 1 and "still cannot be applied" in err and "ResourceNotFound" in err
    DynamoDbTable.aggregates("clickstream-aggregates").create(aws.clients)
    code, out, _ = cli(
        capsys,
        "intents",
        "resolve",
        blocked.ledger_id,
        "--reapply",
        "--generation",
        "1",
        *args,
        "--json",
    )
    assert code == 0 and json.loads(out)["action"] == "reapplied"
    state = blocked.consumer.pipeline.ledger.read(blocked.ledger_id.split("#", 1)[1])
    assert state.intent is None and state.generation == 1
    items = aws.clients("dynamodb").scan(TableName="clickstream-aggregates")["Items"]
    assert len(items) == len(blocked.plan.intent.aggregates)  # type: ignore[union-attr]
    code, _, err = cli(capsys, "intents", "resolve", blocked.ledger_id, "--reapply", *args)
    assert code == 2 and "no pending intent" in err  # nothing left to resolve


def test_intents_resolve_dead_letter_keeps_every_record_and_commits_past_it(
    blocked: Blocked, aws: LocalAWS, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--consumer", CONSUMER, "--config", CONFIG)
    code, _, err = cli(
        capsys, "intents", "resolve", blocked.ledger_id, "--dead-letter", "--generation", "2", *args
    )
    assert code == 2 and "generation 1, not 2" in err
    code, out, _ = cli(
        capsys, "intents", "resolve", blocked.ledger_id, "--dead-letter", *args, "--json"
    )
    assert code == 0
    doc = json.loads(out)
    planned_reasons = Counter(d.reason for d in blocked.plan.dead_letters)
    assert doc["dead_letters"] == len(blocked.records)
    assert doc["dead_letter_reasons"] == {
        "unappliable_intent": len(blocked.records) - sum(planned_reasons.values()),
        **planned_reasons,
    }
    store = DeadLetterStore("streamkit-clickstream-dlq", aws.clients)
    stored = Counter(e.reason for e in store.entries(CONSUMER))
    assert sum(stored.values()) == len(blocked.records)
    assert stored["unappliable_intent"] == len(blocked.records) - sum(planned_reasons.values())
    state = blocked.consumer.pipeline.ledger.read(blocked.ledger_id.split("#", 1)[1])
    last = blocked.records[-1]["kinesis"]["sequenceNumber"]
    assert state.intent is None and state.position is not None
    assert state.position[0] == int(last)
    # Nothing else of the intent was written: no archive object.
    assert read_archive(aws.clients("s3"), "streamkit-clickstream-archive", "clickstream") == []
    code, out, _ = cli(capsys, "intents", "list", *args, "--json")
    assert code == 0 and json.loads(out)["pending"] == []


def test_intents_commands_explain_bad_input(
    aws: LocalAWS, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "intents", "list", "--consumer", "nope", "--config", CONFIG)
    assert code == 2 and "'nope' is not in the config" in err and "clickstream" in err
    with pytest.raises(SystemExit) as exit_info:
        cli(capsys, "intents", "resolve", "x", "--consumer", CONSUMER)  # no --reapply/--dead-letter
    assert exit_info.value.code == 2
    for action in ("list", "show", "resolve"):
        with pytest.raises(SystemExit) as exit_info:
            cli(capsys, "intents", action, "--help")
        assert exit_info.value.code == 0
