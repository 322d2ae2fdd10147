"""Spec 1.1 / 1.2: the exact shape of the invocation events the ESM simulator sends.

Records are written to a real moto Kinesis server; the simulator runs on a
VirtualClock. Test names cite the spec rule they check.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator

pytestmark = pytest.mark.integration

RECORD_KEYS = {
    "kinesis",
    "eventSource",
    "eventVersion",
    "eventID",
    "eventName",
    "invokeIdentityArn",
    "awsRegion",
    "eventSourceARN",
}
KINESIS_KEYS = {
    "kinesisSchemaVersion",
    "partitionKey",
    "sequenceNumber",
    "data",
    "approximateArrivalTimestamp",
}
WINDOW_EVENT_KEYS = {
    "Records",
    "window",
    "state",
    "shardId",
    "eventSourceARN",
    "isFinalInvokeForWindow",
    "isWindowTerminatedEarly",
}


def test_1_1_1_standard_event_is_only_records(esm_env: Any) -> None:
    """1.1.1: a standard (non-window) event is exactly ``{"Records": [...]}``."""
    esm_env.put_n(2)
    rec = esm_env.recorder()
    esm_env.esm(rec).run()
    assert rec.calls == 1
    assert set(rec.events[0]) == {"Records"}
    assert isinstance(rec.events[0]["Records"], list)


def test_1_1_2_record_has_exactly_the_documented_keys_and_values(esm_env: Any) -> None:
    """1.1.2: every record has exactly the documented keys (no encryptionType) and
    the constant values; eventID is ``<shardId>:<sequenceNumber>``."""
    arn = esm_env.stream("orders", shards=1)
    puts = esm_env.put([b'{"a": 1}', b"plain text"], key="user-7")
    rec = esm_env.recorder()
    esm_env.esm(rec).run()
    records = rec.events[0]["Records"]
    assert len(records) == 2
    acct, region = esm_env.aws.account_id, esm_env.aws.region
    for put, r in zip(puts, records, strict=True):
        assert set(r) == RECORD_KEYS
        assert set(r["kinesis"]) == KINESIS_KEYS
        assert r["kinesis"]["kinesisSchemaVersion"] == "1.0"
        assert r["kinesis"]["partitionKey"] == "user-7"
        assert r["kinesis"]["sequenceNumber"] == put.sequence_number
        assert r["eventSource"] == "aws:kinesis"
        assert r["eventVersion"] == "1.0"
        assert r["eventName"] == "aws:kinesis:record"
        assert r["eventID"] == f"{put.shard_id}:{put.sequence_number}"
        assert re.fullmatch(r"shardId-\d{12}:\d+", r["eventID"])
        assert r["awsRegion"] == region
        assert r["eventSourceARN"] == arn
        assert r["eventSourceARN"] == f"arn:aws:kinesis:{region}:{acct}:stream/orders"
        assert re.fullmatch(rf"arn:aws:iam::{acct}:role/[\w+=,.@-]+", r["invokeIdentityArn"])


def test_1_1_2_sequence_number_is_decimal_string(esm_env: Any) -> None:
    """1.1.2: sequenceNumber is a string of decimal digits (not a JSON number)."""
    esm_env.put_n(1)
    rec = esm_env.recorder()
    esm_env.esm(rec).run()
    seq = rec.events[0]["Records"][0]["kinesis"]["sequenceNumber"]
    assert isinstance(seq, str)
    assert seq.isdigit()


@pytest.mark.parametrize(
    "raw",
    [
        b"\xfb\xff\xfe",  # standard alphabet: '+', '/' (urlsafe would give '-', '_')
        b"\xfb\xff",  # needs one '=' of padding
        b"\x00",  # needs two '=' of padding
        b'{"k": "v", "n": [1, 2.50, "\\u00e9"]}  \n',  # JSON bytes kept byte-for-byte
        bytes(range(256)),
    ],
    ids=["plus-slash", "pad1", "pad2", "json-verbatim", "all-bytes"],
)
def test_1_1_2_data_is_standard_padded_base64_of_stored_bytes(esm_env: Any, raw: bytes) -> None:
    """1.1.2: ``data`` is the standard base64 (with padding) of the bytes as stored."""
    esm_env.put([raw])
    rec = esm_env.recorder()
    esm_env.esm(rec).run()
    data = rec.events[0]["Records"][0]["kinesis"]["data"]
    assert data == base64.b64encode(raw).decode("ascii")
    assert base64.b64decode(data, validate=True) == raw


def test_1_1_2_kpl_aggregated_record_is_not_deaggregated(esm_env: Any) -> None:
    """1.1.2 / 6.1: a KPL-aggregated Kinesis record reaches the function as ONE
    Lambda record whose data is the aggregate's bytes, unchanged."""
    agg = RecordAggregator()
    for i in range(3):
        assert agg.add_user_record(f"pk{i}", f"user record {i}".encode()) is None
    blob = agg.clear_and_get().get_contents()[2]
    assert blob[:4] == b"\xf3\x89\x9a\xc2"
    esm_env.put([blob], key="agg")
    rec = esm_env.recorder()
    esm_env.esm(rec).run()
    records = rec.events[0]["Records"]
    assert len(records) == 1
    assert base64.b64decode(records[0]["kinesis"]["data"]) == blob
    assert set(records[0]["kinesis"]) == KINESIS_KEYS  # no subSequenceNumber etc.


def test_1_1_2_approximate_arrival_is_epoch_seconds_number_from_kinesis(
    esm_env: Any,
) -> None:
    """1.1.2: approximateArrivalTimestamp is a JSON number of epoch seconds with a
    millisecond fraction, taken from the Kinesis record's ApproximateArrivalTimestamp."""
    puts = esm_env.put_n(3)
    shard_it = esm_env.kinesis.get_shard_iterator(
        StreamName=esm_env.stream_name,
        ShardId=puts[0].shard_id,
        ShardIteratorType="TRIM_HORIZON",
    )["ShardIterator"]
    stored = esm_env.kinesis.get_records(ShardIterator=shard_it)["Records"]
    expected = {r["SequenceNumber"]: r["ApproximateArrivalTimestamp"].timestamp() for r in stored}
    rec = esm_env.recorder()
    # No arrival override: the simulator must use Kinesis's own timestamps.
    esm_env.esm(rec, arrival=None, start=max(expected.values()) + 1).run()
    records = rec.events[0]["Records"]
    assert len(records) == 3
    for r in records:
        ts = r["kinesis"]["approximateArrivalTimestamp"]
        assert isinstance(ts, int | float) and not isinstance(ts, bool)
        assert ts == pytest.approx(expected[r["kinesis"]["sequenceNumber"]], abs=0.0015)
        assert round(ts, 3) == ts  # millisecond fraction at most


def test_1_1_2_approximate_arrival_keeps_millisecond_fraction(esm_env: Any) -> None:
    """1.1.2: the example 1545084650.987 keeps its millisecond fraction (not
    truncated to seconds, not milliseconds since the epoch)."""
    esm_env.put_n(1)
    rec = esm_env.recorder()
    start = 1545084650.987
    esm_env.esm(rec, arrival=lambda shard, seq: start - esm_env.T0, start=start + 1).run()
    ts = rec.events[0]["Records"][0]["kinesis"]["approximateArrivalTimestamp"]
    assert ts == pytest.approx(1545084650.987, abs=1e-6)
    # Serialized as a JSON number, not a string.
    assert json.loads(json.dumps(rec.events[0]))["Records"][0]["kinesis"][
        "approximateArrivalTimestamp"
    ] == pytest.approx(1545084650.987, abs=1e-6)


def test_1_1_2_records_in_numeric_sequence_order_not_lexical(esm_env: Any) -> None:
    """1.1.2: records are in sequence-number order, compared numerically
    ("10" comes after "9")."""
    esm_env.put_n(12)
    rec = esm_env.recorder()
    esm_env.esm(rec, batch_size=100).run()
    assert rec.calls == 1
    got = [r["kinesis"]["sequenceNumber"] for r in rec.events[0]["Records"]]
    assert got == [str(i) for i in range(1, 13)]
    assert got != sorted(got)  # lexical order would differ: the check is meaningful


def test_1_1_1_every_batch_comes_from_a_single_shard(esm_env: Any) -> None:
    """1.1.1: all records of one event come from one shard of one stream."""
    arn = esm_env.stream("two", shards=2)
    esm_env.put_n(5, shard=esm_env.SHARD_0)
    esm_env.put_n(5, shard=esm_env.SHARD_1)
    rec = esm_env.recorder()
    esm_env.esm(rec, batch_size=100).run()
    assert rec.calls == 2
    shards_seen = set()
    for event in rec.events:
        shard_ids = {r["eventID"].split(":")[0] for r in event["Records"]}
        assert len(shard_ids) == 1
        assert {r["eventSourceARN"] for r in event["Records"]} == {arn}
        shards_seen |= shard_ids
    assert shards_seen == {esm_env.SHARD_0, esm_env.SHARD_1}


# ---------------------------------------------------------------- 1.2 window events


def _window_handler(event: dict[str, Any], n: int) -> dict[str, Any]:
    return {"state": {"n": n}}


def test_1_2_1_window_event_has_exactly_the_documented_keys(esm_env: Any) -> None:
    """1.2.1: a tumbling-window event has Records plus window, state, shardId,
    eventSourceARN, isFinalInvokeForWindow and isWindowTerminatedEarly, exactly."""
    arn = esm_env.stream("win", shards=1)
    esm_env.put_n(2)
    rec = esm_env.recorder(_window_handler)
    esm_env.esm(rec, tumbling_window_in_seconds=60).run()
    assert rec.calls >= 2  # at least one batch and the final invocation
    for event in rec.events:
        assert set(event) == WINDOW_EVENT_KEYS
        assert set(event["window"]) == {"start", "end"}
        assert event["shardId"] == esm_env.SHARD_0
        assert event["eventSourceARN"] == arn
        assert isinstance(event["isFinalInvokeForWindow"], bool)
        assert event["isWindowTerminatedEarly"] is False
        assert isinstance(event["state"], dict)
        for r in event["Records"]:
            assert set(r) == RECORD_KEYS


def test_1_2_2_window_bounds_are_rfc3339_seconds_z_from_arrival_times(esm_env: Any) -> None:
    """1.2.2: window.start/end are RFC 3339 UTC strings with second precision and a
    Z suffix, computed from the records' arrival times (not processing time)."""
    esm_env.put_n(2)
    rec = esm_env.recorder(_window_handler)
    # Records arrived at T0+5 and T0+17; processing happens a day later.
    esm_env.esm(
        rec,
        tumbling_window_in_seconds=60,
        arrival=lambda shard, seq: 5.0 if seq == 1 else 17.0,
        start=esm_env.T0 + 86_400,
    ).run()
    first = rec.events[0]
    expected_start = datetime.fromtimestamp(esm_env.T0, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    expected_end = datetime.fromtimestamp(esm_env.T0 + 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert first["window"] == {"start": expected_start, "end": expected_end}
    for event in rec.events:
        for bound in event["window"].values():
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", bound)


def test_1_2_3_first_invocation_of_a_window_gets_empty_state(esm_env: Any) -> None:
    """1.2.3 / 9.6 (simulator choice): the first invocation of a window gets ``{}``."""
    esm_env.put_n(1)
    rec = esm_env.recorder(_window_handler)
    esm_env.esm(rec, tumbling_window_in_seconds=60).run()
    assert rec.events[0]["state"] == {}
    assert rec.events[0]["isFinalInvokeForWindow"] is False


def test_1_2_4_final_invocation_has_empty_records_and_final_flag(esm_env: Any) -> None:
    """1.2.4 / 9.6 (simulator choice): the final invocation of a window carries an
    empty Records array, isFinalInvokeForWindow true and the window's last state."""
    esm_env.put_n(3)
    rec = esm_env.recorder(_window_handler)
    esm_env.esm(rec, tumbling_window_in_seconds=60, batch_size=100).run()
    assert rec.calls == 2
    final = rec.events[-1]
    assert final["isFinalInvokeForWindow"] is True
    assert final["Records"] == []
    assert final["state"] == {"n": 0}
    assert final["window"] == rec.events[0]["window"]
