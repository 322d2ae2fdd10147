"""Windowed aggregation (issue 4): windows, lateness, aggregators, HLL, item codec."""

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
    HyperLogLog,
    InvalidValueError,
    Last,
    LateRecordError,
    PrecisionError,
    Stats,
    Watermark,
    Window,
    is_late,
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


def test_sum_that_would_round_raises_instead() -> None:
    big = one(Decimal("1E+30"))
    tiny = one(Decimal("1E-30"), seq=2)
    with pytest.raises(PrecisionError) as info:
        merge(big, tiny)
    assert isinstance(info.value, ArithmeticError)
    assert info.value.reason == "precision"
    # a grouping that cancels first stays exact
    neg = one(Decimal("-1E+30"), seq=3)
    assert merge(merge(big, neg), tiny).sum == Decimal("1E-30")


def test_deltas_unchanged_after_precision_error() -> None:
    d = Deltas()
    w = window_of(T0, 60)
    d.add("a", "k", w, one(Decimal("1E+30")))
    with pytest.raises(PrecisionError):
        d.add("a", "k", w, one(Decimal("1E-30"), seq=2))
    got = d.get("a", "k", w)
    assert got is not None and got.count == 1 and got.sum == Decimal("1E+30")


# --------------------------------------------------------------------------- windows


def test_window_boundaries() -> None:
    w = window_of(T0, 300)
    assert (w.start, w.end, w.size) == (T0, T0 + 300, 300)
    assert w.key == "2026-11-28T10:05:00Z"
    assert window_of(T0 + 299.999, 300) == w
    assert window_of(T0 + 300, 300) == Window(T0 + 300, 300)
    assert window_of(T0 - 0.001, 300) == Window(T0 - 300, 300)
    assert T0 in w and T0 + 299.5 in w and T0 + 300 not in w
    assert window_of(0, 60) == Window(0, 60)
    assert window_of(59.9, 60).key == "1970-01-01T00:00:00Z"
    assert window_of(T0 + 7, 1).start == T0 + 7


def test_window_uses_event_time_floor_for_fractional_sizes_of_day() -> None:
    assert window_of(86399.999, 86400) == Window(0, 86400)
    assert window_of(86400, 86400).key == "1970-01-02T00:00:00Z"


@pytest.mark.parametrize("bad_time", [-0.001, -1, math.nan, math.inf, 1e12, "10", None])
def test_window_of_rejects_bad_event_times(bad_time: Any) -> None:
    with pytest.raises(ValueError, match="event time"):
        window_of(bad_time, 60)


@pytest.mark.parametrize("bad_size", [0, -60, 1.5, True])
def test_window_size_must_be_positive_int(bad_size: Any) -> None:
    with pytest.raises(ValueError, match="window size"):
        window_of(T0, bad_size)


def test_windows_order_by_start_then_size() -> None:
    assert sorted([Window(120, 60), Window(0, 300), Window(0, 60)]) == [
        Window(0, 60),
        Window(0, 300),
        Window(120, 60),
    ]


# --------------------------------------------------------------------------- lateness


def test_lateness_boundary_equal_is_on_time_just_over_is_late() -> None:
    assert not is_late(100.0, 160.0, 60)  # exactly at watermark - lateness
    assert is_late(99.999, 160.0, 60)
    assert not is_late(160.0, 160.0, 0)
    assert is_late(159.5, 160.0, 0)
    assert not is_late(1000.0, 160.0, 0)  # ahead of the watermark
    assert not is_late(0.0, None, 0)  # nothing seen yet: never late


def test_negative_lateness_rejected() -> None:
    with pytest.raises(ValueError, match="lateness"):
        is_late(1.0, 2.0, -1)
    with pytest.raises(ValueError, match="lateness"):
        Watermark(allowed_lateness_s=-1)


def test_watermark_advances_in_shard_order_and_raises_late() -> None:
    wm = Watermark(allowed_lateness_s=60)
    wm.admit(1000)
    wm.admit(1100)
    wm.admit(1040)  # exactly at the boundary: admitted
    assert wm.value == 1100.0  # never moves back
    with pytest.raises(LateRecordError) as info:
        wm.admit(1039.5)
    assert info.value.reason == "late"
    assert isinstance(info.value, PermanentError)
    assert info.value.watermark == 1100.0 and info.value.event_time == 1039.5
    assert wm.value == 1100.0


def test_watermark_retry_from_committed_value_makes_same_decisions() -> None:
    times = [1000.0, 900.0, 1200.0, 1130.0, 1139.0, 1500.0, 1000.0]

    def decisions(start: float | None, ts: list[float]) -> list[bool]:
        wm = Watermark(allowed_lateness_s=70, value=start)
        out = []
        for t in ts:
            late = wm.is_late(t)
            out.append(late)
            if not late:
                wm.observe(t)
        return out

    whole = decisions(None, times)
    assert whole == [False, True, False, False, False, False, True]
    # commit after 3 records, then "retry" the rest starting from the committed value
    wm = Watermark(allowed_lateness_s=70)
    for t in times[:3]:
        if not wm.is_late(t):
            wm.observe(t)
    assert decisions(wm.value, times[3:]) == whole[3:]


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


# --------------------------------------------------------------------------- HyperLogLog

STANDARD_ERROR = 1.04 / math.sqrt(4096)


@pytest.mark.parametrize("n", [10, 1_000, 100_000])
def test_hll_estimate_within_three_standard_errors(n: int) -> None:
    h = HyperLogLog()
    for i in range(n):
        h.add(f"user-{i}")
        if i % 7 == 0:
            h.add(f"user-{i}")  # duplicates do not count
    est = h.estimate()
    assert abs(est - n) <= 3 * STANDARD_ERROR * n, (n, est)


def test_hll_small_counts_are_exact_enough_and_empty_is_zero() -> None:
    h = HyperLogLog()
    assert h.estimate() == 0
    for name in ["a", "b", "c", "a"]:
        h.add(name)
    assert h.estimate() == 3


def test_hll_hash_is_stable_across_processes() -> None:
    """blake2b, not hash(): a known item always lands in the same register."""
    h = HyperLogLog()
    h.add("device-42")
    assert h.to_bytes().hex() == "010c01" + _known_register("device-42")


def _known_register(item: str) -> str:
    import hashlib

    v = int.from_bytes(hashlib.blake2b(item.encode(), digest_size=8).digest(), "big")
    index, rest = v >> 52, v & ((1 << 52) - 1)
    return index.to_bytes(2, "big").hex() + bytes([52 - rest.bit_length() + 1]).hex()


def test_hll_merge_is_union() -> None:
    a, b, u = HyperLogLog(), HyperLogLog(), HyperLogLog()
    for i in range(3000):
        (a if i < 2000 else b).add(str(i))
        if 1000 <= i < 2000:
            b.add(str(i))
        u.add(str(i))
    m = a.merge(b)
    assert m == u and b.merge(a) == u
    assert abs(m.estimate() - 3000) <= 3 * STANDARD_ERROR * 3000
    with pytest.raises(ValueError, match="p=12 with p=10"):
        a.merge(HyperLogLog(10))


def test_hll_serialized_size_is_bounded_and_round_trips() -> None:
    for n in (0, 1, 500, 1023, 1500, 50_000):
        h = HyperLogLog()
        for i in range(n):
            h.add(f"x{i}")
        data = h.to_bytes()
        assert len(data) <= 4096
        back = HyperLogLog.from_bytes(data)
        assert back == h and back.to_bytes() == data
        assert back.estimate() == h.estimate()
    assert len(HyperLogLog().to_bytes()) == 3


def test_hll_equal_sketches_serialize_equally_whatever_the_history() -> None:
    dense = HyperLogLog()
    for i in range(50_000):
        dense.add(f"x{i}")
    grown = HyperLogLog()
    for i in range(50_000):
        grown.add(f"x{i}")
    assert dense.to_bytes() == grown.to_bytes()
    small = HyperLogLog()
    small.add("only")
    merged = HyperLogLog()
    merged.update(small)
    assert merged.to_bytes() == small.to_bytes()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "too short"),
        (b"\x01\x0c", "too short"),
        (b"\x02\x0c\x00" + bytes(3072), "version 2"),
        (b"\x01\x03\x01", "precision 3"),
        (b"\x01\x0c\x00" + bytes(3071), "3072 register bytes, got 3071"),
        (b"\x01\x0c\x00" + b"\xff" * 3072, "register value above 53"),
        (b"\x01\x0c\x01\x00\x01", "3-byte entries"),
        (b"\x01\x0c\x01\x00\x05\x01\x00\x05\x01", "out of order"),
        (b"\x01\x0c\x01\x10\x00\x01", "index 4096"),
        (b"\x01\x0c\x01\x00\x01\x00", "value 0"),
        (b"\x01\x0c\x01\x00\x01\x36", "value 54"),
        (b"\x01\x0c\x07", "encoding 7"),
    ],
)
def test_hll_bad_bytes_rejected(data: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        HyperLogLog.from_bytes(data)


def test_hll_precision_validated() -> None:
    with pytest.raises(ValueError, match="precision"):
        HyperLogLog(3)
    assert HyperLogLog(16).p == 16


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
