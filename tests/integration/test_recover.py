"""`streamkit recover` end to end: an outage longer than the shipped retries, then recovery.

Both consumers run with their real settings from infra/consumers.json
(``MaximumRetryAttempts`` 5, bisect, record age, on-failure destination: SQS for
clickstream, S3 for iot; smaller batches, see ``OUTAGE_BATCHING``) through the ESM
simulator against the embedded endpoint.
Every AWS write of the pipeline is throttled (``WriteFaults``) during a stretch of
invocations longer than the retries, so Lambda discards batches to the destination
while the shards' later records commit. `streamkit recover` must then bring the
effects to exactly what processing each record once gives (the planner over each
whole shard), and a second recovery must change nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from boto3.dynamodb.types import TypeDeserializer

from streamkit.aggregate import merge, stats_from_item
from streamkit.ledger import LedgerState
from streamkit.local.aws import LocalAWS, provision
from streamkit.local.cli import main
from streamkit.local.clock import VirtualClock
from streamkit.local.config import load_consumers
from streamkit.local.destinations import DestinationSender
from streamkit.local.esm import EventSourceMapping
from streamkit.local.events import kinesis_record
from streamkit.local.faults import SimulatedCrash
from streamkit.local.generators.clickstream import clickstream
from streamkit.local.generators.iot import iot
from streamkit.local.recover.consumer import Consumer, open_consumer
from streamkit.local.run.reference import comparable
from streamkit.local.writefaults import WriteFaults
from streamkit.sinks.s3 import read_archive

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "infra" / "consumers.json")
#: The outage: every pipeline write fails from this invocation on, for this many
#: invocations per shard (more than MaximumRetryAttempts + 1 = 6, so whole batches are
#: discarded; the simulator invokes the shards in turn).
OUTAGE_FROM, OUTAGE_PER_SHARD = 3, 7

#: (BatchSize, MaximumBatchingWindowInSeconds) of the outage runs. The shipped ones
#: (10000, 60 s: batching for write cost) make six seconds of traffic one batch per
#: shard, and the outage needs more invocations per shard than the retries; so the
#: batches here are the smaller ones the consumers shipped with before. Everything
#: else (retries, bisect, record age, destination) stays the shipped settings.
OUTAGE_BATCHING = {"clickstream": (500, 1), "iot": (200, 2)}


class Outage:
    """Throttle every AWS write of the pipeline during a stretch of invocations.

    ``spared`` writes of the first invocation still land: with 1, its intent is
    written and applying it fails, so the outage leaves an intent pending.
    """

    def __init__(
        self, clients: Callable[[str], Any], first: int, count: int, spared: int = 0
    ) -> None:
        self.faults = WriteFaults({})
        self.faults.attach(*(clients(s) for s in ("dynamodb", "s3", "sqs")))
        self.first, self.last = first, first + count - 1
        self.spared = spared
        self.invocations = 0

    def before_invocation(self) -> None:
        self.invocations += 1
        self.faults.schedule.clear()
        if self.first <= self.invocations <= self.last:
            # The next writes, however many this invocation makes, are throttled.
            n = self.faults.writes + (self.spared if self.invocations == self.first else 0)
            self.faults.schedule.update({n + i: "throttle" for i in range(1, 10_000)})


def put_traffic(consumer: Consumer, name: str, *, rate: float | None = None) -> None:
    """Six seconds of the consumer's traffic: several batches per shard by default."""
    start = time.time() - 120
    if name == "clickstream":
        traffic = clickstream(seed=11, rate=rate or 700, duration=6, start=start, late=0)
    else:
        traffic = iot(seed=11, rate=rate or 600, duration=6, start=start, devices=40, late=0)
    entries = [{"PartitionKey": r.partition_key, "Data": r.data} for r in traffic]
    for i in range(0, len(entries), 500):
        failed = consumer.kinesis.put_records(
            StreamName=consumer.stream, Records=entries[i : i + 500]
        )["FailedRecordCount"]
        assert failed == 0


def shard_records(consumer: Consumer) -> dict[str, list[dict[str, Any]]]:
    """Every record of every shard, shaped as Lambda delivers it (the reference's input)."""
    kinesis = consumer.kinesis
    out: dict[str, list[dict[str, Any]]] = {}
    for shard in kinesis.list_shards(StreamName=consumer.stream)["Shards"]:
        sid = shard["ShardId"]
        it = kinesis.get_shard_iterator(
            StreamName=consumer.stream, ShardId=sid, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records: list[dict[str, Any]] = []
        while it:
            page = kinesis.get_records(ShardIterator=it, Limit=10_000)
            if not page["Records"]:
                break
            records += [
                kinesis_record(
                    bytes(r["Data"]),
                    r["SequenceNumber"],
                    partition_key=r["PartitionKey"],
                    shard_id=sid,
                    arrival=round(float(r["ApproximateArrivalTimestamp"]), 3),
                    stream_arn=consumer.stream_arn,
                )
                for r in page["Records"]
            ]
            it = page.get("NextShardIterator")
        out[sid] = records
    return out


def reference(consumer: Consumer) -> dict[str, Any]:
    """What processing each record exactly once writes (the planner over each whole shard)."""
    aggregates: dict[tuple[str, str], Any] = {}
    archive: Counter[bytes] = Counter()
    dead_letters: dict[str, str] = {}
    alerts: Counter[str] = Counter()
    pipeline = consumer.pipeline
    for records in shard_records(consumer).values():
        plan = pipeline.plan(records, LedgerState.new_shard())
        intent = plan.intent
        assert intent is not None
        for delta in intent.aggregates:
            key = (delta.pk, delta.sk)
            stats = stats_from_item(delta.stats)
            aggregates[key] = merge(aggregates[key], stats) if key in aggregates else stats
        for letter in plan.dead_letters:
            r = letter.record
            dead_letters[f"{r.shard_id}/{r.sequence_number}-{r.sub_sequence_number}"] = (
                letter.reason
            )
        alerts.update(m.dedup_id for m in intent.messages)
    if pipeline.archive is not None:
        for records in shard_records(consumer).values():
            for obj in pipeline.plan(records, LedgerState.new_shard()).intent.objects:  # type: ignore[union-attr]
                if obj.bucket == pipeline.archive.bucket:
                    archive.update(_lines(obj.body))
    return {
        "aggregates": {k: comparable(v) for k, v in aggregates.items()},
        "archive": archive,
        "dead_letters": dead_letters,
        "alerts": alerts,
    }


def effects(consumer: Consumer, alerts: Counter[str]) -> dict[str, Any]:
    """What the consumer's stores hold now (alerts: every message received so far)."""
    clients = consumer.clients
    pipeline = consumer.pipeline
    aggregates: dict[tuple[str, str], Any] = {}
    assert pipeline.table is not None
    paginator = clients("dynamodb").get_paginator("scan")
    for page in paginator.paginate(TableName=pipeline.table, ConsistentRead=True):
        for raw in page["Items"]:
            item = {k: TypeDeserializer().deserialize(v) for k, v in raw.items()}
            # An overflow item (a delta that could not merge exactly) adds to its key.
            key = (item["pk"], item["sk"].split("#overflow#")[0])
            stats = stats_from_item(item)
            aggregates[key] = merge(aggregates[key], stats) if key in aggregates else stats
    archive: Counter[bytes] = Counter()
    if pipeline.archive is not None:
        archive.update(
            orjson.dumps(d, option=orjson.OPT_SORT_KEYS)
            for d in read_archive(clients("s3"), pipeline.archive.bucket, pipeline.archive.prefix)
        )
    dead_letters = {}
    assert pipeline.dead_letter_bucket is not None
    s3 = clients("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=pipeline.dead_letter_bucket, Prefix="dlq/"
    ):  # (intents over the inline limit share the bucket, under streamkit/intents/)
        for obj in page.get("Contents", []):
            doc = orjson.loads(
                s3.get_object(Bucket=pipeline.dead_letter_bucket, Key=obj["Key"])["Body"].read()
            )
            key = f"{doc['shardId']}/{doc['sequenceNumber']}-{doc['subSequenceNumber']}"
            dead_letters[key] = doc["reason"]
    return {
        "aggregates": {k: comparable(v) for k, v in aggregates.items()},
        "archive": archive,
        "dead_letters": dead_letters,
        "alerts": alerts,
    }


def drain_alerts(consumer: Consumer, seen: Counter[str]) -> Counter[str]:
    """Receive (and delete) every alert delivered since the last call; add its dedup id."""
    queue = consumer.env.get("STREAMKIT_ALERTS_QUEUE_URL")
    if queue is None:
        return seen
    sqs = consumer.clients("sqs")
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return seen
        for m in messages:
            seen[m["Attributes"]["MessageDeduplicationId"]] += 1
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


def _lines(body: bytes) -> list[bytes]:
    import gzip

    text = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
    return [
        orjson.dumps(orjson.loads(line), option=orjson.OPT_SORT_KEYS)
        for line in text.splitlines()
        if line.strip()
    ]


def run_with_outage(
    aws: LocalAWS,
    consumer: Consumer,
    *,
    first: int = OUTAGE_FROM,
    count: int | None = None,
    spared: int = 0,
    rolled_forward: list[bool] | None = None,
) -> Any:
    """The consumer's real ESM settings over its stream, with the outage.

    ``rolled_forward`` collects, per invocation, whether it rolled a pending intent forward.
    """
    batch_size, window_s = OUTAGE_BATCHING[consumer.name]
    settings = dataclasses.replace(
        consumer.config.esm, batch_size=batch_size, maximum_batching_window_in_seconds=window_s
    )
    ref = settings.on_failure
    assert ref is not None  # the shipped settings name one
    target = (
        aws.clients("sqs").get_queue_url(QueueName=ref.name)["QueueUrl"]
        if ref.type == "sqs"
        else ref.name
    )
    shards = consumer.config.stream.shard_count
    outage = Outage(consumer.pipeline.clients, first, count or OUTAGE_PER_SHARD * shards, spared)

    def invoke(event: dict[str, Any], context: Any) -> Any:
        outage.before_invocation()
        with contextlib.redirect_stdout(io.StringIO()):
            result = consumer.pipeline.run(event, context)
        if rolled_forward is not None:
            rolled_forward.append(result.rolled_forward)
        return result.response

    esm = EventSourceMapping(
        invoke,
        settings,
        consumer.kinesis,
        consumer.stream,
        function_name=consumer.name,
        function_timeout_s=float(consumer.config.function.timeout_seconds),
        memory_mb=consumer.config.function.memory_mb,
        region=aws.region,
        clock=VirtualClock(start=time.time()),
        destination=DestinationSender(ref.type, target, aws.clients, str(uuid.uuid4())),
        stuck_after=1_000,
    )
    try:
        stats = esm.run()
    finally:
        outage.faults.detach()
    assert outage.faults.fired, "the outage never hit a write"
    return stats


def recover_cli(
    capsys: pytest.CaptureFixture[str], name: str, *extra: str, config: str = CONFIG
) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["recover", "--consumer", name, "--config", config, "--json", *extra])
    out, err = capsys.readouterr()
    doc: dict[str, Any] = json.loads(out)  # exactly one JSON document on stdout
    assert code == (0 if doc["ok"] else 1), err
    return doc


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("clickstream", id="clickstream-sqs-destination"),
        pytest.param("iot", id="iot-s3-destination-with-alerts"),
    ],
)
def test_an_outage_longer_than_the_retries_is_recovered_exactly_once(
    aws: LocalAWS, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    provision(load_consumers(CONFIG), aws.clients)
    consumer = open_consumer(name, CONFIG)
    put_traffic(consumer, name)
    expected = reference(consumer)
    assert expected["dead_letters"] and (expected["archive"] or expected["alerts"])

    stats = run_with_outage(aws, consumer)
    assert stats.records_discarded > 0  # Lambda gave up on whole batches
    alerts = drain_alerts(consumer, Counter())
    before = effects(consumer, alerts)
    assert before["aggregates"] != expected["aggregates"]  # the outage lost records...

    first = recover_cli(capsys, name, "--keep-messages")
    assert first["ok"], first
    assert first["ranges"].get("recovered", 0) >= 1
    assert first["records"]["succeeded"] + first["records"]["dead_lettered"] > 0
    for done in first["range_details"]:  # the shard's ledger had moved past each range
        position = consumer.pipeline.ledger.read(done["shard_id"]).position
        assert position is not None and position[0] > int(done["end"])
    alerts = drain_alerts(consumer, alerts)
    after = effects(consumer, alerts)
    # ... and recovery brings every effect to exactly-once.
    assert after["aggregates"] == expected["aggregates"]
    assert after["archive"] == expected["archive"]
    assert after["dead_letters"] == expected["dead_letters"]
    assert after["alerts"] == expected["alerts"]

    second = recover_cli(capsys, name)  # the same ranges again: all already recovered
    assert second["ok"]
    assert set(second["ranges"]) == {"already_recovered"}
    assert second["records"]["succeeded"] == second["records"]["dead_lettered"] == 0
    assert effects(consumer, drain_alerts(consumer, alerts)) == after
    if consumer.config.esm.on_failure.type == "sqs":  # type: ignore[union-attr]
        # The second run deleted the recovered ranges' messages: a third finds none.
        third = recover_cli(capsys, name)
        assert third["ok"] and third["ranges"] == {} and third["records"]["read"] == 0


def test_an_intent_left_pending_by_the_outage_is_applied_once_not_recovered_again(
    aws: LocalAWS, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The outage starts between an intent's write and its apply. The intent's records
    are the ledger's: Lambda must not discard them too (recovering them would count them
    twice); only the later batches it gave up on come back through recover."""
    doc = json.loads(Path(CONFIG).read_text())
    doc.pop("$schema", None)
    doc["consumers"] = {"clickstream": doc["consumers"]["clickstream"]}
    doc["consumers"]["clickstream"]["stream"]["shard_count"] = 1  # one shard: one order
    config = tmp_path / "consumers.json"
    config.write_text(json.dumps(doc))
    provision(load_consumers(str(config)), aws.clients)
    consumer = open_consumer("clickstream", str(config))
    put_traffic(consumer, "clickstream", rate=400)  # 2,400 records: 5 batches of 500
    expected = reference(consumer)

    rolled: list[bool] = []
    # Invocation 2 writes its intent (a batch's archive body puts it over the inline
    # limit: its S3 object, then the ledger item), then every write fails for 7
    # invocations: more than the 6 attempts Lambda makes of a batch.
    stats = run_with_outage(aws, consumer, first=2, count=7, spared=2, rolled_forward=rolled)
    assert stats.records_discarded > 0 and any(rolled)  # the pending intent was applied
    result = recover_cli(capsys, "clickstream", config=str(config))
    assert result["ok"] and result["ranges"]["recovered"] >= 1
    after = effects(consumer, Counter())
    assert after["aggregates"] == expected["aggregates"]
    assert after["archive"] == expected["archive"]
    assert after["dead_letters"] == expected["dead_letters"]


def test_a_range_the_stream_no_longer_holds_is_reported_not_guessed(
    aws: LocalAWS, capsys: pytest.CaptureFixture[str]
) -> None:
    provision(load_consumers(CONFIG), aws.clients)
    consumer = open_consumer("clickstream", CONFIG)
    shard = consumer.kinesis.list_shards(StreamName=consumer.stream)["Shards"][0]
    first = int(shard["SequenceNumberRange"]["StartingSequenceNumber"])
    # A discarded range whose records are gone (retention expired before recovery).
    doc = {
        "requestContext": {"condition": "RetryAttemptsExhausted"},
        "version": "1.0",
        "timestamp": "2026-12-01T00:00:00.000Z",
        "KinesisBatchInfo": {
            "shardId": shard["ShardId"],
            "startSequenceNumber": str(first + 10),
            "endSequenceNumber": str(first + 20),
            "batchSize": 3,
            "streamArn": consumer.stream_arn,
        },
    }
    queue = aws.clients("sqs").get_queue_url(QueueName="clickstream-failures")["QueueUrl"]
    aws.clients("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps(doc))
    result = recover_cli(capsys, "clickstream")
    assert not result["ok"] and result["ranges"] == {"trimmed": 1}
    [detail] = result["range_details"]
    assert detail["status"] == "trimmed" and str(first + 10) in detail["detail"]
    # The message stays for a later look (it is not deleted on failure) ...
    capsys.readouterr()
    code = main(["recover", "--consumer", "clickstream", "--config", CONFIG, "--logs", "-"])
    out, _ = capsys.readouterr()
    # ... and the text summary says what is wrong.
    assert code == 1 and "1 trimmed" in out and "NOT everything was recovered" in out
    assert f"trimmed: {shard['ShardId']} {first + 10}..{first + 20}" in out


def test_a_pending_intent_of_a_closed_shard_is_rolled_forward(
    aws: LocalAWS, capsys: pytest.CaptureFixture[str]
) -> None:
    """After resharding no invocation of the parent shard will ever come: recover rolls
    its pending intent forward (an open shard's is left to its next invocation)."""
    provision(load_consumers(CONFIG), aws.clients)
    consumer = open_consumer("clickstream", CONFIG)
    put_traffic(consumer, "clickstream", rate=120)
    records = shard_records(consumer)
    parent, other = sorted(records)
    pipeline = consumer.pipeline
    for shard in (parent, other):  # both shards: an intent written, then a crash
        faults = WriteFaults({1: "crash_after"})  # the ledger's intent write (after
        faults.attach(pipeline.clients("dynamodb"))  # a large intent's S3 object)
        try:
            with pytest.raises(SimulatedCrash), contextlib.redirect_stdout(io.StringIO()):
                pipeline.run({"Records": records[shard][:300]}, None)
        finally:
            faults.detach()
    kinesis = consumer.kinesis
    info = next(
        s
        for s in kinesis.list_shards(StreamName=consumer.stream)["Shards"]
        if s["ShardId"] == parent
    )
    low, high = (int(info["HashKeyRange"][k]) for k in ("StartingHashKey", "EndingHashKey"))
    kinesis.split_shard(
        StreamName=consumer.stream, ShardToSplit=parent, NewStartingHashKey=str((low + high) // 2)
    )

    result = recover_cli(capsys, "clickstream")

    assert result["ok"] and result["ranges"] == {}
    assert [(i["ledger_id"], i["status"]) for i in result["intent_details"]] == [
        (f"clickstream#{parent}", "rolled_forward")
    ]
    assert result["left_pending"] == [f"clickstream#{other}"]
    assert pipeline.ledger.read(parent).intent is None
    assert pipeline.ledger.read(other).intent is not None
    planned = pipeline.plan(records[parent][:300], LedgerState.new_shard()).intent
    assert planned is not None
    got = effects(consumer, Counter())["aggregates"]
    want = {(a.pk, a.sk): comparable(stats_from_item(a.stats)) for a in planned.aggregates}
    assert got == want


def test_malformed_messages_are_reported_and_left_while_the_rest_is_recovered(
    aws: LocalAWS, capsys: pytest.CaptureFixture[str]
) -> None:
    provision(load_consumers(CONFIG), aws.clients)
    consumer = open_consumer("clickstream", CONFIG)
    shard = consumer.kinesis.list_shards(StreamName=consumer.stream)["Shards"][0]
    first = int(shard["SequenceNumberRange"]["StartingSequenceNumber"])
    info = {
        "shardId": shard["ShardId"],
        "startSequenceNumber": str(first + 10),
        "endSequenceNumber": str(first + 20),
        "batchSize": 3,
        "streamArn": consumer.stream_arn,
    }
    bad = {
        "not json": "not JSON",
        "null": "is null, not a JSON object",
        "[]": "is an array, not a JSON object",
        '{"foo": 1}': "no KinesisBatchInfo",
        json.dumps({"KinesisBatchInfo": {**info, "startSequenceNumber": "abc"}}): "'abc'",
    }
    sqs = aws.clients("sqs")
    queue = sqs.get_queue_url(QueueName="clickstream-failures")["QueueUrl"]
    ids = {
        sqs.send_message(QueueUrl=queue, MessageBody=b)["MessageId"]: why for b, why in bad.items()
    }
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"KinesisBatchInfo": info}))
    result = recover_cli(capsys, "clickstream")  # one JSON document, exit 1
    assert not result["ok"]
    # The valid range was still worked on (its records are gone: trimmed) ...
    assert result["ranges"] == {"trimmed": 1}
    # ... and every malformed message is named with why.
    reported = {m["source"]: m["reason"] for m in result["malformed"]}
    assert set(reported) == set(ids)
    for message_id, why in ids.items():
        assert why in reported[message_id], reported[message_id]
    # They stay in the queue (visible again), for a person to look at.
    left: set[str] = set()
    for _ in range(5):
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60)
        left |= {m["MessageId"] for m in got.get("Messages", [])}
    assert set(ids) <= left
    # The text summary says it too.
    sqs.purge_queue(QueueUrl=queue)
    message_id = sqs.send_message(QueueUrl=queue, MessageBody="null")["MessageId"]
    capsys.readouterr()
    code = main(["recover", "--consumer", "clickstream", "--config", CONFIG])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    assert f"malformed (left in place): {message_id}" in out
    assert "NOT everything was recovered" in out


def test_an_invalid_endpoint_is_named_without_blaming_the_region(
    aws: LocalAWS, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # recover exports --endpoint-url to its environment: restore it after the test.
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    capsys.readouterr()
    code = main(
        ["recover", "--consumer", "clickstream", "--config", CONFIG, "--endpoint-url", "notaurl"]
    )
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err
    assert "notaurl" in err and "--endpoint-url" in err and "--region" not in err
