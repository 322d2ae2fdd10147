"""Spec 4: batching window and BatchSize, the 6 MB limit, shard ordering,
ParallelizationFactor, starting positions and resharding.

Arrival times are given to records through ``KinesisShardReader(arrival_override=)``
and the simulator runs on a VirtualClock, so windows are checked exactly.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

import pytest

pytestmark = pytest.mark.integration

MAX_EVENT_BYTES = 6_291_456  # spec 4.5: 6 MB read as 6 MiB
SLACK = 0.05


def _seqs(event: dict[str, Any]) -> list[int]:
    return [int(r["kinesis"]["sequenceNumber"]) for r in event["Records"]]


def _times(stats: Any, t0: float) -> list[float]:
    return [e.time - t0 for e in stats.log if e.outcome != "throttled"]


# ------------------------------------------------------------------ 4.3 / 4.4


def test_0_1_default_batch_size_is_100(esm_env: Any) -> None:
    """0.1 / 4.3 (a): the default BatchSize for Kinesis is 100."""
    esm_env.put_n(150)
    rec = esm_env.recorder()
    esm_env.esm(rec).run()
    assert [len(b) for b in rec.batches] == [100, 50]


def test_4_3_window_zero_invokes_as_soon_as_a_record_is_available(esm_env: Any) -> None:
    """4.3: with MaximumBatchingWindowInSeconds 0 a single available record yields a
    1-record batch right away (no waiting for more)."""
    esm_env.put_n(3)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec, batch_size=100, arrival=lambda shard, seq: {1: 0.0, 2: 0.5, 3: 0.75}[seq]
    ).run()
    assert rec.batches == [[1], [2], [3]]
    assert _times(stats, esm_env.T0) == pytest.approx([0.0, 0.5, 0.75], abs=SLACK)


def test_4_3_batch_size_caps_a_batch(esm_env: Any) -> None:
    """4.3 (a): at most BatchSize records per invocation; BatchSize > 10 with window
    0 is accepted for Kinesis (0.3)."""
    esm_env.put_n(25)
    rec = esm_env.recorder()
    esm_env.esm(rec, batch_size=11, maximum_batching_window_in_seconds=0).run()
    assert [len(b) for b in rec.batches] == [11, 11, 3]
    assert rec.delivered() == list(range(1, 26))


def test_4_3_batching_window_expiry_triggers_invoke_4_4_next_window(esm_env: Any) -> None:
    """4.3 (b) / 4.4: with a 5 s window, records arriving at +0, +1, +2 are invoked
    together when the window expires (+5); the next window starts when that
    invocation completes, so the record arriving at +8 is invoked at +10."""
    esm_env.put_n(4)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec,
        batch_size=100,
        maximum_batching_window_in_seconds=5,
        arrival=lambda shard, seq: {1: 0.0, 2: 1.0, 3: 2.0, 4: 8.0}[seq],
    ).run()
    assert rec.batches == [[1, 2, 3], [4]]
    assert _times(stats, esm_env.T0) == pytest.approx([5.0, 10.0], abs=SLACK)


def test_4_3_batch_size_reached_before_window_expires(esm_env: Any) -> None:
    """4.3 (a) beats (b): BatchSize 3 gathered at +2 invokes at +2, not at the end of
    the 300 s window; the 4th record waits for its own window."""
    esm_env.put_n(4)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec,
        batch_size=3,
        maximum_batching_window_in_seconds=300,
        arrival=lambda shard, seq: float(seq - 1),
    ).run()
    assert rec.batches == [[1, 2, 3], [4]]
    times = _times(stats, esm_env.T0)
    assert times[0] == pytest.approx(2.0, abs=SLACK)
    assert times[1] == pytest.approx(302.0, abs=SLACK)


def test_4_3_backlog_with_window_is_not_delayed_past_batch_size(esm_env: Any) -> None:
    """4.3 (a): with a window, a backlog of already-arrived records is invoked in
    full BatchSize batches without waiting out each window."""
    esm_env.put_n(9)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec, batch_size=3, maximum_batching_window_in_seconds=60, start=esm_env.T0 + 10
    ).run()
    assert rec.batches == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert _times(stats, esm_env.T0 + 10) == pytest.approx([0, 0, 0], abs=SLACK)


# ------------------------------------------------------------------------ 4.5 6 MB


def test_4_5_event_never_exceeds_6_mib_and_batches_are_packed(esm_env: Any) -> None:
    """4.3 (c) / 4.5: records of 1,000,000 bytes (1.33 MB in base64): a batch stops
    before the serialized event would exceed 6,291,456 bytes, so BatchSize 100
    gives batches of 4, 4 and 2; adding the next record would have exceeded it."""
    payloads = [bytes([65 + i]) * 1_000_000 for i in range(10)]
    esm_env.put(payloads)
    sizes: list[int] = []
    rec = esm_env.recorder(
        lambda event, n: sizes.append(len(json.dumps(event, separators=(",", ":"))))
    )
    esm_env.esm(rec, batch_size=100).run()
    assert [len(b) for b in rec.batches] == [4, 4, 2]
    assert rec.delivered() == list(range(1, 11))
    assert all(size <= MAX_EVENT_BYTES for size in sizes)
    one_record = sizes[2] // 2
    assert sizes[0] + one_record > MAX_EVENT_BYTES  # a 5th record would not fit


def _compact_size(obj: Any) -> int:
    return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())


@pytest.mark.parametrize("extra", [0, 1], ids=["exactly-6-mib", "one-byte-over"])
def test_4_5_event_of_exactly_6_mib_is_allowed(esm_env: Any, extra: int) -> None:
    """4.3 (c) / 4.5: a batch stops only when the event would EXCEED 6,291,456 bytes:
    five records whose compact event is exactly 6,291,456 bytes go in one
    invocation; one byte more (a longer partition key) splits them 4 + 1."""
    big = [bytes([65 + i]) * 1_000_000 for i in range(4)]
    esm_env.put(big, key="pk")
    # Measure one big record's serialized size as the simulator delivers it.
    probe: list[dict[str, Any]] = []
    esm_env.esm(esm_env.recorder(lambda event, n: probe.append(event)), batch_size=1).run()
    record = probe[0]["Records"][0]
    rec_size = _compact_size(record)
    overhead = rec_size - len(record["kinesis"]["data"])
    four = len('{"Records":[]}') + 4 * rec_size + 3
    b64_needed = 6_291_456 - four - 1 - overhead  # ',' + the 5th record
    pad = b64_needed % 4  # make the base64 length a multiple of 4 with a longer key
    b64_len = b64_needed - pad
    esm_env.put([b"z" * (b64_len // 4 * 3)], key="pk" + "k" * (pad + extra))
    sizes: list[int] = []
    rec = esm_env.recorder(lambda event, n: sizes.append(_compact_size(event)))
    esm_env.esm(rec, batch_size=100).run()
    if extra == 0:
        assert rec.batches == [[1, 2, 3, 4, 5]]
        assert sizes == [6_291_456]
    else:
        assert rec.batches == [[1, 2, 3, 4], [5]]
        assert sizes[0] + sizes[1] - len('{"Records":[]}') + 1 == 6_291_457


def test_4_3_c_payload_limit_triggers_invoke_before_window_expires(esm_env: Any) -> None:
    """4.3 (c): Lambda invokes when ANY trigger fires, including "the payload would
    exceed 6 MB": with a 300 s window and BatchSize 100, ten arrived 1 MB records
    fill two 6 MB batches immediately (t=0); only the last 2 records wait for the
    window (t=300)."""
    esm_env.put([bytes([65 + i]) * 1_000_000 for i in range(10)])
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, batch_size=100, maximum_batching_window_in_seconds=300).run()
    assert [len(b) for b in rec.batches] == [4, 4, 2]
    assert _times(stats, esm_env.T0) == pytest.approx([0.0, 0.0, 300.0], abs=SLACK)


def test_4_5_window_state_counts_toward_the_6_mib_event(esm_env: Any) -> None:
    """4.5 / 1.2.1: the 6 MB limit applies to the serialized invocation event, and a
    tumbling-window event carries ``state`` (up to 1 MB, 1.2.5). After the
    function returns a 1,000,000-character state, four 1 MB records (5.33 MB of
    base64) plus that state would exceed 6 MiB: the batch must be cut so every
    event fits, and all records get delivered (not retried forever as "too
    large": 9.8 covers only a single record that cannot fit)."""
    esm_env.put([b"{}"] + [bytes([65 + i]) * 1_000_000 for i in range(4)])
    blob = "s" * 1_000_000
    sizes: list[int] = []

    def respond(event: dict[str, Any], n: int) -> Any:
        sizes.append(len(json.dumps(event, separators=(",", ":"))))
        return {"state": {"blob": blob}}

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(
        rec,
        batch_size=100,
        tumbling_window_in_seconds=60,
        arrival=lambda shard, seq: 0.0 if seq == 1 else 1.0,
        stuck_after=20,
    ).run()
    assert sorted(set(rec.delivered())) == [1, 2, 3, 4, 5]
    assert all(size <= MAX_EVENT_BYTES for size in sizes)
    assert stats.records_processed == 5


# -------------------------------------------------------------- 4.6 shard order


def test_4_6_each_shard_processed_in_order_one_batch_per_shard(esm_env: Any) -> None:
    """4.6 / 1.1.1: each batch comes from one shard; within a shard records are
    delivered in sequence-number order, every record exactly once."""
    esm_env.stream("two", shards=2)
    esm_env.put_n(7, shard=esm_env.SHARD_0)
    esm_env.put_n(5, shard=esm_env.SHARD_1)
    rec = esm_env.recorder()
    esm_env.esm(rec, batch_size=3).run()
    per_shard: dict[str, list[int]] = defaultdict(list)
    for event in rec.events:
        shard_ids = {r["eventID"].split(":")[0] for r in event["Records"]}
        assert len(shard_ids) == 1
        per_shard[shard_ids.pop()].extend(_seqs(event))
    assert per_shard == {
        esm_env.SHARD_0: list(range(1, 8)),
        esm_env.SHARD_1: list(range(1, 6)),
    }


def test_2_1_2_4_6_failing_shard_blocks_only_itself(esm_env: Any) -> None:
    """2.1.2 / 4.6: a failing batch blocks its own shard only; the other shard's
    records are all processed while the poison batch is still being retried."""
    esm_env.stream("two", shards=2)
    esm_env.put_n(2, shard=esm_env.SHARD_0)
    esm_env.put_n(4, shard=esm_env.SHARD_1)
    rec = esm_env.recorder(
        lambda event, n: (
            (_ for _ in ()).throw(RuntimeError("poison"))
            if event["Records"][0]["eventID"].startswith(esm_env.SHARD_0)
            else None
        )
    )
    stats = esm_env.esm(rec, batch_size=2, maximum_retry_attempts=3).run()
    shard1_done = max(e.time for e in stats.log if e.shard_id == esm_env.SHARD_1)
    shard0_attempts = [e.time for e in stats.log if e.shard_id == esm_env.SHARD_0]
    assert len(shard0_attempts) == 4
    assert shard1_done < shard0_attempts[-1]
    assert stats.records_processed == 4
    assert stats.records_discarded == 2


# ------------------------------------------------------------ 4.7 parallelization


def _key_order_handler(delivered: dict[str, list[int]], fail_key: str | None = None) -> Any:
    failed_once: set[int] = set()

    def respond(event: dict[str, Any], n: int) -> Any:
        keys = {r["kinesis"]["partitionKey"] for r in event["Records"]}
        first = int(event["Records"][0]["kinesis"]["sequenceNumber"])
        if fail_key in keys and first not in failed_once:
            failed_once.add(first)
            raise RuntimeError("fail once")
        for r in event["Records"]:
            delivered[r["kinesis"]["partitionKey"]].append(int(r["kinesis"]["sequenceNumber"]))
        return None

    return respond


@pytest.mark.parametrize("fail_key", [None, "k3"])
def test_4_7_parallelization_keeps_per_partition_key_order(
    esm_env: Any, fail_key: str | None
) -> None:
    """4.7 / 4.8: with ParallelizationFactor 4, several lanes of one shard are used
    (at most 4), each partition key stays in one lane, and records of one key are
    processed in order (also when a key's batches fail and are retried)."""
    keys = [f"k{i % 8}" for i in range(48)]
    esm_env.put_n(48, key=lambda i: keys[i])
    processed: dict[str, list[int]] = defaultdict(list)
    rec = esm_env.recorder(_key_order_handler(processed, fail_key))
    stats = esm_env.esm(rec, batch_size=4, parallelization_factor=4).run()
    invoked = [e for e in stats.log if e.outcome != "throttled"]
    assert len(invoked) == len(rec.events)
    lanes_of_key: dict[str, set[int]] = defaultdict(set)
    for entry, event in zip(invoked, rec.events, strict=True):
        for r in event["Records"]:
            lanes_of_key[r["kinesis"]["partitionKey"]].add(entry.lane)
    assert all(len(lanes) == 1 for lanes in lanes_of_key.values())
    used = {entry.lane for entry in invoked}
    assert 1 < len(used) <= 4
    for i in range(8):
        expected = [s + 1 for s in range(48) if keys[s] == f"k{i}"]
        assert processed[f"k{i}"] == expected
    assert stats.records_processed == 48


def test_4_7_parallelization_factor_1_is_a_single_lane(esm_env: Any) -> None:
    """4.6 / 4.7: with the default ParallelizationFactor 1 one lane processes the
    whole shard in order, mixing keys within a batch."""
    esm_env.put_n(6, key=lambda i: f"k{i % 3}")
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, batch_size=3).run()
    assert rec.batches == [[1, 2, 3], [4, 5, 6]]
    assert {e.lane for e in stats.log} == {0}


# ------------------------------------------------------------- 4.9 starting position


def test_4_9_trim_horizon_starts_at_the_oldest_record(esm_env: Any) -> None:
    """4.9: TRIM_HORIZON delivers every record from the oldest on."""
    esm_env.put_n(5)
    rec = esm_env.recorder()
    esm_env.esm(rec, starting_position="TRIM_HORIZON", batch_size=100).run()
    assert rec.batches == [[1, 2, 3, 4, 5]]


def test_4_9_latest_skips_records_written_before_start(esm_env: Any) -> None:
    """4.9 / 0.6: LATEST never delivers records written before the iterator."""
    esm_env.put_n(3)
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, starting_position="LATEST").run()
    assert rec.calls == 0
    assert stats.records_in == 0


def test_4_9_latest_then_new_records_are_delivered_on_the_next_run(esm_env: Any) -> None:
    """4.9: LATEST delivers the records written after the iterator was obtained;
    after the backlog is drained the ESM continues with new records. Here: a
    first run() opens the LATEST iterator, 2 records are written, a second run()
    must deliver exactly those 2."""
    esm_env.put_n(3)
    rec = esm_env.recorder()
    esm = esm_env.esm(rec, starting_position="LATEST")
    esm.run()
    assert rec.calls == 0
    esm_env.put_n(2)
    stats = esm.run()
    assert rec.batches == [[4, 5]]
    assert stats.records_processed == 2


def test_4_9_trim_horizon_continues_with_new_records_on_the_next_run(esm_env: Any) -> None:
    """4.9: after the backlog is drained, the ESM continues with new records."""
    esm_env.put_n(2)
    rec = esm_env.recorder()
    esm = esm_env.esm(rec, batch_size=100)
    esm.run()
    assert rec.batches == [[1, 2]]
    esm_env.put_n(2)
    esm.run()
    assert rec.batches == [[1, 2], [3, 4]]


def test_4_1_run_for_max_seconds_on_a_caught_up_stream_returns(esm_env: Any) -> None:
    """4.1: ``run(max_seconds=10, until_idle=False)`` on a stream whose records are
    all processed keeps the mapping polling for 10 s of (virtual) clock time and
    then returns. (A livelock here is detected by the test clock, not a hang.)"""
    esm_env.put_n(1)
    rec = esm_env.recorder()
    esm = esm_env.esm(rec)
    esm.run()
    assert rec.batches == [[1]]
    before = esm.clock.now()
    esm.run(max_seconds=10, until_idle=False)
    assert esm.clock.now() == pytest.approx(before + 10, abs=SLACK)
    assert rec.batches == [[1]]


def test_4_9_at_timestamp_starts_at_first_record_not_older(esm_env: Any) -> None:
    """4.9: AT_TIMESTAMP delivers the records whose Kinesis arrival time is at or
    after StartingPositionTimestamp (Unix seconds), and none before it."""
    esm_env.stream("ts", shards=1)
    # Write until two consecutive records are >= 2 ms apart in Kinesis time.
    arrivals: list[float] = []
    split = None
    for _ in range(500):
        esm_env.put_n(1)
        it = esm_env.kinesis.get_shard_iterator(
            StreamName="ts",
            ShardId=esm_env.SHARD_0,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=esm_env.puts[-1].sequence_number,
        )["ShardIterator"]
        arrivals.append(
            esm_env.kinesis.get_records(ShardIterator=it, Limit=1)["Records"][0][
                "ApproximateArrivalTimestamp"
            ].timestamp()
        )
        if len(arrivals) >= 3 and arrivals[-1] - arrivals[-2] >= 0.002:
            split = len(arrivals) - 1
            break
    assert split is not None
    esm_env.put_n(2)  # more records after the split point
    ts = (arrivals[split - 1] + arrivals[split]) / 2
    rec = esm_env.recorder()
    esm_env.esm(
        rec,
        starting_position="AT_TIMESTAMP",
        starting_position_timestamp=ts,
        arrival=None,
        start=time.time() + 1,
        batch_size=1000,
    ).run()
    total = len(esm_env.puts)
    assert rec.delivered() == list(range(split + 1, total + 1))
