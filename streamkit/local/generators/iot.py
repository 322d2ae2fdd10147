"""IoT telemetry traffic: a fleet of devices with drifting sensors (local tooling).

:func:`iot` yields the records an AWS IoT rule would put on a Kinesis stream for a
fleet of devices, in arrival order, deterministically per seed. What it exercises in
a consumer (``handlers/iot_formats.parse_reading`` and the IoT handler):

- **Devices** ``dev-0000`` .. with a firmware each: a payload shape (flat with nested
  groups, a ``"metrics"`` group, or a Device Shadow ``state.reported`` document), a
  timestamp key (``ts``, ``timestamp``, ``time``, or none at all for a few) and format
  (epoch seconds, with or without fraction, milliseconds, ISO 8601 with ``Z``, an
  offset, or naive UTC), and a device id key (``device_id``, ``deviceId``,
  ``thingName``, ``clientId``, or none: the partition key only). Partition key = device
  id, always.
- **Sensors** (metric names as ``parse_reading`` flattens them): ``temperature``
  (-40..125), ``humidity`` (0..100), ``battery`` (0..100), and for some devices
  ``engine.temp`` (-40..150) and ``engine.rpm`` (0..8000). Each is a mean-reverting
  random walk around a slowly drifting base, clamped to its physical range.
  Temperatures spike now and then (``temperature`` to 91..110, ``engine.temp`` to
  96..120 for a few readings, then cooling down), so ``temperature>90`` alerts happen;
  batteries drain and are replaced (back to 100) once nearly flat, so ``battery<10``
  alerts happen too. State: ``status``, ``firmware``, ``door.open`` on some devices; a
  GPS ``location`` array on a few (``parse_reading`` skips arrays).
- **Time**: each device reports every ``devices / rate`` seconds on average (so the
  fleet produces ``rate`` records per second), with jitter. Event time = arrival minus
  a transport delay (0.05..1.5 s) plus the device's clock skew (fixed per device,
  within ``±skew_s``); about 1% of readings are out of order (event time 1..5 s older
  than the device's previous reading, when that one is less than a minute old).
- **Bad records**, by kind: ``"late"`` (fraction ``late``): valid readings whose event
  time is 10..30 minutes behind arrival (a device back online sending its buffer).
  ``"malformed"`` (fraction ``malformed``): truncated JSON, not JSON at all, a NaN or
  Infinity metric, no metrics, an implausible or unreadable timestamp, an empty device
  id, a JSON array instead of an object; each makes ``parse_reading`` raise a
  ``PermanentError``.

Arrivals are sorted and lie within ``[start, start + duration]``.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

import orjson

from streamkit.local.generators.records import GeneratedRecord

__all__ = [
    "BATTERY_RANGE",
    "ENGINE_RPM_RANGE",
    "ENGINE_TEMP_RANGE",
    "HUMIDITY_RANGE",
    "LATE_BEHIND_S",
    "MALFORMED_KINDS",
    "TEMPERATURE_RANGE",
    "iot",
]

#: Physical ranges every generated value stays within.
TEMPERATURE_RANGE: Final = (-40.0, 125.0)
HUMIDITY_RANGE: Final = (0.0, 100.0)
BATTERY_RANGE: Final = (0.0, 100.0)
ENGINE_TEMP_RANGE: Final = (-40.0, 150.0)
ENGINE_RPM_RANGE: Final = (0, 8000)
#: How far behind its arrival a late record's event time is, in seconds.
LATE_BEHIND_S: Final = (600.0, 1800.0)
#: The ways a malformed record is broken.
MALFORMED_KINDS: Final = (
    "truncated_json",
    "not_json",
    "non_finite",
    "no_metrics",
    "bad_timestamp",
    "empty_device_id",
    "not_object",
)

_SPIKE_P: Final = 0.003  # per reading, temperature and engine temperature each
_OUT_OF_ORDER_P: Final = 0.01
_DELAY_S: Final = (0.05, 1.5)
_SHAPES: Final = ("flat", "metrics", "shadow")
_ID_KEYS: Final = ("device_id", "deviceId", "thingName", "clientId", None)
_TS_FORMATS: Final = ("s", "s_frac", "ms", "iso_z", "iso_offset", "iso_naive")
_TZ_HOURS: Final = (-8.0, -5.0, -3.0, 1.0, 2.0, 5.5, 9.0)
_FIRMWARES: Final = ("1.4.2", "1.5.0", "2.0.1")


@dataclass(slots=True)
class _Device:
    device_id: str
    shape: str
    id_key: str | None
    ts_key: str | None
    ts_format: str
    tz: timezone
    skew: float
    interval: float
    firmware: str
    temperature: float
    temperature_base: float
    humidity: float
    humidity_base: float
    battery: float
    drain: float
    engine: bool
    engine_temp: float
    engine_base: float
    rpm: float
    rpm_base: float
    door: bool | None
    location: list[float] | None
    spike_left: int = 0
    engine_spike_left: int = 0
    last_ts: float | None = None
    version: int = 0


def _clamp(x: float, bounds: tuple[float, float]) -> float:
    return min(max(x, bounds[0]), bounds[1])


def _new_device(i: int, rng: random.Random, skew_s: float, interval: float) -> _Device:
    shape = rng.choice(_SHAPES)
    id_key = rng.choice(_ID_KEYS)
    if shape == "shadow" and id_key is not None and rng.random() < 0.6:
        id_key = "thingName"  # the rule usually adds topic(3) AS thingName
    ts_key = None if rng.random() < 0.04 else rng.choice(("ts", "timestamp", "time"))
    temperature = rng.uniform(15.0, 35.0)
    humidity = rng.uniform(25.0, 75.0)
    engine_temp = rng.uniform(70.0, 86.0)
    rpm = rng.uniform(900.0, 3000.0)
    return _Device(
        device_id=f"dev-{i:04d}",
        shape=shape,
        id_key=id_key,
        ts_key=ts_key,
        ts_format=rng.choice(_TS_FORMATS),
        tz=timezone(timedelta(hours=rng.choice(_TZ_HOURS))),
        skew=rng.uniform(-skew_s, skew_s),
        interval=interval * rng.uniform(0.8, 1.2),
        firmware=rng.choice(_FIRMWARES),
        temperature=temperature,
        temperature_base=temperature,
        humidity=humidity,
        humidity_base=humidity,
        battery=rng.uniform(15.0, 100.0),
        drain=rng.uniform(0.002, 0.05),
        engine=rng.random() < 0.4,
        engine_temp=engine_temp,
        engine_base=engine_temp,
        rpm=rpm,
        rpm_base=rpm,
        door=(rng.random() < 0.5) if rng.random() < 0.25 else None,
        location=[round(rng.uniform(-60, 60), 5), round(rng.uniform(-180, 180), 5)]
        if rng.random() < 0.1
        else None,
    )


def _step(d: _Device, rng: random.Random) -> None:
    """Advance every sensor of ``d`` by one reading."""
    # slow sensor drift of the bases
    d.temperature_base = _clamp(d.temperature_base + rng.gauss(0, 0.05), (0.0, 45.0))
    d.humidity_base = _clamp(d.humidity_base + rng.gauss(0, 0.1), (10.0, 90.0))
    if d.spike_left > 0:
        d.spike_left -= 1
        d.temperature = rng.uniform(91.0, 110.0)
    elif rng.random() < _SPIKE_P:
        d.spike_left = rng.randint(0, 3)
        d.temperature = rng.uniform(91.0, 110.0)
    else:  # mean reversion: after a spike the sensor cools down over a few readings
        pull = 0.05 if d.temperature < 60 else 0.3
        d.temperature += (d.temperature_base - d.temperature) * pull + rng.gauss(0, 0.3)
    d.temperature = _clamp(d.temperature, TEMPERATURE_RANGE)
    d.humidity += (d.humidity_base - d.humidity) * 0.02 + rng.gauss(0, 0.8)
    d.humidity = _clamp(d.humidity, HUMIDITY_RANGE)
    d.battery -= d.drain * rng.uniform(0.5, 1.5)
    if d.battery < 3.0 and rng.random() < 0.02:
        d.battery = 100.0  # replaced
    d.battery = _clamp(d.battery, BATTERY_RANGE)
    if d.engine:
        if d.engine_spike_left > 0:
            d.engine_spike_left -= 1
            d.engine_temp = rng.uniform(96.0, 120.0)
        elif rng.random() < _SPIKE_P:
            d.engine_spike_left = rng.randint(0, 5)
            d.engine_temp = rng.uniform(96.0, 120.0)
        else:
            pull = 0.05 if d.engine_temp < 90 else 0.25
            d.engine_temp += (d.engine_base - d.engine_temp) * pull + rng.gauss(0, 0.6)
        d.engine_temp = _clamp(d.engine_temp, ENGINE_TEMP_RANGE)
        d.rpm += (d.rpm_base - d.rpm) * 0.05 + rng.gauss(0, 60.0)
        d.rpm = _clamp(d.rpm, (float(ENGINE_RPM_RANGE[0]), float(ENGINE_RPM_RANGE[1])))
    if d.door is not None and rng.random() < 0.05:
        d.door = not d.door


def _values(d: _Device) -> dict[str, Any]:
    values: dict[str, Any] = {
        "temperature": round(d.temperature, 2),
        "humidity": round(d.humidity, 1),
        "battery": round(d.battery, 1),
    }
    if d.engine:
        values["engine"] = {"temp": round(d.engine_temp, 1), "rpm": round(d.rpm)}
    return values


def _status(d: _Device) -> str:
    if d.temperature > 90 or (d.engine and d.engine_temp > 100):
        return "overheat"
    if d.battery < 10:
        return "low_battery"
    return "ok"


def _format_ts(ts: float, fmt: str, tz: timezone) -> Any:
    if fmt == "s":
        return math.floor(ts)
    if fmt == "s_frac":
        return round(ts, 3)
    if fmt == "ms":
        return round(ts * 1000)
    if fmt == "iso_z":
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
    if fmt == "iso_offset":
        return datetime.fromtimestamp(ts, tz).isoformat(timespec="milliseconds")
    # naive: UTC without an offset
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def _document(
    d: _Device, rng: random.Random, ts: Any, values: dict[str, Any], *, ts_key: str | None = None
) -> dict[str, Any]:
    """A payload of ``d``'s shape; ``ts`` (already formatted, None: no timestamp) goes
    under ``ts_key`` or the device's own key."""
    doc: dict[str, Any] = {}
    if d.id_key is not None:
        doc[d.id_key] = d.device_id
    key = ts_key or d.ts_key
    if ts is not None and key is not None:
        doc[key] = ts
    extra: dict[str, Any] = {"status": _status(d)}
    if d.door is not None:
        extra["door"] = {"open": d.door}
    if d.location is not None:
        extra["location"] = d.location
    if d.shape == "flat":
        doc.update(values)
        doc.update(extra)
    elif d.shape == "metrics":
        doc["metrics"] = values
        doc.update(extra)
        doc["firmware"] = d.firmware
    else:
        reported = {**values, **extra, "firmware": d.firmware}
        state: dict[str, Any] = {"reported": reported}
        if rng.random() < 0.05:
            state["desired"] = {"reporting_interval_s": rng.choice((10, 30, 60))}
        d.version += 1
        doc["state"] = state
        doc["version"] = d.version
        doc["clientToken"] = f"{d.device_id}-{d.version}"
    return doc


def _malformed(d: _Device, rng: random.Random, arrival: float) -> bytes:
    kind = rng.choice(MALFORMED_KINDS)
    ts_key = d.ts_key or "ts"
    good_ts = _format_ts(arrival + d.skew, d.ts_format, d.tz)
    if kind == "truncated_json":  # any strict prefix of a JSON object is not JSON
        data = orjson.dumps(_document(d, rng, good_ts, _values(d)))
        return data[: rng.randint(1, len(data) - 1)]
    if kind == "not_json":
        return f"{d.device_id} temperature={d.temperature:.2f} battery={d.battery:.1f}".encode()
    if kind == "non_finite":
        values = _values(d)
        values["temperature"] = float(rng.choice(("nan", "inf", "-inf")))
        # what Python's json.dumps writes by default: NaN / Infinity, not JSON
        return json.dumps(_document(d, rng, good_ts, values), separators=(",", ":")).encode()
    if kind == "no_metrics":
        if d.shape == "shadow":
            doc: dict[str, Any] = {
                "state": {"desired": {"reporting_interval_s": 30}},
                "version": d.version,
            }
        else:
            doc = {"status": "rebooting", "firmware": d.firmware}
        doc["deviceId"] = d.device_id
        doc[ts_key] = good_ts
        return orjson.dumps(doc)
    if kind == "bad_timestamp":
        bad = rng.choice(
            (
                rng.randint(0, 10_000_000),  # clock never set: epoch 0 + uptime
                -1,
                5_000_000_000_000,  # ms, year 2128
                "yesterday",
                "2025-13-45T25:61:00Z",
                "",
            )
        )
        return orjson.dumps(_document(d, rng, bad, _values(d), ts_key=ts_key))
    if kind == "empty_device_id":
        doc = _document(d, rng, good_ts, _values(d))
        for key in ("device_id", "deviceId", "thingName", "clientId"):
            doc.pop(key, None)
        doc = {"deviceId": rng.choice(("", "  ")), **doc}
        return orjson.dumps(doc)
    # not_object: a batch of readings as a JSON array
    return orjson.dumps([_document(d, rng, good_ts, _values(d))])


def iot(
    *,
    seed: int,
    rate: float,
    duration: float,
    start: float,
    devices: int = 200,
    malformed: float = 0.01,
    late: float = 0.005,
    skew_s: float = 5.0,
) -> Iterator[GeneratedRecord]:
    """IoT telemetry records for ``duration`` seconds from ``start`` (epoch seconds), about
    ``rate`` per second from ``devices`` devices, sorted by arrival (see the module
    docstring). ``malformed`` and ``late`` are the expected fractions of those kinds;
    ``skew_s`` bounds each device's clock skew. Deterministic per ``seed``.

    >>> records = list(iot(seed=1, rate=50, duration=10, start=1_764_324_000, devices=20))
    >>> len(records) > 400, records[0].partition_key.startswith("dev-")
    (True, True)
    """
    for name, value in (("rate", rate), ("duration", duration), ("start", start)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if rate <= 0:
        raise ValueError(f"rate must be > 0, got {rate!r}")
    if duration < 0:
        raise ValueError(f"duration must be >= 0, got {duration!r}")
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise ValueError(f"devices must be an int >= 1, got {devices!r}")
    if not (0 <= malformed <= 1 and 0 <= late <= 1 and malformed + late <= 1):
        raise ValueError(
            f"malformed and late must be fractions with a sum <= 1, got {malformed!r}, {late!r}"
        )
    if not (math.isfinite(skew_s) and skew_s >= 0):
        raise ValueError(f"skew_s must be >= 0, got {skew_s!r}")
    return _generate(seed, rate, duration, start, devices, malformed, late, skew_s)


def _generate(
    seed: int,
    rate: float,
    duration: float,
    start: float,
    devices: int,
    malformed: float,
    late: float,
    skew_s: float,
) -> Iterator[GeneratedRecord]:
    rng = random.Random(seed)
    end = start + duration
    interval = devices / rate
    fleet = [_new_device(i, rng, skew_s, interval) for i in range(devices)]
    heap: list[tuple[float, int]] = []
    for i, d in enumerate(fleet):
        first = start + rng.uniform(0, d.interval)
        if first <= end:
            heap.append((first, i))
    heapq.heapify(heap)
    while heap:
        arrival, i = heap[0]
        d = fleet[i]
        nxt = arrival + d.interval * rng.uniform(0.9, 1.1)
        if nxt <= end:
            heapq.heapreplace(heap, (nxt, i))
        else:
            heapq.heappop(heap)
        _step(d, rng)
        u = rng.random()
        if u < malformed:
            yield GeneratedRecord(d.device_id, _malformed(d, rng, arrival), arrival, "malformed")
            continue
        if u < malformed + late:
            ts = arrival - rng.uniform(*LATE_BEHIND_S)
            doc = _document(
                d, rng, _format_ts(ts, d.ts_format, d.tz), _values(d), ts_key=d.ts_key or "ts"
            )
            yield GeneratedRecord(d.device_id, orjson.dumps(doc), arrival, "late")
            continue
        ts = arrival - rng.uniform(*_DELAY_S) + d.skew
        if d.last_ts is not None and ts - d.last_ts < 60 and rng.random() < _OUT_OF_ORDER_P:
            ts = d.last_ts - rng.uniform(1.0, 5.0)  # out of order
        else:
            d.last_ts = ts
        formatted = None if d.ts_key is None else _format_ts(ts, d.ts_format, d.tz)
        doc = _document(d, rng, formatted, _values(d))
        yield GeneratedRecord(d.device_id, orjson.dumps(doc), arrival, "ok")
