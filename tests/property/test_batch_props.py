"""Property tests of the batch processor (issue 2, tests a-c)."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit import InMemoryDeadLetters, PermanentError, Record, run_batch
from streamkit.testing import FakeContext, kinesis_event, kinesis_record
from streamkit.testing.strategies import outcomes_and_payloads


class Transient(Exception):
    pass


def _handler(outcomes: dict[int, str], handled: list[int]) -> Any:
    def handle(r: Record) -> None:
        n = r.json()["n"]
        kind = outcomes.get(n, "ok")
        if kind == "transient":
            raise Transient(n)
        if kind == "permanent":
            raise PermanentError("nope", reason="schema")
        handled.append(n)

    return handle


@given(outcomes_and_payloads())
def test_a_reported_identifier_is_the_lowest_transient_failure(
    case: tuple[list[str], list[bytes]],
) -> None:
    """(a) For any batch and any failing set: the report names the lowest transiently
    failed record and no record at or after it was handled (spec 2.2.5)."""
    kinds, payloads = case
    event = kinesis_event(payloads)
    handled: list[int] = []
    dlq = InMemoryDeadLetters()
    result = run_batch(
        event, _handler(dict(enumerate(kinds)), handled), dead_letters=dlq, metrics=False
    )
    first_transient = next((i for i, k in enumerate(kinds) if k == "transient"), None)
    failures = result.response["batchItemFailures"]
    if first_transient is None:
        assert failures == []
        assert handled == [i for i, k in enumerate(kinds) if k == "ok"]
    else:
        seq = event["Records"][first_transient]["kinesis"]["sequenceNumber"]
        assert failures == [{"itemIdentifier": seq}]
        assert all(i < first_transient for i in handled)
        assert all(int(d.record.sequence_number) < int(seq) for d in dlq.letters)
        assert handled == [i for i, k in enumerate(kinds[:first_transient]) if k == "ok"]


@given(outcomes_and_payloads(), st.integers(0, 40), st.integers(0, 5_000))
def test_b_counts_always_add_up(
    case: tuple[list[str], list[bytes]], cost_ms: int, margin: int
) -> None:
    """(b) received == succeeded + dead-lettered + retried, deadline stops included."""
    kinds, payloads = case
    ctx = FakeContext(remaining_ms=3_000)
    handled: list[int] = []
    inner = _handler(dict(enumerate(kinds)), handled)

    def handle(r: Record) -> None:
        ctx.advance(cost_ms)
        inner(r)

    dlq = InMemoryDeadLetters()
    result = run_batch(
        kinesis_event(payloads),
        handle,
        ctx,
        dead_letters=dlq,
        deadline_margin_ms=margin,
        metrics=False,
    )
    c = result.counts
    assert c.received == len(payloads)
    assert c.received == c.succeeded + c.dead_lettered + c.retried
    assert c.succeeded == len(handled)
    assert c.dead_lettered == len(dlq.letters)
    assert (c.retried > 0) == bool(result.response["batchItemFailures"])


@settings(max_examples=300)
@given(st.lists(st.one_of(st.binary(max_size=64), st.text(max_size=64)), max_size=12))
def test_c_arbitrary_data_never_raises_out_of_process_batch(blobs: list[Any]) -> None:
    """(c) Decoding arbitrary bytes (and arbitrary text in the base64 field) never
    raises: each record is handled or dead-lettered with a reason."""
    records = []
    for i, blob in enumerate(blobs):
        rec = kinesis_record(blob if isinstance(blob, bytes) else b"", 1000 + i)
        if isinstance(blob, str):
            rec["kinesis"]["data"] = blob  # not necessarily base64 at all
        records.append(rec)
    dlq = InMemoryDeadLetters()
    seen: list[Any] = []
    result = run_batch(
        {"Records": records}, lambda r: seen.append(r.json()), dead_letters=dlq, metrics=False
    )
    assert result.response == {"batchItemFailures": []}
    assert result.counts.succeeded == len(seen)
    assert result.counts.received == result.counts.succeeded + result.counts.dead_lettered
    assert {d.reason for d in dlq.letters} <= {
        "bad_base64",
        "bad_json",
        "bad_compression",
        "too_large",
        "kpl_corrupt",
    }


@given(st.lists(st.integers(0, 2**31), min_size=1, max_size=30))
def test_records_are_handled_in_shard_order(values: list[int]) -> None:
    event = kinesis_event([orjson.dumps({"n": v}) for v in values])
    seen: list[str] = []
    run_batch(event, lambda r: seen.append(r.sequence_number), metrics=False)
    assert seen == [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    assert [int(s) for s in seen] == sorted(int(s) for s in seen)
