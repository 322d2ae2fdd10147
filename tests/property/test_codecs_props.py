"""Property tests for streamkit.codecs and streamkit.decode_event on arbitrary input."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit import DecodeError, decode_event
from streamkit.codecs import b64decode, decode_json, is_compressed
from streamkit.testing.events import FIRST_SEQUENCE, kinesis_record

SETTINGS = settings(max_examples=300, deadline=None)

KNOWN_REASONS = {
    "bad_base64",
    "bad_json",
    "bad_compression",
    "too_large",
    "not_utf8",
    "malformed_record",
    "kpl_corrupt",
}

B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_docs = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=20,
)

# Text for the `data` field: anything at all, base64-looking text, and real base64.
data_texts = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=B64_ALPHABET + "=", max_size=60),
    st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode()),
    st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode().rstrip("=")),
)


@SETTINGS
@given(payload=st.binary(max_size=512), padded=st.booleans(), as_bytes=st.booleans())
def test_b64decode_inverts_b64encode_with_or_without_padding(
    payload: bytes, padded: bool, as_bytes: bool
) -> None:
    encoded = base64.b64encode(payload)
    if not padded:
        encoded = encoded.rstrip(b"=")
    assert b64decode(encoded if as_bytes else encoded.decode()) == payload


@SETTINGS
@given(text=st.text(max_size=40))
def test_b64decode_accepts_exactly_what_the_strict_stdlib_accepts(text: str) -> None:
    try:
        expected: bytes | None = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (ValueError, UnicodeEncodeError):
        expected = None
    if len(text) % 4 == 1 or "=" in text.rstrip("="):
        expected = None
    try:
        actual: bytes | None = b64decode(text)
    except DecodeError as e:
        assert e.reason == "bad_base64"
        actual = None
    assert actual == expected


@SETTINGS
@given(doc=json_docs, use_zlib=st.booleans())
def test_decode_json_of_compressed_document_round_trips(doc: Any, use_zlib: bool) -> None:
    raw = orjson.dumps(doc)
    data = zlib.compress(raw) if use_zlib else gzip.compress(raw)
    assert decode_json(data) == doc
    assert decode_json(raw) == doc


@SETTINGS
@given(doc=json_docs, indent=st.booleans(), lead=st.sampled_from(["", " ", "\n", "\t", "\r\n"]))
def test_serialized_json_is_never_mistaken_for_compressed(
    doc: Any, indent: bool, lead: str
) -> None:
    raw = orjson.dumps(doc, option=orjson.OPT_INDENT_2 if indent else 0)
    assert not is_compressed(lead.encode() + raw)


@SETTINGS
@given(texts=st.lists(data_texts, min_size=1, max_size=8))
def test_decode_event_never_raises_on_arbitrary_data_text(texts: list[str]) -> None:
    records_in = []
    for i, text in enumerate(texts):
        rec = kinesis_record(b"", FIRST_SEQUENCE + i, partition_key=f"pk-{i}")
        rec["kinesis"]["data"] = text
        records_in.append(rec)

    records = decode_event({"Records": records_in})

    assert len(records) == len(texts)
    for i, (record, text) in enumerate(zip(records, texts, strict=True)):
        assert record.sequence_number == str(FIRST_SEQUENCE + i)
        assert record.partition_key == f"pk-{i}"
        assert record.sub_sequence_number == 0
        error = record.error
        assert error is None or isinstance(error, DecodeError)
        if error is None:
            assert record.data == b64decode(text)
        else:
            assert error.reason in KNOWN_REASONS
            if error.reason == "bad_base64":
                assert record.data == text.encode("utf-8", "surrogateescape")
                try:
                    b64decode(text)
                except DecodeError:
                    pass
                else:
                    raise AssertionError(f"fast path rejected what b64decode accepts: {text!r}")
            else:
                assert error.reason == "kpl_corrupt"
                assert record.data == b64decode(text)


BIG_INTS = st.integers(min_value=-(10**60), max_value=10**60) | st.integers()
JSON_WITH_BIG_INTS = st.recursive(
    st.none()
    | st.booleans()
    | BIG_INTS
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@SETTINGS
@given(JSON_WITH_BIG_INTS, st.booleans(), st.booleans())
def test_json_with_big_integers_decodes_exactly_like_the_stdlib(
    doc: Any, pretty: bool, compressed: bool
) -> None:
    """Integers beyond 64 bits stay exact ints (orjson alone makes them floats), and
    everything else decodes as json.loads decodes it."""
    text = json.dumps(doc, indent=2 if pretty else None).encode()
    data = gzip.compress(text) if compressed else text
    assert decode_json(data) == json.loads(text)
    assert _types(decode_json(data)) == _types(json.loads(text))


def _types(value: Any) -> Any:
    if isinstance(value, list):
        return [_types(v) for v in value]
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    return type(value).__name__
