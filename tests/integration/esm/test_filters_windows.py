"""Spec 5 (FilterCriteria through the simulator) and 1.2 (tumbling windows: state
passing, final invocation, early termination, response contract).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator

pytestmark = pytest.mark.integration

SLACK = 0.05
ORDER = '{"data": {"kind": ["order"]}}'


def _seqs(event: dict[str, Any]) -> list[int]:
    return [int(r["kinesis"]["sequenceNumber"]) for r in event["Records"]]


def _docs(*items: Any) -> list[bytes]:
    return [i if isinstance(i, bytes) else json.dumps(i).encode() for i in items]


# ------------------------------------------------------------------------ 5.1-5.5


def test_5_1_filters_are_ored(esm_env: Any) -> None:
    """5.1: a record is delivered if it matches at least one filter."""
    esm_env.put(
        _docs(
            {"kind": "order", "amount": 5},
            {"kind": "refund", "amount": 50},
            {"kind": "refund", "amount": 500},
            {"kind": "click"},
        )
    )
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec,
        batch_size=100,
        filter_patterns=(ORDER, '{"data": {"amount": [{"numeric": [">", 100]}]}}'),
    ).run()
    assert rec.batches == [[1, 3]]
    assert stats.filtered_out == 2
    shard = esm_env.SHARD_0
    assert stats.outcomes == {
        (shard, "1"): "processed",
        (shard, "2"): "filtered",
        (shard, "3"): "processed",
        (shard, "4"): "filtered",
    }


def test_5_2_no_matching_record_means_no_invocation_and_no_destination(esm_env: Any) -> None:
    """5.2: non-matching records are skipped: the function is not invoked when
    nothing matches, and nothing goes to the on-failure destination."""
    esm_env.put(_docs({"kind": "click"}, {"kind": "view"}, b"not json"))

    def respond(event: dict[str, Any], n: int) -> Any:
        raise RuntimeError("must not be called")

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(rec, filter_patterns=(ORDER,), maximum_retry_attempts=0).run()
    assert rec.calls == 0
    assert stats.filtered_out == 3
    assert stats.records_discarded == 0
    assert stats.failure_documents == []
    assert stats.unresolved == 0


def test_5_2_filtered_records_are_not_part_of_a_discarded_batch(esm_env: Any) -> None:
    """5.2: when a batch of matching records is discarded, the non-matching records
    between them are neither delivered nor described in the failure document."""
    esm_env.put(_docs({"kind": "order"}, {"kind": "click"}, {"kind": "order"}))

    def respond(event: dict[str, Any], n: int) -> Any:
        raise RuntimeError("poison")

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(
        rec, batch_size=10, filter_patterns=(ORDER,), maximum_retry_attempts=0
    ).run()
    assert rec.batches == [[1, 3]]
    [doc] = stats.failure_documents
    assert doc["KinesisBatchInfo"]["batchSize"] == 2
    assert stats.outcomes[(esm_env.SHARD_0, "2")] == "filtered"


def test_5_3_batch_size_counts_matching_records(esm_env: Any) -> None:
    """5.3: BatchSize counts only records that pass the filter."""
    esm_env.put(_docs(*({"kind": "order" if i % 2 == 0 else "click"} for i in range(12))))
    rec = esm_env.recorder()
    esm_env.esm(rec, batch_size=3, filter_patterns=(ORDER,)).run()
    assert rec.batches == [[1, 3, 5], [7, 9, 11]]


def test_5_3_batching_window_gathers_matching_records_only(esm_env: Any) -> None:
    """5.3: with a batching window the filter decides per arriving record whether it
    joins the batch: BatchSize 2 is reached by the second MATCHING record (+3),
    not by the non-matching ones arriving at +1 and +2."""
    esm_env.put(_docs({"kind": "order"}, {"kind": "x"}, {"kind": "y"}, {"kind": "order"}))
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec,
        batch_size=2,
        maximum_batching_window_in_seconds=100,
        filter_patterns=(ORDER,),
        arrival=lambda shard, seq: float(seq - 1),
    ).run()
    assert rec.batches == [[1, 4]]
    assert stats.log[0].time - esm_env.T0 == pytest.approx(3.0, abs=SLACK)


def test_5_4_pattern_matches_decoded_json_and_data_is_delivered_unmodified(
    esm_env: Any,
) -> None:
    """5.4: the pattern is matched against the base64-decoded, JSON-parsed data; the
    delivered record keeps the original bytes (spacing and all) base64-encoded."""
    raw = b'{ "kind" :  "order",\n  "n": 1.50 }'
    esm_env.put([raw, b'{"kind": "refund"}'])
    rec = esm_env.recorder()
    esm_env.esm(rec, filter_patterns=(ORDER,)).run()
    assert rec.batches == [[1]]
    assert rec.events[0]["Records"][0]["kinesis"]["data"] == base64.b64encode(raw).decode()


def test_5_4_metadata_keys_are_rejected(esm_env: Any) -> None:
    """5.4 / 9.4 (simulator choice, streamkit.local.filters): Kinesis ESMs filter on
    ``data`` only; a pattern on partitionKey is refused instead of silently
    dropping every record."""
    with pytest.raises(ValueError, match="partitionKey"):
        esm_env.esm(esm_env.recorder(), filter_patterns=('{"partitionKey": ["a"]}',))


@pytest.mark.parametrize("pattern", ["not json", "[1, 2]", '"data"'])
def test_5_5_non_json_pattern_fails_at_creation(esm_env: Any, pattern: str) -> None:
    """5.5 rows 3 and 6 / 0.4: a pattern that is not a JSON object is an exception
    at ESM creation."""
    with pytest.raises(ValueError):
        esm_env.esm(esm_env.recorder(), filter_patterns=(pattern,))


@pytest.mark.parametrize(
    "pattern",
    [ORDER, '{"data": {"x": [{"exists": false}]}}', '{"data": {"kind": [{"anything-but": "a"}]}}'],
    ids=["equals", "exists-false", "anything-but"],
)
def test_5_5_non_json_data_with_data_pattern_is_dropped(esm_env: Any, pattern: str) -> None:
    """5.5 row 4: a record whose data is not JSON never matches a data pattern; it
    is dropped (even for exists:false / anything-but), JSON records still match."""
    esm_env.put([b"\xff\xfe binary", b"kind=order", _docs({"kind": "order"})[0]])
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, filter_patterns=(pattern,)).run()
    assert rec.batches == [[3]]
    assert stats.filtered_out == 2


def test_5_7_kpl_aggregated_record_is_dropped_by_a_data_pattern(esm_env: Any) -> None:
    """5.7 / 5.5: with standard iterators an aggregated record's data is protobuf
    (not JSON), so a data pattern drops it even if its user records would match."""
    agg = RecordAggregator()
    agg.add_user_record("pk", json.dumps({"kind": "order"}).encode())
    blob = agg.clear_and_get().get_contents()[2]
    esm_env.put([blob, _docs({"kind": "order"})[0]])
    rec = esm_env.recorder()
    esm_env.esm(rec, filter_patterns=(ORDER,)).run()
    assert rec.batches == [[2]]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"data": {"region": [{"prefix": "us-"}]}}, [1, 2]),
        ({"data": {"file": [{"suffix": ".png"}]}}, [3]),
        ({"data": {"region": [{"equals-ignore-case": "US-EAST-1"}]}}, [1]),
        ({"data": {"region": [{"anything-but": ["us-east-1", "us-west-2"]}]}}, [3, 4]),
        ({"data": {"n": [{"numeric": [">", 10, "<=", 20]}]}}, [2]),
        ({"data": {"file": [{"exists": True}]}}, [3, 4]),
        ({"data": {"file": [{"exists": False}]}}, [1, 2]),
        ({"data": {"file": [None]}}, [4]),
        ({"data": {"tags": ["b"]}}, [1]),
        ({"data": {"$or": [{"n": [5]}, {"file": [""]}]}}, [1]),
        ({"data": {"region": ["us-east-1"], "n": [5]}}, [1]),
    ],
    ids=[
        "prefix",
        "suffix",
        "equals-ignore-case",
        "anything-but",
        "numeric-range",
        "exists-true",
        "exists-false",
        "null",
        "array-any-element",
        "or",
        "and",
    ],
)
def test_5_6_operators_through_the_simulator(
    esm_env: Any, pattern: dict[str, Any], expected: list[int]
) -> None:
    """5.6: Lambda's documented operators decide which records are delivered."""
    esm_env.put(
        _docs(
            {"region": "us-east-1", "n": 5, "tags": ["a", "b"]},
            {"region": "us-west-2", "n": 15},
            {"region": "eu-west-1", "n": 25, "file": "a.png"},
            {"region": "ap-south-1", "n": 30, "file": None},
        )
    )
    rec = esm_env.recorder()
    esm_env.esm(rec, batch_size=100, filter_patterns=(json.dumps(pattern),)).run()
    assert rec.delivered() == expected


# ------------------------------------------------------------------ 1.2 windows


def _counting(event: dict[str, Any], n: int) -> dict[str, Any]:
    """Tumbling-window aggregation: count records in ``state``."""
    count = event["state"].get("count", 0) + len(event["Records"])
    return {"state": {"count": count}}


def test_1_2_3_state_is_passed_between_invocations_of_a_window(esm_env: Any) -> None:
    """1.2.3 / 1.2.4: records of one window may come in several invocations; each
    gets the state returned by the previous one (the first gets {}); the final
    invocation gets the last state."""
    esm_env.put_n(5)
    rec = esm_env.recorder(_counting)
    stats = esm_env.esm(
        rec,
        batch_size=2,
        tumbling_window_in_seconds=60,
        arrival=lambda shard, seq: float(seq),
        start=esm_env.T0 + 30,
    ).run()
    assert rec.batches == [[1, 2], [3, 4], [5], []]
    assert [e["state"] for e in rec.events] == [{}, {"count": 2}, {"count": 4}, {"count": 5}]
    assert [e["isFinalInvokeForWindow"] for e in rec.events] == [False, False, False, True]
    assert len({json.dumps(e["window"]) for e in rec.events}) == 1
    assert stats.records_processed == 5


def test_1_2_3_a_batch_never_spans_two_windows(esm_env: Any) -> None:
    """1.2.2 / 1.2.3 / 1.2.4: windows are fixed and consecutive (by arrival time): with
    every record already arrived and BatchSize 100, records of two windows go in
    two batches, each window closed by its final invocation; the next window
    starts with fresh state."""
    esm_env.put_n(4)
    rec = esm_env.recorder(_counting)
    esm_env.esm(
        rec,
        batch_size=100,
        tumbling_window_in_seconds=60,
        arrival=lambda shard, seq: {1: 10.0, 2: 20.0, 3: 70.0, 4: 80.0}[seq],
        start=esm_env.T0 + 90,
    ).run()
    assert rec.batches == [[1, 2], [], [3, 4], []]
    assert [e["isFinalInvokeForWindow"] for e in rec.events] == [False, True, False, True]
    assert [e["state"] for e in rec.events] == [{}, {"count": 2}, {}, {"count": 2}]
    w1, w2 = rec.events[0]["window"], rec.events[2]["window"]
    assert w1["end"] == w2["start"]
    assert rec.events[1]["window"] == w1
    assert rec.events[3]["window"] == w2


def test_1_2_4_final_invoke_at_window_end_1_2_6_idle_wait(esm_env: Any) -> None:
    """1.2.4 / 1.2.6: as records arrive (+10, +20, +70, +80), each is invoked with its
    window's running state; the first window's final invocation comes at its end
    (+60), before the next window's records; the last window, with no new
    records, ends 2 minutes after its end (+120 + 120)."""
    esm_env.put_n(4)
    rec = esm_env.recorder(_counting)
    stats = esm_env.esm(
        rec,
        batch_size=100,
        tumbling_window_in_seconds=60,
        arrival=lambda shard, seq: {1: 10.0, 2: 20.0, 3: 70.0, 4: 80.0}[seq],
    ).run()
    assert rec.batches == [[1], [2], [], [3], [4], []]
    assert [e["state"] for e in rec.events] == [
        {},
        {"count": 1},
        {"count": 2},
        {},
        {"count": 1},
        {"count": 2},
    ]
    times = [e.time - esm_env.T0 for e in stats.log]
    assert times == pytest.approx([10.0, 20.0, 60.0, 70.0, 80.0, 240.0], abs=SLACK)


def test_1_2_5_state_over_1_mb_terminates_window_early(esm_env: Any) -> None:
    """1.2.5: a state over 1 MB ends the window early: the next invocation continues
    the SAME window with fresh state and isWindowTerminatedEarly true."""
    esm_env.put_n(2)

    def respond(event: dict[str, Any], n: int) -> Any:
        if n == 0:
            return {"state": {"blob": "x" * 1_100_000}}
        return {"state": {"small": n}}

    rec = esm_env.recorder(respond)
    esm_env.esm(rec, batch_size=1, tumbling_window_in_seconds=60).run()
    first, second = rec.events[0], rec.events[1]
    assert first["isWindowTerminatedEarly"] is False
    assert second["Records"] and _seqs(second) == [2]
    assert second["window"] == first["window"]
    assert second["state"] == {}
    assert second["isWindowTerminatedEarly"] is True


def test_1_2_5_state_under_1_mb_is_kept(esm_env: Any) -> None:
    """1.2.5: a state below the 1 MB limit is passed on unchanged."""
    esm_env.put_n(2)
    blob = "y" * 900_000

    def respond(event: dict[str, Any], n: int) -> Any:
        return {"state": {"blob": blob}}

    rec = esm_env.recorder(respond)
    esm_env.esm(rec, batch_size=1, tumbling_window_in_seconds=60).run()
    assert rec.events[1]["state"] == {"blob": blob}
    assert rec.events[1]["isWindowTerminatedEarly"] is False


@pytest.mark.parametrize(
    "response",
    [None, {}, {"batchItemFailures": []}, {"State": {}}],
    ids=["null", "empty-object", "failures-only", "wrong-case"],
)
def test_1_2_8_window_response_without_state_is_a_failed_invocation(
    esm_env: Any, response: Any
) -> None:
    """1.2.8: a window response without ``state`` is a failed invocation: the batch
    is retried with the same state, and with MaximumRetryAttempts 1 discarded
    (functionError null: the function returned)."""
    esm_env.put_n(2)
    rec = esm_env.recorder(
        lambda event, n: {"state": {"ok": True}} if event["isFinalInvokeForWindow"] else response
    )
    stats = esm_env.esm(
        rec, batch_size=10, tumbling_window_in_seconds=60, maximum_retry_attempts=1
    ).run()
    assert rec.batches[:2] == [[1, 2], [1, 2]]
    assert rec.events[1]["state"] == rec.events[0]["state"] == {}
    assert stats.records_processed == 0
    [doc] = stats.failure_documents
    assert doc["responseContext"]["functionError"] is None
    assert doc["requestContext"]["approximateInvokeCount"] == 2


def test_1_2_9_failed_final_invoke_blocks_the_shard_until_it_succeeds(esm_env: Any) -> None:
    """1.2.9: a failing final invocation is retried, and the next window's records
    wait until it succeeds."""
    esm_env.put_n(2)
    final_calls = []

    def respond(event: dict[str, Any], n: int) -> Any:
        if event["isFinalInvokeForWindow"]:
            final_calls.append(n)
            if len(final_calls) <= 2:
                raise RuntimeError("final invoke fails")
        return _counting(event, n)

    rec = esm_env.recorder(respond)
    esm_env.esm(
        rec,
        batch_size=10,
        tumbling_window_in_seconds=60,
        arrival=lambda shard, seq: 10.0 if seq == 1 else 70.0,
    ).run()
    kinds = [("F" if e["isFinalInvokeForWindow"] else "B") + str(_seqs(e)) for e in rec.events]
    assert kinds[:5] == ["B[1]", "F[]", "F[]", "F[]", "B[2]"]
    assert rec.events[3]["state"] == {"count": 1}
    assert rec.events[4]["state"] == {}


def test_1_2_9_final_invoke_honours_max_retry_attempts(esm_env: Any) -> None:
    """1.2.9: tumbling windows honour MaximumRetryAttempts: an always-failing final
    invocation is tried N+1 times, then the shard moves on with a fresh window."""
    esm_env.put_n(2)

    def respond(event: dict[str, Any], n: int) -> Any:
        if event["isFinalInvokeForWindow"]:
            raise RuntimeError("final invoke fails")
        return _counting(event, n)

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(
        rec,
        batch_size=10,
        tumbling_window_in_seconds=60,
        maximum_retry_attempts=1,
        arrival=lambda shard, seq: 10.0 if seq == 1 else 70.0,
    ).run()
    kinds = [("F" if e["isFinalInvokeForWindow"] else "B") + str(_seqs(e)) for e in rec.events]
    assert kinds == ["B[1]", "F[]", "F[]", "B[2]", "F[]", "F[]"]
    assert rec.events[3]["state"] == {}
    assert stats.records_processed == 2


def test_1_2_9_window_records_honour_max_record_age(esm_env: Any) -> None:
    """1.2.9: tumbling windows honour MaximumRecordAgeInSeconds: a failing window
    batch is discarded with RecordAgeExceeded once its records are too old."""
    esm_env.put_n(1)

    def respond(event: dict[str, Any], n: int) -> Any:
        if event["isFinalInvokeForWindow"]:
            return {"state": event["state"]}
        raise RuntimeError("poison")

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(rec, tumbling_window_in_seconds=60, maximum_record_age_in_seconds=60).run()
    [doc] = stats.failure_documents
    assert doc["requestContext"]["condition"] == "RecordAgeExceeded"
    assert stats.records_discarded == 1
    assert rec.calls >= 2


def test_1_2_9_2_1_3_throttled_final_invoke_is_not_a_retry_attempt(esm_env: Any) -> None:
    """1.2.9 / 2.1.3: a throttle is an error before the function runs; it does not
    count toward MaximumRetryAttempts, for a window's final invocation too. With
    MaximumRetryAttempts 0 and the final invocation throttled once (seeded
    plan: batch invoked, final throttled, final invoked), the final invocation
    must still reach the function, and the throttle is counted as a throttle."""
    from streamkit.local.faults import FaultPlan

    esm_env.put_n(1)
    rec = esm_env.recorder(_counting)
    stats = esm_env.esm(
        rec,
        tumbling_window_in_seconds=60,
        maximum_retry_attempts=0,
        faults=FaultPlan(seed=10, throttle_rate=0.5),
    ).run()
    assert [e.final_window for e in stats.log] == [False, True, True]
    assert [e["isFinalInvokeForWindow"] for e in rec.events] == [False, True]
    assert rec.events[1]["state"] == {"count": 1}
    assert stats.throttles == 1
