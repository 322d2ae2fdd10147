"""Spec 2.1 and 2.2: success, failure, checkpointing and partial batch responses.

Each test runs the ESM simulator against a real moto Kinesis server on a
VirtualClock and looks at what the handler received and what the run resolved.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration

RBIF = ("ReportBatchItemFailures",)


def _seqs(event: dict[str, Any]) -> list[int]:
    return [int(r["kinesis"]["sequenceNumber"]) for r in event["Records"]]


def _failures(*identifiers: Any) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in identifiers]}


# ------------------------------------------------------------------ 2.1 baseline


def test_2_1_1_success_checkpoints_at_highest_sequence_number(esm_env: Any) -> None:
    """2.1.1: a successful invocation checkpoints the whole batch: nothing is
    re-delivered, the next batch starts after the batch's highest record."""
    esm_env.put_n(7)
    rec = esm_env.recorder()
    stats = esm_env.esm(rec, batch_size=4).run()
    assert rec.batches == [[1, 2, 3, 4], [5, 6, 7]]
    assert stats.records_processed == 7
    assert stats.unresolved == 0
    assert set(stats.outcomes.values()) == {"processed"}


def test_2_1_1_function_error_retries_the_whole_batch(esm_env: Any) -> None:
    """2.1.1: without ReportBatchItemFailures any error fails the whole batch,
    which is retried as a whole (same records) before anything later."""
    esm_env.put_n(5)

    def respond(event: dict[str, Any], n: int) -> Any:
        if n == 0:
            raise ValueError("first attempt fails")
        return None

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(rec, batch_size=3).run()
    assert rec.batches == [[1, 2, 3], [1, 2, 3], [4, 5]]
    assert stats.records_processed == 5
    assert stats.records_discarded == 0


def test_2_1_2_failing_batch_blocks_the_shard(esm_env: Any) -> None:
    """2.1.2: while a batch fails, later records of the shard are not delivered."""
    esm_env.put_n(4)

    def respond(event: dict[str, Any], n: int) -> Any:
        if n < 3:
            raise RuntimeError("still failing")
        return None

    rec = esm_env.recorder(respond)
    esm_env.esm(rec, batch_size=2).run()
    assert rec.batches[:4] == [[1, 2]] * 4
    assert rec.batches[4:] == [[3, 4]]


def test_2_2_1_partial_response_ignored_without_report_batch_item_failures(
    esm_env: Any,
) -> None:
    """2.2.1: without FunctionResponseTypes=ReportBatchItemFailures the response body
    is ignored: a normal return with batchItemFailures is a complete success."""
    esm_env.put_n(3)
    rec = esm_env.recorder(lambda event, n: _failures(*(str(s) for s in _seqs(event))))
    stats = esm_env.esm(rec, batch_size=10, function_response_types=()).run()
    assert rec.batches == [[1, 2, 3]]
    assert stats.records_processed == 3
    assert stats.batch_item_failures_reported == 0


def test_2_2_2_item_identifier_is_the_sequence_number(esm_env: Any) -> None:
    """2.2.2: reporting ``kinesis.sequenceNumber`` is a partial failure: the records
    before it are checkpointed, the retry starts at it."""
    esm_env.put_n(4)

    def respond(event: dict[str, Any], n: int) -> Any:
        if n == 0:
            return _failures(event["Records"][2]["kinesis"]["sequenceNumber"])
        return None

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(rec, batch_size=10, function_response_types=RBIF).run()
    assert rec.batches == [[1, 2, 3, 4], [3, 4]]
    assert stats.batch_item_failures_reported == 1
    assert stats.records_processed == 4


def test_2_2_2_event_id_is_not_an_item_identifier(esm_env: Any) -> None:
    """2.2.2 / 2.2.4: the eventID (``shardId-...:seq``) is not a sequence number of the
    batch, so reporting it fails the whole batch (retried from its first record)."""
    esm_env.put_n(4)

    def respond(event: dict[str, Any], n: int) -> Any:
        if n == 0:
            return _failures(event["Records"][2]["eventID"])
        return None

    rec = esm_env.recorder(respond)
    esm_env.esm(rec, batch_size=10, function_response_types=RBIF).run()
    assert rec.batches == [[1, 2, 3, 4], [1, 2, 3, 4]]


# ------------------------------------------------------------- 2.2.3 success edge


class _Implicit:
    """Marker: the handler returns nothing (Python None)."""


@pytest.mark.parametrize(
    "response",
    [
        _Implicit,
        None,
        "",
        [],
        {},
        {"batchItemFailures": []},
        {"batchItemFailures": None},
        {"batchItemFailures": [], "other": 1},
    ],
    ids=[
        "no-return",
        "null",
        "empty-string",
        "empty-list",
        "empty-object",
        "empty-failures",
        "null-failures",
        "empty-failures-extra-key",
    ],
)
def test_2_2_3_response_means_complete_success(esm_env: Any, response: Any) -> None:
    """2.2.3: these responses are a complete success: a single invocation, no retry,
    every record checkpointed."""
    esm_env.put_n(3)

    def respond(event: dict[str, Any], n: int) -> Any:
        return None if response is _Implicit else response

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(
        rec, batch_size=10, function_response_types=RBIF, maximum_retry_attempts=0
    ).run()
    assert rec.batches == [[1, 2, 3]]
    assert stats.records_processed == 3
    assert stats.records_discarded == 0
    assert stats.failure_documents == []


# ------------------------------------------------------------- 2.2.4 failure edge


@pytest.mark.parametrize(
    "make_response",
    [
        lambda seqs: _failures(""),
        lambda seqs: _failures(None),
        lambda seqs: {"batchItemFailures": [{"foo": str(seqs[1])}]},
        lambda seqs: {"batchItemFailures": [{"ItemIdentifier": str(seqs[1])}]},
        lambda seqs: _failures(123),
        lambda seqs: _failures(seqs[1]),  # an int equal to an in-batch sequence number
        lambda seqs: _failures("999999"),
        lambda seqs: _failures(f"shardId-000000000000:{seqs[1]}"),
        lambda seqs: _failures(str(seqs[1]), ""),  # one valid entry, one invalid
        lambda seqs: _failures(str(seqs[1]), "999999"),
        lambda seqs: {"batchItemFailures": [str(seqs[1])]},  # entry not an object
        lambda seqs: {"batchItemFailures": {"itemIdentifier": str(seqs[1])}},  # not a list
        lambda seqs: "failed",  # non-empty string (simulator choice, docstring)
        lambda seqs: [{"itemIdentifier": str(seqs[1])}],  # non-empty list
        lambda seqs: 7,
        lambda seqs: True,
    ],
    ids=[
        "empty-identifier",
        "null-identifier",
        "wrong-key-foo",
        "wrong-key-case",
        "int-not-in-batch",
        "int-in-batch",
        "string-not-in-batch",
        "event-id",
        "valid-plus-empty",
        "valid-plus-unknown",
        "entry-not-object",
        "failures-not-list",
        "non-empty-string",
        "non-empty-list",
        "number",
        "boolean",
    ],
)
def test_2_2_4_response_means_complete_failure(esm_env: Any, make_response: Any) -> None:
    """2.2.4: an invalid entry (empty/null identifier, wrong key, identifier not a
    sequence number of the batch, wrong JSON type) fails the WHOLE batch: it is
    retried from its first record, and with MaximumRetryAttempts 0 the whole batch
    is discarded with functionError null (the function itself returned)."""
    esm_env.put_n(4)
    rec = esm_env.recorder(lambda event, n: make_response(_seqs(event)))
    stats = esm_env.esm(
        rec, batch_size=10, function_response_types=RBIF, maximum_retry_attempts=1
    ).run()
    assert rec.batches == [[1, 2, 3, 4], [1, 2, 3, 4]]
    assert stats.records_processed == 0
    assert stats.records_discarded == 4
    [doc] = stats.failure_documents
    assert doc["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert doc["requestContext"]["approximateInvokeCount"] == 2
    assert doc["KinesisBatchInfo"]["batchSize"] == 4
    assert doc["KinesisBatchInfo"]["startSequenceNumber"] == "1"
    assert doc["KinesisBatchInfo"]["endSequenceNumber"] == "4"
    assert "functionError" in doc["responseContext"]
    assert doc["responseContext"]["functionError"] is None


# ----------------------------------------------------------------- 2.2.5 - 2.2.8


def test_2_2_5_lowest_reported_sequence_number_is_the_checkpoint(esm_env: Any) -> None:
    """2.2.5: with several failures (reported in any order) Lambda checkpoints before
    the LOWEST one and re-delivers everything from it, including records after
    it that succeeded."""
    esm_env.put_n(6)

    def respond(event: dict[str, Any], n: int) -> Any:
        if n == 0:
            return _failures("5", "3")
        return None

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(rec, batch_size=10, function_response_types=RBIF).run()
    assert rec.batches == [[1, 2, 3, 4, 5, 6], [3, 4, 5, 6]]
    assert stats.records_processed == 6
    assert stats.batch_item_failures_reported == 2


def test_2_2_5_first_record_failed_moves_nothing(esm_env: Any) -> None:
    """2.2.5: reporting the batch's first record re-delivers the whole batch."""
    esm_env.put_n(3)

    def respond(event: dict[str, Any], n: int) -> Any:
        return _failures("1") if n == 0 else None

    rec = esm_env.recorder(respond)
    esm_env.esm(rec, batch_size=10, function_response_types=RBIF).run()
    assert rec.batches == [[1, 2, 3], [1, 2, 3]]


def test_2_2_6_partial_failure_counts_as_an_attempt_2_2_7_document(esm_env: Any) -> None:
    """2.2.6 / 2.2.7 (observed on AWS): BatchSize 3, MaximumRetryAttempts 3, the last
    record always reported failed. The remaining 1-record batch is invoked until
    approximateInvokeCount 4, then discarded (RetryAttemptsExhausted) with a
    document for that record only and functionError null."""
    esm_env.put_n(3)
    rec = esm_env.recorder(
        lambda event, n: _failures(event["Records"][-1]["kinesis"]["sequenceNumber"])
    )
    stats = esm_env.esm(
        rec, batch_size=3, function_response_types=RBIF, maximum_retry_attempts=3
    ).run()
    assert rec.batches == [[1, 2, 3]] + [[3]] * 4
    assert stats.outcomes == {
        (esm_env.SHARD_0, "1"): "processed",
        (esm_env.SHARD_0, "2"): "processed",
        (esm_env.SHARD_0, "3"): "discarded",
    }
    [doc] = stats.failure_documents
    assert doc["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert doc["requestContext"]["approximateInvokeCount"] == 4
    assert doc["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": None,
    }
    info = doc["KinesisBatchInfo"]
    assert (info["batchSize"], info["startSequenceNumber"], info["endSequenceNumber"]) == (
        1,
        "3",
        "3",
    )


def test_2_2_6_same_record_failing_consumes_retry_quota(esm_env: Any) -> None:
    """2.2.6: a partial response that does not move the checkpoint is a failed
    attempt: MaximumRetryAttempts 1 means 2 invocations, then discard."""
    esm_env.put_n(2)
    rec = esm_env.recorder(lambda event, n: _failures("1"))
    stats = esm_env.esm(
        rec, batch_size=10, function_response_types=RBIF, maximum_retry_attempts=1
    ).run()
    assert rec.batches == [[1, 2], [1, 2]]
    assert stats.records_discarded == 2
    [doc] = stats.failure_documents
    assert doc["requestContext"]["approximateInvokeCount"] == 2
    assert doc["KinesisBatchInfo"]["batchSize"] == 2


def test_2_2_8_retry_counter_resets_when_checkpoint_advances(esm_env: Any) -> None:
    """2.2.8 / 9.1 (simulator choice): a partial response that moves the checkpoint
    starts a new, smaller batch with a fresh retry counter. With
    MaximumRetryAttempts 1, a different record failing each time is never
    discarded until the same record fails twice in a row."""
    esm_env.put_n(4)

    def respond(event: dict[str, Any], n: int) -> Any:
        # attempt 0 fails 2, attempt 1 fails 3, then 4 keeps failing.
        return _failures(str(min(n + 2, 4)))

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(
        rec, batch_size=10, function_response_types=RBIF, maximum_retry_attempts=1
    ).run()
    assert rec.batches == [[1, 2, 3, 4], [2, 3, 4], [3, 4], [4], [4]]
    assert [stats.outcomes[(esm_env.SHARD_0, str(i))] for i in range(1, 5)] == [
        "processed",
        "processed",
        "processed",
        "discarded",
    ]
    [doc] = stats.failure_documents
    assert doc["requestContext"]["approximateInvokeCount"] == 2
    assert doc["KinesisBatchInfo"]["startSequenceNumber"] == "4"


def test_2_2_9_tumbling_window_partial_response_with_state(esm_env: Any) -> None:
    """2.2.9 / 1.2.3: with tumbling windows, batchItemFailures may come with state:
    the retry starts at the reported record and receives the returned state."""
    esm_env.put_n(4)

    def respond(event: dict[str, Any], n: int) -> Any:
        if event["isFinalInvokeForWindow"]:
            return {"state": event["state"]}
        if n == 0:
            return {"state": {"seen": 2}, "batchItemFailures": [{"itemIdentifier": "3"}]}
        return {"state": {"seen": event["state"]["seen"] + len(event["Records"])}}

    rec = esm_env.recorder(respond)
    stats = esm_env.esm(
        rec, batch_size=10, tumbling_window_in_seconds=60, function_response_types=RBIF
    ).run()
    assert rec.batches[:2] == [[1, 2, 3, 4], [3, 4]]
    assert rec.events[1]["state"] == {"seen": 2}
    assert rec.events[-1]["isFinalInvokeForWindow"] is True
    assert rec.events[-1]["state"] == {"seen": 4}
    assert stats.records_processed == 4


@pytest.mark.parametrize("fail_by", ["raise", "timeout"])
def test_2_2_10_function_error_with_report_batch_item_failures(esm_env: Any, fail_by: str) -> None:
    """2.2.10: if the function throws (or times out) with ReportBatchItemFailures on,
    the response is irrelevant: the whole batch fails, is retried, and the
    on-failure document has functionError "Unhandled"."""
    from streamkit.local.faults import FaultPlan

    esm_env.put_n(3)

    def respond(event: dict[str, Any], n: int) -> Any:
        if fail_by == "raise":
            raise RuntimeError("handler blew up")
        return _failures("3")  # would be a partial failure if the call had succeeded

    rec = esm_env.recorder(respond)
    faults = FaultPlan(timeout_rate=1.0) if fail_by == "timeout" else None
    stats = esm_env.esm(
        rec,
        batch_size=10,
        function_response_types=RBIF,
        maximum_retry_attempts=1,
        faults=faults,
    ).run()
    assert rec.batches == [[1, 2, 3], [1, 2, 3]]
    assert stats.records_processed == 0
    [doc] = stats.failure_documents
    assert doc["responseContext"]["functionError"] == "Unhandled"
    assert doc["KinesisBatchInfo"]["batchSize"] == 3
    assert doc["requestContext"]["approximateInvokeCount"] == 2
