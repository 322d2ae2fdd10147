"""The planner's fast path plans exactly what the general path plans (issue 13, CPU).

:func:`streamkit.plan_fast.fast_stager` stages a batch of a counted-only spec (JSON,
keys and distinct items, no values, archive or messages) in one call per record;
``plan_batch(..., fast=False)`` always takes the general path, the reference. Both
plan the same hypothesis-made batches, bad records of every kind included (bad
base64, bad JSON, integers beyond 64 bits, KPL aggregates, event times that are not
numbers or out of range, keys and distinct items of the wrong type, late and future
records, a validator that drops or replaces documents, a deadline inside the batch):
the intents must be equal but for their random ids, and the counts, dead letters
(reason and detail), stop and watermark the same.
"""

from __future__ import annotations

import dataclasses
import gzip
import math
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.errors import DecodeError
from streamkit.ledger import LedgerState
from streamkit.pipeline import Aggregate, Archive, Pipeline
from streamkit.plan import BatchPlan, plan_batch
from streamkit.plan_fast import fast_stager
from streamkit.spec import Message
from streamkit.testing.events import FakeContext, kinesis_event, kpl_aggregate

SETTINGS = settings(max_examples=250, deadline=None, print_blob=True)
T0 = 1_795_860_300.0

event_times = st.one_of(
    st.floats(T0 - 400, T0 + 400),
    st.integers(int(T0) - 400, int(T0) + 400),
    st.sampled_from([None, "x", math.nan, math.inf, -1.0, 0.0, 1e300, True, T0 + 10**6]),
)
keys = st.one_of(
    st.sampled_from(["/", "/a", "/b", "ü", ""]), st.none(), st.integers(0, 3), st.just([1])
)
items = st.one_of(st.sampled_from(["u1", "u2", "u3", ""]), st.none(), st.integers(0, 2))
docs = st.fixed_dictionaries({"page": keys, "site": keys, "user": items, "ts": event_times})


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["doc"] * 6 + ["bad_json", "big_int", "kpl", "not_object"]))
    if kind == "bad_json":
        return b'{"page": '
    if kind == "big_int":
        return b'{"page": "/", "user": 12345678901234567890123, "ts": %d}' % int(T0)
    if kind == "not_object":
        return b"[1, 2]"
    doc = draw(docs)
    raw = orjson.dumps({k: v for k, v in doc.items() if not isinstance(v, float) or v == v})
    if kind == "kpl":
        return kpl_aggregate([("pk", raw, None), ("pk2", raw, None)])
    return raw


def _event_time(doc: Any, record: Any) -> Any:
    return doc["ts"] if isinstance(doc, dict) else None


def _decode_strict(record: Any) -> Any:
    """A decoder of its own: JSON objects only (anything else its dead letter)."""
    doc = record.json()
    if not isinstance(doc, dict):
        raise DecodeError("not a JSON object", reason="bad_json")
    return doc


def _archived(doc: Any, record: Any) -> Any:
    if isinstance(doc, dict) and doc.get("page") == "/a":
        return {"big": "x" * 2_000_000}  # over the archive line limit: a dead letter
    return {"doc": doc, "sequence": record.sequence_number}


@st.composite
def pipelines(draw: st.DrawFn) -> Pipeline:
    windows = st.sampled_from([60, 60, 300, None])
    shared = draw(st.booleans())
    page_window = draw(windows)
    aggregates = [
        Aggregate("page_views", key=lambda d: d["page"], window_s=page_window),
        Aggregate(
            "site_users",
            key=lambda d: d["site"],
            distinct=lambda d: d["user"],
            window_s=page_window if shared else draw(windows),
        ),
    ][: draw(st.integers(0, 2))]
    validate = draw(
        st.sampled_from(
            [
                None,
                lambda d: d.get("page") != "/b",  # False dead-letters
                lambda d: None,
                lambda d: {**d, "site": "replaced"} if d.get("site") == "/a" else True,
            ]
        )
    )
    decode = draw(st.sampled_from([None, _decode_strict]))
    archive = draw(
        st.sampled_from([None, Archive("archive"), Archive("archive", transform=_archived)])
    )
    return Pipeline(
        "fast",
        **({"decode": decode} if decode else {}),
        archive=archive,
        event_time=draw(st.sampled_from([_event_time, None])),
        aggregates=aggregates,
        validate=validate,
        table="aggregates",
        ledger_table="ledger",
        allowed_lateness_s=draw(st.sampled_from([None, 0, 120])),
        future=draw(st.sampled_from(["count", "dead_letter"])),
        max_clock_skew_s=60,
        metrics=False,
    )


def _raw(batch: list[bytes], arrival: float, bad: int | None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = kinesis_event(batch, arrival=arrival)["Records"]
    if bad is not None and records:
        records[bad % len(records)]["kinesis"]["data"] = "not base64!"
        records[(bad + 1) % len(records)]["kinesis"]["approximateArrivalTimestamp"] = "x"
    return records


def _summary(plan: BatchPlan) -> dict[str, Any]:
    intent = None
    if plan.intent is not None:
        intent = dataclasses.asdict(plan.intent)
        intent.pop("intent_id")
    return {
        "intent": intent,
        "counts": (
            plan.received,
            plan.already_committed,
            plan.succeeded,
            plan.dead_lettered,
            plan.retried,
        ),
        "stop": (plan.stopped, plan.stop_record and plan.stop_record.position),
        "failure": repr(plan.failure),
        "letters": [(d.record.position, d.reason, d.error) for d in plan.dead_letters],
    }


@SETTINGS
@given(
    pipeline=pipelines(),
    batch=st.lists(payloads(), max_size=30),
    arrival=st.sampled_from([T0, T0 + 3600, T0 - 3600]),
    bad=st.one_of(st.none(), st.integers(0, 29)),
    committed=st.one_of(st.none(), st.integers(0, 10)),
    deadline_after=st.one_of(st.none(), st.integers(0, 30)),
)
def test_fast_path_plans_what_the_general_path_plans(
    pipeline: Pipeline,
    batch: list[bytes],
    arrival: float,
    bad: int | None,
    committed: int | None,
    deadline_after: int | None,
) -> None:
    assert fast_stager(pipeline) is not None  # this spec takes the fast path
    raw = _raw(batch, arrival, bad)
    state = LedgerState.new_shard()
    if committed is not None and raw:
        first = int(raw[0]["kinesis"]["sequenceNumber"])
        state = dataclasses.replace(state, position=(first + committed * 1000, 0))
    plans = [_summary(_plan(pipeline, raw, state, fast, deadline_after)) for fast in (True, False)]
    assert plans[0] == plans[1]
    objects = len(plans[0]["intent"]["objects"]) if plans[0]["intent"] else 0
    print(
        f"records={len(raw)} counts={plans[0]['counts']} stop={plans[0]['stop'][0]} "
        f"objects={objects}"
    )


def _plan(
    pipeline: Pipeline,
    raw: list[dict[str, Any]],
    state: LedgerState,
    fast: bool,
    deadline_after: int | None,
) -> BatchPlan:
    from streamkit.deadline import NO_DEADLINE, Deadline

    if deadline_after is None:
        return plan_batch(pipeline, raw, state, fast=fast)
    # A deadline reached after `deadline_after` checks: the clock "moves" as the
    # planner asks it (both paths ask once per record not yet committed).
    context = FakeContext(10_000)
    calls = 0

    def remaining() -> int:
        nonlocal calls
        calls += 1
        if calls > deadline_after:
            context.advance(10_000)
        return context.get_remaining_time_in_millis()

    assert NO_DEADLINE.remaining is None
    return plan_batch(pipeline, raw, state, deadline=Deadline(remaining, 1), fast=fast)


def test_specs_the_fast_path_leaves_to_the_general_one() -> None:
    """Values, last values, pairs, fields or messages: the general path."""
    base: dict[str, Any] = {"table": "t", "ledger_table": "l", "metrics": False}
    general = [
        Pipeline("a", aggregates=[Aggregate("v", key=lambda d: "k", value=lambda d: 1)], **base),
        Pipeline("b", aggregates=[Aggregate("l", key=lambda d: "k", last=lambda d: 1)], **base),
        Pipeline("c", aggregates=[Aggregate("p", pairs=lambda d: [("k", 1)])], **base),
        Pipeline("d", aggregates=[Aggregate("f", key=lambda d: "k", fields=lambda d: [])], **base),
        Pipeline("e", messages=[Message("q", lambda d, r: [])], **base),
    ]
    for pipeline in general:
        assert fast_stager(pipeline) is None, pipeline.name
    assert fast_stager(Pipeline("f", aggregates=[Aggregate("c", key=lambda d: "k")], **base))


def test_the_clickstream_consumer_takes_the_fast_path() -> None:
    """The shipped clickstream consumer (its own decoder, archive, three counted
    aggregates) is planned by the fast path; iot (multi-field, alerts) is not."""
    from handlers import clickstream, iot

    env = {
        "STREAMKIT_AGGREGATE_TABLE": "a",
        "STREAMKIT_ARCHIVE_BUCKET": "b",
        "STREAMKIT_DLQ_BUCKET": "c",
        "STREAMKIT_LEDGER_TABLE": "d",
        "STREAMKIT_ALERTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q.fifo",
    }
    assert fast_stager(clickstream.build_pipeline(env)) is not None
    assert fast_stager(iot.build_pipeline(env)) is None


def test_functions_reading_record_json_see_the_planned_document() -> None:
    """record.json() is cached on both paths: a validator that changes the document in
    place and an archive transform that reads ``record.json()`` archive the same line
    (the fast path once decoded the payload again, found by review)."""

    def validate(doc: Any) -> None:
        doc["seen"] = 1  # None: keep the (changed) document

    pipeline = Pipeline(
        "cached",
        aggregates=[Aggregate("views", key=lambda d: d["page"])],
        validate=validate,
        archive=Archive("archive", transform=lambda d, r: r.json()),
        table="aggregates",
        ledger_table="ledger",
        metrics=False,
    )
    raw = kinesis_event([b'{"page": "home"}'], arrival=T0)["Records"]
    fast, general = (
        _summary(plan_batch(pipeline, raw, LedgerState.new_shard(), fast=f)) for f in (True, False)
    )
    assert fast == general
    (archived,) = fast["intent"]["objects"]
    assert b'"seen":1' in gzip.decompress(archived["body"])
