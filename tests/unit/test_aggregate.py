"""Aggregates (issue 4): exact decimals, Stats and merge, Deltas, the item codec.

Windows, lateness and HyperLogLog have their own test files (test_aggregate_*.py).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import orjson
import pytest

from streamkit import PermanentError
from streamkit.aggregate import (
    EMPTY,
    Deltas,
    InvalidValueError,
    Last,
    Stats,
    Window,
    merge,
    merge_all,
    stats_from_item,
    stats_to_item,
    to_decimal,
    window_of,
)

# 2026-11-28T10:05:00Z
T0 = 1795860300


def one(
    value: Any = None,
    t: float = T0,
    seq: int = 1,
    sub: int = 0,
    item: str | None = None,
    **kw: Any,
) -> Stats:
    return Stats.of(value, event_time=t, position=(seq, sub), distinct_item=item, **kw)


# --------------------------------------------------------------------------- decimals


def test_decimal_sums_are_exact() -> None:
    assert 0.1 + 0.2 != 0.3
    s = merge(one(0.1), one(0.2, seq=2))
    assert s.sum == Decimal("0.3")
    assert s.sum == to_decimal("0.3")
    assert str(s.sum) == "0.3"


def test_to_decimal_converts_each_type_exactly() -> None:
    assert to_decimal(7) == Decimal(7)
    assert to_decimal(0.1) == Decimal("0.1")  # via repr, not the binary expansion
    assert to_decimal("-1.25e3") == Decimal("-1250")
    assert to_decimal(Decimal("2.50")) == Decimal("2.5")
    assert to_decimal(-0.0) == 0
    assert to_decimal(10**40) == Decimal(10**40)  # exact although 41 digits long
    assert to_decimal(2**63) == Decimal(9223372036854775808)
    assert to_decimal("9" * 38) == Decimal("9" * 38)


@pytest.mark.parametrize(
    "bad",
    [
        math.nan,
        math.inf,
        -math.inf,
        "NaN",
        "Infinity",
        Decimal("NaN"),
        Decimal("-Infinity"),
        "1" * 39,  # 39 significant digits
        10**39 + 1,
        "1E+126",  # above DynamoDB's range
        1e-300,  # below it
        "1_000",
        " 1",
        "",
        "abc",
        True,
        None,
        [1],
    ],
)
def test_to_decimal_rejects_values_that_are_not_exact_dynamodb_numbers(bad: Any) -> None:
    with pytest.raises(ValueError) as info:
        to_decimal(bad)
    assert repr(bad) in str(info.value)
    assert isinstance(info.value, PermanentError)  # dead-lettered, never blocks a shard
    assert info.value.reason == "bad_value"


def test_sums_are_exact_beyond_38_digits_whatever_the_grouping() -> None:
    """1e30 + 1e-30 needs 61 digits: the sum stays exact (no PrecisionError, no
    grouping-dependent outcome); the item stores it rounded with the exact text."""
    big = one(Decimal("1E+30"))
    tiny = one(Decimal("1E-30"), seq=2)
    neg = one(Decimal("-1E+30"), seq=3)
    exact = Decimal("1" + "0" * 30 + "." + "0" * 29 + "1")
    assert merge(big, tiny).sum == exact
    assert merge(merge(big, tiny), neg).sum == merge(merge(big, neg), tiny).sum == Decimal("1E-30")
    item = stats_to_item(merge(big, tiny))
    assert item["sum"] == Decimal("1E+30") and item["sum_exact"] == str(exact)
    assert stats_from_item(item) == merge(big, tiny)
    assert "sum_exact" not in stats_to_item(big)  # exact in 38 digits: no extra text


def test_a_sum_beyond_dynamodbs_range_is_kept_exactly_and_the_mean_omitted() -> None:
    huge = merge(one(Decimal("9E+125")), one(Decimal("9E+125"), seq=2))
    item = stats_to_item(huge)
    assert "sum" not in item and item["sum_exact"] == str(Decimal("1.8E+126"))
    assert item["mean"] == Decimal("9E+125")
    tiny = merge(
        one(Decimal("1.0000000000000000000000000000000000001E-128")), one(Decimal("-1E-128"), seq=2)
    )
    item = stats_to_item(tiny)
    assert "mean" not in item and "sum" not in item and stats_from_item(item) == tiny


# --------------------------------------------------------------------------- aggregators


def test_each_aggregator() -> None:
    records = [
        one(5, t=T0 + 1, seq=10),
        one("-2.5", t=T0 + 3, seq=11),
        one(Decimal("10"), t=T0 + 2, seq=12),
        one(1, t=T0 + 3, seq=9),  # same event time as seq 11 but earlier position
    ]
    s = merge_all(records)
    assert s.count == 4
    assert s.sum == Decimal("13.5")
    assert s.min == Decimal("-2.5")
    assert s.max == Decimal("10")
    assert s.mean == Decimal("3.375")
    assert s.last is not None
    assert s.last.value == Decimal("-2.5") and s.last.position == (11, 0)


def test_count_only_records_have_no_value_stats() -> None:
    s = merge_all(one(t=T0 + i, seq=i) for i in range(3))
    assert (s.count, s.sum) == (3, Decimal(0))
    assert s.min is None and s.max is None and s.last is None and s.distinct is None
    assert s.mean == 0


def test_mean_none_when_empty_and_rounds_to_38_digits() -> None:
    assert EMPTY.mean is None
    s = merge_all([one(1, seq=1), one(0, seq=2), one(0, seq=3)])
    assert s.mean == Decimal("0." + "3" * 38)


def test_last_value_later_event_time_wins_then_larger_position() -> None:
    early_big_seq = one(1, t=T0, seq=99)
    late_small_seq = one(2, t=T0 + 1, seq=1)
    assert merge(early_big_seq, late_small_seq).last == late_small_seq.last
    assert merge(late_small_seq, early_big_seq).last == late_small_seq.last
    a = one(1, t=T0, seq=5, sub=0)
    b = one(2, t=T0, seq=5, sub=1)  # KPL sibling: sub-sequence breaks the tie
    assert merge(a, b).last == b.last and merge(b, a).last == b.last
    big = one(3, t=T0, seq=10**127)  # 128-digit sequence numbers compare as ints
    assert merge(big, b).last == big.last


def test_last_value_can_be_any_json() -> None:
    s = merge(
        one(t=T0, seq=1, last_value={"status": "ok", "temp": 21.5}),
        one(t=T0 + 1, seq=2, last_value="offline"),
    )
    assert s.last is not None and s.last.value == "offline"
    assert s.sum == 0 and s.min is None  # last_value does not feed sum/min/max
    with pytest.raises(InvalidValueError):
        one(last_value={1: "non-str key"})
    with pytest.raises(InvalidValueError):
        one(last_value=(1, 2))  # a tuple would come back as a list
    with pytest.raises(InvalidValueError):
        one(last_value={"x": math.nan})  # orjson would write null


def test_identity_and_idempotence_of_non_additive_parts() -> None:
    a = merge(one(3, seq=1, item="u1"), one(-1, t=T0 + 5, seq=2, item="u2"))
    assert merge(a, EMPTY) == a and merge(EMPTY, a) == a
    aa = merge(a, a)
    assert (aa.min, aa.max, aa.last, aa.distinct) == (a.min, a.max, a.last, a.distinct)
    assert aa.count == 2 * a.count and aa.sum == 2 * a.sum  # additive parts are not


def test_merge_does_not_mutate_inputs() -> None:
    a = one(item="a")
    b = one(seq=2, item="b")
    a_bytes, b_bytes = a.distinct.to_bytes(), b.distinct.to_bytes()  # type: ignore[union-attr]
    m = merge(a, b)
    assert m.distinct is not None and m.distinct.estimate() == 2
    assert a.distinct.to_bytes() == a_bytes and b.distinct.to_bytes() == b_bytes  # type: ignore[union-attr]


def test_stats_of_rejects_bad_input() -> None:
    with pytest.raises(InvalidValueError, match="nan"):
        one(math.nan)
    with pytest.raises(InvalidValueError, match="before 1970"):
        one(1, t=-5)
    with pytest.raises(InvalidValueError, match="position"):
        Stats.of(1, event_time=T0, position=("1", 0))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="distinct"):
        Stats.of(1, event_time=T0, position=(1, 0), distinct_item=42)  # type: ignore[arg-type]


def test_stats_constructor_checks_invariants() -> None:
    with pytest.raises(ValueError, match="min"):
        Stats(count=1, min=Decimal(2), max=Decimal(1))
    with pytest.raises(ValueError, match="count 0"):
        Stats(count=0, sum=Decimal(1))
    with pytest.raises(ValueError, match="count"):
        Stats(count=-1)


# --------------------------------------------------------------------------- Deltas


def test_deltas_merge_per_item_and_iterate_sorted() -> None:
    d = Deltas()
    w1, w2 = window_of(T0, 60), window_of(T0 + 60, 60)
    d.add("views", "/b", w2, one(1, seq=1))
    d.add("views", "/a", w1, one(2, seq=2))
    d.add("views", "/b", w2, one(3, seq=3))
    d.add("clicks", "/b", w1, one(seq=4))
    d.add("views", "/b", Window(w2.start, 120), one(seq=5))  # other size: other item
    assert len(d) == 4
    assert [(x.aggregate, x.key, x.window) for x in d] == [
        ("clicks", "/b", w1),
        ("views", "/a", w1),
        ("views", "/b", w2),
        ("views", "/b", Window(w2.start, 120)),
    ]
    got = d.get("views", "/b", w2)
    assert got is not None and got.count == 2 and got.sum == 4
    assert d.get("views", "/nope", w1) is None


def test_deltas_update_equals_adding_everything_to_one() -> None:
    w = window_of(T0, 60)
    a, b, both = Deltas(), Deltas(), Deltas()
    for i in range(10):
        s = one(i, seq=i, item=f"u{i % 3}")
        (a if i % 2 else b).add("m", f"k{i % 4}", w, s)
        both.add("m", f"k{i % 4}", w, s)
    a.update(b)
    assert a == both and len(a) == 4


def test_deltas_reject_bad_names() -> None:
    d = Deltas()
    with pytest.raises(ValueError):
        d.add("", "k", window_of(T0, 60), one())
    with pytest.raises(InvalidValueError):
        d.add("a", 5, window_of(T0, 60), one())  # type: ignore[arg-type]


# --------------------------------------------------------------------------- item codec


def test_item_codec_round_trip_with_every_field() -> None:
    s = merge_all(
        [
            one("12.50", t=T0 + 0.25, seq=10**40, sub=3, item="u1"),
            one(-3, t=T0, seq=1, item="u2"),
        ]
    )
    item = stats_to_item(s)
    assert item == {
        "count": Decimal(2),
        "sum": Decimal("9.5"),
        "mean": Decimal("4.75"),
        "min": Decimal(-3),
        "max": Decimal("12.5"),
        "last_value": "12.50",  # the exact decimal as given
        "last_event_time": Decimal(repr(T0 + 0.25)),
        "last_position": f"{10**40}/3",
        "distinct": Decimal(2),
        "distinct_hll": s.distinct.to_bytes(),  # type: ignore[union-attr]
    }
    assert all(type(v) in (Decimal, str, bytes) for v in item.values())
    back = stats_from_item(item)
    assert back == s
    assert back.last is not None and type(back.last.value) is Decimal


def test_item_codec_json_last_value_and_extra_attributes() -> None:
    s = one(t=T0 + 0.1, seq=7, last_value={"a": [1, 2.5, None, True], "b": "x"})
    item = stats_to_item(s)
    assert orjson.loads(item["last_value"]) == {"a": [1, 2.5, None, True], "b": "x"}
    assert "min" not in item and "distinct" not in item  # absent, never None
    item |= {"pk": "page#/home", "sk": "300#2026-11-28T10:05:00Z", "applied_shard-0": "42"}
    back = stats_from_item(item)
    assert back == s
    assert back.last is not None and back.last.event_time == T0 + 0.1
    assert stats_from_item(stats_to_item(one("7", seq=1, last_value="7"))).last.value == "7"  # type: ignore[union-attr]


def test_item_codec_accepts_boto3_binary_wrapper() -> None:
    class Binary:  # the shape of boto3.dynamodb.types.Binary
        def __init__(self, value: bytes) -> None:
            self.value = value

    s = one(item="u")
    item = stats_to_item(s)
    item["distinct_hll"] = Binary(item["distinct_hll"])
    assert stats_from_item(item) == s


def test_empty_stats_round_trip() -> None:
    assert stats_to_item(EMPTY) == {"count": 0, "sum": 0}
    assert stats_from_item(stats_to_item(EMPTY)) == EMPTY
    assert stats_from_item({}) == EMPTY


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"count": Decimal("1.5")}, "count"),
        ({"count": 1.0}, "count"),
        ({"sum": "3"}, "sum"),
        ({"last_value": "{not json"}, "last_value"),
        ({"last_position": "12"}, "last_position"),
        ({"distinct_hll": b"\x09\x0c\x01"}, "distinct_hll"),
        ({"distinct_hll": "abc"}, "distinct_hll"),
        ({"min": Decimal(100)}, "min"),
    ],
)
def test_item_codec_rejects_bad_items(change: dict[str, Any], problem: str) -> None:
    item = stats_to_item(one(3, seq=1, item="u"))
    item.update(change)
    with pytest.raises(ValueError, match=problem):
        stats_from_item(item)


def test_item_codec_requires_all_last_attributes() -> None:
    item = stats_to_item(one(3, seq=1))
    del item["last_position"]
    with pytest.raises(ValueError, match="all or none"):
        stats_from_item(item)


def test_last_normalizes_top_level_numbers_to_decimal() -> None:
    assert Last(0.1, 1.0, (1, 0)).value == Decimal("0.1")
    assert Last([0.1], 1.0, (1, 0)).value == [0.1]
