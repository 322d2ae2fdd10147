"""The batch processor's rules (issue 2, spec 2.2 and 6.5)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

import streamkit
from streamkit import (
    InMemoryDeadLetters,
    InvalidEventError,
    PermanentError,
    Record,
    TransientError,
    process_batch,
    run_batch,
)
from streamkit.testing import FakeContext, kinesis_event, kinesis_record, kpl_aggregate


class Throttled(Exception):
    pass


def docs(*items: Any) -> list[bytes]:
    return [orjson.dumps(x) for x in items]


def run(event: dict[str, Any], handler: Any, **kw: Any) -> streamkit.BatchResult:
    kw.setdefault("metrics", False)
    kw.setdefault("dead_letters", InMemoryDeadLetters())
    return run_batch(event, handler, **kw)


def seqs(event: dict[str, Any]) -> list[str]:
    return [r["kinesis"]["sequenceNumber"] for r in event["Records"]]


def assert_counts_add_up(result: streamkit.BatchResult) -> None:
    c = result.counts
    assert c.received == c.succeeded + c.dead_lettered + c.retried


def test_all_success_returns_empty_batch_item_failures() -> None:
    """Spec 2.2.3: an empty batchItemFailures list is a complete success."""
    event = kinesis_event(docs({"n": 1}, {"n": 2}, {"n": 3}))
    seen: list[int] = []
    result = run(event, lambda r: seen.append(r.json()["n"]))
    assert result.response == {"batchItemFailures": []}
    assert seen == [1, 2, 3]
    assert result.counts == streamkit.BatchCounts(3, 3, 3, 0, 0)
    assert result.stopped is None


def test_empty_event_is_success() -> None:
    result = run({"Records": []}, lambda r: None)
    assert result.response == {"batchItemFailures": []}
    assert result.counts.received == 0


def test_process_batch_returns_the_response_dict() -> None:
    event = kinesis_event(docs({"n": 1}))
    assert process_batch(event, lambda r: None, metrics=False) == {"batchItemFailures": []}


def test_permanent_error_dead_letters_and_continues() -> None:
    event = kinesis_event(docs({"n": 1}, {"n": 2}, {"n": 3}))
    dlq = InMemoryDeadLetters()
    seen: list[int] = []

    def handle(r: Record) -> None:
        n = r.json()["n"]
        if n == 2:
            raise PermanentError("n must not be 2", reason="schema")
        seen.append(n)

    result = run(event, handle, dead_letters=dlq)
    assert result.response == {"batchItemFailures": []}
    assert seen == [1, 3]
    [letter] = dlq.letters
    assert letter.reason == "schema"
    assert letter.error == "n must not be 2"
    assert letter.record.sequence_number == seqs(event)[1]
    assert letter.record.data == b'{"n":2}'
    assert letter.handler.endswith("handle")
    d = letter.to_dict()
    assert d["data"] == "eyJuIjoyfQ=="  # base64 of the raw payload
    assert d["sequenceNumber"] == seqs(event)[1]
    assert d["subSequenceNumber"] == 0
    assert d["partitionKey"] == "pk-1"
    assert result.counts == streamkit.BatchCounts(3, 3, 2, 1, 0)


def test_transient_error_stops_and_reports_exactly_that_record() -> None:
    """Spec 2.2.5: Lambda retries from the lowest reported record, so nothing after
    it may be applied in this attempt."""
    event = kinesis_event(docs(*({"n": i} for i in range(6))))
    seen: list[int] = []

    def handle(r: Record) -> None:
        n = r.json()["n"]
        if n == 3:
            raise Throttled("slow down")
        seen.append(n)

    result = run(event, handle)
    assert result.response == {"batchItemFailures": [{"itemIdentifier": seqs(event)[3]}]}
    assert seen == [0, 1, 2]
    assert result.stopped == "transient"
    assert isinstance(result.failure, Throttled)
    assert result.retry_sequence_number == seqs(event)[3]
    assert result.counts == streamkit.BatchCounts(6, 6, 3, 0, 3)


def test_explicit_transient_error_is_retried() -> None:
    event = kinesis_event(docs({"n": 1}))

    def handle(r: Record) -> None:
        raise TransientError("downstream 503")

    result = run(event, handle)
    assert result.response["batchItemFailures"] == [{"itemIdentifier": seqs(event)[0]}]


def test_a_missing_field_is_a_dead_letter_with_reason_invalid_by_default() -> None:
    """The one error rule (streamkit.errors.classify): a KeyError/ValueError/TypeError
    of the handler is a function of the record; retrying it would block the shard."""
    event = kinesis_event(docs({"n": 1}, {"m": 2}, {"n": 3}))
    dlq = InMemoryDeadLetters()
    seen: list[int] = []
    result = run(event, lambda r: seen.append(r.json()["n"]), dead_letters=dlq)
    assert result.response == {"batchItemFailures": []}
    assert seen == [1, 3]
    [letter] = dlq.letters
    assert (letter.reason, letter.error) == ("invalid", "KeyError: 'n'")
    assert result.counts == streamkit.BatchCounts(3, 3, 2, 1, 0)


def test_invalid_input_retry_makes_a_missing_field_transient() -> None:
    event = kinesis_event(docs({"n": 1}, {"m": 2}, {"n": 3}))
    result = run(event, lambda r: r.json()["n"], invalid_input="retry")
    assert result.response == {"batchItemFailures": [{"itemIdentifier": seqs(event)[1]}]}
    assert isinstance(result.failure, KeyError)
    assert result.counts == streamkit.BatchCounts(3, 3, 1, 0, 2)


@pytest.mark.parametrize(
    ("exc", "permanent", "reason"),
    [
        (KeyError("k"), True, "invalid"),
        (ValueError("v"), True, "invalid"),
        (TypeError("t"), True, "invalid"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), True, "invalid"),
        (json.JSONDecodeError("Expecting value", "x", 0), True, "invalid"),
        (PermanentError("p", reason="schema"), True, "schema"),
        (streamkit.DecodeError("d", reason="bad_json"), True, "bad_json"),
        (TransientError("t"), False, "transient"),
        (InvalidEventError("no sequence number"), False, "transient"),  # ours, never data
        (RuntimeError("r"), False, "transient"),
        (OSError("o"), False, "transient"),
        (TimeoutError("t"), False, "transient"),
    ],
)
def test_classify_is_the_one_rule(exc: BaseException, permanent: bool, reason: str) -> None:
    from streamkit.errors import classify

    verdict = classify(exc)
    assert (verdict.permanent, verdict.reason) == (permanent, reason)
    retry = classify(exc, invalid_input="retry")
    assert retry.permanent == (permanent and reason != "invalid")


def test_dead_letters_before_a_transient_failure_are_kept() -> None:
    event = kinesis_event([b"not json", b'{"n": 1}', b'{"n": 2}'])
    dlq = InMemoryDeadLetters()

    def handle(r: Record) -> None:
        if r.json()["n"] == 2:
            raise Throttled()

    result = run(event, handle, dead_letters=dlq)
    assert [letter.reason for letter in dlq.letters] == ["bad_json"]
    assert result.response["batchItemFailures"] == [{"itemIdentifier": seqs(event)[2]}]
    assert result.counts == streamkit.BatchCounts(3, 3, 1, 1, 1)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("!!!not-base64!!!", "bad_base64"),
        ("aGVsbG8", None),  # unpadded base64 of b"hello": decodes fine, then bad JSON
    ],
)
def test_record_decoding_errors_are_dead_lettered(data: str, reason: str | None) -> None:
    record = kinesis_record(b"", 100)
    record["kinesis"]["data"] = data
    event = {"Records": [record]}
    dlq = InMemoryDeadLetters()
    result = run(event, lambda r: r.json(), dead_letters=dlq)
    assert result.response == {"batchItemFailures": []}
    [letter] = dlq.letters
    assert letter.reason == (reason or "bad_json")
    if reason is None:
        assert letter.record.data == b"hello"


def test_handler_is_not_called_for_undecodable_record() -> None:
    record = kinesis_record(b"", 100)
    record["kinesis"]["data"] = "%%%"
    calls: list[Record] = []
    result = run({"Records": [record]}, calls.append)
    assert calls == []
    assert result.counts.dead_lettered == 1


def test_kpl_sub_record_transient_failure_reports_parent_sequence_number() -> None:
    """Spec 6.5: Lambda can only retry whole Kinesis records."""
    blob = kpl_aggregate(
        [("a", b'{"n": 0}', None), ("b", b'{"n": 1}', None), ("c", b'{"n": 2}', None)]
    )
    event = kinesis_event([b'{"n": -1}', blob, b'{"n": 9}'])
    handled: list[tuple[str, int]] = []

    def handle(r: Record) -> None:
        if r.json()["n"] == 1:
            raise Throttled()
        handled.append((r.sequence_number, r.sub_sequence_number))

    result = run(event, handle)
    parent = seqs(event)[1]
    assert result.response == {"batchItemFailures": [{"itemIdentifier": parent}]}
    # the sibling before the failure was handled and carries its sub-sequence identity,
    # which the ledger uses to skip it on the retry
    assert handled == [(seqs(event)[0], 0), (parent, 0)]
    assert result.failed_record is not None
    assert result.failed_record.sub_sequence_number == 1
    assert result.counts == streamkit.BatchCounts(3, 5, 2, 0, 3)


def test_kpl_sub_record_permanent_failure_dead_letters_only_that_user_record() -> None:
    blob = kpl_aggregate([("a", b'{"n": 0}', None), ("b", b"oops", None), ("c", b'{"n": 2}', None)])
    event = kinesis_event([blob])
    dlq = InMemoryDeadLetters()
    result = run(event, lambda r: r.json(), dead_letters=dlq)
    assert result.response == {"batchItemFailures": []}
    [letter] = dlq.letters
    assert (letter.record.sub_sequence_number, letter.record.partition_key) == (1, "b")
    assert letter.record.data == b"oops"
    assert letter.record.id.endswith(f"/{seqs(event)[0]}/1")


def test_corrupt_kpl_aggregate_is_dead_lettered_whole_with_reason_kpl_corrupt() -> None:
    blob = bytearray(kpl_aggregate([("a", b"x" * 50, None), ("b", b"y" * 50, None)]))
    blob[30] ^= 0xFF  # flip a byte inside the protobuf: MD5 no longer matches
    event = kinesis_event([b'{"ok": 1}', bytes(blob)])
    dlq = InMemoryDeadLetters()
    calls: list[bytes] = []
    result = run(event, lambda r: calls.append(r.data), dead_letters=dlq)
    assert calls == [b'{"ok": 1}']
    [letter] = dlq.letters
    assert letter.reason == "kpl_corrupt"
    assert letter.record.data == bytes(blob)  # the raw aggregate, nothing dropped
    assert "MD5" in letter.error
    assert result.counts == streamkit.BatchCounts(2, 2, 1, 1, 0)


def test_deadline_guard_stops_before_the_margin_and_reports_first_unhandled() -> None:
    event = kinesis_event(docs(*({"n": i} for i in range(10))))
    ctx = FakeContext(remaining_ms=10_000)
    seen: list[int] = []

    def handle(r: Record) -> None:
        seen.append(r.json()["n"])
        ctx.advance(2_000)  # each record "takes" 2 s

    result = run(event, handle, context=ctx, deadline_margin_ms=3_000)
    # remaining before record k: 10000 - 2000k; stop once below 3000 -> records 0..3 run
    assert seen == [0, 1, 2, 3]
    assert result.stopped == "deadline"
    assert result.failure is None
    assert result.response == {"batchItemFailures": [{"itemIdentifier": seqs(event)[4]}]}
    assert result.counts == streamkit.BatchCounts(10, 10, 4, 0, 6)


def test_deadline_already_passed_reports_first_record() -> None:
    event = kinesis_event(docs({"n": 1}, {"n": 2}))
    calls: list[Record] = []
    result = run(event, calls.append, context=FakeContext(100), deadline_margin_ms=500)
    assert calls == []
    assert result.response == {"batchItemFailures": [{"itemIdentifier": seqs(event)[0]}]}
    assert result.counts.retried == 2


def test_automatic_margin_is_ten_percent_within_bounds() -> None:
    event = kinesis_event(docs({"n": 1}))
    # 10% of 1000 ms = 100 ms, raised to the 200 ms floor: 150 ms left is below it
    result = run(event, lambda r: None, context=FakeContext(1_000), deadline_margin_ms=None)
    assert result.stopped is None
    ctx = FakeContext(1_000)

    def slow(r: Record) -> None:
        ctx.advance(850)

    event2 = kinesis_event(docs({"n": 1}, {"n": 2}))
    result2 = run(event2, slow, context=ctx)
    assert result2.stopped == "deadline"
    assert result2.counts.succeeded == 1


def test_negative_margin_is_rejected_with_the_option_named() -> None:
    with pytest.raises(ValueError, match="deadline_margin_ms"):
        run(kinesis_event([b"{}"]), lambda r: None, context=FakeContext(), deadline_margin_ms=-1)


def test_context_without_remaining_time_disables_the_guard() -> None:
    event = kinesis_event(docs({"n": 1}))
    result = run(event, lambda r: None, context=object())
    assert result.stopped is None


def test_failing_dead_letter_sink_turns_the_record_into_a_retry() -> None:
    """Nothing lost: a dead letter that cannot be stored is retried, not dropped."""
    event = kinesis_event([b'{"n": 0}', b"bad", b'{"n": 2}'])
    seen: list[bytes] = []

    def sink(letter: streamkit.DeadLetter) -> None:
        raise OSError("dlq unavailable")

    result = run(event, lambda r: seen.append(r.json()), dead_letters=sink)
    assert result.response == {"batchItemFailures": [{"itemIdentifier": seqs(event)[1]}]}
    assert len(seen) == 1
    assert isinstance(result.failure, OSError)
    assert result.counts == streamkit.BatchCounts(3, 3, 1, 0, 2)


def test_callback_sink_receives_each_dead_letter() -> None:
    got: list[str] = []
    event = kinesis_event([b"a", b"b"])
    run(event, lambda r: r.json(), dead_letters=lambda letter: got.append(letter.record.id))
    assert len(got) == 2
    assert got[0] != got[1]


def test_default_sink_logs_one_error_line_per_dead_letter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = kinesis_event([b"not json", b'{"fine": true}'])
    process_batch(event, lambda r: r.json(), metrics=False)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["dead_letter"]["reason"] == "bad_json"
    assert errors[0]["dead_letter"]["data"] == "bm90IGpzb24="


def test_tumbling_window_event_gets_state_in_response() -> None:
    """Spec 1.2.8: a window response without state counts as a failed invocation."""
    event = kinesis_event(docs({"n": 1}, {"n": 2}))
    event.update(
        window={"start": "2026-11-28T00:00:00Z", "end": "2026-11-28T00:01:00Z"},
        state={"total": 5},
        shardId="shardId-000000000000",
        eventSourceARN="arn:aws:kinesis:us-east-1:123456789012:stream/test-stream",
        isFinalInvokeForWindow=False,
        isWindowTerminatedEarly=False,
    )
    passthrough = run(event, lambda r: None)
    assert passthrough.response == {"batchItemFailures": [], "state": {"total": 5}}

    def reduce(state: Any, result: streamkit.BatchResult) -> dict[str, int]:
        return {"total": state["total"] + result.counts.succeeded}

    reduced = run(event, lambda r: None, window_state=reduce)
    assert reduced.response["state"] == {"total": 7}


def test_tumbling_window_first_invoke_without_state_returns_empty_state() -> None:
    event = kinesis_event(docs({"n": 1}))
    event["window"] = {"start": "2026-11-28T00:00:00Z", "end": "2026-11-28T00:01:00Z"}
    assert run(event, lambda r: None).response["state"] == {}


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({}, "event.Records"),
        ({"Records": "nope"}, "event.Records"),
        ({"Records": [{"kinesis": {"data": "e30="}}]}, "Records[0].kinesis.sequenceNumber"),
        ({"Records": [{"eventSource": "aws:sqs", "body": "x"}]}, "Records[0].kinesis"),
    ],
)
def test_non_kinesis_events_raise_naming_the_field(event: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidEventError, match=field.replace("[", r"\[").replace("]", r"\]")):
        run(event, lambda r: None)


def test_nothing_prints_per_record_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 2 (5): one log line and one EMF document per batch, whatever its size."""
    event = kinesis_event(docs(*({"n": i} for i in range(500))))
    process_batch(event, lambda r: r.json())
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    log, emf = (json.loads(line) for line in out)
    assert log["message"] == "batch processed"
    assert log["batch"]["received"] == 500
    assert log["batch"]["first_sequence_number"] == seqs(event)[0]
    assert log["batch"]["last_sequence_number"] == seqs(event)[-1]
    assert log["batch"]["shard_id"] == "shardId-000000000000"
    names = {m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names == {
        "RecordsReceived",
        "RecordsSucceeded",
        "RecordsDeadLettered",
        "RecordsRetried",
        "IteratorAge",
    }
    assert emf["RecordsReceived"] == [500.0]
    assert emf["RecordsSucceeded"] == [500.0]
    assert emf["Stream"] == "test-stream"


def test_iterator_age_is_now_minus_last_arrival(capsys: pytest.CaptureFixture[str]) -> None:
    import time

    now = time.time()
    event = kinesis_event(docs({"n": 1}, {"n": 2}), arrival=now - 120)
    process_batch(event, lambda r: None, namespace="test-ns")
    emf = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "test-ns"
    [age] = emf["IteratorAge"]
    assert 119_000 <= age <= 120_000 + 60_000  # generous upper bound: CI can be slow


def test_metrics_can_be_turned_off(capsys: pytest.CaptureFixture[str]) -> None:
    process_batch(kinesis_event([b"{}"]), lambda r: None, metrics=False)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert "_aws" not in out[0]


def test_stop_logs_a_warning_naming_the_record(capsys: pytest.CaptureFixture[str]) -> None:
    event = kinesis_event(docs({"n": 1}))

    def handle(r: Record) -> None:
        raise Throttled("busy")

    process_batch(event, handle, metrics=False)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [warning] = [line for line in lines if line["level"] == "WARNING"]
    assert warning["record_id"].endswith(f"/{seqs(event)[0]}/0")
    assert "Throttled" in warning["error"]


def test_dead_letter_reasons_are_counted_once_for_log_and_sink(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from streamkit.deadletter import count_reasons

    event = kinesis_event([b"bad", b'{"n": 1}', b"worse", b'{"m": 1}'])
    dlq = InMemoryDeadLetters()
    result = run_batch(event, lambda r: r.json()["n"], dead_letters=dlq, metrics=False)
    [log] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = {"bad_json": 2, "invalid": 1}
    assert log["batch"]["dead_letter_reasons"] == expected
    assert dlq.reasons() == count_reasons(result.dead_letters) == expected


# ---------------------------------------------- metrics on the invocation's clock


class ClockedContext(FakeContext):
    """A context whose invoker runs on a clock of its own (the simulator's, in a replay):
    ``client_context.custom`` carries the offset, as streamkit's simulator sends it."""

    def __init__(self, invoker_now: float) -> None:
        super().__init__()
        custom = streamkit.observability.clock_client_context(invoker_now)["custom"]
        self.client_context = type("ClientContext", (), {"custom": custom})()


def test_iterator_age_and_emf_timestamp_use_the_invocation_clock(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Spec 4.11: IteratorAge is computed on the invocation's clock. A replay on a virtual
    clock in 2021 must report the age on that clock (seconds), not against the wall
    clock (years), and stamp the EMF document with that clock's time."""
    arrival = 1_620_000_000.0  # May 2021
    event = kinesis_event(docs({"n": 1}, {"n": 2}), arrival=arrival)
    last = event["Records"][-1]["kinesis"]["approximateArrivalTimestamp"]
    process_batch(event, lambda r: None, ClockedContext(invoker_now=arrival + 30))
    emf = json.loads(capsys.readouterr().out.splitlines()[-1])
    [age] = emf["IteratorAge"]
    stamp = emf["_aws"]["Timestamp"]
    # Both come from the same "now": the age is the stamp minus the last arrival.
    assert abs(age - (stamp - last * 1000)) <= 1
    # That "now" is the invoker's 2021 clock (plus the real time the batch took).
    assert 29_000 <= age < 3_600_000
    assert stamp < 1_700_000_000_000


@pytest.mark.parametrize(
    "custom",
    [None, {}, {"streamkit-clock-offset-ms": "soon"}, {"streamkit-clock-offset-ms": "nan"}, 5],
)
def test_without_a_usable_clock_offset_the_clock_is_the_wall_clock(custom: Any) -> None:
    """On AWS a Kinesis mapping sends no client context: offset 0, the wall clock."""
    from streamkit.observability import InvocationClock

    ctx = FakeContext()
    ctx.client_context = type("ClientContext", (), {"custom": custom})()  # type: ignore[attr-defined]
    assert InvocationClock.of(ctx).offset_ms == 0.0
    assert InvocationClock.of(None).offset_ms == 0.0
    assert InvocationClock.of(FakeContext()).offset_ms == 0.0


def test_clock_client_context_round_trips_through_invocation_clock() -> None:
    from streamkit.observability import InvocationClock, clock_client_context

    doc = clock_client_context(1_000.0, wall_now=1_500.0)
    assert doc == {"custom": {"streamkit-clock-offset-ms": "-500000.000"}}
    ctx = FakeContext()
    ctx.client_context = type("ClientContext", (), doc)()  # type: ignore[attr-defined]
    assert InvocationClock.of(ctx).offset_ms == -500_000.0


class _UnprintableValueError(ValueError):
    def __str__(self) -> str:
        raise RuntimeError("broken __str__")


class _UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("broken __str__")


def test_an_exception_whose_str_raises_is_still_classified() -> None:
    """Describing user code's exception never raises: the dead letter's text falls
    back to the type name and repr; a transient one is still reported for retry."""
    event = kinesis_event(docs({"a": 1}, {"a": 2}))

    def bad_value(record: Record) -> None:
        raise _UnprintableValueError("x")

    result = run(event, bad_value)
    assert result.counts.dead_lettered == 2
    assert result.dead_letters[0].reason == "invalid"
    assert result.dead_letters[0].error.startswith("_UnprintableValueError: <unprintable ")

    def bad_other(record: Record) -> None:
        raise _UnprintableError("x")

    result = run(event, bad_other)
    assert result.counts.retried == 2
    assert result.response == {"batchItemFailures": [{"itemIdentifier": seqs(event)[0]}]}


@pytest.mark.parametrize("seq", [None, 123, "abc", "", "-5", "1e5", " 12", "\u0663"])
def test_an_invalid_sequence_number_refuses_the_event_like_the_pipeline(seq: Any) -> None:
    """A record without a usable sequence number can be neither retried (it would be
    reported as itemIdentifier None) nor dead-lettered: the whole event is refused,
    before the handler sees any record, naming the field."""
    event = kinesis_event(docs({"a": 1}, {"a": 2}))
    event["Records"][1]["kinesis"]["sequenceNumber"] = seq
    seen: list[Record] = []
    with pytest.raises(InvalidEventError, match=r"Records\[1\]\.kinesis\.sequenceNumber"):
        run(event, seen.append)
    with pytest.raises(InvalidEventError, match=r"Records\[1\]\.kinesis\.sequenceNumber"):
        process_batch(event, seen.append, FakeContext(), metrics=False)
    assert seen == []


@pytest.mark.parametrize(
    "exc",
    [
        IndexError(0),
        AttributeError("x"),
        ExceptionGroup("g", [ValueError("v")]),
        InvalidEventError("streamkit's own"),
    ],
)
def test_what_the_readme_says_is_transient_is_retried(exc: Exception) -> None:
    """README's rules table: these are not invalid input, whatever they look like."""
    event = kinesis_event(docs({"a": 1}))

    def handler(record: Record) -> None:
        raise exc

    result = run(event, handler)
    assert (result.counts.retried, result.counts.dead_lettered) == (1, 0)
    assert result.failure is exc
