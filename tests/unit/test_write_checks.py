"""The serialisers and limits of every write an intent holds (streamkit.write_checks)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit.errors import PermanentError
from streamkit.write_checks import (
    MAX_MESSAGE_BYTES,
    attribute_value,
    check_fifo_id,
    check_item,
    check_s3_key,
    json_bytes,
    message_body,
    number_text,
    representable,
)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("0", True),
        ("1E-130", True),
        ("9.9999999999999999999999999999999999999E+125", True),
        ("-9.9999999999999999999999999999999999999E+125", True),
        ("1E+126", False),
        ("9.99E-131", False),
        ("1E-200", False),
        ("1" * 38, True),
        ("1" * 39, False),
        ("1" + "0" * 50, True),  # trailing zeros are not significant
        ("0.00000000000000000000000000000000000000000001", True),
        ("NaN", False),
        ("Infinity", False),
    ],
)
def test_dynamodb_numbers(text: str, ok: bool) -> None:
    assert representable(Decimal(text)) is ok
    if ok:
        assert number_text(Decimal(text)) == str(Decimal(text))
    else:
        with pytest.raises(PermanentError) as info:
            number_text(Decimal(text), "sum")
        assert info.value.reason == "bad_value" and "sum" in str(info.value)


def test_attribute_values_are_dynamodbs_wire_form() -> None:
    assert attribute_value({"a": [1, "x", b"\x00", True, None]}) == {
        "M": {"a": {"L": [{"N": "1"}, {"S": "x"}, {"B": b"\x00"}, {"BOOL": True}, {"NULL": True}]}}
    }
    for bad, reason in (
        (1.5, "invalid"),
        ("caf\ud800", "invalid"),
        (Decimal("1E-200"), "bad_value"),
    ):
        with pytest.raises(PermanentError) as info:
            attribute_value({"k": bad}, "item")
        assert info.value.reason == reason


def test_items_over_400_kb_or_with_oversized_keys_are_refused() -> None:
    check_item({"pk": {"S": "p"}, "sk": {"S": "s"}, "v": {"S": "x" * 300_000}}, "item")
    with pytest.raises(PermanentError, match="409600-byte item"):
        check_item({"pk": {"S": "p"}, "v": {"S": "x" * 300_000}}, "item", headroom=120_000)
    with pytest.raises(PermanentError, match="sk"):
        check_item({"pk": {"S": "p"}, "sk": {"S": "s" * 1025}}, "item")


def test_json_holds_decimals_exactly_and_refuses_what_it_cannot_hold() -> None:
    assert (
        json_bytes({"amount": Decimal("12.50"), "n": [Decimal("-0")]})
        == b'{"amount":12.50,"n":[-0]}'
    )
    for bad in (b"raw", {1, 2}, Decimal("NaN"), "caf\ud800"):
        with pytest.raises(PermanentError) as info:
            json_bytes({"v": bad})
        assert info.value.reason == "invalid"


@pytest.mark.parametrize(
    ("body", "reason"),
    [("a\x00b", "invalid"), ("\ufffe", "invalid"), ("x" * (MAX_MESSAGE_BYTES + 1), "too_large")],
)
def test_message_bodies_sqs_refuses(body: str, reason: str) -> None:
    with pytest.raises(PermanentError) as info:
        message_body(body)
    assert info.value.reason == reason


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=50))
def test_message_bodies_sqs_allows_are_sent_as_they_are(text: str) -> None:
    allowed = all(
        c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD or ord(c) >= 0x10000
        for c in text
    )
    if allowed:
        assert message_body(text) == text
    else:
        with pytest.raises(PermanentError):
            message_body(text)


@pytest.mark.parametrize("bad", ["", "a b", "x" * 129, "é", None])
def test_fifo_ids(bad: Any) -> None:
    assert check_fifo_id("group id", "dev-1/temp:#1") == "dev-1/temp:#1"
    with pytest.raises(PermanentError, match="group id"):
        check_fifo_id("group id", bad)


def test_s3_keys() -> None:
    assert check_s3_key("a/" + "k" * 1000) == "a/" + "k" * 1000
    with pytest.raises(PermanentError, match="1024"):
        check_s3_key("é" * 513)  # 1026 bytes of UTF-8
