"""Property tests of streamkit.aggregate (issue 4).

The central one: folding records one by one gives the same aggregates as splitting the
same records into batches in any way, building each batch's deltas, and applying the
batch results in any order through the item codec (what the ledger and the DynamoDB
sink do). Exactly-once effects rest on it.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.aggregate import (
    EMPTY,
    Deltas,
    HyperLogLog,
    Last,
    Stats,
    is_late,
    merge,
    merge_all,
    stats_from_item,
    stats_to_item,
    to_decimal,
    window_of,
)

SETTINGS = settings(max_examples=200, deadline=None)
T0 = 1795860300

# Magnitudes chosen so that no sum of a few hundred of them needs more than 38 digits:
# every grouping is then exact (a sum that is not raises PrecisionError, tested apart).
values = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.decimals(-(10**9), 10**9, places=6, allow_nan=False, allow_infinity=False),
    st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: x == 0 or abs(x) >= 1e-6),
    st.sampled_from(["0.1", "0.2", "0.30", "-7.25", "1E+3"]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.text(max_size=5) | st.integers(-(2**63), 2**63 - 1),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=5,
)
# few distinct event times, so ties (broken by position) are common
event_times = st.builds(
    lambda s, frac: T0 + s + frac,
    st.integers(0, 400),
    st.sampled_from([0.0, 0.25, 0.5]),
)


@st.composite
def records(draw: st.DrawFn, max_size: int = 40) -> list[dict[str, Any]]:
    """Records in shard order, each with a unique (sequence, sub-sequence) position."""
    n = draw(st.integers(0, max_size))
    out = []
    seq = 10**40
    for _ in range(n):
        seq += draw(st.integers(1, 3))
        rec: dict[str, Any] = {
            "aggregate": draw(st.sampled_from(["views", "temp"])),
            "key": draw(st.sampled_from(["a", "b", "c"])),
            "t": draw(event_times),
            "value": draw(values),
            "position": (seq, draw(st.integers(0, 2))),
            "item": draw(st.none() | st.sampled_from([f"u{i}" for i in range(30)])),
        }
        if draw(st.integers(0, 4)) == 0:
            rec["last_value"] = draw(json_values)
        out.append(rec)
    return out


def stats_of(rec: dict[str, Any]) -> Stats:
    kw = {"last_value": rec["last_value"]} if "last_value" in rec else {}
    return Stats.of(
        rec["value"],
        event_time=rec["t"],
        position=rec["position"],
        distinct_item=rec["item"],
        **kw,
    )


def add(deltas: Deltas, rec: dict[str, Any]) -> None:
    deltas.add(rec["aggregate"], rec["key"], window_of(rec["t"], 120), stats_of(rec))


@st.composite
def hlls(draw: st.DrawFn) -> HyperLogLog:
    h = HyperLogLog()
    for item in draw(st.lists(st.text(max_size=4), max_size=8)):
        h.add(item)
    return h


decimals = st.one_of(
    st.decimals(-(10**9), 10**9, places=4, allow_nan=False, allow_infinity=False),
    st.sampled_from(["1", "1.0", "1.00", "-2.5", "-2.50", "1E+2"]).map(Decimal),
).map(to_decimal)


@st.composite
def arbitrary_stats(draw: st.DrawFn) -> Stats:
    """Stats built directly, not only from records: merge is component-wise."""
    if draw(st.integers(0, 5)) == 0:
        return EMPTY
    bounds = draw(st.none() | st.lists(decimals, min_size=2, max_size=2).map(sorted))
    last = draw(
        st.none()
        | st.builds(
            Last,
            st.one_of(decimals, json_values, st.sampled_from([Decimal("1.0"), Decimal("1.00")])),
            st.sampled_from([float(T0), T0 + 0.5]),
            st.tuples(st.sampled_from([1, 2, 10**100]), st.integers(0, 1)),
        )
    )
    return Stats(
        count=draw(st.integers(1, 10**6)),
        sum=draw(decimals),
        min=None if bounds is None else bounds[0],
        max=None if bounds is None else bounds[1],
        last=last,
        distinct=draw(st.none() | hlls()),
    )


def exact(s: Stats) -> tuple[Any, ...]:
    """Stats with min/max/last compared by representation, not only by value."""
    last = None if s.last is None else (repr(s.last.value), s.last.event_time, s.last.position)
    hll = None if s.distinct is None else s.distinct.to_bytes()
    return (s.count, s.sum, repr(s.min), repr(s.max), last, hll)


@SETTINGS
@given(arbitrary_stats(), arbitrary_stats(), arbitrary_stats())
def test_merge_is_associative(a: Stats, b: Stats, c: Stats) -> None:
    left, right = merge(merge(a, b), c), merge(a, merge(b, c))
    assert left == right
    assert exact(left) == exact(right)


@SETTINGS
@given(arbitrary_stats(), arbitrary_stats())
def test_merge_is_commutative_with_identity(a: Stats, b: Stats) -> None:
    assert exact(merge(a, b)) == exact(merge(b, a))
    assert merge(a, EMPTY) == a == merge(EMPTY, a)


@SETTINGS
@given(arbitrary_stats())
def test_merge_is_idempotent_except_count_and_sum(a: Stats) -> None:
    aa = merge(a, a)
    assert exact(aa)[2:] == exact(a)[2:]
    assert aa.count == 2 * a.count and aa.sum == 2 * a.sum


@SETTINGS
@given(records(), st.data())
def test_one_by_one_equals_any_batching_applied_in_any_order(
    recs: list[dict[str, Any]], data: st.DataObject
) -> None:
    """THE exactly-once property: per-batch deltas, applied through the item codec in
    any order and grouping, equal the record-by-record fold."""
    reference = Deltas()
    for rec in recs:
        add(reference, rec)

    n_batches = data.draw(st.integers(1, 6))
    assignment = data.draw(
        st.lists(st.integers(0, n_batches - 1), min_size=len(recs), max_size=len(recs))
    )
    batches = [Deltas() for _ in range(n_batches)]
    for i in data.draw(st.permutations(range(len(recs)))):  # any order within a batch
        add(batches[assignment[i]], recs[i])
    assert sum(len(b) for b in batches) >= len(reference)
    assert all(len(b) <= len(recs) for b in batches)

    store: dict[tuple[str, str, int, int], dict[str, Any]] = {}
    for b in data.draw(st.permutations(batches)):
        for delta in b:
            k = (delta.aggregate, delta.key, delta.window.start, delta.window.size)
            stored = stats_from_item(store.get(k, {}))
            store[k] = stats_to_item(merge(stored, delta.stats))

    assert sorted(store) == [(d.aggregate, d.key, d.window.start, d.window.size) for d in reference]
    for d in reference:
        got = stats_from_item(store[(d.aggregate, d.key, d.window.start, d.window.size)])
        assert got == d.stats
        assert exact(got)[2:] == exact(d.stats)[2:]
        assert stats_to_item(got) == stats_to_item(d.stats)
    # and the grand totals match a plain fold over every record
    assert merge_all(d.stats for d in reference).count == len(recs)


@SETTINGS
@given(records(max_size=30), st.lists(st.integers(1, 10), max_size=8))
def test_lateness_decisions_do_not_depend_on_batch_boundaries(
    recs: list[dict[str, Any]], cuts: list[int]
) -> None:
    """Contiguous batches (as Lambda delivers a shard), each starting from the watermark
    committed after the previous one: the same records are late as one by one."""

    def admitted(
        watermark: float | None, batch: list[dict[str, Any]]
    ) -> tuple[list[bool], float | None]:
        """The pipeline's use of is_late: on-time records advance the watermark."""
        out = []
        for r in batch:
            late = is_late(r["t"], watermark, 30)
            if not late and (watermark is None or r["t"] > watermark):
                watermark = r["t"]
            out.append(not late)
        return out, watermark

    whole, _ = admitted(None, recs)
    committed: float | None = None
    batched: list[bool] = []
    i = 0
    for size in [*cuts, len(recs)]:
        decisions, committed = admitted(committed, recs[i : i + size])
        batched += decisions
        i += size
    assert batched == whole
    assert all(whole[: min(1, len(whole))])  # the first record is never late


@SETTINGS
@given(
    st.sampled_from([4, 6, 8, 12]),
    st.lists(st.text(max_size=6), max_size=120),
    st.lists(st.text(max_size=6), max_size=120),
)
def test_hll_merge_equals_hll_of_union(p: int, xs: list[str], ys: list[str]) -> None:
    def sketch(items: list[str]) -> HyperLogLog:
        h = HyperLogLog(p)
        for item in items:
            h.add(item)
        return h

    a, b, union = sketch(xs), sketch(ys), sketch(xs + ys)
    merged = a.merge(b)
    assert merged == union
    assert merged.to_bytes() == union.to_bytes()
    assert merged.estimate() == union.estimate()
    assert a == sketch(xs)  # merge left its inputs alone
    assert HyperLogLog.from_bytes(merged.to_bytes()) == union
    in_place = sketch(ys)
    in_place.update(a)
    assert in_place == union
    # the same registers read from a dense encoding serialize identically (canonical)
    assert HyperLogLog.from_bytes(dense_bytes(p, union.registers())).to_bytes() == (
        union.to_bytes()
    )


def dense_bytes(p: int, registers: bytes) -> bytes:
    """The dense (6-bit packed) encoding, written independently of the library."""
    bits = "".join(f"{r:06b}" for r in registers)
    return bytes([1, p, 0]) + int(bits, 2).to_bytes(len(bits) // 8, "big")


@SETTINGS
@given(arbitrary_stats())
def test_item_codec_round_trip(s: Stats) -> None:
    item = stats_to_item(s)
    back = stats_from_item(item)
    assert back == s
    assert exact(back) == exact(s)
    assert stats_to_item(back) == item


@SETTINGS
@given(st.lists(values, min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_decimal_sum_is_exact_in_any_order(xs: list[Any], rnd: Any) -> None:
    stats = [Stats.of(x, event_time=T0, position=(i, 0)) for i, x in enumerate(xs)]
    with localcontext(prec=100):  # the default 28 digits would round the reference
        expected = sum((to_decimal(x) for x in xs if x is not None), Decimal(0))
    shuffled = list(stats)
    rnd.shuffle(shuffled)
    assert merge_all(stats).sum == expected == merge_all(shuffled).sum
