"""Payload codecs: base64 transport, JSON (orjson), gzip/zlib-compressed JSON, text.

Every failure raises :class:`~streamkit.errors.DecodeError` with a reason word, so
the batch processor dead-letters the record instead of crashing or retrying it.

Example::

    >>> from streamkit.codecs import decode_json
    >>> decode_json(b'{"page": "/home"}')
    {'page': '/home'}
    >>> import gzip; decode_json(gzip.compress(b'[1, 2]'))   # CloudWatch Logs style
    [1, 2]
"""

from __future__ import annotations

import binascii
import json
import zlib
from typing import Any

import orjson

from streamkit.errors import DecodeError

#: Largest payload a compressed record may inflate to. Kinesis records are at
#: most 10 MiB (spec 7.1); this bounds memory against decompression bombs.
MAX_INFLATED_BYTES = 64 * 1024 * 1024

_a2b = binascii.a2b_base64
_orjson_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError
#: 19 digits in a row: the only way to spell an integer beyond 64 bits, which orjson
#: turns into a float (or rejects as infinite). Found by mapping every digit to "0"
#: and searching for 19 zeros: two C loops, ~3x cheaper than a regex search.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x78 for b in range(256))
_NINETEEN_DIGITS = b"0" * 19
#: The common case of :func:`decode_json`, for a caller that inlines it: when
#: ``BIG_INT_RUN not in data.translate(DIGITS_AS_ZERO)`` (no run of 19 digits, so no
#: integer beyond 64 bits), ``orjson.loads(data)`` is the document, unless it raises.
DIGITS_AS_ZERO, BIG_INT_RUN = _DIGITS_AS_ZERO, _NINETEEN_DIGITS


def _loads(data: bytes) -> Any:
    """orjson, unless the payload may hold an integer beyond 64 bits: then the
    stdlib's exact ints (two 23-digit ids must not become one float key)."""
    if _NINETEEN_DIGITS not in data.translate(_DIGITS_AS_ZERO):
        return _orjson_loads(data)
    return _loads_exact(data)


def _loads_exact(data: bytes) -> Any:
    """The stdlib's parse, as strict as orjson (UTF-8 only, no NaN/Infinity)."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        # ValueError covers json.JSONDecodeError and ints beyond sys.get_int_max_str_digits
        raise _JSONDecodeError(str(e), "", 0) from e


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def b64decode(text: str | bytes) -> bytes:
    """Decode standard base64, accepting missing padding, rejecting anything else.

    Lambda sends padded base64 (spec 1.1.2), but hand-written and re-encoded events
    in the wild drop the padding. Characters outside the alphabet are an error, not
    silently skipped as :func:`binascii.a2b_base64` does in its default mode.
    """
    try:
        return _a2b(text, strict_mode=True)
    except (binascii.Error, ValueError, TypeError):
        pass
    if isinstance(text, str | bytes):
        missing = -len(text) % 4
        if missing in (1, 2):
            pad = "=" * missing if isinstance(text, str) else b"=" * missing
            try:
                return _a2b(text + pad, strict_mode=True)  # type: ignore[operator]
            except (binascii.Error, ValueError, TypeError):
                pass
    raise DecodeError(f"data is not valid base64 ({_preview(text)})", reason="bad_base64")


def is_compressed(data: bytes) -> bool:
    """True when ``data`` starts like a gzip or zlib stream.

    A JSON text never starts with 0x1f or 'x' (0x78), so this cannot misread JSON.
    """
    if len(data) < 2:
        return False
    b0 = data[0]
    if b0 == 0x1F:
        return data[1] == 0x8B
    return b0 == 0x78 and ((b0 << 8) | data[1]) % 31 == 0


def inflate(data: bytes, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """Decompress gzip or zlib (auto-detected), refusing output beyond ``limit`` bytes."""
    try:
        d = zlib.decompressobj(wbits=47)  # 32 + 15: accept both gzip and zlib headers
        out = d.decompress(data, limit)
        if d.unconsumed_tail:
            raise DecodeError(
                f"payload inflates beyond {limit} bytes", reason="too_large"
            ) from None
        out += d.flush()
        if not d.eof:
            raise DecodeError("compressed payload is truncated", reason="bad_compression")
        return out
    except zlib.error as e:
        raise DecodeError(f"compressed payload is corrupt: {e}", reason="bad_compression") from e


def decode_json(data: bytes) -> Any:
    """Parse a JSON payload, inflating gzip/zlib first when present.

    CloudWatch Logs subscription records arrive gzip-compressed; their document
    (``messageType``, ``logEvents``, ...) is returned like any other. Integers are
    exact at any size (orjson's speed for the rest):

    >>> decode_json(b'[12345678901234567890123, 1.5]')
    [12345678901234567890123, 1.5]
    """
    if _NINETEEN_DIGITS not in data.translate(_DIGITS_AS_ZERO):
        # _loads' common case, inline (the hot path of every record); a payload
        # orjson refuses takes the full path below, which says why
        try:
            return _orjson_loads(data)
        except _JSONDecodeError:
            pass
    try:
        return _loads(data)
    except _JSONDecodeError as e:
        if is_compressed(data):
            inflated = inflate(data)
            try:
                return _loads(inflated)
            except _JSONDecodeError as e2:
                raise DecodeError(f"invalid JSON after inflating: {e2}", reason="bad_json") from e2
        raise DecodeError(f"invalid JSON: {e} ({_preview(data)})", reason="bad_json") from e


def decode_text(data: bytes) -> str:
    """UTF-8 text of a payload (gzip/zlib inflated first).

    Text may start like a zlib header ("x " is one), so a payload that looks
    compressed but does not inflate is read as text as it is.
    """
    if is_compressed(data):
        try:
            data = inflate(data)
        except DecodeError as e:
            if e.reason != "bad_compression":
                raise
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecodeError(f"payload is not UTF-8: {e}", reason="not_utf8") from e


def _preview(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
