"""Payload codecs: base64 transport, gzip/zlib detection and inflation, JSON, text."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import pytest

from streamkit import DecodeError, PermanentError
from streamkit.codecs import (
    MAX_INFLATED_BYTES,
    b64decode,
    decode_json,
    decode_text,
    inflate,
    is_compressed,
)

# A CloudWatch Logs subscription document, as delivered to a Kinesis stream (gzip'd).
CWL_DOC = {
    "messageType": "DATA_MESSAGE",
    "owner": "210987654321",
    "logGroup": "/aws/ecs/payments",
    "logStream": "payments/web/8d1f0c2b9a7e4d6f",
    "subscriptionFilters": ["payments-to-kinesis"],
    "logEvents": [
        {
            "id": "38312736458208104671023577214655331805498127603526041600",
            "timestamp": 1718203900123,
            "message": '{"level":"error","msg":"card declined"}',
        },
        {
            "id": "38312736458208104671023577214655331805498127603526041601",
            "timestamp": 1718203900456,
            "message": "plain text line",
        },
    ],
}


def reason(excinfo: pytest.ExceptionInfo[DecodeError]) -> str:
    return excinfo.value.reason


# --------------------------------------------------------------------------- base64


@pytest.mark.parametrize(
    "payload",
    [b"", b"A", b"AB", b"ABC", b"ABCD", b"\x00\xff\xfe", bytes(range(256)), b"\xf3\x89\x9a\xc2"],
)
def test_b64decode_padded_and_unpadded(payload: bytes) -> None:
    padded = base64.b64encode(payload)
    unpadded = padded.rstrip(b"=")
    for form in (padded, unpadded, padded.decode(), unpadded.decode()):
        assert b64decode(form) == payload


def test_b64decode_known_values() -> None:
    assert b64decode("SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==") == b"Hello, this is a test."
    assert b64decode("SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg") == b"Hello, this is a test."
    assert b64decode("SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg=") == b"Hello, this is a test."
    assert b64decode("+/+/") == b"\xfb\xff\xbf"


@pytest.mark.parametrize(
    "text",
    [
        "!!!!",
        "héllo",
        "日本語",
        "QQ==QQ==",
        "Zm9v\nYmFy",
        "Zm9v YmFy",
        " Zm9v",
        "Q",
        "QQQQQ",
        "=QQQ",
        "Q===",
        "-_-_",
        "Zm9v*",
        b"Zm9v\x00",
        b"\xff\xfe",
    ],
)
def test_b64decode_rejects_non_alphabet_and_bad_length(text: str | bytes) -> None:
    with pytest.raises(DecodeError) as info:
        b64decode(text)
    assert reason(info) == "bad_base64"
    assert isinstance(info.value, PermanentError)
    assert repr(text)[:20] in str(info.value)


@pytest.mark.parametrize("value", [None, 42, 3.5, ["QQ=="], {"data": "QQ=="}])
def test_b64decode_rejects_non_text(value: object) -> None:
    with pytest.raises(DecodeError) as info:
        b64decode(value)  # type: ignore[arg-type]
    assert reason(info) == "bad_base64"


def test_b64decode_error_preview_is_bounded() -> None:
    with pytest.raises(DecodeError) as info:
        b64decode("!" * 10_000)
    assert len(str(info.value)) < 200


# -------------------------------------------------------------------- is_compressed


@pytest.mark.parametrize("level", range(10))
def test_is_compressed_detects_gzip_and_zlib_at_every_level(level: int) -> None:
    payload = b'{"a": 1}' * 10
    assert is_compressed(gzip.compress(payload, compresslevel=level))
    assert is_compressed(zlib.compress(payload, level))


@pytest.mark.parametrize("data", [b"", b"\x1f", b"x", b"{}", b"\x1f\x00", b"\x78\x00", b"hello"])
def test_is_compressed_false_for_short_or_plain_data(data: bytes) -> None:
    assert is_compressed(data) is False


# Every byte a JSON text (RFC 8259) can start with: whitespace or the first byte of a value.
JSON_START_BYTES = sorted(set(b' \t\n\r{["-0123456789tfn'))


@pytest.mark.parametrize("first", JSON_START_BYTES, ids=[chr(b) for b in JSON_START_BYTES])
def test_is_compressed_never_true_for_a_json_text_start(first: int) -> None:
    for second in range(256):
        assert not is_compressed(bytes([first, second]) + b"rest"), (first, second)


@pytest.mark.parametrize(
    "doc",
    [{}, [], "s", 0, -1, 1.5, True, False, None, {"x": "y"}, [{"messageType": "DATA_MESSAGE"}]],
)
def test_is_compressed_false_for_serialized_json(doc: object) -> None:
    for text in (json.dumps(doc), json.dumps(doc, indent=2), " " + json.dumps(doc), "\n[1]"):
        assert is_compressed(text.encode()) is False


# -------------------------------------------------------------------------- inflate


def test_inflate_gzip_and_zlib() -> None:
    payload = b"line of log text\n" * 100
    assert inflate(gzip.compress(payload)) == payload
    assert inflate(zlib.compress(payload)) == payload
    assert inflate(gzip.compress(b"")) == b""


def test_inflate_accepts_output_of_exactly_the_limit() -> None:
    payload = b"\x00" * 4096
    assert inflate(gzip.compress(payload), limit=4096) == payload
    assert inflate(zlib.compress(payload), limit=4096) == payload


@pytest.mark.parametrize("compress", [gzip.compress, zlib.compress], ids=["gzip", "zlib"])
def test_inflate_refuses_one_byte_over_the_limit(compress: object) -> None:
    data = compress(b"\x00" * 4096)  # type: ignore[operator]
    with pytest.raises(DecodeError) as info:
        inflate(data, limit=4095)
    assert reason(info) == "too_large"
    assert "4095" in str(info.value)


@pytest.mark.parametrize("compress", [gzip.compress, zlib.compress], ids=["gzip", "zlib"])
def test_decompression_bomb_over_a_small_limit_is_too_large(compress: object) -> None:
    bomb = compress(b"\x00" * (8 * 1024 * 1024))  # type: ignore[operator]
    assert len(bomb) < 64 * 1024
    with pytest.raises(DecodeError) as info:
        inflate(bomb, limit=1024)
    assert reason(info) == "too_large"


def test_default_limit_is_bounded() -> None:
    assert 10 * 1024 * 1024 <= MAX_INFLATED_BYTES <= 256 * 1024 * 1024


@pytest.mark.parametrize("compress", [gzip.compress, zlib.compress], ids=["gzip", "zlib"])
@pytest.mark.parametrize("keep", [0.25, 0.5, 0.9])
def test_truncated_stream_is_bad_compression(compress: object, keep: float) -> None:
    data = compress(json.dumps(CWL_DOC).encode())  # type: ignore[operator]
    cut = data[: max(2, int(len(data) * keep))]
    with pytest.raises(DecodeError) as info:
        inflate(cut)
    assert reason(info) == "bad_compression"


def test_gzip_missing_only_its_trailer_is_bad_compression() -> None:
    data = gzip.compress(b"payload " * 50)
    with pytest.raises(DecodeError) as info:
        inflate(data[:-8])
    assert reason(info) == "bad_compression"


@pytest.mark.parametrize(
    "data",
    [b"\x1f\x8b" + b"\x00" * 20, b"\x78\x9c" + b"\xff" * 20, b"not compressed at all"],
)
def test_corrupt_or_plain_input_is_bad_compression(data: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        inflate(data)
    assert reason(info) == "bad_compression"


def test_corrupted_gzip_body_is_bad_compression() -> None:
    data = bytearray(gzip.compress(json.dumps(CWL_DOC).encode()))
    data[-8] ^= 0xFF  # CRC32 of the trailer no longer matches
    with pytest.raises(DecodeError) as info:
        inflate(bytes(data))
    assert reason(info) == "bad_compression"


# ---------------------------------------------------------------------- decode_json


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"page": "/home"}', {"page": "/home"}),
        (b" [1, 2, 3] ", [1, 2, 3]),
        (b'"text"', "text"),
        (b"42", 42),
        (b"null", None),
        ('{"name": "Zoë", "city": "Zürich"}'.encode(), {"name": "Zoë", "city": "Zürich"}),
    ],
)
def test_decode_json_plain(data: bytes, expected: object) -> None:
    assert decode_json(data) == expected


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, zlib.compress, lambda b: gzip.compress(b, compresslevel=1)],
    ids=["gzip", "zlib", "gzip-fast"],
)
def test_decode_json_inflates_compressed_documents(compress: object) -> None:
    doc = {"a": [1, 2, {"b": None}], "c": "ü"}
    assert decode_json(compress(json.dumps(doc).encode())) == doc  # type: ignore[operator]


def test_decode_json_reaches_cloudwatch_logs_document() -> None:
    data = gzip.compress(json.dumps(CWL_DOC, separators=(",", ":")).encode(), mtime=0)
    doc = decode_json(data)
    assert doc == CWL_DOC
    assert doc["messageType"] == "DATA_MESSAGE"
    assert isinstance(doc["logEvents"], list)
    assert len(doc["logEvents"]) == 2
    assert json.loads(doc["logEvents"][0]["message"]) == {"level": "error", "msg": "card declined"}


@pytest.mark.parametrize(
    "data",
    [b"not json", b"{'single': 'quotes'}", b'{"a": 1', b"", b"\xff\xfe{}", b"[1,]", b"NaN"],
)
def test_invalid_json_is_bad_json_with_preview(data: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        decode_json(data)
    assert reason(info) == "bad_json"
    assert isinstance(info.value, PermanentError)
    assert repr(data)[:30] in str(info.value)


def test_bad_json_preview_is_bounded() -> None:
    with pytest.raises(DecodeError) as info:
        decode_json(b"oops " * 10_000)
    assert reason(info) == "bad_json"
    assert "oops" in str(info.value)
    assert len(str(info.value)) < 500


def test_compressed_non_json_is_bad_json() -> None:
    with pytest.raises(DecodeError) as info:
        decode_json(gzip.compress(b"plain text, not json"))
    assert reason(info) == "bad_json"


@pytest.mark.parametrize("compress", [gzip.compress, zlib.compress], ids=["gzip", "zlib"])
def test_decode_json_of_truncated_stream_is_bad_compression(compress: object) -> None:
    data = compress(json.dumps(CWL_DOC).encode())  # type: ignore[operator]
    with pytest.raises(DecodeError) as info:
        decode_json(data[: len(data) // 2])
    assert reason(info) == "bad_compression"


# ---------------------------------------------------------------------- decode_text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "Zoë in Zürich — 東京 🚀",
        "x marks the spot",
        "x^2 + y^2 = z^2",
        "x? maybe",
        "x}",
        "\x1f unit separator then text",
        "{}",
    ],
)
def test_decode_text_returns_plain_utf8_text_unchanged(text: str) -> None:
    assert decode_text(text.encode("utf-8")) == text


@pytest.mark.parametrize("compress", [gzip.compress, zlib.compress], ids=["gzip", "zlib"])
def test_decode_text_inflates_compressed_text(compress: object) -> None:
    text = "ERROR card declined — order A-1001\n" * 3
    assert decode_text(compress(text.encode("utf-8"))) == text  # type: ignore[operator]


@pytest.mark.parametrize(
    "data",
    [b"\xff", b"caf\xe9", b"\xc3\x28", b"\xed\xa0\x80", b"ok then \x80"],
)
def test_decode_text_not_utf8(data: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        decode_text(data)
    assert reason(info) == "not_utf8"


def test_decode_text_compressed_but_not_utf8_is_not_utf8() -> None:
    with pytest.raises(DecodeError) as info:
        decode_text(gzip.compress(b"latin-1 caf\xe9"))
    assert reason(info) == "not_utf8"


def test_integers_beyond_64_bits_stay_exact() -> None:
    """orjson alone turns them into floats: two ids would become one aggregate key."""
    a, b = decode_json(b"[12345678901234567890123, 12345678901234567890124]")
    assert (a, b) == (12345678901234567890123, 12345678901234567890124) and a != b
    big = "12345678901234567890123456789012345678"
    assert decode_json(b'{"x": %s, "y": 1.5}' % big.encode()) == {"x": int(big), "y": 1.5}
    assert decode_json(b"1" + b"0" * 400) == 10**400  # beyond the float range
    assert decode_json(gzip.compress(b"[-18446744073709551617]")) == [-18446744073709551617]
    assert decode_json(b'{"id": "12345678901234567890123"}') == {"id": "12345678901234567890123"}


@pytest.mark.parametrize(
    "data",
    [
        b"[NaN, 12345678901234567890123]",
        b"\xff 12345678901234567890123",
        b"[1" + b"0" * 5000 + b"]",
    ],
)
def test_the_exact_path_is_as_strict_as_orjson(data: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        decode_json(data)
    assert info.value.reason == "bad_json"
