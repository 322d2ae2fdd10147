"""The serialisers of every write an intent holds, and the limits AWS enforces on them.

An intent is applied by retrying until every write succeeds, so a write AWS would
refuse must never enter one: it would block the shard (and, under finite retries, cost
every later record of it). The rule is *one serialiser per write*: the planner turns
each record's writes into their wire form with the functions of this module, and the
sinks and the ledger send exactly that wire form (or serialise again with the same
function). A value that passes here is a value AWS accepts; one that does not raises
:class:`~streamkit.errors.PermanentError` (reason ``bad_value``, ``too_large`` or
``invalid``), so its record is dead-lettered up front with a clear reason.

The limits (AWS service quotas, checked 2026-12):

* DynamoDB numbers: at most 38 significant digits, magnitude ``1E-130`` to
  ``9.9999999999999999999999999999999999999E+125`` (or zero);
  strings valid UTF-8; partition key 1..2048 bytes, sort key 1..1024 bytes; an item
  at most 400 KB (names and values).
* S3 object keys: 1..1024 bytes of UTF-8.
* SQS message bodies: only the characters ``#x9 | #xA | #xD | #x20-#xD7FF |
  #xE000-#xFFFD | #x10000-#x10FFFF``; at most 256 KiB checked (SQS accepts up to
  1 MiB since 2025-08 on queues whose ``MaximumMessageSize`` allows it; 256 KiB is the
  setting of older queues and of local endpoints). FIFO group and deduplication ids:
  1..128 characters of letters, digits and ASCII punctuation.

Example::

    >>> number_text(Decimal("1.50")), representable(Decimal("1E-200"))
    ('1.50', False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

import orjson

from streamkit.errors import PermanentError

#: DynamoDB key limits: partition key 2048 bytes, sort key 1024 bytes.
MAX_PK_BYTES = 2048
MAX_SK_BYTES = 1024
#: DynamoDB's item limit (attribute names and values).
MAX_ITEM_BYTES = 400 * 1024
#: What an aggregate item may grow by after planning: the applied markers of other
#: (consumer, shard) ledgers, the exact-sum text, derived numbers.
ITEM_HEADROOM_BYTES = 96 * 1024
#: DynamoDB numbers.
MAX_NUMBER_DIGITS = 38
_INT_LIMIT = 10**MAX_NUMBER_DIGITS
_MIN_MAGNITUDE = Decimal("1E-130")
_MAX_MAGNITUDE = Decimal("1E+126")
#: Bounds that keep an aggregate item, an SQS message and an archive line well
#: inside the AWS limits, checked per record.
MAX_LAST_VALUE_BYTES = 64 * 1024
MAX_MESSAGE_BYTES = 256 * 1024
MAX_ARCHIVE_LINE_BYTES = 1024 * 1024
MAX_S3_KEY_BYTES = 1024
MAX_FIFO_ID_CHARS = 128
_FIFO_ID_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)


@cache
def _sqs_bad_character() -> re.Pattern[str]:
    """A character SQS refuses in a message body. Compiled on first use: the character
    class costs ~3 ms to compile, paid on a cold start only by consumers that send."""
    return re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# ------------------------------------------------------------------------ numbers


def representable(d: Decimal) -> bool:
    """True when ``d`` is a DynamoDB number as it is (range and 38 digits)."""
    if not d.is_finite():
        return False
    if d.is_zero():
        return True
    # copy_abs and as_tuple never round (abs() and normalize() would, to 28 digits)
    if not _MIN_MAGNITUDE <= d.copy_abs() < _MAX_MAGNITUDE:
        return False
    digits = d.as_tuple().digits
    if len(digits) <= MAX_NUMBER_DIGITS:
        return True  # (a finite non-zero Decimal's digits never start with 0)
    return len("".join(map(str, digits)).strip("0")) <= MAX_NUMBER_DIGITS


def number_text(value: int | Decimal, what: str = "number") -> str:
    """The ``N`` text DynamoDB stores for ``value``, or PermanentError ``bad_value``."""
    if type(value) is int and -_INT_LIMIT < value < _INT_LIMIT:
        return str(value)  # at most 38 digits, magnitude 1 .. 1E+38 (or zero)
    d = value if isinstance(value, Decimal) else Decimal(value)
    if not representable(d):
        raise PermanentError(
            f"{what} {d} is outside DynamoDB's range (38 significant digits, magnitude "
            "1E-130 .. 9.99E+125)",
            reason="bad_value",
        )
    return str(d)


def float_text(value: float, what: str = "number") -> str:
    """A float (an event time, a watermark) as the exact ``N`` text of its repr."""
    d = Decimal(repr(value))
    if type(value) is float and (_MIN_FLOAT <= abs(value) < _MAX_FLOAT or value == 0.0):
        # Representable without looking: a float's repr has at most 17 significant
        # digits, and its magnitude is inside the range (a float at or above the float
        # 1e-130 has a shortest repr at or above 1E-130). NaN, inf and the edges of the
        # range take the full check.
        return str(d)
    return number_text(d, what)


def check_float(value: float, what: str = "number") -> None:
    """PermanentError ``bad_value`` unless :func:`float_text` can store ``value``."""
    if type(value) is float and (_MIN_FLOAT <= abs(value) < _MAX_FLOAT or value == 0.0):
        return  # see float_text
    float_text(value, what)


_MIN_FLOAT = 1e-130
_MAX_FLOAT = 1e125


# ------------------------------------------------------------------ DynamoDB items


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise PermanentError(f"{what} is not valid UTF-8 text: {e}", reason="invalid") from e


def attribute_value(value: Any, what: str = "attribute") -> dict[str, Any]:
    """One DynamoDB AttributeValue (low-level wire form) of a plain Python value.

    The aggregate sink and the ledger write exactly this; ``bool``, ``int``,
    ``Decimal``, ``str``, ``bytes``, ``dict`` (str keys), ``list`` and ``None``.
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": number_text(value, what)}
    if isinstance(value, str):
        _utf8(value, what)
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): attribute_value(v, f"{what}.{k}") for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [attribute_value(v, what) for v in value]}
    raise PermanentError(
        f"{what} of type {type(value).__name__} is not a DynamoDB value", reason="invalid"
    )


def attribute_values(item: Mapping[str, Any], what: str = "item") -> dict[str, Any]:
    """A whole item's attributes (None values are left out)."""
    return {k: attribute_value(v, f"{what}.{k}") for k, v in item.items() if v is not None}


def _value_size(av: Mapping[str, Any]) -> int:
    # DynamoDB's item size rules: strings and binary by length, numbers about one byte
    # per two digits plus one, containers 3 bytes plus one per element.
    ((kind, v),) = av.items()
    if kind == "S":
        return len(v.encode("utf-8"))
    if kind == "B":
        return len(v)
    if kind == "N":
        return len(v) // 2 + 2
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + _value_size(x) + 1 for k, x in v.items())
    return 3 + sum(_value_size(x) + 1 for x in v)


def item_size(attributes: Mapping[str, Any]) -> int:
    """The size DynamoDB counts for an item in wire form (names and values)."""
    return sum(len(k.encode("utf-8")) + _value_size(v) for k, v in attributes.items())


def check_item(
    attributes: Mapping[str, Any], what: str, *, headroom: int = 0, sized: int = 0
) -> None:
    """Keys within DynamoDB's limits and the item (plus ``headroom``) within 400 KB.

    ``sized``: the wire size of more attributes of the item, sized by the caller once
    (a constant part such as the stand-in markers), counted as if they were given.
    """
    for name, limit in (("pk", MAX_PK_BYTES), ("sk", MAX_SK_BYTES)):
        if name in attributes:
            size = len(attributes[name]["S"].encode("utf-8"))
            if not 0 < size <= limit:
                raise PermanentError(
                    f"{what} key {name} of {size} bytes is not 1..{limit} bytes (DynamoDB)",
                    reason="too_large",
                )
    size = item_size(attributes) + sized + headroom
    if size > MAX_ITEM_BYTES:
        raise PermanentError(
            f"{what} of {size} bytes (with {headroom} bytes of headroom) exceeds DynamoDB's "
            f"{MAX_ITEM_BYTES}-byte item",
            reason="too_large",
        )


def check_key(aggregate: str, key: str) -> None:
    """The item key ``<aggregate>#<key>`` fits DynamoDB's partition key."""
    size = len(_utf8(f"{aggregate}#{key}", f"aggregate {aggregate!r} key"))
    if size > MAX_PK_BYTES:
        raise PermanentError(
            f"aggregate {aggregate!r} key of {size} bytes exceeds DynamoDB's "
            f"{MAX_PK_BYTES}-byte partition key",
            reason="too_large",
        )


# --------------------------------------------------------------------------- JSON


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"{value} is not a finite number")
        return orjson.Fragment(str(value))  # exact, as a JSON number
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def json_bytes(value: Any, what: str = "document") -> bytes:
    """``value`` as JSON: THE serialiser of archive lines and message bodies.

    Everything orjson serialises natively, plus ``Decimal`` as an exact JSON number
    (a decoder's ``parse_float=Decimal``). Anything else (bytes, sets, NaN Decimals,
    strings that are not valid UTF-8) is PermanentError ``invalid``.
    """
    try:
        return orjson.dumps(value, default=_json_default)
    except (orjson.JSONEncodeError, TypeError) as e:
        raise PermanentError(f"{what} is not JSON-serialisable: {e}", reason="invalid") from e


def check_size(what: str, data: bytes, limit: int) -> bytes:
    """``data`` (a serialised write) if at most ``limit`` bytes, else ``too_large``."""
    if len(data) > limit:
        raise PermanentError(f"{what} of {len(data)} bytes exceeds {limit}", reason="too_large")
    return data


# ---------------------------------------------------------------------------- S3


def check_s3_key(key: str) -> str:
    """``key`` if S3 accepts it: 1..1024 bytes of UTF-8."""
    size = len(_utf8(key, "S3 key"))
    if not 0 < size <= MAX_S3_KEY_BYTES:
        raise PermanentError(
            f"S3 key of {size} bytes is not 1..{MAX_S3_KEY_BYTES} bytes: {key[:80]!r}...",
            reason="too_large",
        )
    return key


#: What a key's fixed parts may take at most: stream and shard names (128 each), two
#: positions (128-digit sequence and sub-sequence numbers), the partition and suffix.
_KEY_VARIABLE_BYTES = 624


def check_key_room(consumer: str, **prefixes: str | None) -> None:
    """ValueError naming the field unless every S3 key the pipeline can write fits
    1,024 bytes whatever the stream, shard and positions (checked once, at build time,
    so no record can ever produce a key S3 refuses)."""
    for field, prefix in prefixes.items():
        if prefix is None:
            continue
        size = len(prefix.encode("utf-8", "surrogatepass")) + len(consumer.encode("utf-8"))
        if size + _KEY_VARIABLE_BYTES > MAX_S3_KEY_BYTES:
            raise ValueError(
                f"{field} {prefix[:40]!r} and the consumer name take {size} bytes: S3 keys "
                f"allow {MAX_S3_KEY_BYTES - _KEY_VARIABLE_BYTES} bytes for both "
                f"({MAX_S3_KEY_BYTES}-byte keys)"
            )


# --------------------------------------------------------------------------- SQS


def check_fifo_id(what: str, value: Any) -> str:
    """An SQS FIFO group or deduplication id: 1..128 letters, digits and punctuation."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_FIFO_ID_CHARS
        or not set(value) <= _FIFO_ID_CHARS
    ):
        raise PermanentError(
            f"message {what} {value!r} is not 1..{MAX_FIFO_ID_CHARS} characters of letters, "
            "digits and punctuation (SQS FIFO)",
            reason="invalid",
        )
    return value


def message_body(body: Any) -> str:
    """The exact SQS body a message is sent with: a str as is, anything else as JSON.

    Checked for the characters SQS allows and for :data:`MAX_MESSAGE_BYTES`.
    """
    text = body if isinstance(body, str) else json_bytes(body, "message body").decode()
    bad = _sqs_bad_character().search(text)
    if bad is not None:
        raise PermanentError(
            f"message body has character U+{ord(bad.group()):04X} at {bad.start()}, "
            "which SQS does not allow",
            reason="invalid",
        )
    check_size("message body", _utf8(text, "message body"), MAX_MESSAGE_BYTES)
    return text


def check_message(group: str, body: Any) -> str:
    """An SQS FIFO message SQS would accept: group id and body; returns the body text."""
    check_fifo_id("group id", group)
    return message_body(body)
