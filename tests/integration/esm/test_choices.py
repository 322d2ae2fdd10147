"""The simulator's options where AWS behaviour is unconfirmed (``esm/choices.py``,
``docs/simulator.md`` "Open points", S9.x).

Each ``test_choice_<NAME>`` pins the current value of one constant by the behaviour
it produces: changing that constant (once real AWS output is recorded) fails exactly
that test. The ``test_option_*`` tests set each value explicitly, so both options
keep working whichever is the default.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streamkit.local.destinations import (
    RECORD_AGE_EXCEEDED,
    RETRY_ATTEMPTS_EXHAUSTED,
    DestinationSender,
)
from streamkit.local.esm import choices, invoker

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[3]
ESM_UUID = "2b733gdc-8ac3-cdf5-af3a-1827b3b11284"


def _always_raise(event: dict[str, Any], n: int) -> Any:
    raise RuntimeError("poison")


# ---------------------------------------------------------------- S9.3 S3 payload


def _s3_payload(esm_env: Any, aws: Any) -> Any:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="failures")
    esm_env.put_n(2)
    sender = DestinationSender("s3", "failures", aws.client, ESM_UUID)
    rec = esm_env.recorder(_always_raise)
    esm_env.esm(rec, destination=sender, batch_size=10, maximum_retry_attempts=0).run()
    (obj,) = s3.list_objects_v2(Bucket="failures")["Contents"]
    body = json.loads(s3.get_object(Bucket="failures", Key=obj["Key"])["Body"].read())
    return body["payload"], rec.events[-1]["Records"]


def test_choice_S3_PAYLOAD_AS_STRING(esm_env: Any, aws: Any) -> None:
    """S9.3: the S3 on-failure payload is the event as a JSON string."""
    payload, records = _s3_payload(esm_env, aws)
    assert isinstance(payload, str)
    assert json.loads(payload) == {"Records": records}


@pytest.mark.parametrize("as_string", [True, False])
def test_option_S3_PAYLOAD_AS_STRING(
    esm_env: Any, aws: Any, monkeypatch: pytest.MonkeyPatch, as_string: bool
) -> None:
    monkeypatch.setattr(choices, "S3_PAYLOAD_AS_STRING", as_string)
    payload, records = _s3_payload(esm_env, aws)
    assert isinstance(payload, str) is as_string
    assert (json.loads(payload) if as_string else payload) == {"Records": records}


# ------------------------------------------------- S9.12 merged bisection failures


def _bisected_failures(esm_env: Any, fail: set[int]) -> list[dict[str, Any]]:
    """4 records in one batch, bisect on, no retries; records in ``fail`` always fail
    (a batch fails when it holds one of them)."""
    esm_env.put_n(4)

    def respond(event: dict[str, Any], n: int) -> Any:
        if fail & {int(r["kinesis"]["sequenceNumber"]) for r in event["Records"]}:
            raise RuntimeError("poison")
        return None

    stats = esm_env.esm(
        esm_env.recorder(respond),
        batch_size=10,
        maximum_retry_attempts=0,
        bisect_batch_on_function_error=True,
    ).run()
    assert stats.unresolved == 0
    return [doc["KinesisBatchInfo"] for doc in stats.failure_documents]


def _ranges(infos: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(i["startSequenceNumber"], i["endSequenceNumber"], i["batchSize"]) for i in infos]


def test_choice_MERGE_BISECTED_FAILURES(esm_env: Any) -> None:
    """S9.12: each discarded part of a bisected batch gets its own document."""
    infos = _bisected_failures(esm_env, {1, 2, 3, 4})
    assert _ranges(infos) == [("1", "1", 1), ("2", "2", 1), ("3", "3", 1), ("4", "4", 1)]


@pytest.mark.parametrize(
    ("merge", "fail", "expected"),
    [
        (False, {1, 2, 3, 4}, [("1", "1", 1), ("2", "2", 1), ("3", "3", 1), ("4", "4", 1)]),
        (True, {1, 2, 3, 4}, [("1", "4", 4)]),
        # Record 2 is processed between the discards: never inside a merged range.
        (True, {1, 3, 4}, [("1", "1", 1), ("3", "4", 2)]),
        (False, {1, 3, 4}, [("1", "1", 1), ("3", "3", 1), ("4", "4", 1)]),
    ],
)
def test_option_MERGE_BISECTED_FAILURES(
    esm_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    merge: bool,
    fail: set[int],
    expected: list[tuple[str, str, int]],
) -> None:
    monkeypatch.setattr(choices, "MERGE_BISECTED_FAILURES", merge)
    assert _ranges(_bisected_failures(esm_env, fail)) == expected


# ----------------------------------------------------- S9.6 the final window invoke


def _window_handler(event: dict[str, Any], n: int) -> Any:
    return {"state": {"n": len(event["Records"])}}


def test_choice_FINAL_WINDOW_INVOKE_EMPTY(esm_env: Any) -> None:
    """S9.6: the final invocation of a window carries an empty Records array."""
    esm_env.put_n(3)
    rec = esm_env.recorder(_window_handler)
    esm_env.esm(rec, tumbling_window_in_seconds=60, batch_size=100).run()
    final = rec.events[-1]
    assert final["isFinalInvokeForWindow"] is True
    assert final["Records"] == []
    assert [len(e["Records"]) for e in rec.events[:-1]] == [3]


def test_option_FINAL_WINDOW_INVOKE_EMPTY_false_is_refused_by_name(
    esm_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other reading is not implemented: a windowed mapping refuses to start."""
    monkeypatch.setattr(choices, "FINAL_WINDOW_INVOKE_EMPTY", False)
    esm_env.put_n(1)
    with pytest.raises(NotImplementedError, match="FINAL_WINDOW_INVOKE_EMPTY"):
        esm_env.esm(esm_env.recorder(_window_handler), tumbling_window_in_seconds=60)
    # Without a window the choice does not apply.
    assert esm_env.esm(esm_env.recorder()).run().records_processed == 1


# ---------------------------------------------------------- S9.9b encryptionType


def _kms_records(esm_env: Any) -> Any:
    """Make every GetRecords record carry EncryptionType KMS, as Kinesis returns it
    for an SSE-KMS stream (moto never sets it on records)."""

    def add(parsed: dict[str, Any], **_: Any) -> None:
        for r in parsed.get("Records", []):
            r["EncryptionType"] = "KMS"

    esm_env.kinesis.meta.events.register("after-call.kinesis.GetRecords", add)
    return add


def _event_kinesis_fields(esm_env: Any) -> list[dict[str, Any]]:
    esm_env.put_n(2)
    hook = _kms_records(esm_env)
    rec = esm_env.recorder()
    try:
        esm_env.esm(rec, batch_size=10).run()
    finally:
        esm_env.kinesis.meta.events.unregister("after-call.kinesis.GetRecords", hook)
    return [r["kinesis"] for e in rec.events for r in e["Records"]]


def test_choice_EMIT_ENCRYPTION_TYPE(esm_env: Any) -> None:
    """S9.9b: records read from an encrypted stream carry no encryptionType."""
    fields = _event_kinesis_fields(esm_env)
    assert len(fields) == 2
    assert all("encryptionType" not in f for f in fields)


@pytest.mark.parametrize("emit", [True, False])
def test_option_EMIT_ENCRYPTION_TYPE(
    esm_env: Any, monkeypatch: pytest.MonkeyPatch, emit: bool
) -> None:
    monkeypatch.setattr(choices, "EMIT_ENCRYPTION_TYPE", emit)
    fields = _event_kinesis_fields(esm_env)
    assert [f.get("encryptionType") for f in fields] == (["KMS"] * 2 if emit else [None] * 2)


# --------------------------------------------------- S9.8 a single record over 6 MB


def _oversize(esm_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Record 2 of 3 alone makes an event over the invoke limit. Kinesis emulators
    refuse records over 1 MiB, so the limit is lowered to 4,000 bytes (the rule is
    the same at 6 MB); MaximumRetryAttempts 0 and MaximumRecordAgeInSeconds 60.
    Returns the on-failure condition, the refused invocations, the stats."""
    monkeypatch.setattr(invoker, "MAX_EVENT_BYTES", 4_000)
    esm_env.put([b"a", b"x" * 5_000, b"c"])
    rec = esm_env.recorder()
    stats = esm_env.esm(
        rec,
        batch_size=1,
        maximum_retry_attempts=0,
        maximum_record_age_in_seconds=60,
        # Record 3 arrives 50 s later: still young when record 2 is given up on.
        arrival=lambda shard, seq: 50.0 if seq == 3 else 0.0,
    ).run()
    assert rec.delivered() == [1, 3]  # the function never sees the oversize record
    assert stats.records_discarded == 1 and stats.unresolved == 0
    (doc,) = stats.failure_documents
    assert doc["KinesisBatchInfo"]["startSequenceNumber"] == "2"
    too_large = [e for e in stats.log if e.outcome == "too_large"]
    return doc["requestContext"]["condition"], len(too_large), stats


def test_choice_OVERSIZE_RECORD(esm_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """S9.8: a single oversize record is a service error: retried (never counted as
    an attempt, so MaximumRetryAttempts 0 does not discard it) until it is older
    than MaximumRecordAgeInSeconds."""
    condition, refused, _ = _oversize(esm_env, monkeypatch)
    assert condition == RECORD_AGE_EXCEEDED
    assert refused > 1


@pytest.mark.parametrize(
    ("option", "condition"), [("retry", RECORD_AGE_EXCEEDED), ("discard", RETRY_ATTEMPTS_EXHAUSTED)]
)
def test_option_OVERSIZE_RECORD(
    esm_env: Any, monkeypatch: pytest.MonkeyPatch, option: str, condition: str
) -> None:
    monkeypatch.setattr(choices, "OVERSIZE_RECORD", option)
    got, refused, _ = _oversize(esm_env, monkeypatch)
    assert got == condition
    assert (refused == 1) is (option == "discard")


# ------------------------------------------------------------------------- docs


def test_every_choice_is_written_down_in_docs_simulator_md() -> None:
    text = (ROOT / "docs" / "simulator.md").read_text()
    for name in choices.ALL:
        assert hasattr(choices, name), name
        assert f"`{name}`" in text, f"docs/simulator.md does not describe choices.{name}"
