"""Property tests of the IoT traffic generator against handlers.iot_formats.parse_reading."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.iot_formats import parse_reading, parse_thresholds, triggered
from streamkit.errors import PermanentError
from streamkit.local.generators.iot import (
    BATTERY_RANGE,
    ENGINE_RPM_RANGE,
    ENGINE_TEMP_RANGE,
    HUMIDITY_RANGE,
    LATE_BEHIND_S,
    TEMPERATURE_RANGE,
    iot,
)
from streamkit.local.generators.records import GeneratedRecord

START = 1_764_324_000.0
SETTINGS = settings(max_examples=100, deadline=None)
seeds = st.integers(0, 2**32 - 1)

RANGES = {
    "temperature": TEMPERATURE_RANGE,
    "humidity": HUMIDITY_RANGE,
    "battery": BATTERY_RANGE,
    "engine.temp": ENGINE_TEMP_RANGE,
    "engine.rpm": ENGINE_RPM_RANGE,
}


def _in_range(name: str, value: Decimal) -> bool:
    lo, hi = RANGES[name]
    return Decimal(str(lo)) <= value <= Decimal(str(hi))


@SETTINGS
@given(
    seed=seeds,
    rate=st.floats(5, 60),
    duration=st.floats(0, 20),
    devices=st.integers(1, 60),
    malformed=st.floats(0, 0.3),
    late=st.floats(0, 0.3),
    skew_s=st.floats(0, 30),
)
def test_every_record_parses_as_its_kind_says(
    seed: int,
    rate: float,
    duration: float,
    devices: int,
    malformed: float,
    late: float,
    skew_s: float,
) -> None:
    records = list(
        iot(
            seed=seed,
            rate=rate,
            duration=duration,
            start=START,
            devices=devices,
            malformed=malformed,
            late=late,
            skew_s=skew_s,
        )
    )
    arrivals = [r.arrival for r in records]
    assert arrivals == sorted(arrivals)
    assert all(START <= a <= START + duration for a in arrivals)
    for record in records:
        assert isinstance(record, GeneratedRecord)
        assert record.kind in ("ok", "malformed", "late")
        if record.kind == "malformed":
            with pytest.raises(PermanentError):
                parse_reading(record.data, record.partition_key)
            continue
        reading = parse_reading(record.data, record.partition_key)
        assert reading.device_id == record.partition_key
        assert reading.device_id.startswith("dev-")
        assert {"temperature", "humidity", "battery"} <= reading.metrics.keys()
        assert reading.metrics.keys() <= RANGES.keys()
        for name, value in reading.metrics.items():
            assert _in_range(name, value), (name, value)
        assert reading.state["status"] in ("ok", "overheat", "low_battery")
        if record.kind == "late":
            assert reading.ts is not None
            behind = record.arrival - reading.ts
            # seconds formats floor by up to 1 s, milliseconds round by up to 0.5 ms
            assert LATE_BEHIND_S[0] - 0.001 <= behind <= LATE_BEHIND_S[1] + 1.001
        elif reading.ts is not None:
            # delay <= 1.5 s, skew <= skew_s, out of order <= 60 + 5 s, flooring <= 1 s
            assert -skew_s - 0.001 <= record.arrival - reading.ts <= skew_s + 1.5 + 65 + 1


@settings(max_examples=20, deadline=None)
@given(seed=seeds)
def test_deterministic_per_seed(seed: int) -> None:
    def run(s: int) -> list[GeneratedRecord]:
        return list(iot(seed=s, rate=50, duration=10, start=START, devices=30, malformed=0.1))

    first = run(seed)
    assert first == run(seed)
    assert first != run(seed + 1)


@settings(max_examples=5, deadline=None)
@given(seed=seeds)
def test_large_sample_alerts_mix_and_fractions(seed: int) -> None:
    records = list(
        iot(seed=seed, rate=100, duration=120, start=START, devices=100, malformed=0.05, late=0.02)
    )
    n = len(records)
    assert 0.9 * 100 * 120 <= n <= 1.1 * 100 * 120
    kinds = Counter(r.kind for r in records)
    for kind, p in (("malformed", 0.05), ("late", 0.02)):
        sigma = (n * p * (1 - p)) ** 0.5
        assert abs(kinds[kind] - n * p) <= 6 * sigma, kinds
    thresholds = parse_thresholds("temperature>90:hot,engine.temp>95:overheat,battery<10:low")
    alerts: Counter[str] = Counter()
    shapes: Counter[str] = Counter()
    ts_types: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    out_of_order = 0
    last_ts: dict[str, float] = {}
    for record in records:
        if record.kind == "malformed":
            with pytest.raises(PermanentError) as info:
                parse_reading(record.data, record.partition_key)
            reasons[info.value.reason] += 1
            continue
        reading = parse_reading(record.data, record.partition_key)
        alerts.update(t.name for t in triggered(reading, thresholds))
        text = record.data.decode()
        shapes['"state":{"reported"' in text, '"metrics":{' in text] += 1
        if record.kind == "ok" and reading.ts is not None:
            previous = last_ts.get(reading.device_id)
            if previous is not None and reading.ts < previous - 0.9:
                out_of_order += 1
            last_ts[reading.device_id] = reading.ts
            ts_types[type(reading.ts).__name__] += 1
    assert alerts["hot"] > 0
    assert alerts["overheat"] > 0
    assert len(shapes) == 3  # flat, metrics group, shadow
    assert out_of_order > 0
    assert set(reasons) == {"bad_json", "bad_value", "schema"}


def test_timestamp_and_device_id_forms_are_mixed() -> None:
    records = list(iot(seed=7, rate=200, duration=5, start=START, devices=200, malformed=0))
    texts = [r.data.decode() for r in records]
    for key in ('"device_id":', '"deviceId":', '"thingName":', '"clientId":'):
        assert any(key in t for t in texts), key
    assert any(
        not any(k in t for k in ("device_id", "deviceId", "thingName", "clientId")) for t in texts
    )
    ts_values = [parse_reading(r.data, r.partition_key).ts for r in records]
    assert None in ts_values
    assert any('Z"' in t for t in texts)  # ISO with Z
    assert any('+02:00"' in t or '-05:00"' in t for t in texts)  # ISO with offset
    for pattern in (r'":\d{10}[,}]', r'":\d{10}\.\d+[,}]', r'":\d{13}[,}]'):  # s, s.frac, ms
        assert any(re.search(r'"(ts|timestamp|time)' + pattern, t) for t in texts), pattern


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 0},
        {"rate": -1},
        {"rate": float("inf")},
        {"duration": -1},
        {"duration": float("nan")},
        {"devices": 0},
        {"malformed": -0.1},
        {"late": 1.5},
        {"malformed": 0.6, "late": 0.5},
        {"skew_s": -1},
    ],
)
def test_bad_arguments(kwargs: dict[str, float]) -> None:
    args: dict[str, float] = {"seed": 1, "rate": 10, "duration": 10, "start": START, **kwargs}
    with pytest.raises(ValueError):
        iot(**args)  # type: ignore[arg-type]


def test_zero_duration_and_all_malformed() -> None:
    assert list(iot(seed=1, rate=10, duration=0, start=START)) == []
    records = list(iot(seed=1, rate=100, duration=5, start=START, devices=10, malformed=1, late=0))
    assert records and all(r.kind == "malformed" for r in records)
