"""The pipeline against a real local endpoint: real-size sequence numbers, ledger
roll-forward, conflicts, and the write budget per batch."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
from collections import Counter
from typing import Any

import orjson
import pytest

from streamkit import InMemoryDeadLetters, PermanentError, Record, TransientError, run_batch
from streamkit.errors import InvalidEventError, InvalidInput
from streamkit.ledger import Intent, LedgerState
from streamkit.local.faults import SimulatedCrash
from streamkit.pipeline import Aggregate, Archive, Pipeline
from streamkit.sinks.s3 import read_archive
from streamkit.testing import FakeContext, kinesis_event
from streamkit.testing.awsfaults import WRITE_OPERATIONS, WriteFaults
from streamkit.writes import AggregateWrite

pytestmark = pytest.mark.integration


def pipeline(clients: Any, **kw: Any) -> Pipeline:
    def check(doc: Any) -> None:
        if "page" not in doc:
            raise PermanentError("page is required", reason="schema")

    return Pipeline(
        "clicks",
        validate=check,
        event_time=lambda d, r: d["ts"],
        aggregates=[Aggregate("views", key=lambda d: d["page"], window_s=60)],
        table="aggs",
        archive=Archive("archive-bucket", "raw"),
        dead_letter_bucket="dlq-bucket",
        ledger_table="ledger",
        clients=clients,
        **{"metrics": False, **kw},
    )


def docs(n: int, pages: int = 3) -> list[bytes]:
    return [orjson.dumps({"page": f"/p{i % pages}", "ts": 1_764_000_000 + i}) for i in range(n)]


def views(clients: Any) -> dict[str, int]:
    items = clients("dynamodb").scan(TableName="aggs")["Items"]
    return {i["pk"]["S"]: int(i["count"]["N"]) for i in items}


def run(p: Pipeline, event: dict[str, Any]) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        return p.run(event, FakeContext(60_000))


def test_intent_round_trips_56_and_128_digit_positions() -> None:
    big = int("9" * 128)
    intent = Intent("c", "shardId-000000000000", 3, (big - 5, 0), (big, 7), 1.5, record_count=4)
    back = Intent.from_bytes(intent.to_bytes())
    assert (back.start, back.end, back.record_count) == ((big - 5, 0), (big, 7), 4)
    # The wire name stays "records" (version 1), so pending intents survive an upgrade.
    assert orjson.loads(gzip.decompress(intent.to_bytes()))["records"] == 4


def test_real_sequence_numbers_and_duplicate_delivery_apply_once(stores: Any) -> None:
    event = kinesis_event([*docs(9), b'{"nope": 1}'])  # 56-digit sequence numbers
    p = pipeline(stores)
    first = run(p, event)
    assert first.response == {"batchItemFailures": []}
    assert (first.succeeded, first.dead_lettered) == (9, 1)
    again = run(p, event)  # Lambda delivers the same batch again
    assert again.already_committed == 10
    assert again.intent is None
    assert views(stores) == {"views#/p0": 3, "views#/p1": 3, "views#/p2": 3}
    assert len(read_archive(stores("s3"), "archive-bucket", "raw")) == 9


@pytest.mark.parametrize("crash_at", range(1, 6))
@pytest.mark.parametrize("when", ["crash_before", "crash_after"])
def test_a_crash_at_any_write_is_rolled_forward_by_the_retry(
    stores: Any, crash_at: int, when: str
) -> None:
    event = kinesis_event([*docs(12), b"not json"])
    faults = WriteFaults({crash_at: when})
    faults.attach(stores("dynamodb"), stores("s3"))
    p = pipeline(stores)
    try:
        with pytest.raises(SimulatedCrash):
            run(p, event)
    finally:
        stores("dynamodb").meta.events.unregister("before-call.*.*", faults._before)
        stores("dynamodb").meta.events.unregister("after-call.*.*", faults._after)
        stores("s3").meta.events.unregister("before-call.*.*", faults._before)
        stores("s3").meta.events.unregister("after-call.*.*", faults._after)
    retry = run(p, event)
    assert retry.response == {"batchItemFailures": []}
    assert views(stores) == {"views#/p0": 4, "views#/p1": 4, "views#/p2": 4}
    archived = Counter(orjson.dumps(d) for d in read_archive(stores("s3"), "archive-bucket", "raw"))
    assert sum(archived.values()) == 12 and set(archived.values()) == {1}
    dlq = stores("s3").list_objects_v2(Bucket="dlq-bucket").get("KeyCount", 0)
    assert dlq == 1


def test_transient_failure_mid_batch_commits_the_prefix_only(stores: Any) -> None:
    calls = Counter[str]()

    def flaky_time(doc: Any, record: Any) -> float:
        calls[doc["page"]] += 1
        if doc["page"] == "/p2" and calls["/p2"] == 1:
            raise TimeoutError("downstream timeout")
        return float(doc["ts"])

    event = kinesis_event(docs(6))
    p = pipeline(stores)
    p.event_time = flaky_time
    first = run(p, event)
    seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    assert first.response == {"batchItemFailures": [{"itemIdentifier": seqs[2]}]}
    assert views(stores) == {"views#/p0": 1, "views#/p1": 1}
    # Lambda retries from the reported record (spec 2.2.5)
    retry = run(p, {"Records": event["Records"][2:]})
    assert retry.response == {"batchItemFailures": []}
    assert views(stores) == {"views#/p0": 2, "views#/p1": 2, "views#/p2": 2}


def test_writes_per_batch_are_distinct_keys_plus_a_constant(stores: Any) -> None:
    """Issue 4 cost bound, checked with botocore hooks on the real calls: one write
    per distinct (key, window) item, plus the three ledger writes (intent, commit
    journal entry, commit)."""
    writes = Counter[str]()

    def count(model: Any, params: Any, **_: Any) -> None:
        if model.name in WRITE_OPERATIONS and model.service_model.service_name == "dynamodb":
            writes[model.name] += 1  # the sink sends single-item writes only

    payloads = docs(500, pages=20)
    distinct = {(orjson.loads(p)["page"], orjson.loads(p)["ts"] // 60) for p in payloads}
    stores("dynamodb").meta.events.register("before-call.*.*", count)
    try:
        run(pipeline(stores), kinesis_event(payloads))
    finally:
        stores("dynamodb").meta.events.unregister("before-call.*.*", count)
    assert 20 < len(distinct) < 500  # several windows, far fewer items than records
    assert sum(writes.values()) == len(distinct) + 3, writes
    assert writes["UpdateItem"] == 3  # intent, journal entry and commit on the ledger


def test_late_records_are_dead_lettered_with_reason_late(stores: Any) -> None:
    late = orjson.dumps({"page": "/p0", "ts": 1_764_000_000 - 3600})
    # arrival after the event times: the watermark follows them (never past arrival)
    event = kinesis_event([*docs(3), late], arrival=1_764_000_010)
    result = run(pipeline(stores, allowed_lateness_s=600), event)
    assert [d.reason for d in result.dead_letters] == ["late"]
    assert "behind the shard's watermark" in result.dead_letters[0].error


# ------------------------------------------------- regressions from the code review


def test_a_record_failing_after_its_stats_were_computed_is_not_counted(stores: Any) -> None:
    """All or nothing per record: a failing archive transform (transient, then
    permanent) leaves none of the record's stats in the batch."""
    calls = Counter[str]()

    def transform(doc: Any, record: Any) -> Any:
        calls[doc["page"]] += 1
        if doc["page"] == "/p1" and calls["/p1"] == 1:
            raise TimeoutError("archive formatter timed out")
        if doc["page"] == "/p2":
            raise KeyError("user")  # bad payload: a dead letter
        return doc

    p = pipeline(stores)
    p.archive = Archive("archive-bucket", "raw", transform=transform)
    event = kinesis_event(docs(3))
    first = run(p, event)
    seq1 = event["Records"][1]["kinesis"]["sequenceNumber"]
    assert first.response == {"batchItemFailures": [{"itemIdentifier": seq1}]}
    assert views(stores) == {"views#/p0": 1}  # /p1's stats were not kept
    retry = run(p, {"Records": event["Records"][1:]})
    assert retry.response == {"batchItemFailures": []}
    assert [d.reason for d in retry.dead_letters] == ["invalid"]
    assert views(stores) == {"views#/p0": 1, "views#/p1": 1}  # /p2 dead-lettered only


def test_two_consumers_sharing_an_aggregate_table_both_count(stores: Any) -> None:
    """The applied marker is per (consumer, shard): another consumer's generation on
    the same shard id must not make an item look already applied."""
    web = pipeline(stores)
    mobile = pipeline(stores)
    mobile.name = mobile.ledger.consumer = "mobile"
    for i in range(3):
        run(
            web,
            kinesis_event(
                [orjson.dumps({"page": "/p0", "ts": 1_764_000_000})], first_sequence=1000 + i
            ),
        )
    run(mobile, kinesis_event([orjson.dumps({"page": "/p0", "ts": 1_764_000_001})] * 2))
    assert views(stores) == {"views#/p0": 5}


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"page": "/x" * 1100, "ts": 1_764_000_000}, "too_large"),  # key beyond 2048 bytes
        ({"page": "/p0", "ts": 1e300}, "bad_value"),  # event time beyond year 9999
    ],
)
def test_records_that_would_break_a_write_are_dead_lettered(
    stores: Any, doc: dict[str, Any], reason: str
) -> None:
    result = run(pipeline(stores), kinesis_event([orjson.dumps(doc), *docs(1)]))
    assert result.response == {"batchItemFailures": []}
    assert [d.reason for d in result.dead_letters] == [reason]
    assert views(stores) == {"views#/p0": 1}


@pytest.mark.parametrize("invalid_input", ["dead_letter", "retry"])
@pytest.mark.parametrize(
    ("window_s", "ts"),
    [(60, 253402300740.0), (60, 253402300799.0), (86400, 253402214400.0), (3600, 253402297200.5)],
)
def test_an_event_time_whose_window_ends_after_9999_is_dead_lettered(
    stores: Any, window_s: int, ts: float, invalid_input: InvalidInput
) -> None:
    """A window ending in year 10000 has no ISO end: its records are out of range like
    later event times (bad_value), whatever invalid_input says, and never stall the shard."""
    p = Pipeline(
        f"end-{window_s}-{invalid_input}",
        event_time=lambda d, r: d["ts"],
        aggregates=[Aggregate("views", key=lambda d: d["page"], window_s=window_s)],
        table="aggs",
        ledger_table="ledger",
        invalid_input=invalid_input,
        clients=stores,
        metrics=False,
    )
    ok = {"page": "/p0", "ts": 1_764_000_000}
    result = run(p, kinesis_event([orjson.dumps({"page": "/p0", "ts": ts}), orjson.dumps(ok)]))
    assert result.response == {"batchItemFailures": []}
    assert [d.reason for d in result.dead_letters] == ["bad_value"]
    assert "after year 9999" in result.dead_letters[0].error
    assert views(stores) == {"views#/p0": 1}


def test_the_last_window_ending_before_10000_still_counts(stores: Any) -> None:
    p = pipeline(stores)
    p.validate = None
    result = run(p, kinesis_event([orjson.dumps({"page": "/p0", "ts": 253402300739.0})]))
    assert (result.succeeded, result.dead_lettered) == (1, 0)
    assert views(stores) == {"views#/p0": 1}


def test_validate_may_be_a_predicate_or_return_a_new_document(stores: Any) -> None:
    """True/None keep the document, False dead-letters it as invalid, anything else
    replaces it."""

    def check(doc: Any) -> Any:
        if doc["page"] == "/p1":
            return "page" in doc and doc["ts"] < 0  # False
        if doc["page"] == "/p2":
            return {**doc, "page": "/renamed"}
        return None if doc["ts"] % 2 else True

    p = pipeline(stores)
    p.validate = check
    result = run(p, kinesis_event(docs(6)))
    assert [(d.reason, d.error) for d in result.dead_letters] == [
        ("invalid", "validate returned False")
    ] * 2
    assert result.succeeded == 4
    assert views(stores) == {"views#/p0": 2, "views#/renamed": 2}


@pytest.mark.parametrize("seq", [None, 123, "abc", "", "-5", "1e5"])
def test_an_invalid_sequence_number_refuses_the_event_naming_the_field(
    stores: Any, seq: Any
) -> None:
    event = kinesis_event(docs(2))
    event["Records"][1]["kinesis"]["sequenceNumber"] = seq
    with pytest.raises(InvalidEventError, match=r"Records\[1\]\.kinesis\.sequenceNumber"):
        run(pipeline(stores), event)
    assert views(stores) == {}


def test_unusable_arrival_timestamp_is_a_dead_letter_not_a_crash(stores: Any) -> None:
    event = kinesis_event(docs(2))
    event["Records"][0]["kinesis"]["approximateArrivalTimestamp"] = "yesterday"
    p = pipeline(stores)
    p.event_time = None  # fall back to the arrival time, which is unusable here
    result = run(p, event)
    assert [d.reason for d in result.dead_letters] == ["malformed_record"]
    assert result.succeeded == 1


def test_aggregate_names_must_be_unique_and_without_hash(stores: Any) -> None:
    for names in (["views", "views"], ["a#b"]):
        with pytest.raises(ValueError, match="unique and without '#'"):
            Pipeline(
                "c",
                aggregates=[Aggregate(n, key=lambda d: "k") for n in names],
                table="aggs",
                ledger_table="ledger",
                clients=stores,
            )


def test_intent_encoding_keeps_user_dicts_that_look_like_tags() -> None:
    body = {"$d": "not a number", "nested": [{"$b": "x"}]}
    delta = AggregateWrite(pk="a#k", sk="all", stats={"last": body}, aggregate="a", key="k")
    intent = Intent("c", "s", 1, (1, 0), (2, 0), None, aggregates=[delta])
    assert Intent.from_bytes(intent.to_bytes()).aggregates == [delta]


def test_counts_add_up_on_every_path(stores: Any) -> None:
    """received = already committed + succeeded + dead-lettered + retried, including a
    redelivery, a transient stop and a failed apply (Guarantee 5)."""
    p = pipeline(stores)
    event = kinesis_event([*docs(4), b"junk"])
    results = [run(p, event), run(p, event)]  # the second is a duplicate delivery
    faults = WriteFaults({1: "throttle"})  # the next batch's first write fails
    faults.attach(stores("dynamodb"))
    try:
        results.append(run(p, kinesis_event(docs(3), first_sequence=6 * 10**55)))
    finally:
        faults.detach()
    assert results[2].response["batchItemFailures"]  # reported for retry
    for r in results:
        assert r.received == r.already_committed + r.succeeded + r.dead_lettered + r.retried, r


def test_a_sum_beyond_38_digits_stays_exact_in_one_item(stores: Any) -> None:
    """38 significant digits: 1e20 + 1e-18 cannot be stored as one DynamoDB number.
    The item keeps ``sum`` rounded and the exact text in ``sum_exact`` (no overflow
    item, no dead letter), whatever the batching."""
    p = Pipeline(
        "sums",
        event_time=lambda d, r: d["ts"],
        aggregates=[Aggregate("total", key=lambda d: "k", value=lambda d: d["v"])],
        table="aggs",
        ledger_table="ledger",
        clients=stores,
        metrics=False,
    )
    one = run(p, kinesis_event([orjson.dumps({"v": 1e20, "ts": 1_764_000_000})]))
    event = kinesis_event(
        [orjson.dumps({"v": "0.000000000000000001", "ts": 1_764_000_001})],
        first_sequence=6 * 10**55,
    )
    two = run(p, event)
    assert one.response == two.response == {"batchItemFailures": []}
    again = run(p, event)  # a redelivery changes nothing
    assert again.already_committed == 1
    (item,) = stores("dynamodb").scan(TableName="aggs")["Items"]
    assert item["sk"]["S"] == "2025-11-24T16:00:00Z" and "overflow_of" not in item
    assert item["sum_exact"]["S"] == "100000000000000000000.000000000000000001"
    assert item["count"]["N"] == "2"


# ------------------------------------------------------------- one error rule


class UnprintableValueError(ValueError):
    def __str__(self) -> str:
        raise RuntimeError("__str__ of user code fails")


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ of user code fails")


USER_ERRORS: dict[str, BaseException] = {
    "KeyError": KeyError("user_id"),
    "ValueError": ValueError("not a number: 'x'"),
    "TypeError": TypeError("unsupported operand"),
    "JSONDecodeError": json.JSONDecodeError("Expecting value", "x", 0),
    "PermanentError": PermanentError("page is required", reason="schema"),
    "TransientError": TransientError("downstream 503"),
    "RuntimeError": RuntimeError("boom"),
    # A broken __str__ in user code must not crash the invocation (classify falls back).
    "UnprintableValueError": UnprintableValueError("x"),
    "UnprintableError": UnprintableError("x"),
}

#: (exception, invalid_input) -> dead-letter reason, or None: stop and retry.
EXPECTED: dict[tuple[str, InvalidInput], str | None] = {
    **{(name, "dead_letter"): "invalid" for name in ("KeyError", "ValueError", "TypeError")},
    **{(name, "retry"): None for name in ("KeyError", "ValueError", "TypeError")},
    ("UnprintableValueError", "dead_letter"): "invalid",
    ("UnprintableValueError", "retry"): None,
    ("UnprintableError", "dead_letter"): None,
    ("UnprintableError", "retry"): None,
    ("JSONDecodeError", "dead_letter"): "invalid",
    ("JSONDecodeError", "retry"): None,
    ("PermanentError", "dead_letter"): "schema",
    ("PermanentError", "retry"): "schema",
    **{(n, m): None for n in ("TransientError", "RuntimeError") for m in ("dead_letter", "retry")},
}


@pytest.mark.parametrize(("error", "invalid_input"), sorted(EXPECTED))
def test_process_batch_and_pipeline_classify_user_errors_alike(
    stores: Any, error: str, invalid_input: InvalidInput
) -> None:
    """The one error rule: the same exception from user code (the process_batch handler,
    the pipeline's validate) gets the same outcome, by default and with the switch."""
    exc = USER_ERRORS[error]
    event = kinesis_event(docs(3))
    seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]

    def check(doc: Any) -> None:
        if doc["page"] == "/p1":
            raise exc

    def handle(record: Record) -> None:
        check(record.json())

    batch = run_batch(
        event,
        handle,
        dead_letters=InMemoryDeadLetters(),
        invalid_input=invalid_input,
        metrics=False,
    )
    p = Pipeline(
        f"rule-{error}-{invalid_input}",
        validate=check,
        event_time=lambda d, r: d["ts"],
        aggregates=[Aggregate("views", key=lambda d: d["page"], window_s=60)],
        table="aggs",
        dead_letter_bucket="dlq-bucket",
        ledger_table="ledger",
        invalid_input=invalid_input,
        clients=stores,
        metrics=False,
    )
    piped = run(p, event)

    reason = EXPECTED[(error, invalid_input)]
    if reason is None:  # transient: stop at the record, report it, nothing after it
        expected_response = {"batchItemFailures": [{"itemIdentifier": seqs[1]}]}
        assert batch.failure is exc and piped.failure is exc
        assert (batch.counts.succeeded, piped.succeeded) == (1, 1)
    else:
        expected_response = {"batchItemFailures": []}
        assert (batch.counts.succeeded, piped.succeeded) == (2, 2)
    assert batch.response == piped.response == expected_response
    letters = [(d.reason, d.error) for d in batch.dead_letters]
    assert letters == [(d.reason, d.error) for d in piped.dead_letters]
    assert letters == ([] if reason is None else [(reason, letters[0][1])])
    if reason == "invalid":
        assert letters[0][1].startswith(f"{type(exc).__name__}: ")


def test_invalid_input_must_be_one_of_the_two_choices(stores: Any) -> None:
    with pytest.raises(ValueError, match="invalid_input"):
        Pipeline("c", ledger_table="ledger", clients=stores, invalid_input="skip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid_input"):
        run_batch(kinesis_event(docs(1)), print, invalid_input="skip", metrics=False)  # type: ignore[arg-type]


# ------------------------------------------------------------------ pure planning


def test_planning_is_public_and_does_no_io() -> None:
    """Pipeline.plan (streamkit.plan.plan_batch): records + ledger state + spec -> intent,
    counts and dead letters, without a single AWS call."""

    def no_aws(service: str) -> Any:
        raise AssertionError(f"planning called {service}")

    p = pipeline(no_aws)
    event = kinesis_event([*docs(6), b"not json", b'{"ts": 1764000000}'])
    plan = p.plan(event["Records"], LedgerState.new_shard())
    assert (plan.received, plan.succeeded, plan.dead_lettered, plan.retried) == (8, 6, 2, 0)
    assert [d.reason for d in plan.dead_letters] == ["bad_json", "schema"]
    assert plan.intent is not None and plan.intent.generation == 1
    assert {a.pk for a in plan.intent.aggregates} == {
        "views#/p0",
        "views#/p1",
        "views#/p2",
    }
    keys = [o.key for o in plan.intent.objects]
    assert sum(k.startswith("raw/") for k in keys) == 1  # one archive object (one hour)
    assert sum(k.startswith("dlq/clicks/") for k in keys) == 2
    # Deterministic: the same records and state give the same plan (but a new intent id,
    # and dead letters stamped with the time they were planned).
    again = p.plan(event["Records"], LedgerState.new_shard()).intent
    assert again is not None

    def content(intent: Intent) -> Any:
        objects = [(o.key, o.body) for o in intent.objects if o.key.startswith("raw/")]
        return intent.aggregates, [o.key for o in intent.objects], objects

    assert content(again) == content(plan.intent)
    # Records the ledger already covers are counted, not planned again.
    committed = LedgerState(1, plan.intent.end, plan.intent.watermark, None, exists=True)
    rest = p.plan(event["Records"], committed)
    assert (rest.already_committed, rest.intent) == (8, None)


def test_pipeline_iterator_age_is_on_the_invocation_clock(stores: Any) -> None:
    """Spec 4.11: the pipeline's IteratorAge and EMF timestamp use the clock the invoker
    passes in the client context (the simulator's virtual clock in a replay)."""
    from streamkit.observability import clock_client_context

    arrival = 1_620_000_000.0
    ctx = FakeContext(60_000)
    doc = clock_client_context(arrival + 45)
    ctx.client_context = type("ClientContext", (), doc)()  # type: ignore[attr-defined]
    out = io.StringIO()
    event = kinesis_event(docs(3), arrival=arrival)
    last = event["Records"][-1]["kinesis"]["approximateArrivalTimestamp"]
    with contextlib.redirect_stdout(out):
        pipeline(stores, metrics=True).run(event, ctx)
    [emf] = [d for d in map(json.loads, out.getvalue().splitlines()) if "IteratorAge" in d]
    [age] = emf["IteratorAge"]
    assert abs(age - (emf["_aws"]["Timestamp"] - last * 1000)) <= 1
    assert 44_000 <= age < 3_600_000
