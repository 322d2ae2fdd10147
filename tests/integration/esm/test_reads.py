"""Reads as Lambda's poller does them (spec 7.2, 7.3, 7.5, 7.9; simulator rules
S7.10-S7.12 in docs/simulator.md).

Read errors are injected on the real boto3 client through botocore's
``before-call`` hook (the ``read_faults`` fixture): the request is answered with the
error instead of being sent. The read limits and retention run on the simulator's
virtual clock.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.local.esm import EXPIRED, PROCESSED, EsmStats, run_together
from streamkit.local.esm.limits import (
    GET_RECORDS_PER_SECOND,
    READ_BACKOFF_BASE,
    READ_BYTES_PER_SECOND,
)
from streamkit.local.esm.read_limits import StreamReadLimits
from tests.integration.esm.conftest import GuardedClock

pytestmark = pytest.mark.integration

PTEE = "ProvisionedThroughputExceededException"
DAY = 86_400.0


# ------------------------------------------------------------- failed reads (7.9)


def test_7_9_a_throttled_get_records_backs_off_and_polls_again(
    esm_env: Any, read_faults: Any
) -> None:
    """ProvisionedThroughputExceededException twice in a row: the run goes on after
    1 s then 2 s of back-off on the virtual clock (S7.10), and every record is
    delivered once; the throttles are counted."""
    esm_env.put_n(5)
    faults = read_faults({1: PTEE, 2: PTEE})
    rec = esm_env.recorder()
    esm = esm_env.esm(rec, batch_size=10)
    stats = esm.run()
    assert faults.fired == [(1, PTEE), (2, PTEE)]
    assert rec.batches == [[1, 2, 3, 4, 5]]
    assert stats.read_throttles == 2 and stats.read_errors == 0
    assert stats.read_error_codes == {PTEE: 2}
    assert stats.log[0].time == esm_env.T0 + READ_BACKOFF_BASE * (1 + 2)
    assert stats.unresolved == 0


def test_7_3_an_expired_iterator_is_acquired_again_after_the_last_record_read(
    esm_env: Any, read_faults: Any
) -> None:
    """The second GetRecords finds its iterator expired: the simulator asks for a new
    one AFTER_SEQUENCE_NUMBER of the last record it read and carries on: no record
    lost, none repeated, order kept."""
    esm_env.put_n(6)
    faults = read_faults({2: "ExpiredIteratorException"})
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, batch_size=2, read_limit=2).run()
    assert rec.delivered() == [1, 2, 3, 4, 5, 6]
    assert stats.read_error_codes == {"ExpiredIteratorException": 1}
    assert stats.read_errors == 1 and stats.read_throttles == 0
    iterators = [p for name, p in faults.calls if name == "GetShardIterator"]
    assert iterators[0]["ShardIteratorType"] == "TRIM_HORIZON"
    assert iterators[1]["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER"
    assert iterators[1]["StartingSequenceNumber"] == "2"
    assert stats.unresolved == 0


@pytest.mark.parametrize(
    "code",
    [
        "KMSThrottlingException",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "InternalFailureException",
    ],
)
def test_7_9_kms_and_internal_errors_are_retried_never_failing_the_mapping(
    esm_env: Any, read_faults: Any, code: str
) -> None:
    esm_env.put_n(4)
    read_faults({1: code, 3: code})
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, batch_size=2, read_limit=2).run()
    assert rec.delivered() == [1, 2, 3, 4]
    assert stats.read_error_codes == {code: 2}
    assert stats.read_errors == 2
    assert stats.unresolved == 0


def test_7_9_trimmed_data_restarts_at_trim_horizon_without_repeating_records(
    esm_env: Any, read_faults: Any
) -> None:
    """TrimmedDataAccessException: the cursor restarts at TRIM_HORIZON (what retention
    left). moto trims nothing, so the records read before come back from the
    endpoint: they are skipped, never delivered twice."""
    esm_env.put_n(6)
    faults = read_faults({2: "TrimmedDataAccessException"})
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, batch_size=2, read_limit=2).run()
    assert rec.delivered() == [1, 2, 3, 4, 5, 6]
    assert stats.read_error_codes == {"TrimmedDataAccessException": 1}
    iterators = [p["ShardIteratorType"] for n, p in faults.calls if n == "GetShardIterator"]
    assert iterators == ["TRIM_HORIZON", "TRIM_HORIZON"]


def test_7_9_back_off_doubles_per_failure_in_a_row_and_resets_after_a_read(
    esm_env: Any, read_faults: Any
) -> None:
    esm_env.put_n(2)
    read_faults({1: PTEE, 2: PTEE, 3: PTEE, 5: PTEE})
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, batch_size=1, read_limit=1).run()
    assert rec.delivered() == [1, 2]
    # reads 1-3 fail (1 + 2 + 4 s), read 4 gets record 1, read 5 fails (1 s: reset)
    assert stats.log[0].time == esm_env.T0 + 7
    assert stats.log[1].time == pytest.approx(esm_env.T0 + 8, abs=0.5)
    assert stats.read_throttles == 4


# --------------------------------------------------------------- retention (7.5)


def test_7_5_a_record_past_retention_is_never_delivered_and_counted_expired(
    esm_env: Any,
) -> None:
    """Record 1 arrived more than the stream's 24 h before the simulator's clock: it
    is gone, like on Kinesis: never delivered, no on-failure record, outcome
    ``expired``. Records 2 and 3 are within retention and delivered."""
    esm_env.put_n(3)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec, arrival=lambda shard, seq: -DAY - 1 if seq == 1 else 0.0, start=esm_env.T0
    ).run()
    assert rec.delivered() == [2, 3]
    assert stats.records_expired == 1
    assert stats.outcomes[(esm_env.SHARD_0, "1")] == EXPIRED
    assert stats.outcomes[(esm_env.SHARD_0, "2")] == PROCESSED
    assert stats.failure_documents == [] and stats.records_discarded == 0
    assert stats.to_dict()["records_expired"] == 1
    assert stats.unresolved == 0


def test_7_5_the_stream_s_own_retention_period_is_used(esm_env: Any) -> None:
    """The same record on a stream that keeps data 48 h is still there."""
    esm_env.put_n(3)
    esm_env.kinesis.increase_stream_retention_period(
        StreamName=esm_env.stream_name, RetentionPeriodHours=48
    )
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, arrival=lambda shard, seq: -DAY - 1 if seq == 1 else 0.0).run()
    assert rec.delivered() == [1, 2, 3]
    assert stats.records_expired == 0


def test_2_1_2_a_failing_record_blocks_its_shard_until_it_expires_from_the_stream(
    esm_env: Any,
) -> None:
    """Infinite retries and age (-1/-1): the poison record is retried until it falls
    out of the stream's retention on the virtual clock, then it is gone (expired,
    not discarded) and the next record is delivered."""
    esm_env.put_n(2)

    def respond(event: dict[str, Any], n: int) -> Any:
        if any(r["kinesis"]["sequenceNumber"] == "1" for r in event["Records"]):
            raise RuntimeError("poison")
        return None

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(
        rec,
        batch_size=1,
        arrival=lambda shard, seq: -DAY + 60 if seq == 1 else 0.0,
        start=esm_env.T0,
    ).run()
    attempts = [b for b in rec.batches if b == [1]]
    assert 3 <= len(attempts) <= 15  # retried for its last minute in the stream
    assert rec.batches[-1] == [2]
    assert stats.outcomes[(esm_env.SHARD_0, "1")] == EXPIRED
    assert stats.records_expired == 1 and stats.records_discarded == 0
    assert stats.unresolved == 0


# ------------------------------------------------------------ read limits (7.2)


def _max_calls_in_a_second(times: list[float]) -> int:
    """The most calls in any half-open window [t, t + 1)."""
    best = 0
    for i, t in enumerate(times):
        best = max(best, sum(1 for u in times[i:] if u < t + 1.0))
    return best


def _reads_per_second(stats: EsmStats, started: float, ended: float) -> float:
    return stats.get_records_calls / (ended - started)


def test_7_2_one_mapping_with_read_limits_stays_within_five_calls_a_second(
    esm_env: Any,
) -> None:
    """Without the option reads are free on the virtual clock; with it one mapping
    gets at most 5 GetRecords calls in any second of its shard, throttles included."""
    esm_env.put_n(60)
    free = esm_env.esm(esm_env.recorder(), batch_size=5, read_limit=5)
    free.run()
    assert free.stats.read_throttles == 0
    rec = esm_env.recorder()
    limited = esm_env.esm(rec, batch_size=5, read_limit=5, read_limits=True)
    stats = limited.run()
    assert rec.delivered() == list(range(1, 61))
    limits = limited.stream_read_limits
    assert isinstance(limits, StreamReadLimits)
    calls = limits.calls(esm_env.SHARD_0)
    assert len(calls) == stats.get_records_calls >= 12
    assert _max_calls_in_a_second(calls) == GET_RECORDS_PER_SECOND
    assert stats.read_throttles > 0
    assert stats.read_error_codes == {PTEE: stats.read_throttles}
    assert calls[-1] - calls[0] >= (len(calls) - GET_RECORDS_PER_SECOND) / GET_RECORDS_PER_SECOND


def test_7_2_two_mappings_of_one_stream_share_its_reads(esm_env: Any) -> None:
    """Two mappings of one stream on one clock, with read limits: each gets fewer
    GetRecords calls per second than one alone, and together they stay within the
    shard's 5 calls in any second."""
    esm_env.put_n(100)
    alone_clock = GuardedClock(esm_env.T0)
    alone = esm_env.esm(
        esm_env.recorder(), batch_size=5, read_limit=5, read_limits=True, clock=alone_clock
    )
    alone.run()
    alone_rate = _reads_per_second(alone.stats, esm_env.T0, alone_clock.now())
    assert alone_rate > 3.0

    # Later on the clock: the first mapping's reads are not in the same seconds.
    start = esm_env.T0 + 3600
    clock = GuardedClock(start)
    recs = [esm_env.recorder(), esm_env.recorder()]
    pair = [esm_env.esm(r, batch_size=5, read_limit=5, read_limits=True, clock=clock) for r in recs]
    stats = run_together(pair)
    assert [r.delivered() for r in recs] == [list(range(1, 101))] * 2
    for s in stats:
        assert _reads_per_second(s, start, clock.now()) < alone_rate
        assert s.read_throttles > 0
    limits = pair[0].stream_read_limits
    assert limits is not None and limits is pair[1].stream_read_limits is alone.stream_read_limits
    together = [t for t in limits.calls(esm_env.SHARD_0) if t >= start]
    assert len(together) == sum(s.get_records_calls for s in stats)
    assert _max_calls_in_a_second(together) <= GET_RECORDS_PER_SECOND
    assert len(together) <= GET_RECORDS_PER_SECOND * (clock.now() - start + 1)


def test_7_2_reading_more_than_2_mb_a_second_is_throttled(esm_env: Any) -> None:
    """Records of 512 KiB, 4 per GetRecords (2 MiB): after each such read the shard
    refuses calls until its bytes budget is back (S7.12), so the data comes at about
    2 MiB/s on the virtual clock, where 5 calls/s alone would allow 10 MiB/s."""
    payload = b"x" * (512 * 1024)
    esm_env.put([payload] * 16, key=lambda i: f"k{i}")
    clock = GuardedClock(esm_env.T0)
    rec = esm_env.recorder()
    limited = esm_env.esm(rec, batch_size=4, read_limit=4, read_limits=True, clock=clock)
    stats = limited.run()
    assert len(rec.delivered()) == 16
    limits = limited.stream_read_limits
    assert limits is not None
    calls = limits.calls(esm_env.SHARD_0)
    data_calls = calls[:4]  # four reads of 2 MiB each, then the empty read at the tip
    megabytes = 16 * len(payload)
    # Between the first and the last data read, 6 MiB were due at 2 MiB/s.
    assert data_calls[-1] - data_calls[0] >= (megabytes - 2 * 2**21) / READ_BYTES_PER_SECOND
    assert _max_calls_in_a_second(calls) < GET_RECORDS_PER_SECOND
    assert stats.read_throttles > 0


def test_run_together_needs_one_shared_virtual_clock(esm_env: Any) -> None:
    esm_env.put_n(1)
    a = esm_env.esm(esm_env.recorder())
    b = esm_env.esm(esm_env.recorder())
    with pytest.raises(ValueError, match="same VirtualClock"):
        run_together([a, b])


def test_7_2_replay_with_read_limits_reads_a_capture_at_kinesis_speed(aws: Any) -> None:
    """``replay(..., read_limits=True)``: 2.25 MiB captured on one shard come back in
    one GetRecords, over the shard's 2 MiB budget, so the next read is refused
    (S7.12); without the option the same replay never waits for reads."""
    from streamkit.local.aws import aws_clients
    from streamkit.local.capture import CapturedRecord, ShardCapture
    from streamkit.local.replay import replay

    kinesis = aws_clients(endpoint_url=aws.endpoint_url, region=aws.region)("kinesis")
    payload = b"y" * (256 * 1024)
    capture = ShardCapture(
        "arn:aws:kinesis:us-east-1:123456789012:stream/big",
        "shardId-000000000000",
        "us-east-1",
        None,
        [CapturedRecord(str(i), payload, f"k{i}", 1_700_000_000.0) for i in range(1, 10)],
    )

    def handler(event: dict[str, Any], context: Any) -> None:
        return None

    free = replay([capture], handler, kinesis_client=kinesis)
    limited = replay([capture], handler, kinesis_client=kinesis, read_limits=True)
    assert free.ok and limited.ok
    assert free.stats.records_processed == limited.stats.records_processed == 9
    assert free.stats.read_throttles == 0
    assert limited.stats.read_throttles >= 1
    assert limited.stats.read_error_codes == {PTEE: limited.stats.read_throttles}


def test_run_together_resumes_a_mapping_disabled_until_a_time(esm_env: Any) -> None:
    """Spec 0.7 inside run_together: a mapping paused until T0 + 5 starts then, while
    the other one runs from T0."""
    esm_env.put_n(3)
    clock = GuardedClock(esm_env.T0)
    a = esm_env.esm(esm_env.recorder(), clock=clock)
    b = esm_env.esm(esm_env.recorder(), clock=clock)
    b.disable(until=esm_env.T0 + 5)
    stats_a, stats_b = run_together([a, b])
    assert stats_a.records_processed == stats_b.records_processed == 3
    assert stats_a.log[0].time == esm_env.T0
    assert stats_b.log[0].time >= esm_env.T0 + 5
