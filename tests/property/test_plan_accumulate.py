"""Planning folds a batch into per-item accumulators (issue 13, CPU): same answers.

The planner stages a record counted without a value as its distinct item, folds the
records of an item in place (:class:`streamkit.aggregate.stats.Accumulator`) and
checks a count-only item's one-record form once per batch. The reference here is the
earlier planner's rule, written out: a one-record :class:`Stats` per (aggregate, key)
with :meth:`Stats.of`, merged record by record with :func:`merge`, a record's merges
all or nothing. The intent's aggregate deltas must be the same (the item form, sketch
bytes included) and the same records dead-lettered for the same reasons.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.aggregate import Deltas, HyperLogLog, Stats, Window, merge, window_of
from streamkit.aggregate.errors import InvalidValueError
from streamkit.aggregate.stats import Accumulator
from streamkit.errors import classify
from streamkit.ledger import LedgerState
from streamkit.pipeline import Aggregate, Pipeline
from streamkit.plan import aggregate_delta, plan_batch
from streamkit.testing.events import kinesis_event

SETTINGS = settings(max_examples=150, deadline=None)
T0 = 1_795_860_300

values = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6),
    st.sampled_from(["1E+3", "1.50", "-0.25", "1E+125", "1E-128", "0.0", 0, "x"]),
)
docs = st.fixed_dictionaries(
    {
        "page": st.one_of(st.none(), st.sampled_from(["/", "/a", "/b", 7])),
        "user": st.one_of(st.sampled_from(["u1", "u2", "u3", "ü", ""]), st.integers(0, 3)),
        "v": values,
        "w": values,
        "t": st.integers(0, 200),
        "metrics": st.lists(st.tuples(st.sampled_from(["a", "b", "a"]), values), max_size=3),
    }
)

AGGREGATES = [
    Aggregate("views", key=lambda d: d["page"]),
    Aggregate("users", key=lambda d: "all", distinct=lambda d: d["user"], window_s=120),
    Aggregate(
        "amounts", key=lambda d: d["page"], value=lambda d: d["v"], distinct=lambda d: d["user"]
    ),
    Aggregate("mixed", key=lambda d: "k", value=lambda d: d["w"]),
    Aggregate("metrics", pairs=lambda d: d["metrics"], window_s=None),
    Aggregate("state", key=lambda d: "s", last=lambda d: d["w"], window_s=None),
]


def _pipeline() -> Pipeline:
    return Pipeline(
        "acc",
        event_time=lambda doc, record: T0 + doc["t"],
        aggregates=AGGREGATES,
        table="aggregates",
        ledger_table="ledger",
        metrics=False,
    )


def _reference(batch: list[dict[str, Any]]) -> tuple[list[Any], list[str | None]]:
    """(aggregate deltas, dead-letter reason per record) by the earlier rule."""
    from streamkit.plan import ALL_TIME

    items: dict[tuple[str, str, int, int], Stats] = {}
    reasons: list[str | None] = []
    for i, doc in enumerate(batch):
        ts, position = float(T0 + doc["t"]), (1000 + i, 0)
        try:
            staged = []
            for agg in AGGREGATES:
                window = ALL_TIME if agg.window_s is None else window_of(ts, agg.window_s)
                item = agg.distinct(doc) if agg.distinct else None
                if agg.pairs is not None:
                    pairs = list(agg.pairs(doc))
                else:
                    key = agg.key(doc)
                    pairs = [] if key is None else [(key, agg.value(doc) if agg.value else None)]
                for key, value in pairs:
                    if agg.last is not None:
                        stats = Stats.of(
                            value,
                            event_time=ts,
                            position=position,
                            distinct_item=item,
                            last_value=agg.last(doc),
                        )
                    else:
                        stats = Stats.of(
                            value, event_time=ts, position=position, distinct_item=item
                        )
                    staged.append(((agg.name, str(key), window.start, window.size), stats))
            merged = dict(items)
            for item_id, stats in staged:
                merged[item_id] = merge(merged[item_id], stats) if item_id in merged else stats
            items = merged
            reasons.append(None)
        except Exception as e:
            reasons.append(classify(e).reason)
    deltas = [
        aggregate_delta(name, None, key, Window(start, size), items[(name, key, start, size)])
        for name, key, start, size in sorted(items)
    ]
    return deltas, reasons


@SETTINGS
@given(st.lists(docs, max_size=30))
def test_plan_equals_the_record_by_record_merge(batch: list[dict[str, Any]]) -> None:
    event = kinesis_event([orjson.dumps(d) for d in batch], first_sequence=1000, step=1)
    plan = plan_batch(_pipeline(), event["Records"], LedgerState.new_shard())
    expected, reasons = _reference(batch)
    got_reasons: list[str | None] = [None] * len(batch)
    for letter in plan.dead_letters:
        got_reasons[int(letter.record.sequence_number) - 1000] = letter.reason
    assert got_reasons == reasons
    got = [] if plan.intent is None else plan.intent.aggregates
    assert [d.to_wire() for d in got] == [d.to_wire() for d in expected]
    assert got == expected


# A record's parts all or nothing, and Deltas.add as merge.
stats_parts = st.builds(
    lambda value, user, t: Stats.of(value, event_time=T0 + t, position=(t, 0), distinct_item=user),
    st.one_of(st.none(), st.integers(-5, 5), st.sampled_from(["1.5", "1E+2", "0.10"])),
    st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
    st.integers(0, 50),
)
parts = st.one_of(stats_parts, st.none(), st.sampled_from(["a", "b", "d"]))


@SETTINGS
@given(st.lists(st.lists(st.tuples(st.sampled_from(["x", "y"]), parts), max_size=3), max_size=12))
def test_deltas_add_all_equals_merge(records: list[list[tuple[str, Any]]]) -> None:
    window = window_of(T0, 60)
    deltas = Deltas()
    expected: dict[str, Stats] = {}
    for t, record in enumerate(records):
        deltas.add_all([("agg", key, window, part) for key, part in record])
        for key, part in record:
            if not isinstance(part, Stats):
                part = Stats.of(event_time=T0 + t, position=(t, 1), distinct_item=part)
            expected[key] = merge(expected[key], part) if key in expected else part
    got = {d.key: d.stats for d in deltas}
    assert got == expected
    for key, stats in expected.items():
        assert got[key].sum.as_tuple() == stats.sum.as_tuple()  # the same representation


def test_a_failing_part_changes_nothing() -> None:
    window = window_of(T0, 60)
    deltas = Deltas()
    deltas.add("agg", "k", window, Stats.of(1, event_time=T0, position=(1, 0)))
    before = list(deltas)
    try:
        deltas.add_all([("agg", "k", window, "u1"), ("agg", 7, window, None)])  # type: ignore[list-item]
    except Exception as e:
        assert classify(e).permanent
    else:
        raise AssertionError("a bad key must raise")
    assert list(deltas) == before
    with pytest.raises(InvalidValueError):
        deltas.add_all([("agg", "k", window, "u1"), ("agg", "k", window, 7)])  # type: ignore[list-item]
    assert list(deltas) == before


def test_accumulator_owns_its_sketch() -> None:
    sketch = HyperLogLog()
    sketch.add("a")
    stats = Stats.of(event_time=T0, position=(1, 0), distinct_item="a")
    acc = Accumulator.of(stats)
    acc.count_one("b", Decimal(0))
    assert stats.distinct == sketch  # the Stats added is unchanged
    snapshot = acc.stats()
    acc.count_one("c", Decimal(0))
    assert snapshot.distinct is not None and snapshot.distinct.estimate() == 2


def _reference_add(sketch: HyperLogLog, item: str) -> None:
    """HyperLogLog.add as first written: hash, then raise one register."""
    import hashlib

    hashed = int.from_bytes(hashlib.blake2b(item.encode(), digest_size=8).digest(), "big")
    rest_bits = 64 - sketch.precision
    rest = hashed & ((1 << rest_bits) - 1)
    sketch._raise_register(hashed >> rest_bits, rest_bits - rest.bit_length() + 1)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 1500), st.sampled_from([4, 8, 12]), st.integers(1, 3))
def test_hll_add_is_raising_registers(n: int, precision: int, repeats: int) -> None:
    fast, slow = HyperLogLog(precision), HyperLogLog(precision)
    for i in range(n):
        item = f"user-{i % max(n // repeats, 1)}"
        fast.add(item)
        _reference_add(slow, item)
    assert fast == slow and fast.to_bytes() == slow.to_bytes()
    assert (fast._sparse_registers is None) == (slow._sparse_registers is None)
    assert HyperLogLog.from_bytes(fast.to_bytes()) == fast
