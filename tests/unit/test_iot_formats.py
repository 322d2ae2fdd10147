"""Unit tests of handlers.iot_formats: IoT payload shapes, timestamps, thresholds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from handlers.iot_formats import (
    MAX_TS,
    MIN_TS,
    MS_THRESHOLD,
    Reading,
    Threshold,
    parse_reading,
    parse_thresholds,
    parse_timestamp,
    triggered,
)
from streamkit.aggregate import InvalidValueError
from streamkit.errors import DecodeError, PermanentError

T = 1764324000  # 2025-11-28T10:00:00Z
D = Decimal


def parse(doc: Any, pk: str = "pk-1") -> Reading:
    return parse_reading(orjson.dumps(doc), pk)


def permanent(data: bytes | Any, pk: str = "pk-1") -> PermanentError:
    raw = data if isinstance(data, bytes) else orjson.dumps(data)
    with pytest.raises(PermanentError) as info:
        parse_reading(raw, pk)
    return info.value


# --------------------------------------------------------------------------- shapes


def test_flat_payload() -> None:
    r = parse({"deviceId": "dev-1", "ts": T, "temperature": 21.5, "humidity": 40, "ok": True})
    assert r == Reading(
        "dev-1", float(T), {"temperature": D("21.5"), "humidity": D(40)}, {"ok": True}
    )


def test_flat_with_nested_groups_is_flattened_with_dots() -> None:
    r = parse(
        {
            "device_id": "dev-1",
            "engine": {"temp": 90, "rpm": 3000, "oil": {"pressure": 2.5}},
            "door": {"open": False},
            "status": "ok",
        }
    )
    assert r == Reading(
        "dev-1",
        None,
        {"engine.temp": D(90), "engine.rpm": D(3000), "engine.oil.pressure": D("2.5")},
        {"door.open": False, "status": "ok"},
    )


def test_metrics_group_prefix_is_stripped() -> None:
    r = parse(
        {
            "thingName": "dev-2",
            "timestamp": T * 1000,
            "metrics": {"temperature": 20, "engine": {"temp": 90, "rpm": 3000}},
            "status": "warn",
            "firmware": "1.4.2",
        }
    )
    assert r == Reading(
        "dev-2",
        float(T),
        {"temperature": D(20), "engine.temp": D(90), "engine.rpm": D(3000)},
        {"status": "warn", "firmware": "1.4.2"},
    )


def test_device_shadow_reported_state() -> None:
    r = parse(
        {
            "state": {
                "reported": {"engine": {"temp": 90}, "door": {"open": True}, "mode": "eco"},
                "desired": {"engine": {"temp": 70}, "interval": 30},
                "delta": {"interval": 30},
            },
            "metadata": {"reported": {"engine": {"temp": {"timestamp": T}}}},
            "version": 12,
            "clientToken": "tok-1",
            "timestamp": T,
        },
        pk="dev-3",
    )
    assert r == Reading(
        "dev-3", float(T), {"engine.temp": D(90)}, {"door.open": True, "mode": "eco"}
    )


def test_device_shadow_ids_and_timestamp_may_sit_in_reported() -> None:
    r = parse({"state": {"reported": {"thingName": "dev-4", "ts": T, "t": 1}}}, pk="other")
    assert r == Reading("dev-4", float(T), {"t": D(1)}, {})


def test_state_string_is_plain_state_not_a_shadow() -> None:
    r = parse({"state": "running", "version": 3}, pk="dev-5")
    assert r == Reading("dev-5", None, {"version": D(3)}, {"state": "running"})


def test_shadow_bookkeeping_is_kept_outside_shadow_documents() -> None:
    r = parse({"version": 2, "clientToken": "x", "metadata": {"rev": 1}}, pk="dev-5")
    assert r.metrics == {"version": D(2), "metadata.rev": D(1)}
    assert r.state == {"clientToken": "x"}


def test_nulls_arrays_and_numeric_strings() -> None:
    r = parse(
        {"t": 1, "gone": None, "location": [47.1, 8.5], "codes": [{"a": 1}], "level": "21.5"},
        pk="dev-6",
    )
    assert r == Reading("dev-6", None, {"t": D(1)}, {"level": "21.5"})


def test_numbers_are_exact_decimals() -> None:
    r = parse({"a": 0.1, "b": 21.50, "c": -3, "d": 1e-7, "e": 2**63 - 1}, pk="d")
    assert r.metrics == {
        "a": D("0.1"),
        "b": D("21.5"),
        "c": D(-3),
        "d": D("1e-7"),
        "e": D(2**63 - 1),
    }
    assert all(type(v) is Decimal for v in r.metrics.values())


def test_raw_bytes_with_whitespace_and_unicode() -> None:
    data = '{ "deviceId" : "капибара-1", "temp" : 1.25 , "note": "ü" }'.encode()
    assert parse_reading(data, "pk") == Reading(
        "капибара-1", None, {"temp": D("1.25")}, {"note": "ü"}
    )


# --------------------------------------------------------------------------- device id


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"device_id": "a", "deviceId": "b", "thingName": "c", "clientId": "d"}, "a"),
        ({"deviceId": "b", "thingName": "c", "clientId": "d"}, "b"),
        ({"thingName": "c", "clientId": "d"}, "c"),
        ({"clientId": "d"}, "d"),
        ({"device_id": None, "clientId": "d"}, "d"),
        ({}, "pk-1"),
        ({"metrics": {"deviceId": "m"}}, "m"),
    ],
)
def test_device_id_order_then_partition_key(doc: dict[str, Any], expected: str) -> None:
    r = parse({**doc, "v": 1})
    assert r.device_id == expected
    assert r.state == {}  # every device id key is consumed, not state


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"deviceId": ""}, "deviceId"),
        ({"thingName": "   "}, "thingName"),
        ({"device_id": 42}, "device_id"),
        ({"clientId": True}, "clientId"),
        ({"device_id": "", "deviceId": "ok"}, "device_id"),
        ({"deviceId": "x" * 257}, "deviceId"),
        ({"state": {"reported": {"thingName": ""}}}, "state.reported.thingName"),
    ],
)
def test_bad_device_id_names_the_field(doc: dict[str, Any], field: str) -> None:
    err = permanent({**doc, "v": 1})
    assert err.reason == "schema"
    assert repr(field) in str(err)


@pytest.mark.parametrize("pk", ["", "  "])
def test_no_device_id_anywhere(pk: str) -> None:
    err = permanent({"v": 1}, pk=pk)
    assert err.reason == "schema"
    assert "'device_id'" in str(err)


# --------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (T, float(T)),
        (T + 0.5, T + 0.5),
        (T * 1000, float(T)),
        (T * 1000 + 123, T + 0.123),
        (str(T), float(T)),
        (f"{T * 1000}", float(T)),
        ("1764324000.25", T + 0.25),
        ("2025-11-28T10:00:00Z", float(T)),
        ("2025-11-28T10:00:00.250Z", T + 0.25),
        ("2025-11-28T12:00:00+02:00", float(T)),
        ("2025-11-28T05:00:00-05:00", float(T)),
        ("2025-11-28T10:00:00", float(T)),  # naive: UTC
        ("2025-11-28 10:00:00", float(T)),
        ("20251128T100000Z", float(T)),
        ("2025-11-28", float(T - 10 * 3600)),  # a date alone: its midnight, UTC
        (" 2025-11-28T10:00:00Z ", float(T)),
    ],
)
def test_timestamp_forms(value: Any, expected: float) -> None:
    assert parse_timestamp(value) == pytest.approx(expected, abs=1e-6)
    assert parse({"ts": value, "v": 1}).ts == pytest.approx(expected, abs=1e-6)


def test_ms_heuristic_boundary() -> None:
    # just below 1e11 is read as seconds (year 5138: rejected), at 1e11 as ms (1973: rejected)
    for value in (MS_THRESHOLD - 1, MS_THRESHOLD, int(MS_THRESHOLD)):
        with pytest.raises(PermanentError, match="plausible"):
            parse_timestamp(value)
    # the smallest and largest plausible values in either unit
    assert parse_timestamp(MIN_TS) == MIN_TS
    assert parse_timestamp(int(MIN_TS * 1000)) == MIN_TS
    assert parse_timestamp(MAX_TS - 1) == MAX_TS - 1
    assert parse_timestamp(int(MAX_TS * 1000) - 1000) == MAX_TS - 1
    for value in (MIN_TS - 1, MAX_TS, int(MIN_TS * 1000) - 1, int(MAX_TS * 1000)):
        with pytest.raises(PermanentError, match="plausible"):
            parse_timestamp(value)


def test_timestamp_key_order_and_keys_are_not_metrics() -> None:
    r = parse({"ts": T, "timestamp": T + 1, "time": T + 2, "v": 1})
    assert (r.ts, r.metrics) == (float(T), {"v": D(1)})
    r = parse({"timestamp": T + 1, "time": T + 2, "v": 1})
    assert r.ts == T + 1
    r = parse({"ts": None, "time": T + 2, "v": 1})
    assert r.ts == T + 2
    r = parse({"metrics": {"time": T + 2, "v": 1}})
    assert (r.ts, r.metrics) == (T + 2, {"v": D(1)})


@pytest.mark.parametrize(
    "value",
    [
        0,
        12345,  # a clock never set: epoch 0 + uptime
        -1,
        5_000_000_000_000,  # ms in 2128
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "yesterday",
        "2025-13-45T00:00:00Z",
        "",
        "12:30",
        True,
        [T],
        {"s": T},
        1e308,
    ],
)
def test_bad_timestamp_names_the_field(value: Any) -> None:
    for key in ("ts", "timestamp", "time"):
        err = permanent({key: value, "v": 1})
        assert err.reason == "schema"
        assert repr(key) in str(err)
    err = permanent({"state": {"reported": {"ts": value, "v": 1}}})
    assert "'state.reported.ts'" in str(err)


# --------------------------------------------------------------------------- bad payloads


@pytest.mark.parametrize("data", [b"", b"{", b"not json", b'{"a": 1', b"\xff\xfe", b"{'a': 1}"])
def test_bad_json(data: bytes) -> None:
    err = permanent(data)
    assert isinstance(err, DecodeError)
    assert err.reason == "bad_json"


@pytest.mark.parametrize("data", [b"[1, 2]", b"1", b'"text"', b"null"])
def test_payload_must_be_an_object(data: bytes) -> None:
    err = permanent(data)
    assert err.reason == "schema"
    assert "object" in str(err)


@pytest.mark.parametrize(
    "data",
    [
        b'{"temperature": NaN, "v": 1}',
        b'{"temperature": Infinity}',
        b'{"temperature": -Infinity}',
        b'{"temperature": 1e400}',
        b'{"metrics": {"temperature": NaN}}',
        b'{"state": {"reported": {"temperature": NaN}}}',
    ],
)
def test_non_finite_metric_is_bad_value_naming_the_metric(data: bytes) -> None:
    err = permanent(data)
    assert isinstance(err, InvalidValueError)
    assert err.reason == "bad_value"
    assert "'temperature'" in str(err)


def test_nested_non_finite_metric_names_the_flat_name() -> None:
    err = permanent(b'{"engine": {"temp": NaN}}')
    assert err.reason == "bad_value"
    assert "'engine.temp'" in str(err)


def test_non_finite_value_in_an_ignored_place_is_ignored() -> None:
    r = parse_reading(b'{"v": 1, "arr": [NaN], "state": {"desired": {"x": NaN}}}', "d")
    assert r.metrics == {"v": D(1)}


@pytest.mark.parametrize(
    "value",
    [1e-200, 1e200],
)
def test_out_of_range_metric_is_bad_value(value: float) -> None:
    err = permanent({"engine": {"temp": value}})
    assert err.reason == "bad_value"
    assert "'engine.temp'" in str(err)


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"deviceId": "d", "ts": T},
        {"status": "ok", "door": {"open": True}, "codes": [1, 2]},
        {"state": {"desired": {"temp": 20}}, "version": 3},
        {"state": {"reported": {"status": "ok"}}},
        {"metrics": {}},
        {"v": None},
        {"flag": True},
    ],
)
def test_no_metrics_names_metrics(doc: dict[str, Any]) -> None:
    err = permanent(doc)
    assert err.reason == "schema"
    assert "'metrics'" in str(err)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"temperature": 1, "metrics": {"temperature": 2}}, "temperature"),
        ({"state": {"reported": {"t": 1}}, "t": 2}, "t"),
        ({"engine.temp": 1, "engine": {"temp": 2}}, "engine.temp"),
        ({"deviceId": "a", "metrics": {"deviceId": "b"}, "v": 1}, "deviceId"),
    ],
)
def test_duplicate_fields_are_named(doc: dict[str, Any], field: str) -> None:
    err = permanent(doc)
    assert err.reason == "schema"
    assert repr(field) in str(err)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"": 1}, "''"),
        ({"engine": {"": 1}}, "'engine.'"),
        ({"state": {"reported": 5}}, "'state.reported'"),
    ],
)
def test_bad_shapes_name_the_field(doc: dict[str, Any], field: str) -> None:
    err = permanent(doc)
    assert err.reason == "schema"
    assert field in str(err)


# --------------------------------------------------------------------------- thresholds


def test_parse_thresholds() -> None:
    assert parse_thresholds(
        "engine.temp>90:overheat,battery<10:low_battery, humidity >= 95.5 : wet ,"
        "t<=-5:frozen,mode==1:m1,code!=0:c-ok,rpm>1e3:fast,"
    ) == [
        Threshold("engine.temp", ">", D(90), "overheat"),
        Threshold("battery", "<", D(10), "low_battery"),
        Threshold("humidity", ">=", D("95.5"), "wet"),
        Threshold("t", "<=", D(-5), "frozen"),
        Threshold("mode", "==", D(1), "m1"),
        Threshold("code", "!=", D(0), "c-ok"),
        Threshold("rpm", ">", D("1e3"), "fast"),
    ]
    assert parse_thresholds("") == []
    assert parse_thresholds("  ,  ") == []
    assert str(parse_thresholds("battery<10:low")[0]) == "battery<10:low"


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("engine.temp>90", "engine.temp>90"),
        ("ok>1:a,engine.temp=90:x", "engine.temp=90:x"),
        ("t=>90:x", "t=>90:x"),
        ("t>abc:x", "t>abc:x"),
        ("t>NaN:x", "t>NaN:x"),
        ("t>90C:x", "t>90C:x"),
        ("t>:x", "t>:x"),
        (">90:x", ">90:x"),
        ("t>90:", "t>90:"),
        ("t>90:a b", "t>90:a b"),
        ("t>90:a/b", "t>90:a/b"),
        ("t 1>90:x", "t 1>90:x"),
        ("a>1:dup, b<2:dup", "b<2:dup"),
    ],
)
def test_bad_threshold_names_the_entry(text: str, entry: str) -> None:
    with pytest.raises(ValueError, match="threshold") as info:
        parse_thresholds(text)
    assert repr(entry) in str(info.value)


def test_threshold_validates_itself() -> None:
    with pytest.raises(ValueError, match="op"):
        Threshold("t", "=", D(1), "x")
    with pytest.raises(ValueError, match="finite"):
        Threshold("t", ">", D("NaN"), "x")
    with pytest.raises(ValueError, match="name"):
        Threshold("t", ">", D(1), "")


def test_triggered() -> None:
    thresholds = parse_thresholds(
        "engine.temp>90:overheat,battery<10:low_battery,temperature>=30:hot,mode!=1:mode"
    )
    r = Reading("d", None, {"engine.temp": D("90.1"), "battery": D(10), "temperature": D(30)}, {})
    assert [t.name for t in triggered(r, thresholds)] == ["overheat", "hot"]
    r = Reading("d", None, {"engine.temp": D(90), "battery": D("9.99"), "mode": D(2)}, {})
    assert [t.name for t in triggered(r, thresholds)] == ["low_battery", "mode"]
    # a missing metric never triggers, not even !=
    assert triggered(Reading("d", None, {"x": D(1)}, {}), thresholds) == []
    assert triggered(r, []) == []


def test_triggered_compares_exactly() -> None:
    (t,) = parse_thresholds("x>0.3:x")
    r = parse({"x": 0.30000000000000004})
    assert triggered(r, [t]) == [t]
    assert triggered(parse({"x": 0.3}), [t]) == []
