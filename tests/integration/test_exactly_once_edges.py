"""Exactly-once at its edges, against the embedded endpoint (issue 10, classes 1-6).

Each test reproduces a way the guarantee broke: a value that passed the up-front
checks but could never be applied, an apply that was not idempotent on every path,
an outcome that depended on batch boundaries, a decoded value that crashed the
invocation, identities without their full scope, and clock skew.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import itertools
import json
import random
import uuid
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streamkit.aggregate import stats_from_item
from streamkit.local.aws import DynamoDbTable
from streamkit.pipeline import Aggregate, Archive, Message, Pipeline
from streamkit.sinks.s3 import read_archive
from streamkit.testing import FakeContext, kinesis_event

pytestmark = pytest.mark.integration

TS = 1_764_000_000  # event times of the records
ARRIVAL = TS + 5.0  # and when they reached the stream


def run(p: Pipeline, event: dict[str, Any]) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        return p.run(event, FakeContext(60_000))


def event(docs: list[Any], **kw: Any) -> dict[str, Any]:
    kw.setdefault("arrival", ARRIVAL)
    # json.dumps: it writes lone surrogates as escapes, which a decoder may return
    return kinesis_event(
        [d if isinstance(d, bytes) else json.dumps(d).encode() for d in docs], **kw
    )


def items(clients: Any, table: str = "aggs") -> dict[tuple[str, str], dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    de = TypeDeserializer()
    out = {}
    for raw in clients("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]:
        item = {k: de.deserialize(v) for k, v in raw.items()}
        out[(item["pk"], item["sk"])] = item
    return out


def summing(clients: Any, name: str = "sums", **kw: Any) -> Pipeline:
    return Pipeline(
        name,
        decode=lambda r: json.loads(r.data),
        event_time=lambda d, r: d["ts"],
        aggregates=[Aggregate("total", key=lambda d: d.get("k", "k"), value=lambda d: d.get("v"))],
        table="aggs",
        dead_letter_bucket="dlq-bucket",
        ledger_table="ledger",
        clients=clients,
        metrics=False,
        **kw,
    )


def fifo_queue(clients: Any, name: str = "alerts.fifo") -> str:
    url: str = clients("sqs").create_queue(QueueName=name, Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    return url


def received(clients: Any, url: str) -> list[str]:
    sqs, out = clients("sqs"), []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


# ------------------------------------------------- 1. never a write that cannot succeed


@pytest.mark.parametrize("invalid_input", ["dead_letter", "retry"])
@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"ts": 1e-200}, "bad_value"),  # last_event_time / watermark below DynamoDB's range
        ({"ts": TS, "k": "caf\ud800"}, "invalid"),  # a key that is not valid UTF-8
    ],
)
def test_a_value_dynamodb_would_refuse_costs_one_dead_letter(
    stores: Any, doc: dict[str, Any], reason: str, invalid_input: Any
) -> None:
    p = summing(stores, invalid_input=invalid_input)
    first = run(p, event([doc, {"ts": TS, "v": 1}]))
    assert first.response == {"batchItemFailures": []}, first.failure
    assert [d.reason for d in first.dead_letters] == [reason]
    # The shard is not blocked: the next batch is applied as usual.
    second = run(p, event([{"ts": TS, "v": 2}], first_sequence=6 * 10**55))
    assert second.response == {"batchItemFailures": []} and not second.rolled_forward
    got = items(stores)[("total#k", "2025-11-24T16:00:00Z")]
    assert (got["count"], got["sum"]) == (2, 3)


def test_a_watermark_below_dynamodbs_range_never_blocks_the_ledger(stores: Any) -> None:
    """No aggregates at all: the event time only reaches the ledger's watermark."""
    p = Pipeline(
        "plain",
        event_time=lambda d, r: d["ts"],
        dead_letter_bucket="dlq-bucket",
        ledger_table="ledger",
        clients=stores,
        metrics=False,
    )
    first = run(p, event([{"ts": 1e-200}, {"ts": TS}]))
    assert first.response == {"batchItemFailures": []}, first.failure
    assert [d.reason for d in first.dead_letters] == ["bad_value"]
    assert p.ledger.read("shardId-000000000000").watermark == TS


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("alert\x00with a NUL", "invalid"),  # a character SQS does not allow
        ("x" * (256 * 1024 + 1), "too_large"),  # over SQS's 256 KiB
    ],
)
def test_an_sqs_body_sqs_would_refuse_is_dead_lettered_up_front(
    stores: Any, body: str, reason: str
) -> None:
    url = fifo_queue(stores)
    p = summing(
        stores,
        messages=[Message(url, build=lambda d, r: [("a", d["body"])] if "body" in d else [])],
    )
    result = run(p, event([{"ts": TS, "body": body}, {"ts": TS, "body": "fine"}]))
    assert result.response == {"batchItemFailures": []}, result.failure
    assert [d.reason for d in result.dead_letters] == [reason]
    assert received(stores, url) == ["fine"]


def test_an_sqs_body_up_to_256_kib_is_sent(stores: Any) -> None:
    url = fifo_queue(stores)
    p = summing(stores, messages=[Message(url, build=lambda d, r: [("a", "y" * 250_000)])])
    result = run(p, event([{"ts": TS}]))
    assert result.response == {"batchItemFailures": []} and not result.dead_letters
    assert [len(b) for b in received(stores, url)] == [250_000]


# ------------------------------------- 2 and 3. idempotent apply, batch-independent state


def test_a_zombie_reapplying_a_committed_intent_counts_nothing_twice(stores: Any) -> None:
    """Values of very different magnitudes on two shards of one consumer. Before the
    fix, shard B's 1e-18 became an overflow item without marking the main item; once
    shard A cancelled the 1e20, a zombie re-applying B's committed intent merged it
    into the main item as well: the record counted twice."""
    p = summing(stores)
    run(p, event([{"ts": TS, "v": 1e20}], shard_id="shardId-00000000000A"))
    b = run(p, event([{"ts": TS, "v": "1E-18"}], shard_id="shardId-00000000000B"))
    run(
        p,
        event([{"ts": TS, "v": -1e20}], shard_id="shardId-00000000000A", first_sequence=7 * 10**55),
    )
    assert b.intent is not None
    p.roll_forward(b.intent)  # the zombie: re-applies B's committed intent
    got = list(items(stores).values())
    assert len(got) == 1  # no overflow item
    stats = stats_from_item(got[0])
    assert (stats.count, stats.sum) == (3, Decimal("1E-18"))


def _final_state(clients: Any, run_id: str) -> dict[tuple[str, str], Any]:
    """The pipeline's items (their stats and stored numbers), markers left out."""
    out = {}
    for (pk, sk), item in items(clients).items():
        if pk.startswith(f"total#{run_id}/"):
            s = stats_from_item(item)
            stored = (item.get("sum"), item.get("sum_exact"), item.get("mean"))
            out[(pk, sk)] = (s.count, s.sum, s.min, s.max, s.last, stored)
    return out


magnitudes = st.sampled_from(
    ["1E+20", "-1E+20", "1E-18", "7", "-0.5", "9.9999999999999999999999999999999999999E+125"]
)
records_of_one_shard = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "v": magnitudes,
                "ts": st.sampled_from([TS, TS + 30, TS - 400, TS + 86400 * 365]),
                "k": st.sampled_from(["a", "a", "b"]),
            }
        ),
        st.just({"junk": True}),  # no ts: a dead letter
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(docs=records_of_one_shard, cuts=st.sets(st.integers(1, 9), max_size=5))
@example(  # the review's case: 1e20 and 1e-18 in one item, in one batch and in two
    docs=[{"v": "1E+20", "ts": TS, "k": "a"}, {"v": "1E-18", "ts": TS, "k": "a"}], cuts={1}
)
def test_the_final_state_is_a_function_of_the_records_alone(
    stores: Any, docs: list[dict[str, Any]], cuts: set[int]
) -> None:
    """The same records in one batch and split into random batches (as bisection,
    partial retries and deadline stops split them) give the same items, stored
    numbers and dead letters. Before the fix: "dead letter precision" in one batch,
    "counted, with an overflow item" in two."""
    final = []
    for mode in ("whole", "split"):
        run_id = uuid.uuid4().hex[:8]
        p = summing(stores, name=f"{mode}-{run_id}", allowed_lateness_s=300)
        p.aggregates = (
            Aggregate("total", key=lambda d, r=run_id: f"{r}/{d['k']}", value=lambda d: d["v"]),
        )
        records = event(docs)["Records"]
        bounds = [0, len(records)]
        if mode == "split":
            bounds = [0, *sorted(c for c in cuts if c < len(records)), len(records)]
        letters = []
        for a, b in itertools.pairwise(bounds):
            result = run(p, {"Records": records[a:b]})
            assert result.response == {"batchItemFailures": []}, result.failure
            letters += [(d.record.sequence_number, d.reason) for d in result.dead_letters]
        state = {
            (pk.split("/", 1)[1], sk): v for (pk, sk), v in _final_state(stores, run_id).items()
        }
        final.append((state, letters))
    assert final[0] == final[1]
    counted = sum(v[0] for v in final[0][0].values())
    assert counted + len(final[0][1]) == len(docs)  # every record: counted or dead-lettered


# ----------------------------------------------------- 4. every decoded value has an outcome


def test_decimal_values_of_a_decoder_are_archived_and_sent_exactly(stores: Any) -> None:
    """``parse_float=Decimal`` (exact money amounts): before the fix the size check
    serialised with ``default=str``, the archive writer did not, and the whole batch
    failed as a function error."""
    url = fifo_queue(stores)
    p = Pipeline(
        "money",
        decode=lambda r: json.loads(r.data, parse_float=Decimal),
        event_time=lambda d, r: d["ts"],
        archive=Archive("archive-bucket", "raw"),
        messages=[Message(url, build=lambda d, r: [("paid", {"amount": d["amount"]})])],
        dead_letter_bucket="dlq-bucket",
        ledger_table="ledger",
        clients=stores,
        metrics=False,
    )
    result = run(p, event([b'{"ts": 1764000000, "amount": 12.50}']))
    assert result.response == {"batchItemFailures": []}, result.failure
    assert not result.dead_letters
    s3 = stores("s3")
    key = s3.list_objects_v2(Bucket="archive-bucket")["Contents"][0]["Key"]
    body = gzip.decompress(s3.get_object(Bucket="archive-bucket", Key=key)["Body"].read())
    assert body == b'{"ts":1764000000,"amount":12.50}\n'  # the exact number, not a string
    assert received(stores, url) == ['{"amount":12.50}']


def test_a_decoded_value_json_cannot_hold_is_a_dead_letter_not_a_crash(stores: Any) -> None:
    p = Pipeline(
        "odd",
        decode=lambda r: {**orjson.loads(r.data), "raw": r.data, "tags": {"a"}},
        event_time=lambda d, r: d["ts"],
        archive=Archive("archive-bucket", "raw", transform=lambda d, r: d if d["bad"] else {}),
        dead_letter_bucket="dlq-bucket",
        ledger_table="ledger",
        invalid_input="retry",  # the outcome must not depend on the user-error switch
        clients=stores,
        metrics=False,
    )
    result = run(p, event([{"ts": TS, "bad": True}, {"ts": TS, "bad": False}]))
    assert result.response == {"batchItemFailures": []}, result.failure
    assert [d.reason for d in result.dead_letters] == ["invalid"]
    assert "not JSON-serialisable" in result.dead_letters[0].error
    assert read_archive(stores("s3"), "archive-bucket", "raw") == [{}]


# ------------------------------------------------------------------ 6. clock skew


YEAR = 365 * 86400


def _lateness_pipeline(clients: Any, **kw: Any) -> Pipeline:
    return summing(clients, allowed_lateness_s=300, **kw)


@pytest.mark.parametrize("split", [False, True])
def test_one_record_dated_a_year_ahead_does_not_make_the_shard_late(
    stores: Any, split: bool
) -> None:
    """Before the fix the watermark jumped a year ahead and every on-time record after
    it was dead-lettered "late" until real time caught up."""
    p = _lateness_pipeline(stores)
    docs = [{"ts": TS, "v": 1}, {"ts": TS + YEAR, "v": 1}, {"ts": TS + 1, "v": 1}]
    records = event(docs)["Records"]
    batches = [records[:2], records[2:]] if split else [records]
    results = [run(p, {"Records": b}) for b in batches]
    assert [d.reason for r in results for d in r.dead_letters] == []
    got = items(stores)
    assert got[("total#k", "2025-11-24T16:00:00Z")]["count"] == 2  # the on-time records
    assert got[("total#k", "2026-11-24T16:00:00Z")]["count"] == 1  # counted in its window
    # The watermark took the future record's arrival time, not its date.
    assert p.ledger.read("shardId-000000000000").watermark == ARRIVAL + 1 / 1000


def test_future_records_can_be_dead_lettered_instead(stores: Any) -> None:
    p = _lateness_pipeline(stores, future="dead_letter", max_clock_skew_s=60)
    result = run(p, event([{"ts": TS + 120, "v": 1}, {"ts": TS + 30, "v": 1}, {"ts": TS, "v": 1}]))
    assert [d.reason for d in result.dead_letters] == ["future"]
    assert "after the record's arrival" in result.dead_letters[0].error
    assert items(stores)[("total#k", "2025-11-24T16:00:00Z")]["count"] == 2


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"future": "drop"}, "future"), ({"max_clock_skew_s": -1}, "max_clock_skew_s")],
)
def test_clock_skew_settings_are_validated(stores: Any, kw: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        _lateness_pipeline(stores, **kw)


# ------------------------------------------------- 5. identities with their full scope


def test_two_consumers_alerting_on_one_record_to_one_queue_send_two_alerts(stores: Any) -> None:
    url = fifo_queue(stores)
    alert = Message(url, build=lambda d, r: [("hot", "too hot")], group_id=lambda d, r: "dev")
    records = event([{"ts": TS, "v": 1}])
    for name in ("ops", "billing"):
        assert run(summing(stores, name=name, messages=[alert]), records).intent is not None
    assert received(stores, url) == ["too hot", "too hot"]


def test_two_consumers_archiving_one_stream_to_one_bucket_keep_both_archives(
    stores: Any,
) -> None:
    records = event([{"ts": TS, "v": 1}])
    for name, tag in (("raw-copy", "a"), ("enriched", "b")):
        p = Pipeline(
            name,
            event_time=lambda d, r: d["ts"],
            archive=Archive("archive-bucket", "raw", transform=lambda d, r, t=tag: {"t": t}),
            ledger_table="ledger",
            clients=stores,
            metrics=False,
        )
        run(p, records)
    assert sorted(d["t"] for d in read_archive(stores("s3"), "archive-bucket", "raw")) == ["a", "b"]


def test_one_consumer_dead_lettering_the_same_position_on_two_streams_keeps_both(
    stores: Any,
) -> None:
    p = summing(stores)
    for stream in ("orders", "refunds"):
        arn = f"arn:aws:kinesis:us-east-1:123456789012:stream/{stream}"
        assert [d.reason for d in run(p, event([b"junk"], stream_arn=arn)).dead_letters] == [
            "invalid"
        ]
    keys = [o["Key"] for o in stores("s3").list_objects_v2(Bucket="dlq-bucket")["Contents"]]
    assert len(keys) == 2 and {k.split("/")[2] for k in keys} == {"orders", "refunds"}


def test_a_pending_intent_is_applied_to_the_table_it_was_planned_for(stores: Any) -> None:
    """A redeploy renames the aggregate table while an intent is pending: the intent's
    deltas still go to the table it was planned for, the new batches to the new one."""
    DynamoDbTable.aggregates("aggs-v2").create(stores)
    old = summing(stores)
    shard = "shardId-000000000000"
    state = old.ledger.read(shard)
    plan = old.plan(event([{"ts": TS, "v": 1}])["Records"], state)
    assert plan.intent is not None
    old.ledger.write_intent(state, plan.intent)  # ... and the invocation dies here
    new = summing(stores)
    new.table = "aggs-v2"
    new.aggregate_table = type(old.aggregate_table)("aggs-v2", stores)  # type: ignore[call-arg]
    later = run(new, event([{"ts": TS, "v": 5}], first_sequence=6 * 10**55))
    assert later.rolled_forward and later.response == {"batchItemFailures": []}
    assert items(stores, "aggs")[("total#k", "2025-11-24T16:00:00Z")]["sum"] == 1
    assert items(stores, "aggs-v2")[("total#k", "2025-11-24T16:00:00Z")]["sum"] == 5


def test_one_consumer_on_two_streams_counts_both(stores: Any) -> None:
    """The same shard id and sequence numbers on two streams: before the fix the
    second stream's records were dropped as already committed."""
    p = summing(stores)
    arns = [f"arn:aws:kinesis:us-east-1:123456789012:stream/{s}" for s in ("eu", "us")]
    for arn in arns:
        result = run(p, event([{"ts": TS, "v": 1}, {"ts": TS, "v": 2}], stream_arn=arn))
        assert (result.already_committed, result.succeeded) == (0, 2)
    again = run(p, event([{"ts": TS, "v": 1}, {"ts": TS, "v": 2}], stream_arn=arns[1]))
    assert again.already_committed == 2  # a redelivery is still recognised
    got = items(stores)[("total#k", "2025-11-24T16:00:00Z")]
    assert (got["count"], got["sum"]) == (4, 6)


def test_a_ledger_item_of_an_earlier_version_is_still_the_streams_own(stores: Any) -> None:
    """Items written before the ledger recorded its stream have no source_stream:
    the next intent of the stream records it; committed positions still hold."""
    p = summing(stores)
    records = event([{"ts": TS, "v": 1}])
    run(p, records)
    stores("dynamodb").update_item(
        TableName="ledger",
        Key={"id": {"S": "sums#shardId-000000000000"}},
        UpdateExpression="REMOVE source_stream",
    )
    assert run(p, records).already_committed == 1
    later = run(p, event([{"ts": TS, "v": 2}], first_sequence=6 * 10**55))
    assert later.succeeded == 1
    assert p.ledger.read("shardId-000000000000").stream == "test-stream"


def test_a_prefix_that_leaves_no_room_for_s3_keys_is_refused_when_built(stores: Any) -> None:
    """Keys are checked once for the worst case (128-character stream and shard names,
    128-digit sequence numbers), so no record can produce a key S3 refuses."""
    with pytest.raises(ValueError, match="archive_prefix"):
        Pipeline("c", archive=Archive("b", "p" * 500), ledger_table="ledger", clients=stores)
    with pytest.raises(ValueError, match="dead_letter_prefix"):
        Pipeline("c", dead_letter_prefix="d" * 500, ledger_table="ledger", clients=stores)
    Pipeline("c", archive=Archive("b", "p" * 300), ledger_table="ledger", clients=stores)


def test_a_batch_whose_intent_cannot_be_stored_inline_is_planned_shorter(stores: Any) -> None:
    """No intent bucket (no archive, no dead-letter bucket): an intent over the ledger
    item's inline limit could never be written, and before the fix every retry failed
    the same way until Lambda discarded the batch. Now the batch is planned shorter
    and the rest is reported for retry, as Lambda then delivers it."""
    rng = random.Random(7)
    docs = [
        {"ts": TS, "k": f"k{i}", "blob": base64.b64encode(rng.randbytes(2000)).decode()}
        for i in range(200)
    ]
    p = Pipeline(
        "wide",
        event_time=lambda d, r: d["ts"],
        aggregates=[Aggregate("total", key=lambda d: d["k"], last=lambda d: d["blob"])],
        table="aggs",
        ledger_table="ledger",
        clients=stores,
        metrics=False,
    )
    records = event(docs)["Records"]
    first = run(p, {"Records": records})
    assert first.stopped == "size" and first.response["batchItemFailures"], first.failure
    pending, rounds = records, 0
    while pending and rounds < 10:  # Lambda retries from the reported record (spec 2.2.5)
        result = run(p, {"Records": pending})
        failures = result.response["batchItemFailures"]
        assert result.failure is None
        seqs = [r["kinesis"]["sequenceNumber"] for r in pending]
        pending = pending[seqs.index(failures[0]["itemIdentifier"]) :] if failures else []
        rounds += 1
    assert not pending
    assert len(items(stores)) == 200 and all(i["count"] == 1 for i in items(stores).values())
