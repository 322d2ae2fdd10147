"""Decoding Lambda Kinesis events into Records (spec 1.1, 1.2, 6.3).

Every fixture in tests/data/events is decoded and compared field by field with the
raw event, using the standard library as the independent oracle for base64 and JSON.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit import DecodeError, InvalidEventError, PermanentError, Record, decode_event
from streamkit.testing.events import DEFAULT_ARN, FIRST_SEQUENCE, kinesis_event, kinesis_record

EVENTS_DIR = Path(__file__).resolve().parents[1] / "data" / "events"
FIXTURES = sorted(EVENTS_DIR.glob("*.json"))
LOADERS: dict[str, Callable[[bytes], Any]] = {"json": json.loads, "orjson": orjson.loads}


def load(name: str, loader: str = "json") -> dict[str, Any]:
    event: dict[str, Any] = LOADERS[loader]((EVENTS_DIR / name).read_bytes())
    return event


def std_b64(text: str) -> bytes:
    """Oracle: the standard library's strict decoder, padding restored."""
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def one(data: Any = "QQ==", **kinesis: Any) -> dict[str, Any]:
    """An event with one record whose kinesis fields are overridden by ``kinesis``."""
    rec = kinesis_record(b"", "49590338271490256608559692538361571095921575989136588898")
    rec["kinesis"]["data"] = data
    for key, value in kinesis.items():
        if value is _DROP:
            del rec["kinesis"][key]
        else:
            rec["kinesis"][key] = value
    return {"Records": [rec]}


_DROP = object()


# --------------------------------------------------------------------------- fixtures


def test_fixture_directory_holds_every_documented_shape() -> None:
    names = {p.name for p in FIXTURES}
    assert names >= {
        "lambda-dg-basic.json",
        "lambda-dg-tumbling-window.json",
        "aws-lambda-go-encryption-type.json",
        "sam-int-timestamp.json",
        "cloudwatch-logs-subscription.json",
        "hand-written-unpadded-explicit-hash-key.json",
    }
    readme = (EVENTS_DIR / "README.md").read_text()
    for name in names:
        assert f"`{name}`" in readme, f"{name} is not described in README.md"


@pytest.mark.parametrize("loader", sorted(LOADERS))
@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_identity_fields_match_the_raw_event(path: Path, loader: str) -> None:
    event = LOADERS[loader](path.read_bytes())
    raw_records = event["Records"]
    records = decode_event(event)

    assert len(records) == len(raw_records) > 0
    for record, raw in zip(records, raw_records, strict=True):
        kin = raw["kinesis"]
        assert record.error is None
        assert record.aggregated is False
        assert record.shard_id == raw["eventID"].split(":")[0]
        assert record.shard_id.startswith("shardId-")
        assert record.sequence_number == kin["sequenceNumber"]
        assert raw["eventID"] == f"{record.shard_id}:{record.sequence_number}"
        assert record.sub_sequence_number == 0
        assert record.position == (int(kin["sequenceNumber"]), 0)
        assert record.partition_key == kin["partitionKey"]
        assert record.explicit_hash_key == kin.get("explicitHashKey")
        assert record.event_source_arn == raw["eventSourceARN"]
        assert record.encryption_type == kin.get("encryptionType")

        ts = record.approximate_arrival_timestamp
        assert type(ts) is float
        assert ts == float(kin["approximateArrivalTimestamp"])
        arrival = record.arrival_time
        assert arrival.tzinfo is not None
        assert arrival.utcoffset() == timedelta(0)
        assert arrival.timestamp() == pytest.approx(ts, abs=1e-6)
        assert arrival == datetime.fromtimestamp(ts, UTC)

        assert record.data == std_b64(kin["data"])


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_ids_are_stable_and_distinct(path: Path) -> None:
    event = json.loads(path.read_bytes())
    first = [r.id for r in decode_event(event)]
    again = [r.id for r in decode_event(json.loads(path.read_bytes()))]
    assert first == again
    assert len(set(first)) == len(first)
    stream = event["Records"][0]["eventSourceARN"].rpartition("/")[2]
    for rid, raw in zip(first, event["Records"], strict=True):
        shard, seq = raw["eventID"].split(":")
        assert rid == f"{stream}/{shard}/{seq}/0"


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_records_are_in_shard_order(path: Path) -> None:
    records = decode_event(json.loads(path.read_bytes()))
    positions = [r.position for r in records]
    assert positions == sorted(positions)
    assert len({r.shard_id for r in records}) == 1


def test_basic_event_payloads() -> None:
    records = decode_event(load("lambda-dg-basic.json"))
    assert [r.partition_key for r in records] == ["customer-8812", "customer-1207"]
    assert records[0].json() == {"order_id": "A-1001", "status": "PAID", "total": 42.5}
    assert records[1].text() == "order A-1002 shipped via ground"
    assert records[0].arrival_time == datetime(2024, 6, 12, 14, 52, 1, 512000, tzinfo=UTC)
    assert records[0].id == (
        "orders-stream/shardId-000000000004/"
        "49652184937102836584012237745092718363017725469287792706/0"
    )
    with pytest.raises(DecodeError) as info:
        records[1].json()
    assert info.value.reason == "bad_json"


def test_integer_timestamp_is_returned_as_float() -> None:
    event = load("sam-int-timestamp.json")
    assert type(event["Records"][0]["kinesis"]["approximateArrivalTimestamp"]) is int
    (record,) = decode_event(event)
    assert record.approximate_arrival_timestamp == 1718204000.0
    assert type(record.approximate_arrival_timestamp) is float
    assert record.arrival_time == datetime(2024, 6, 12, 14, 53, 20, tzinfo=UTC)


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_exponent_form_timestamp_and_encryption_type(loader: str) -> None:
    text = (EVENTS_DIR / "aws-lambda-go-encryption-type.json").read_text()
    assert '"approximateArrivalTimestamp": 1.7182041234E9' in text
    records = decode_event(load("aws-lambda-go-encryption-type.json", loader))
    assert [r.encryption_type for r in records] == ["NONE", "KMS"]
    assert records[1].approximate_arrival_timestamp == 1718204123.4
    assert records[1].arrival_time == datetime(2024, 6, 12, 14, 55, 23, 400000, tzinfo=UTC)
    assert records[1].json() == {"sensor": "boiler-7", "celsius": 83.0, "alarm": True}


def test_encryption_type_absent_or_not_a_string_is_none() -> None:
    assert decode_event(one())[0].encryption_type is None
    assert decode_event(one(encryptionType=None))[0].encryption_type is None
    assert decode_event(one(encryptionType=1))[0].encryption_type is None


def test_tumbling_window_event_decodes_like_a_standard_event() -> None:
    window_event = load("lambda-dg-tumbling-window.json")
    plain_event = {"Records": copy.deepcopy(window_event["Records"])}
    windowed = decode_event(window_event)
    plain = decode_event(plain_event)

    assert windowed == plain
    assert [r.id for r in windowed] == [r.id for r in plain]
    assert [r.data for r in windowed] == [r.data for r in plain]
    assert {r.shard_id for r in windowed} == {window_event["shardId"]}
    assert {r.event_source_arn for r in windowed} == {window_event["eventSourceARN"]}
    assert [r.json()["orders"] for r in windowed] == [3, 4]
    # Decoding never touches the window keys.
    assert window_event["state"] == {"store-17": 12, "store-23": 40}
    assert window_event["isFinalInvokeForWindow"] is False


def test_cloudwatch_logs_subscription_documents_are_reachable() -> None:
    control, data = decode_event(load("cloudwatch-logs-subscription.json"))
    assert data.data[:2] == b"\x1f\x8b"

    doc = data.json()
    assert doc["messageType"] == "DATA_MESSAGE"
    assert doc["owner"] == "678901234567"
    assert doc["logGroup"] == "/aws/lambda/checkout-api"
    assert doc["logStream"].startswith("2024/06/12/[$LATEST]")
    assert doc["subscriptionFilters"] == ["checkout-errors-to-kinesis"]
    assert isinstance(doc["logEvents"], list)
    assert [e["message"] for e in doc["logEvents"]] == [
        "ERROR payment declined order=A-1001",
        "ERROR retry budget exhausted order=A-1001",
    ]
    assert doc == json.loads(gzip.decompress(data.data))
    assert data.json() is doc  # cached

    control_doc = control.json()
    assert control_doc["messageType"] == "CONTROL_MESSAGE"
    assert control_doc["logEvents"][0]["message"].startswith("CWL CONTROL MESSAGE")
    assert json.loads(control.text()) == control_doc


def test_unpadded_base64_and_explicit_hash_key() -> None:
    event = load("hand-written-unpadded-explicit-hash-key.json")
    assert all(len(r["kinesis"]["data"]) % 4 for r in event["Records"])
    first, second = decode_event(event)
    assert first.error is None and second.error is None
    assert first.json() == {"device": "thermostat-12", "mode": "eco!"}
    assert second.data == b"heartbeat thermostat-12"
    assert first.explicit_hash_key == "170141183460469231731687303715884105728"
    assert second.explicit_hash_key is None


# ----------------------------------------------------------------- payload problems


@pytest.mark.parametrize(
    "raw",
    ["!!!!", "héllo wörld", "QQ==QQ==", "Zm9v\nYmFy", "Q", "=QQQ", "-_-_", "日本語"],
)
def test_invalid_base64_keeps_raw_text_and_identity(raw: str) -> None:
    (record,) = decode_event(one(raw))
    assert isinstance(record.error, DecodeError)
    assert isinstance(record.error, PermanentError)
    assert record.error.reason == "bad_base64"
    assert record.data == raw.encode("utf-8")
    assert record.sequence_number == "49590338271490256608559692538361571095921575989136588898"
    assert record.id.endswith("/49590338271490256608559692538361571095921575989136588898/0")


def test_invalid_base64_record_does_not_hide_its_neighbours() -> None:
    event = kinesis_event([b"first", b"second", b"third"])
    event["Records"][1]["kinesis"]["data"] = "!!!!"
    records = decode_event(event)
    assert [r.data for r in records] == [b"first", b"!!!!", b"third"]
    assert [r.error.reason if r.error else None for r in records] == [None, "bad_base64", None]
    assert [r.sequence_number for r in records] == [
        str(FIRST_SEQUENCE),
        str(FIRST_SEQUENCE + 1000),
        str(FIRST_SEQUENCE + 2000),
    ]


def test_non_string_data_is_bad_base64() -> None:
    (record,) = decode_event(one(12345))
    assert record.error is not None
    assert record.error.reason == "bad_base64"
    assert record.data == b"12345"


@pytest.mark.parametrize("data", [_DROP, None])
def test_missing_data_is_malformed_record(data: Any) -> None:
    event = one()
    if data is _DROP:
        del event["Records"][0]["kinesis"]["data"]
    else:
        event["Records"][0]["kinesis"]["data"] = data
    (record,) = decode_event(event)
    assert record.error is not None
    assert record.error.reason == "malformed_record"
    assert "Records[0].kinesis.data" in str(record.error)
    assert record.data == b""
    assert record.sequence_number == "49590338271490256608559692538361571095921575989136588898"


def test_empty_data_is_an_empty_payload() -> None:
    (record,) = decode_event(one(""))
    assert record.error is None
    assert record.data == b""


def test_corrupt_kpl_aggregate_is_kpl_corrupt() -> None:
    magic_then_junk = b"\xf3\x89\x9a\xc2" + b"\x00" * 40
    (record,) = decode_event(one(base64.b64encode(magic_then_junk).decode()))
    assert record.error is not None
    assert record.error.reason == "kpl_corrupt"
    assert record.data == magic_then_junk


# ---------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    "value",
    [
        _DROP,
        None,
        "yesterday",
        "",
        True,
        [1718204000],
        {"$date": 1718204000},
        "NaN",
        "inf",
    ],
    ids=["missing", "null", "word", "empty", "bool", "list", "object", "nan-string", "inf-string"],
)
def test_bad_timestamp_raises_malformed_record_on_access(value: Any) -> None:
    (record,) = decode_event(one(approximateArrivalTimestamp=value))
    assert record.error is None  # decoding itself succeeds; only the field is unusable
    with pytest.raises(DecodeError) as info:
        record.approximate_arrival_timestamp  # noqa: B018
    assert info.value.reason == "malformed_record"
    assert "approximateArrivalTimestamp" in str(info.value)
    with pytest.raises(DecodeError) as info:
        record.arrival_time  # noqa: B018
    assert info.value.reason == "malformed_record"


@pytest.mark.parametrize("value", [1e300, -1e300, float("inf"), float("nan")])
def test_out_of_range_timestamp_arrival_time_raises_decode_error(value: float) -> None:
    (record,) = decode_event(one(approximateArrivalTimestamp=value))
    with pytest.raises(DecodeError) as info:
        record.arrival_time  # noqa: B018
    assert info.value.reason == "malformed_record"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1718204000, 1718204000.0),
        (1718204000.25, 1718204000.25),
        (1.7182041234e9, 1718204123.4),
        ("1718204000.5", 1718204000.5),
        ("2024-06-12T14:53:20Z", 1718204000.0),
        ("2024-06-12T14:53:20.250+00:00", 1718204000.25),
        ("2024-06-12T16:53:20+02:00", 1718204000.0),
        ("2024-06-12T14:53:20", 1718204000.0),
    ],
)
def test_accepted_timestamp_forms(value: Any, expected: float) -> None:
    (record,) = decode_event(one(approximateArrivalTimestamp=value))
    assert record.approximate_arrival_timestamp == expected
    assert record.arrival_time.utcoffset() == timedelta(0)
    assert record.arrival_time.timestamp() == expected


# ------------------------------------------------------------- invalid events


@pytest.mark.parametrize(
    "break_record",
    [
        pytest.param(lambda r: r["kinesis"].pop("sequenceNumber"), id="no-seq-valid-data"),
        pytest.param(
            lambda r: (r["kinesis"].pop("sequenceNumber"), r["kinesis"].update(data="!!!!")),
            id="no-seq-bad-data",
        ),
        pytest.param(
            lambda r: (r["kinesis"].pop("sequenceNumber"), r["kinesis"].pop("data")),
            id="no-seq-no-data",
        ),
        pytest.param(lambda r: r.pop("kinesis"), id="no-kinesis"),
        pytest.param(lambda r: r.update(kinesis="oops"), id="kinesis-not-object"),
        pytest.param(lambda r: r.clear(), id="empty-record"),
    ],
)
def test_missing_sequence_number_names_the_field(
    break_record: Callable[[dict[str, Any]], Any],
) -> None:
    event = kinesis_event([b"a", b"b", b"c"])
    break_record(event["Records"][2])
    with pytest.raises(InvalidEventError) as info:
        decode_event(event)
    assert "Records[2].kinesis.sequenceNumber" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", [None, "oops", 42])
def test_record_that_is_not_an_object_is_invalid(bad: Any) -> None:
    event = kinesis_event([b"a"])
    event["Records"].append(bad)
    with pytest.raises(InvalidEventError) as info:
        decode_event(event)
    assert "Records[1].kinesis.sequenceNumber" in str(info.value)


@pytest.mark.parametrize(
    "event",
    [{}, {"records": []}, {"Items": [{}]}, None, [], "Records"],
    ids=["empty", "lowercase", "other-key", "none", "list", "string"],
)
def test_event_without_records_names_event_records(event: Any) -> None:
    with pytest.raises(InvalidEventError) as info:
        decode_event(event)
    assert "event.Records" in str(info.value)


@pytest.mark.parametrize("records", [{}, "x", None, 3])
def test_records_not_a_list_names_event_records(records: Any) -> None:
    with pytest.raises(InvalidEventError) as info:
        decode_event({"Records": records})
    assert "event.Records" in str(info.value)


def test_empty_records_list_decodes_to_nothing() -> None:
    assert decode_event({"Records": []}) == []


# ------------------------------------------------------------- sequence numbers


SEQ_56 = "49590338271490256608559692538361571095921575989136588898"
SEQ_128 = "3" + "1415926535" * 12 + "8979323"


def test_sequence_number_lengths() -> None:
    assert len(SEQ_56) == 56
    assert len(SEQ_128) == 128


@pytest.mark.parametrize("seq", [SEQ_56, SEQ_128, "0", "1"])
def test_long_sequence_numbers_round_trip_exactly(seq: str) -> None:
    (record,) = decode_event({"Records": [kinesis_record(b"x", seq)]})
    assert record.sequence_number == seq
    assert record.position == (int(seq), 0)
    assert str(record.position[0]) == seq
    assert record.id == f"test-stream/shardId-000000000000/{seq}/0"


def test_positions_compare_numerically_not_lexically() -> None:
    shorter = "9" * 55
    longer = "1" + "0" * 55
    event = {"Records": [kinesis_record(b"a", shorter), kinesis_record(b"b", longer)]}
    a, b = decode_event(event)
    assert shorter > longer  # lexically
    assert a.position < b.position  # numerically
    big = "9" * 128
    (c,) = decode_event({"Records": [kinesis_record(b"c", big)]})
    assert b.position < c.position


@pytest.mark.parametrize(
    "seq",
    [None, 4959033827149025, "", "12a4", "-5", " 12", "1.0", "4959²", "٣٤٥"],
    ids=["null", "int", "empty", "hex", "negative", "space", "float", "superscript", "arabic"],
)
def test_non_decimal_sequence_number_is_invalid(seq: Any) -> None:
    (record,) = decode_event(one(sequenceNumber=seq))
    with pytest.raises(InvalidEventError) as info:
        record.sequence_number  # noqa: B018
    assert "sequenceNumber" in str(info.value)


# ------------------------------------------------------------ Record.create / eq


def test_create_round_trips_with_a_decoded_record() -> None:
    (decoded,) = decode_event(
        {
            "Records": [
                kinesis_record(
                    b'{"k": 1}',
                    SEQ_56,
                    partition_key="user-7",
                    shard_id="shardId-000000000009",
                    arrival=1718204000.25,
                    explicit_hash_key="42",
                )
            ]
        }
    )
    created = Record.create(
        b'{"k": 1}',
        sequence_number=SEQ_56,
        shard_id="shardId-000000000009",
        partition_key="user-7",
        explicit_hash_key="42",
        arrival=1718204000.25,
        event_source_arn=DEFAULT_ARN,
    )
    assert created == decoded
    assert hash(created) == hash(decoded)
    for attr in (
        "shard_id",
        "sequence_number",
        "sub_sequence_number",
        "partition_key",
        "explicit_hash_key",
        "approximate_arrival_timestamp",
        "arrival_time",
        "event_source_arn",
        "encryption_type",
        "aggregated",
        "data",
        "error",
        "id",
        "position",
    ):
        assert getattr(created, attr) == getattr(decoded, attr), attr
    assert created.json() == {"k": 1}


def test_create_defaults_and_datetime_arrival() -> None:
    when = datetime(2024, 6, 12, 16, 53, 20, 500000, tzinfo=timezone(timedelta(hours=2)))
    record = Record.create(b"payload", sequence_number="17", arrival=when)
    assert record.shard_id == "shardId-000000000000"
    assert record.partition_key == "pk"
    assert record.explicit_hash_key is None
    assert record.event_source_arn == ""
    assert record.sub_sequence_number == 0
    assert record.aggregated is False
    assert record.error is None
    assert record.approximate_arrival_timestamp == 1718204000.5
    assert record.arrival_time == when
    assert record.id == "/shardId-000000000000/17/0"

    naive = Record.create(b"", sequence_number="1", arrival=datetime(2024, 6, 12, 14, 53, 20))
    assert naive.approximate_arrival_timestamp == 1718204000.0


def test_create_sub_record_is_aggregated() -> None:
    record = Record.create(
        b"user record",
        sequence_number=SEQ_56,
        sub_sequence_number=3,
        partition_key="inner-pk",
        explicit_hash_key="99",
        event_source_arn=DEFAULT_ARN,
    )
    assert record.aggregated is True
    assert record.sub_sequence_number == 3
    assert record.position == (int(SEQ_56), 3)
    assert record.partition_key == "inner-pk"
    assert record.explicit_hash_key == "99"
    assert record.id == f"test-stream/shardId-000000000000/{SEQ_56}/3"


def test_create_rejects_a_bad_arrival() -> None:
    with pytest.raises(ValueError):
        Record.create(b"", sequence_number="1", arrival="not a time")  # type: ignore[arg-type]


def test_equality_and_hash_across_decodes() -> None:
    event = kinesis_event([b"a", b"b", b"a"])
    first = decode_event(event)
    second = decode_event(copy.deepcopy(event))
    assert first == second
    assert [hash(r) for r in first] == [hash(r) for r in second]
    assert len(set(first) | set(second)) == 3
    assert first[0] != first[2]  # same payload, different sequence number
    assert first[0] != "a record"
    assert first[0].__eq__(object()) is NotImplemented


@pytest.mark.parametrize(
    "change",
    [
        {"data": b"other"},
        {"sub_sequence_number": 1},
        {"partition_key": "other"},
        {"shard_id": "shardId-000000000001"},
        {"sequence_number": "18"},
        {"event_source_arn": "arn:aws:kinesis:us-east-1:123456789012:stream/other"},
        {"explicit_hash_key": "5"},
    ],
)
def test_records_differing_in_one_identity_field_are_unequal(change: dict[str, Any]) -> None:
    base: dict[str, Any] = {
        "data": b"payload",
        "sequence_number": "17",
        "event_source_arn": DEFAULT_ARN,
    }
    a = Record.create(**base)
    b = Record.create(**{**base, **change})
    assert a != b
    assert a == Record.create(**base)


def test_arrival_time_is_not_part_of_identity() -> None:
    a = Record.create(b"x", sequence_number="5", arrival=1.0)
    b = Record.create(b"x", sequence_number="5", arrival=2.0)
    assert a == b
    assert hash(a) == hash(b)


def test_repr_shows_identity_and_error() -> None:
    (record,) = decode_event(one("!!!!"))
    text = repr(record)
    assert "shardId-000000000000" in text
    assert SEQ_56 in text
    assert "bad_base64" in text or "DecodeError" in text


@pytest.mark.parametrize("payload", ["order A-1002 shipped", "x marks the spot", "x^2 + y^2"])
def test_text_of_a_plain_payload_is_the_payload(payload: str) -> None:
    (record,) = decode_event(kinesis_event([payload.encode()]))
    assert record.error is None
    assert record.text() == payload


# ----------------------------------------------------------------------- batch bounds


def test_batch_bounds_come_from_the_raw_event_without_decoding() -> None:
    from streamkit.records import batch_bounds

    event = kinesis_event([b"not even base64 matters", b"{}", b"x"], arrival=1_700_000_123.5)
    event["Records"][1]["kinesis"]["data"] = "%%% not base64"
    raw = event["Records"]
    bounds = batch_bounds(raw)
    assert bounds.stream == DEFAULT_ARN.rpartition("/")[2]
    assert bounds.shard_id == "shardId-000000000000"
    assert bounds.first_sequence_number == raw[0]["kinesis"]["sequenceNumber"]
    assert bounds.last_sequence_number == raw[-1]["kinesis"]["sequenceNumber"]
    assert bounds.last_arrival == raw[-1]["kinesis"]["approximateArrivalTimestamp"]
    assert bounds.retry_from == raw[0]["kinesis"]["sequenceNumber"]


def test_batch_bounds_of_unusable_fields() -> None:
    from streamkit.records import batch_bounds

    empty = batch_bounds([])
    assert (empty.stream, empty.shard_id, empty.first_sequence_number) == ("", "", None)
    assert empty.last_arrival is None
    with pytest.raises(InvalidEventError, match="empty"):
        _ = empty.retry_from
    rec = kinesis_record(b"{}", "12")
    rec["kinesis"]["sequenceNumber"] = "twelve"
    rec["kinesis"]["approximateArrivalTimestamp"] = "yesterday"
    bounds = batch_bounds([rec])
    assert bounds.first_sequence_number == "twelve"  # as given, for logs
    assert bounds.last_arrival is None
    with pytest.raises(InvalidEventError, match="sequenceNumber"):
        _ = bounds.retry_from


def test_raw_arrival_timestamp_and_stream_name() -> None:
    [record] = decode_event(one(approximateArrivalTimestamp="yesterday"))
    assert record.raw_arrival_timestamp == "yesterday"
    assert record.stream_name == DEFAULT_ARN.rpartition("/")[2]
    assert record.id.startswith(f"{record.stream_name}/")
