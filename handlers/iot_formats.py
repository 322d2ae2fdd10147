"""IoT telemetry payloads (AWS IoT Core style) -> :class:`Reading`, and alert thresholds.

Pure functions, no I/O: this module is on the Lambda import path (stdlib, orjson and
streamkit's core only). Every payload problem raises a :class:`~streamkit.PermanentError`
whose message names the offending field, so the record is dead-lettered instead of
blocking the shard.

Payload shapes (all JSON objects; they may be mixed freely on one stream)::

    {"deviceId": "dev-0042", "ts": 1764324000, "temperature": 21.5, "humidity": 40}
    {"thingName": "dev-0042", "timestamp": 1764324000123,
     "metrics": {"temperature": 21.5, "engine": {"temp": 90, "rpm": 3000}}, "status": "ok"}
    {"state": {"reported": {"temperature": 21.5, "door": {"open": true}}},
     "timestamp": 1764324000, "version": 7, "clientToken": "abc"}

The *root* of a reading is the payload's top level, with two containers unwrapped
into it (their prefix stripped):

- ``"metrics"`` when it is an object: ``{"metrics": {"engine": {"temp": 90}}}`` gives
  the metric ``engine.temp``.
- ``"state"`` when it is an object: the payload is an AWS IoT Device Shadow document.
  Only ``state.reported`` is read (``{"state": {"reported": {"engine": {"temp": 90}}}}``
  gives ``engine.temp``); ``state.desired`` / ``state.delta`` (what someone asked the
  device to do, not a reading) and the shadow bookkeeping keys ``metadata``,
  ``version`` and ``clientToken`` are ignored. A ``"state"`` that is a string is an
  ordinary state value.

A key found twice in the root (``"temperature"`` at the top and in ``"metrics"``), or
twice after flattening (``"engine.temp"`` and ``{"engine": {"temp": ...}}``), is a
schema error naming it.

From the root:

- **Device id**: the first of :data:`DEVICE_ID_KEYS` present (``device_id``,
  ``deviceId``, ``thingName``, ``clientId``) that is not null; the payload wins over
  the partition key, which is used only when none is present (an AWS IoT rule often
  writes with ``${newuuid()}`` or ``${topic()}`` as partition key). A present device id
  must be a non-blank string of at most 256 characters, else a schema error naming
  that key; no device id in the payload and an empty partition key is a schema error
  naming ``device_id``.
- **Event time**: the first of :data:`TIMESTAMP_KEYS` present (``ts``, ``timestamp``,
  ``time``) that is not null, converted by :func:`parse_timestamp`; none gives
  ``ts=None`` (the caller then decides, e.g. the arrival time).
- All device id and timestamp keys are removed from the root, then every remaining
  value is flattened with ``"."``: numbers (not booleans) become **metrics** as exact
  Decimals (:func:`streamkit.aggregate.to_decimal`); strings and booleans become
  **state**; ``null`` values are skipped; **arrays are skipped** (their elements have
  no stable name, and flattening by index would make the number of aggregate keys,
  hence writes, depend on the array's length). Numeric strings (``"21.5"``) are state,
  never metrics.
- A reading needs at least one metric: a payload without any is a schema error naming
  ``metrics``.

Numbers are read as JSON doubles by orjson (integers within 64 bits are exact), then
converted through their shortest repr: ``21.50`` gives ``Decimal("21.5")``. JSON has
no NaN or Infinity, but many device SDKs write them anyway (Python's ``json.dumps``
does): such payloads are parsed so that the error is ``bad_value`` naming the metric
rather than ``bad_json``; as are numbers too large for a double (``1e400``).

Thresholds come from configuration, e.g. the environment variable value
``"engine.temp>90:overheat, battery<10:low_battery"``: see :func:`parse_thresholds`.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import orjson

from streamkit.aggregate import InvalidValueError, to_decimal
from streamkit.errors import DecodeError, PermanentError

__all__ = [
    "DEVICE_ID_KEYS",
    "MAX_TS",
    "MIN_TS",
    "MS_THRESHOLD",
    "OPS",
    "TIMESTAMP_KEYS",
    "Reading",
    "Threshold",
    "parse_reading",
    "parse_thresholds",
    "parse_timestamp",
    "triggered",
]

#: Where the device id is looked for, in this order (then the partition key).
DEVICE_ID_KEYS: Final = ("device_id", "deviceId", "thingName", "clientId")
#: Where the event time is looked for, in this order.
TIMESTAMP_KEYS: Final = ("ts", "timestamp", "time")
#: Epoch numbers at or above this are milliseconds. 1e11 s is the year 5138 and 1e11 ms
#: is 1973-03-03, so no plausible time (2000..2100) is ambiguous: seconds are below
#: 4.2e9, milliseconds above 9.4e11.
MS_THRESHOLD: Final = 1e11
#: Plausible event times: 2000-01-01T00:00:00Z <= ts < 2100-01-01T00:00:00Z.
MIN_TS: Final = 946_684_800.0
MAX_TS: Final = 4_102_444_800.0
#: Longest accepted device id (the Kinesis partition key limit).
MAX_DEVICE_ID_LEN: Final = 256

_SHADOW_BOOKKEEPING: Final = frozenset({"metadata", "version", "clientToken"})
_NUMBER_TEXT: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _schema(message: str) -> PermanentError:
    return PermanentError(message, reason="schema")


# --------------------------------------------------------------------------- readings


@dataclass(frozen=True, slots=True)
class Reading:
    """One device reading.

    ``metrics`` holds the numeric leaves and ``state`` the string / boolean leaves,
    both flattened with ``"."`` (``"engine.temp"``, ``"door.open"``). ``ts`` is the
    event time in epoch seconds, None when the payload has none.
    """

    device_id: str
    ts: float | None
    metrics: dict[str, Decimal]
    state: dict[str, Any]


def parse_reading(data: bytes, partition_key: str) -> Reading:
    """Parse one record's payload (see the module docstring for the rules).

    Raises :class:`~streamkit.PermanentError`: ``bad_json`` when ``data`` is not JSON,
    ``schema`` for a wrong shape, device id or timestamp, ``bad_value`` (an
    :class:`~streamkit.aggregate.InvalidValueError`) for a number that cannot be
    aggregated; the message names the field.

    >>> r = parse_reading(b'{"ts": 1764324000, "engine": {"temp": 90.5}, "ok": true}', "dev-1")
    >>> r.device_id, r.ts, r.metrics, r.state
    ('dev-1', 1764324000.0, {'engine.temp': Decimal('90.5')}, {'ok': True})
    """
    doc = _load(data)
    if not isinstance(doc, dict):
        raise _schema(f"payload must be a JSON object, got {type(doc).__name__}")
    root = _root(doc)
    device_id = _device_id(root, partition_key)
    ts = _event_time(root)
    metrics: dict[str, Decimal] = {}
    state: dict[str, Any] = {}
    for key, (path, value) in root.items():
        _flatten(key, path, value, metrics, state)
    if not metrics:
        raise _schema("no metrics: the payload has no numeric value (field 'metrics')")
    return Reading(device_id, ts, metrics, state)


def _load(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        error = exc
    # Not JSON for orjson. If the only problem is a non-finite number (NaN, Infinity,
    # 1e400), parse it anyway so that the error names the metric (bad_value).
    non_finite: list[str] = []

    def constant(text: str) -> float:
        non_finite.append(text)
        return float(text)

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            non_finite.append(text)
        return value

    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=constant, parse_float=number)
    except (UnicodeDecodeError, ValueError, RecursionError):
        non_finite.clear()
    if non_finite:
        return doc
    raise DecodeError(f"payload is not JSON: {error}", reason="bad_json") from error


def _root(doc: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """Top-level keys with the "metrics" and shadow "state.reported" objects unwrapped:
    key -> (path in the payload, value)."""
    root: dict[str, tuple[str, Any]] = {}

    def put(key: str, path: str, value: Any) -> None:
        if key in root:
            raise _schema(f"field {key!r} is given twice ({root[key][0]!r} and {path!r})")
        root[key] = (path, value)

    shadow = isinstance(doc.get("state"), dict)
    for key, value in doc.items():
        if shadow and key == "state":
            reported = value.get("reported")
            if reported is None:
                continue
            if not isinstance(reported, dict):
                raise _schema(
                    f"field 'state.reported' must be an object, got {type(reported).__name__}"
                )
            for k, v in reported.items():
                put(k, f"state.reported.{k}", v)
        elif shadow and key in _SHADOW_BOOKKEEPING:
            continue
        elif key == "metrics" and isinstance(value, dict):
            for k, v in value.items():
                put(k, f"metrics.{k}", v)
        else:
            put(key, key, value)
    return root


def _device_id(root: dict[str, tuple[str, Any]], partition_key: str) -> str:
    found: tuple[str, Any] | None = None
    for key in DEVICE_ID_KEYS:
        entry = root.pop(key, None)
        if found is None and entry is not None and entry[1] is not None:
            found = entry
    if found is None:
        if not isinstance(partition_key, str) or not partition_key.strip():
            raise _schema(
                "no device id: none of "
                + ", ".join(DEVICE_ID_KEYS)
                + " in the payload and the partition key is empty (field 'device_id')"
            )
        return partition_key
    path, value = found
    if not isinstance(value, str) or not value.strip():
        raise _schema(f"field {path!r} must be a non-empty device id string, got {value!r}")
    if len(value) > MAX_DEVICE_ID_LEN:
        raise _schema(f"field {path!r} is longer than {MAX_DEVICE_ID_LEN} characters")
    return value


def _event_time(root: dict[str, tuple[str, Any]]) -> float | None:
    found: tuple[str, Any] | None = None
    for key in TIMESTAMP_KEYS:
        entry = root.pop(key, None)
        if found is None and entry is not None and entry[1] is not None:
            found = entry
    if found is None:
        return None
    path, value = found
    return parse_timestamp(value, field=path)


def parse_timestamp(value: Any, *, field: str = "ts") -> float:
    """Epoch seconds from a payload timestamp, or a schema error naming ``field``.

    - Numbers (and strings that are plain decimal numbers) are epoch seconds, or epoch
      milliseconds when ``>= MS_THRESHOLD`` (1e11): ``1764324000``, ``1764324000.5``
      and ``1764324000500`` all work.
    - Other strings must be ISO 8601 (:meth:`datetime.fromisoformat`), with ``Z`` or a
      UTC offset; a time without offset is taken as UTC, a date alone as its midnight.
    - The result must lie in [2000-01-01, 2100-01-01) UTC: a device whose clock was
      never set (epoch 0 plus uptime) is rejected, not aggregated in 1970.

    >>> parse_timestamp(1764324000123), parse_timestamp("2025-11-28T10:00:00Z")
    (1764324000.123, 1764324000.0)
    """
    number: float
    if isinstance(value, bool):
        raise _schema(f"field {field!r} must be a timestamp, got {value!r}")
    if isinstance(value, int | float):
        number = float(value) if abs(value) < 1e300 else math.inf
    elif isinstance(value, str):
        text = value.strip()
        if _NUMBER_TEXT.fullmatch(text):
            number = float(text)
        else:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise _schema(
                    f"field {field!r} is neither an epoch number nor an ISO 8601 time: {value!r}"
                ) from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            try:
                number = moment.timestamp()
            except (OverflowError, ValueError, OSError):
                number = math.inf
            return _plausible(number, value, field)
    else:
        raise _schema(f"field {field!r} must be a number or a string, got {type(value).__name__}")
    if number >= MS_THRESHOLD:
        number /= 1000
    return _plausible(number, value, field)


def _plausible(number: float, value: Any, field: str) -> float:
    if not MIN_TS <= number < MAX_TS:
        raise _schema(
            f"field {field!r}: {value!r} is not a plausible timestamp "
            "(must be between 2000-01-01 and 2100-01-01 UTC)"
        )
    return number


def _flatten(
    name: str, path: str, value: Any, metrics: dict[str, Decimal], state: dict[str, Any]
) -> None:
    if not name or name.endswith("."):
        raise _schema(f"empty key in field {path!r}")
    if value is None or isinstance(value, list):
        return
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{name}.{key}", f"{path}.{key}", inner, metrics, state)
        return
    if name in metrics or name in state:
        raise _schema(f"field {name!r} is given twice (again at {path!r})")
    if isinstance(value, bool | str):
        state[name] = value
    elif isinstance(value, int | float):
        try:
            metrics[name] = to_decimal(value)
        except InvalidValueError as exc:
            raise InvalidValueError(f"metric {name!r}: {exc}") from None
    else:  # pragma: no cover - JSON has no other types
        raise _schema(f"field {path!r} has an unsupported type {type(value).__name__}")


# --------------------------------------------------------------------------- thresholds

#: Comparison operators of a threshold.
OPS: Final[Mapping[str, Callable[[Decimal, Decimal], bool]]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_NAME: Final = re.compile(r"[A-Za-z0-9_.\-]+")
_ENTRY: Final = re.compile(r"([^\s<>=!:,]+)\s*(>=|<=|==|!=|>|<)\s*([^\s<>=!:,]+)\s*:\s*(\S+)")


@dataclass(frozen=True, slots=True)
class Threshold:
    """Alert when ``<metric> <op> <value>`` holds for a reading; ``name`` names the alert.

    >>> Threshold("engine.temp", ">", Decimal(90), "overheat").matches(Decimal("90.5"))
    True
    """

    metric: str
    op: str
    value: Decimal
    name: str

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"threshold op must be one of {', '.join(OPS)}, got {self.op!r}")
        if not isinstance(self.value, Decimal) or not self.value.is_finite():
            raise ValueError(f"threshold value must be a finite Decimal, got {self.value!r}")
        if not isinstance(self.metric, str) or not self.metric:
            raise ValueError(f"threshold metric must be a non-empty str, got {self.metric!r}")
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(
                f"threshold name must be letters, digits, '_', '.' or '-', got {self.name!r}"
            )

    def matches(self, value: Decimal) -> bool:
        """True when ``value <op> self.value`` (exact Decimal comparison)."""
        return OPS[self.op](value, self.value)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value}:{self.name}"


def parse_thresholds(text: str) -> list[Threshold]:
    """Thresholds from configuration text: comma-separated ``<metric><op><value>:<name>``.

    ``op`` is one of ``>``, ``>=``, ``<``, ``<=``, ``==``, ``!=``; ``value`` a plain
    decimal number (``90``, ``-5``, ``0.5``, ``1e3``); ``name`` (required) letters,
    digits, ``_``, ``.``, ``-``, unique in the list (it identifies the alert). Spaces
    around the parts are allowed; empty entries (a trailing comma) and empty text are
    ignored. A bad entry raises ``ValueError`` naming it.

    >>> [str(t) for t in parse_thresholds("engine.temp>90:overheat, battery<10:low_battery")]
    ['engine.temp>90:overheat', 'battery<10:low_battery']
    """
    thresholds: list[Threshold] = []
    names: set[str] = set()
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        match = _ENTRY.fullmatch(entry)
        if match is None:
            raise ValueError(
                f"bad threshold entry {entry!r}: expected <metric><op><value>:<name> "
                f"with op one of {', '.join(OPS)}, e.g. 'engine.temp>90:overheat'"
            )
        metric, op, value_text, name = match.groups()
        try:
            value = to_decimal(value_text)
        except InvalidValueError as exc:
            raise ValueError(f"bad threshold entry {entry!r}: value {exc}") from None
        if not _NAME.fullmatch(name):
            raise ValueError(
                f"bad threshold entry {entry!r}: name {name!r} must be letters, digits, "
                "'_', '.' or '-'"
            )
        if name in names:
            raise ValueError(f"bad threshold entry {entry!r}: name {name!r} is used twice")
        names.add(name)
        thresholds.append(Threshold(metric, op, value, name))
    return thresholds


def triggered(reading: Reading, thresholds: Sequence[Threshold]) -> list[Threshold]:
    """The thresholds whose condition holds for ``reading``, in ``thresholds`` order.

    A threshold on a metric the reading does not have never triggers.
    """
    metrics = reading.metrics
    return [t for t in thresholds if (v := metrics.get(t.metric)) is not None and t.matches(v)]
