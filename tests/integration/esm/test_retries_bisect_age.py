"""Spec 2.1.3-2.1.6, 2.3 and 2.4: retries, back-off pacing, bisection, record age.

Pacing is checked on the simulator's VirtualClock (invocation times in
``EsmStats.log``), never against wall-clock time. Test names cite the spec rule.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from streamkit.local.faults import FaultPlan

pytestmark = pytest.mark.integration

RBIF = ("ReportBatchItemFailures",)
#: Time the handler really takes is added to the virtual clock; it is tiny.
SLACK = 0.05


def _seqs(event: dict[str, Any]) -> list[int]:
    return [int(r["kinesis"]["sequenceNumber"]) for r in event["Records"]]


def _always_raise(event: dict[str, Any], n: int) -> Any:
    raise RuntimeError("poison batch")


def _raise_if_contains(*bad: int) -> Any:
    def respond(event: dict[str, Any], n: int) -> Any:
        hit = set(_seqs(event)) & set(bad)
        if hit:
            raise RuntimeError(f"poison {sorted(hit)}")
        return None

    return respond


def _invocation_times(stats: Any) -> list[float]:
    return [entry.time for entry in stats.log if entry.outcome != "throttled"]


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


# ----------------------------------------------------------------- 2.1.3 - 2.1.6


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_2_1_5_max_retry_attempts_n_means_n_plus_1_invocations(esm_env: Any, n: int) -> None:
    """2.1.5: MaximumRetryAttempts N = at most N+1 invocations of the batch, then the
    batch is discarded (RetryAttemptsExhausted, approximateInvokeCount N+1) and
    processing continues with the next batch (2.5.3)."""
    esm_env.put_n(3)
    rec = esm_env.recorder(_raise_if_contains(1))
    stats = esm_env.esm(rec, batch_size=2, maximum_retry_attempts=n).run()
    assert rec.batches == [[1, 2]] * (n + 1) + [[3]]
    [doc] = stats.failure_documents
    assert doc["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert doc["requestContext"]["approximateInvokeCount"] == n + 1
    assert doc["responseContext"]["functionError"] == "Unhandled"
    assert stats.outcomes[(esm_env.SHARD_0, "3")] == "processed"


def test_2_1_5_minus_one_retries_without_bound(esm_env: Any) -> None:
    """2.1.5: MaximumRetryAttempts -1 is unbounded: a batch failing 25 times and then
    succeeding is never discarded."""
    esm_env.put_n(2)

    def respond(event: dict[str, Any], n: int) -> Any:
        if n < 25:
            raise RuntimeError("not yet")
        return None

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(rec, batch_size=10, maximum_retry_attempts=-1).run()
    assert rec.calls == 26
    assert stats.records_processed == 2
    assert stats.failure_documents == []


def test_2_1_3_throttles_do_not_count_toward_max_retry_attempts(esm_env: Any) -> None:
    """2.1.3: errors before the function runs (throttling) are retried and do not
    count toward MaximumRetryAttempts: with N=2 the function still runs 3 times."""
    esm_env.put_n(1)
    rec = esm_env.recorder(_always_raise)
    stats = esm_env.esm(
        rec,
        maximum_retry_attempts=2,
        faults=FaultPlan(seed=1, throttle_rate=0.6),
    ).run()
    assert stats.throttles >= 2  # the seed does throttle; the check is meaningful
    assert rec.calls == 3
    [doc] = stats.failure_documents
    assert doc["requestContext"]["approximateInvokeCount"] == 3
    assert doc["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_2_1_3_throttled_records_are_retried_until_max_record_age(esm_env: Any) -> None:
    """2.1.3 / 2.4 / 9.10: a batch that is always throttled is retried (not counted
    even with MaximumRetryAttempts 0) until its records exceed
    MaximumRecordAgeInSeconds, then discarded with RecordAgeExceeded and
    approximateInvokeCount 1 without the function ever running."""
    esm_env.put_n(2)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec,
        batch_size=10,
        maximum_retry_attempts=0,
        maximum_record_age_in_seconds=60,
        faults=FaultPlan(throttle_rate=1.0),
    ).run()
    assert rec.calls == 0
    assert stats.throttles > 1
    [doc] = stats.failure_documents
    assert doc["requestContext"]["condition"] == "RecordAgeExceeded"
    assert doc["requestContext"]["approximateInvokeCount"] == 1
    assert "responseContext" not in doc
    assert doc["KinesisBatchInfo"]["batchSize"] == 2


def test_2_1_4_function_errors_retried_until_record_age_when_retries_remain(
    esm_env: Any,
) -> None:
    """2.1.4 / 2.4.3: function errors are retried until the records exceed
    MaximumRecordAgeInSeconds when that comes before MaximumRetryAttempts."""
    esm_env.put_n(1)
    rec = esm_env.recorder(_always_raise)
    stats = esm_env.esm(rec, maximum_retry_attempts=1000, maximum_record_age_in_seconds=60).run()
    [doc] = stats.failure_documents
    assert doc["requestContext"]["condition"] == "RecordAgeExceeded"
    assert "responseContext" not in doc
    assert doc["requestContext"]["approximateInvokeCount"] == rec.calls
    assert 2 <= rec.calls < 1000


def test_2_1_6_backoff_is_1s_doubling_capped_at_10s(esm_env: Any) -> None:
    """2.1.6 / 9.2 (simulator choice: 1 s, doubling, capped at 10 s): with infinite
    retries and MaximumRecordAgeInSeconds 60, retries happen at +1, +2, +4, +8,
    +10, +10, ... i.e. 9 invocations (t = 0, 1, 3, 7, 15, 25, 35, 45, 55) before
    RecordAgeExceeded ("about 8" observed on AWS), never a tight loop."""
    esm_env.put_n(1)
    rec = esm_env.recorder(_always_raise)
    stats = esm_env.esm(rec, maximum_record_age_in_seconds=60, start=esm_env.T0).run()
    times = _invocation_times(stats)
    assert [t - esm_env.T0 for t in times] == pytest.approx(
        [0, 1, 3, 7, 15, 25, 35, 45, 55], abs=SLACK
    )
    assert rec.calls == 9
    [doc] = stats.failure_documents
    assert doc["requestContext"]["condition"] == "RecordAgeExceeded"
    assert doc["requestContext"]["approximateInvokeCount"] == 9


def test_2_1_6_backoff_restarts_after_a_success(esm_env: Any) -> None:
    """2.1.6: back-off is per failing batch: after a batch succeeds, the next batch's
    first retry waits 1 s again (not the doubled delay)."""
    esm_env.put_n(2)

    def respond(event: dict[str, Any], n: int) -> Any:
        if n % 3 != 2:  # each batch fails twice, then succeeds
            raise RuntimeError("transient")
        return None

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(rec, batch_size=1).run()
    assert rec.batches == [[1], [1], [1], [2], [2], [2]]
    assert _gaps(_invocation_times(stats)) == pytest.approx([1, 2, 0, 1, 2], abs=SLACK)


def test_2_1_6_throttle_retries_are_paced(esm_env: Any) -> None:
    """2.1.6 / 2.1.3: throttled attempts are retried with back-off too, not in a
    tight loop: attempts are at least 1 s apart on the virtual clock."""
    esm_env.put_n(1)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec, maximum_record_age_in_seconds=60, faults=FaultPlan(throttle_rate=1.0)
    ).run()
    times = [entry.time for entry in stats.log if entry.outcome == "throttled"]
    assert len(times) >= 3
    assert min(_gaps(times)) >= 1.0 - SLACK
    assert len(times) <= 12  # ~8-9 in 60 s, as observed on AWS


# ------------------------------------------------------------------- 2.3 bisect


def test_2_3_1_bisect_splits_in_halves_first_half_first(esm_env: Any) -> None:
    """2.3.1 / 2.3.6: a failing batch is split in two halves, first half first, down
    to the poison record; BatchSize is unchanged for later batches."""
    esm_env.put_n(8)
    rec = esm_env.recorder(_raise_if_contains(3))
    stats = esm_env.esm(
        rec,
        batch_size=4,
        bisect_batch_on_function_error=True,
        maximum_retry_attempts=0,
    ).run()
    assert rec.batches == [[1, 2, 3, 4], [1, 2], [3, 4], [3], [4], [5, 6, 7, 8]]
    assert stats.bisections == 2
    [doc] = stats.failure_documents
    info = doc["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        "3",
        "3",
        1,
    )
    assert doc["responseContext"]["functionError"] == "Unhandled"
    assert doc["requestContext"]["approximateInvokeCount"] == 1


def test_2_3_1_bisect_odd_batch_first_half_is_the_larger(esm_env: Any) -> None:
    """2.3.1 / 2.3.6: an odd batch splits ceil/floor (first half larger)."""
    esm_env.put_n(5)
    rec = esm_env.recorder(_raise_if_contains(5))
    esm_env.esm(
        rec, batch_size=5, bisect_batch_on_function_error=True, maximum_retry_attempts=0
    ).run()
    assert rec.batches[:3] == [[1, 2, 3, 4, 5], [1, 2, 3], [4, 5]]
    assert rec.batches[3:] == [[4], [5]]


def test_2_3_2_splitting_does_not_consume_retry_quota(esm_env: Any) -> None:
    """2.3.2: with MaximumRetryAttempts 0 a failed batch of 4 is still bisected down
    to the poison record (if splitting consumed the quota, all 4 would be
    discarded after the first failure)."""
    esm_env.put_n(4)
    rec = esm_env.recorder(_raise_if_contains(1))
    stats = esm_env.esm(
        rec, batch_size=4, bisect_batch_on_function_error=True, maximum_retry_attempts=0
    ).run()
    assert rec.batches == [[1, 2, 3, 4], [1, 2], [1], [2], [3, 4]]
    assert stats.records_discarded == 1
    assert stats.records_processed == 3
    assert stats.outcomes[(esm_env.SHARD_0, "1")] == "discarded"


def test_2_3_6_single_record_gets_full_retry_budget(esm_env: Any) -> None:
    """2.3.6 (simulator choice): bisection goes down to single records before
    retries are counted, and the single record gets the full budget: with
    MaximumRetryAttempts 2 it is invoked 3 times, then discarded."""
    esm_env.put_n(4)
    rec = esm_env.recorder(_raise_if_contains(2))
    stats = esm_env.esm(
        rec, batch_size=4, bisect_batch_on_function_error=True, maximum_retry_attempts=2
    ).run()
    assert rec.batches == [[1, 2, 3, 4], [1, 2], [1], [2], [2], [2], [3, 4]]
    [doc] = stats.failure_documents
    assert doc["requestContext"]["approximateInvokeCount"] == 3
    assert doc["KinesisBatchInfo"]["startSequenceNumber"] == "2"


def test_2_3_3_bisect_on_error_regardless_of_report_batch_item_failures(
    esm_env: Any,
) -> None:
    """2.3.3: a function error with bisect on splits the batch even when
    ReportBatchItemFailures is enabled."""
    esm_env.put_n(4)
    rec = esm_env.recorder(_raise_if_contains(4))
    stats = esm_env.esm(
        rec,
        batch_size=4,
        bisect_batch_on_function_error=True,
        function_response_types=RBIF,
        maximum_retry_attempts=0,
    ).run()
    assert rec.batches == [[1, 2, 3, 4], [1, 2], [3, 4], [3], [4]]
    assert stats.bisections == 2


def test_2_3_4_bisect_with_partial_response_retries_from_returned_sequence(
    esm_env: Any,
) -> None:
    """2.3.4: with bisect AND ReportBatchItemFailures, a partial response "bisects at
    the returned sequence number": only records from it onward are retried (no
    halving)."""
    esm_env.put_n(6)

    def respond(event: dict[str, Any], n: int) -> Any:
        if n == 0:
            return {"batchItemFailures": [{"itemIdentifier": "5"}]}
        return None

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(
        rec,
        batch_size=6,
        bisect_batch_on_function_error=True,
        function_response_types=RBIF,
    ).run()
    assert rec.batches == [[1, 2, 3, 4, 5, 6], [5, 6]]
    assert stats.bisections == 0


def test_2_3_1_bisect_off_retries_whole_batch(esm_env: Any) -> None:
    """2.3.1 (contrast): without bisect the failing batch is retried whole."""
    esm_env.put_n(4)
    rec = esm_env.recorder(_raise_if_contains(3))
    stats = esm_env.esm(rec, batch_size=4, maximum_retry_attempts=1).run()
    assert rec.batches == [[1, 2, 3, 4], [1, 2, 3, 4]]
    assert stats.bisections == 0
    assert stats.records_discarded == 4


# -------------------------------------------------------------- 2.4 record age


def test_2_4_2_age_is_per_record(esm_env: Any) -> None:
    """2.4.1 / 2.4.2 (observed): one expired record followed by 5 fresh ones
    (BatchSize 10, MaximumRetryAttempts 0): the expired record alone is discarded
    (RecordAgeExceeded, batchSize 1, no responseContext, approximateInvokeCount 1)
    and never sent to the function; the 5 fresh records are delivered."""
    esm_env.put_n(6)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec,
        batch_size=10,
        maximum_retry_attempts=0,
        maximum_record_age_in_seconds=60,
        arrival=lambda shard, seq: 0.0 if seq == 1 else 100.0,
        start=esm_env.T0 + 100.5,
    ).run()
    assert rec.batches == [[2, 3, 4, 5, 6]]
    [doc] = stats.failure_documents
    assert doc["requestContext"]["condition"] == "RecordAgeExceeded"
    assert doc["requestContext"]["approximateInvokeCount"] == 1
    assert "responseContext" not in doc
    info = doc["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        "1",
        "1",
        1,
    )
    assert stats.outcomes[(esm_env.SHARD_0, "1")] == "discarded"


def test_2_4_1_record_exactly_at_max_age_is_not_older(esm_env: Any) -> None:
    """2.4.1: only records OLDER than MaximumRecordAgeInSeconds are discarded; one
    whose age equals it is still delivered."""
    esm_env.put_n(1)
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, maximum_record_age_in_seconds=60, start=esm_env.T0 + 60).run()
    assert rec.batches == [[1]]
    assert stats.failure_documents == []


def test_2_4_3_age_rechecked_while_retrying(esm_env: Any) -> None:
    """2.4.3: a batch failing under infinite retries is discarded with
    RecordAgeExceeded once its records exceed the age; records that are still
    young are delivered afterwards (2.5.3)."""
    esm_env.put_n(3)
    rec = esm_env.recorder(_raise_if_contains(1))
    stats = esm_env.esm(
        rec,
        batch_size=1,
        maximum_record_age_in_seconds=60,
        arrival=lambda shard, seq: 0.0 if seq == 1 else 50.0,
    ).run()
    assert rec.batches[0] == [1]
    assert rec.batches[-2:] == [[2], [3]]
    assert all(b == [1] for b in rec.batches[:-2])
    assert len(rec.batches) - 2 >= 5  # retried with back-off until age 60 s
    [doc] = stats.failure_documents
    assert doc["requestContext"]["condition"] == "RecordAgeExceeded"
    assert doc["KinesisBatchInfo"]["startSequenceNumber"] == "1"
    assert doc["requestContext"]["approximateInvokeCount"] == len(rec.batches) - 2


def test_2_4_3_partially_expired_retry_keeps_young_records(esm_env: Any) -> None:
    """2.4.2 / 2.4.3: while retrying, only the records that became too old are
    discarded; the younger records of the same batch are retried."""
    esm_env.put_n(2)

    def respond(event: dict[str, Any], n: int) -> Any:
        if 1 in _seqs(event):
            raise RuntimeError("record 1 is bad")
        return None

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(
        rec,
        batch_size=10,
        maximum_record_age_in_seconds=60,
        arrival=lambda shard, seq: 0.0 if seq == 1 else 30.0,
        start=esm_env.T0 + 30,
    ).run()
    assert rec.batches[0] == [1, 2]
    assert rec.batches[-1] == [2]
    [doc] = stats.failure_documents
    assert doc["KinesisBatchInfo"]["batchSize"] == 1
    assert doc["KinesisBatchInfo"]["startSequenceNumber"] == "1"
    assert stats.outcomes[(esm_env.SHARD_0, "2")] == "processed"


def test_2_4_4_minus_one_never_discards_for_age(esm_env: Any) -> None:
    """2.4.4: with MaximumRecordAgeInSeconds -1, records a week old are delivered
    (on a stream that keeps them a week: retention is 7.5 / S7.11's business)."""
    esm_env.put_n(2)
    esm_env.kinesis.increase_stream_retention_period(
        StreamName=esm_env.stream_name, RetentionPeriodHours=7 * 24 + 1
    )
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, maximum_record_age_in_seconds=-1, start=esm_env.T0 + 7 * 86_400).run()
    assert rec.batches == [[1, 2]]
    assert stats.records_discarded == 0
