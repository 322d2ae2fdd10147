"""Stuck shards (spec 2.1.2: a poison record with -1/-1 blocks its shard until the
record expires; the simulator raises StuckShardError naming shard and record)
and the seeded FaultPlan (throttles 2.1.3, crashes and timeouts 2.1.4, partial
responses 2.2, at-least-once 2.5.1).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from streamkit.local.esm import StuckShardError
from streamkit.local.faults import FaultPlan

pytestmark = pytest.mark.integration

RBIF = ("ReportBatchItemFailures",)


def _seqs(event: dict[str, Any]) -> list[int]:
    return [int(r["kinesis"]["sequenceNumber"]) for r in event["Records"]]


def _raise_if_contains(*bad: int) -> Any:
    def respond(event: dict[str, Any], n: int) -> Any:
        if set(_seqs(event)) & set(bad):
            raise RuntimeError("poison record")
        return None

    return respond


# ------------------------------------------------------------------ stuck shard


def test_2_1_2_poison_record_with_infinite_retries_raises_stuck_shard_error(
    esm_env: Any,
) -> None:
    """2.1.2: with MaximumRetryAttempts -1 and MaximumRecordAgeInSeconds -1 a poison
    record blocks its shard forever; the simulator stops with StuckShardError
    naming the shard and the record, after stuck_after+1 fruitless invocations."""
    esm_env.put_n(4)
    rec = esm_env.recorder(_raise_if_contains(3))
    esm = esm_env.esm(rec, batch_size=1, stuck_after=5)
    with pytest.raises(StuckShardError) as info:
        esm.run()
    err = info.value
    assert err.shard_id == esm_env.SHARD_0
    assert err.sequence_number == "3"
    assert err.attempts == 6
    assert esm_env.SHARD_0 in str(err) and "record 3" in str(err)
    assert rec.batches == [[1], [2]] + [[3]] * 6  # record 4 never delivered
    assert esm.stats.outcomes[(esm_env.SHARD_0, "2")] == "processed"
    assert (esm_env.SHARD_0, "4") not in esm.stats.outcomes


def test_2_1_2_stuck_error_names_the_poison_record_after_bisecting(esm_env: Any) -> None:
    """2.1.2 / 2.3: with bisect on, the stuck error names the poison record the
    bisection isolated, not the first record of the original batch."""
    esm_env.put_n(4)
    rec = esm_env.recorder(_raise_if_contains(3))
    with pytest.raises(StuckShardError) as info:
        esm_env.esm(rec, batch_size=4, bisect_batch_on_function_error=True, stuck_after=8).run()
    assert info.value.sequence_number == "3"
    assert rec.batches[-1] == [3]


def test_2_1_2_stuck_error_names_the_reported_record_with_partial_responses(
    esm_env: Any,
) -> None:
    """2.1.2 / 2.2.5: when the same record is always reported failed, the stuck
    error names it (records before it were checkpointed)."""
    esm_env.put_n(4)
    rec = esm_env.recorder(lambda event, n: {"batchItemFailures": [{"itemIdentifier": "3"}]})
    esm = esm_env.esm(rec, batch_size=10, function_response_types=RBIF, stuck_after=5)
    with pytest.raises(StuckShardError) as info:
        esm.run()
    assert info.value.sequence_number == "3"
    assert esm.stats.outcomes[(esm_env.SHARD_0, "2")] == "processed"


def test_2_1_2_stuck_error_names_the_blocked_shard(esm_env: Any) -> None:
    """2.1.2: on a 2-shard stream the error names the shard that is blocked."""
    esm_env.stream("two", shards=2)
    esm_env.put_n(2, shard=esm_env.SHARD_0)
    esm_env.put([b"poison"], shard=esm_env.SHARD_1)

    def respond(event: dict[str, Any], n: int) -> Any:
        if event["Records"][0]["eventID"].startswith(esm_env.SHARD_1):
            raise RuntimeError("poison")
        return None

    with pytest.raises(StuckShardError) as info:
        esm_env.esm(esm_env.recorder(respond), stuck_after=3).run()
    assert info.value.shard_id == esm_env.SHARD_1
    assert info.value.sequence_number == "1"
    assert esm_env.SHARD_1 in str(info.value)


def test_2_1_3_endless_throttling_with_infinite_age_is_stuck(esm_env: Any) -> None:
    """2.1.3: throttles are retried until the records expire; with -1 age that is
    never, so the shard is stuck although the function never ran."""
    esm_env.put_n(1)
    rec = esm_env.recorder()
    with pytest.raises(StuckShardError) as info:
        esm_env.esm(rec, faults=FaultPlan(throttle_rate=1.0), stuck_after=4).run()
    assert rec.calls == 0
    assert info.value.sequence_number == "1"


def test_2_1_2_progress_resets_the_stuck_counter(esm_env: Any) -> None:
    """2.1.2: only failures WITHOUT progress count toward being stuck: 10 batches
    failing 3 times each before succeeding never trip stuck_after=4."""
    esm_env.put_n(10)

    def respond(event: dict[str, Any], n: int) -> Any:
        if n % 4 != 3:
            raise RuntimeError("transient")
        return None

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(rec, batch_size=1, stuck_after=4).run()
    assert rec.calls == 40
    assert stats.records_processed == 10


def test_2_4_age_limit_prevents_stuck_shard(esm_env: Any) -> None:
    """2.1.2 / 2.4.3: with a record-age limit the poison record is discarded instead
    of blocking the shard, and the records after it are processed."""
    esm_env.put_n(3)
    rec = esm_env.recorder(_raise_if_contains(1))
    stats = esm_env.esm(
        rec,
        batch_size=1,
        maximum_record_age_in_seconds=60,
        stuck_after=50,
        arrival=lambda shard, seq: 0.0 if seq == 1 else 50.0,
    ).run()
    assert rec.batches[-2:] == [[2], [3]]
    assert stats.outcomes[(esm_env.SHARD_0, "1")] == "discarded"


# ------------------------------------------------------------------ fault plan


@pytest.mark.parametrize(
    "kwargs",
    [
        {"throttle_rate": 1.5},
        {"crash_rate": -0.1},
        {"crash_rate": 0.6, "timeout_rate": 0.6},
    ],
    ids=["above-1", "negative", "sum-above-1"],
)
def test_fault_plan_rejects_invalid_rates(kwargs: dict[str, float]) -> None:
    """FaultPlan: each rate is within 0..1 and the rates add up to at most 1."""
    with pytest.raises(ValueError):
        FaultPlan(**kwargs)


def test_2_1_4_crash_before_handler_counts_as_invocation(esm_env: Any) -> None:
    """2.1.4 / 2.1.5: a crash before the handler runs is a function error: it is an
    invocation attempt (counted toward MaximumRetryAttempts) although the
    handler never ran; the document says functionError Unhandled."""
    esm_env.put_n(2)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec, batch_size=10, maximum_retry_attempts=1, faults=FaultPlan(crash_rate=1.0)
    ).run()
    assert rec.calls == 0
    assert stats.invocations == 2
    [doc] = stats.failure_documents
    assert doc["requestContext"]["approximateInvokeCount"] == 2
    assert doc["responseContext"]["functionError"] == "Unhandled"
    assert stats.records_discarded == 2


@pytest.mark.parametrize(
    ("plan", "detail"),
    [
        (FaultPlan(crash_after_rate=1.0), "crash after"),
        (FaultPlan(timeout_rate=1.0), "Task timed out"),
    ],
    ids=["crash-after", "timeout"],
)
def test_2_1_4_failure_after_handler_ran_retries_the_batch(
    esm_env: Any, plan: FaultPlan, detail: str
) -> None:
    """2.1.4 / 2.5.1: a crash or timeout after the handler ran fails the invocation:
    the handler's work happened, yet the batch is retried (at-least-once) and
    finally discarded with functionError Unhandled."""
    esm_env.put_n(2)
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, batch_size=10, maximum_retry_attempts=2, faults=plan).run()
    assert rec.batches == [[1, 2]] * 3
    assert all(detail in e.detail for e in stats.log)
    assert all(e.outcome == "failure" for e in stats.log)
    [doc] = stats.failure_documents
    assert doc["responseContext"]["functionError"] == "Unhandled"
    assert doc["requestContext"]["approximateInvokeCount"] == 3


def test_2_1_3_throttled_attempts_are_logged_not_invoked(esm_env: Any) -> None:
    """2.1.3: throttled attempts never reach the handler and are not invocations."""
    esm_env.put_n(5)
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, batch_size=1, faults=FaultPlan(seed=4, throttle_rate=0.5)).run()
    throttled = [e for e in stats.log if e.outcome == "throttled"]
    assert len(throttled) == stats.throttles > 0
    assert stats.invocations == rec.calls == 5
    assert rec.delivered() == [1, 2, 3, 4, 5]


def test_2_2_partial_fault_reports_one_record_of_the_batch(esm_env: Any) -> None:
    """2.2.5 / 2.2.6: a PARTIAL fault adds to the response a failure of one
    record of the batch: the retry starts at that record."""
    esm_env.put_n(6)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec,
        batch_size=6,
        function_response_types=RBIF,
        maximum_retry_attempts=0,
        faults=FaultPlan(seed=2, partial_rate=1.0),
    ).run()
    assert all(e.outcome == "partial" for e in stats.log)
    assert stats.batch_item_failures_reported == stats.invocations
    for prev, nxt in zip(rec.batches, rec.batches[1:], strict=False):
        if nxt[0] != prev[0]:  # the checkpoint moved: retry = suffix of the batch
            assert nxt == prev[prev.index(nxt[0]) :]
    assert stats.records_processed + stats.records_discarded == 6
    assert all(d["responseContext"]["functionError"] is None for d in stats.failure_documents)
    assert stats.failure_documents


@pytest.mark.parametrize("seed", range(24))  # a replacing fault lost a record for several
def test_2_2_5_partial_fault_never_hides_a_failure_the_handler_reported(
    esm_env: Any, seed: int
) -> None:
    """2.2.5: the PARTIAL fault adds a random record to the handler's own
    batchItemFailures instead of replacing them, so Lambda still retries from the
    lowest: a record the handler failed is delivered again, never checkpointed unseen.
    (Replacing them let a fault pick a later record and skip the failed one.)"""
    esm_env.put_n(4)

    def fail_2_once(event: dict[str, Any], n: int) -> Any:
        if n == 0:
            second = event["Records"][1]["kinesis"]["sequenceNumber"]
            return {"batchItemFailures": [{"itemIdentifier": second}]}
        return None

    rec = esm_env.recorder(fail_2_once)
    stats = esm_env.esm(
        rec,
        batch_size=4,
        function_response_types=RBIF,
        faults=FaultPlan(seed=seed, partial_rate=0.5),
    ).run()
    assert rec.batches[0] == [1, 2, 3, 4]
    assert 2 in rec.delivered()[4:], rec.batches  # delivered again after its failure
    assert stats.records_processed == 4 and stats.records_discarded == 0


def test_2_2_1_partial_fault_is_ignored_without_report_batch_item_failures(
    esm_env: Any,
) -> None:
    """2.2.1: without ReportBatchItemFailures, a partial response (here injected) is
    ignored: the batch is a complete success."""
    esm_env.put_n(4)
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec, batch_size=10, faults=FaultPlan(partial_rate=1.0), function_response_types=()
    ).run()
    assert rec.batches == [[1, 2, 3, 4]]
    assert stats.records_processed == 4


def _run_mixed(esm_env: Any, seed: int) -> tuple[Any, Any]:
    rec = esm_env.recorder()
    plan = FaultPlan(
        seed=seed,
        throttle_rate=0.1,
        crash_rate=0.1,
        crash_after_rate=0.15,
        timeout_rate=0.05,
        partial_rate=0.15,
    )
    stats = esm_env.esm(
        rec,
        batch_size=7,
        function_response_types=RBIF,
        bisect_batch_on_function_error=True,
        faults=plan,
        seed=seed,
    ).run()
    return rec, stats


def test_2_5_1_mixed_faults_with_infinite_retries_process_everything(esm_env: Any) -> None:
    """2.5.1 / 2.1.2: with every kind of fault and infinite retries, every record is
    eventually processed (at least once; duplicates happen), nothing is
    discarded, and the first delivery of each record is in shard order."""
    esm_env.put_n(60)
    rec, stats = _run_mixed(esm_env, seed=11)
    assert stats.unresolved == 0
    assert set(stats.outcomes.values()) == {"processed"}
    seen = Counter(rec.delivered())
    assert set(seen) == set(range(1, 61))
    assert any(n > 1 for n in seen.values())  # at-least-once: re-deliveries happened
    first_seen = list(dict.fromkeys(rec.delivered()))
    assert first_seen == list(range(1, 61))
    assert {e.outcome for e in stats.log} >= {"throttled", "failure", "partial", "success"}


def test_fault_plan_same_seed_same_run(esm_env: Any) -> None:
    """FaultPlan is seeded: two runs with the same seed over the same records make
    exactly the same invocations with the same outcomes."""
    esm_env.put_n(30)
    rec1, stats1 = _run_mixed(esm_env, seed=5)
    rec2, stats2 = _run_mixed(esm_env, seed=5)
    assert rec1.batches == rec2.batches
    assert [e.outcome for e in stats1.log] == [e.outcome for e in stats2.log]
    assert [e.request_id for e in stats1.log] == [e.request_id for e in stats2.log]
    assert stats1.to_dict() == stats2.to_dict()
