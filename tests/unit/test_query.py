"""The reader's pure core (streamkit.query): items -> rows, parts merged, windows rolled up.

Items are built as the sink stores them (``aggregate_delta``'s attributes and stats,
the multi-field ``fields`` map for parts), so the rows are checked against the
record-by-record fold the sink's items stand for.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.aggregate import (
    EMPTY,
    HyperLogLog,
    Stats,
    fields_to_item,
    merge,
    merge_all,
    window_of,
)
from streamkit.plan import ALL_TIME, aggregate_delta
from streamkit.query import Bucket, buckets, epoch_seconds, item_window, rollup_seconds, totals

T0 = 1_795_860_000  # 2026-11-28T10:00:00Z, on an hour boundary
Record = tuple[float, Decimal, str]  # event time, value, user


def scalar_item(
    name: str, key: str, window_s: int | None, t: float, stats: Stats
) -> dict[str, Any]:
    """The item the sink writes for one (aggregate, key, window) holding ``stats``."""
    window = ALL_TIME if window_s is None else window_of(t, window_s)
    delta = aggregate_delta(name, None, key, window, stats)
    return {**delta.attributes(), **delta.stats}


def part_item(key: str, start: int, part: int, fields: dict[str, Stats]) -> dict[str, Any]:
    """One part of a multi-field window (the layout the multi-field sink writes)."""
    window = window_of(start, 60)
    base = scalar_item("metrics", key, 60, start, EMPTY)
    for name in ("count", "sum"):
        base.pop(name, None)
    return {
        **base,
        "sk": window.key if part == 0 else f"{window.key}#{part}",
        "fields": fields_to_item(fields),
    }


def one(record: Record, seq: int) -> Stats:
    t, value, user = record
    return Stats.of(value, event_time=t, position=(seq, 0), distinct_item=user)


def minute_items(records: list[Record]) -> list[dict[str, Any]]:
    """Records folded per minute into the items the sink would hold."""
    per_minute: dict[int, Stats] = {}
    for seq, r in enumerate(records):
        start = window_of(r[0], 60).start
        per_minute[start] = merge(per_minute.get(start, EMPTY), one(r, seq))
    return [scalar_item("views", "/", 60, start, s) for start, s in per_minute.items()]


records = st.lists(
    st.tuples(
        st.floats(T0, T0 + 3 * 3600 - 0.001),
        st.decimals(-1000, 1000, places=3, allow_nan=False, allow_infinity=False),
        st.sampled_from([f"u{i}" for i in range(40)]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60)
@given(records, st.sampled_from([120, 600, 3600, 86400]))
def test_rolled_up_minutes_equal_the_fold_of_the_records_of_each_window(
    rs: list[Record], size: int
) -> None:
    rows = buckets(minute_items(rs), rollup=size)
    expected: dict[int, Stats] = {}
    for seq, r in enumerate(rs):
        start = window_of(r[0], size).start
        expected[start] = merge(expected.get(start, EMPTY), one(r, seq))
    assert [(int(b.start.timestamp()), b.stats) for b in rows if b.start] == sorted(
        expected.items()
    )
    assert all(b.end and (b.end - b.start).total_seconds() == size for b in rows if b.start)
    assert sum(b.windows for b in rows) == len({window_of(r[0], 60).start for r in rs})


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.sampled_from(["temp", "rpm", "volt", "amps"]), st.integers(-50, 150)),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_parts_of_a_window_merged_equal_one_item(readings: list[tuple[str, int]], rnd: Any) -> None:
    per_record = [
        (name, Stats.of(v, event_time=T0 + i, position=(i, 0)))
        for i, (name, v) in enumerate(readings)
    ]
    whole: dict[str, Stats] = {}
    for name, s in per_record:
        whole[name] = merge(whole.get(name, EMPTY), s)
    # Split the records over 1-4 parts at random: a field can land in several parts.
    parts: list[dict[str, Stats]] = [{} for _ in range(rnd.randint(1, 4))]
    for name, s in per_record:
        part = rnd.choice(parts)
        part[name] = merge(part.get(name, EMPTY), s)
    items = [part_item("dev-1", T0, n, p) for n, p in enumerate(parts) if p]
    rnd.shuffle(items)
    split = buckets(items)
    single = buckets([part_item("dev-1", T0, 0, whole)])
    assert split == single
    assert [b.field for b in single] == sorted(whole)
    assert all(b.windows == 1 for b in single)
    assert {f: b.stats for f, b in totals(items).items()} == whole


@settings(max_examples=25)
@given(st.integers(50, 4000), st.integers(0, 10**6))
def test_the_distinct_estimate_of_merged_sketches_is_within_the_hll_error(
    n: int, salt: int
) -> None:
    # n distinct users over 120 minutes, each minute's sketch in its own item.
    per_minute: dict[int, Stats] = {}
    direct = HyperLogLog()
    for i in range(n):
        user, t = f"user-{salt}-{i}", T0 + (i * 7919) % 7200
        direct.add(user)
        start = window_of(t, 60).start
        s = Stats.of(event_time=t, position=(i, 0), distinct_item=user)
        per_minute[start] = merge(per_minute.get(start, EMPTY), s)
    items = [scalar_item("site_users", "shop", 60, t, s) for t, s in per_minute.items()]
    [day] = buckets(items, rollup="day")
    assert day.stats.distinct == direct  # the union's sketch, register for register
    assert (day.sum, day.mean, day.min) == (0, None, None)  # count only: no mean
    assert day.distinct is not None
    error = 1.04 / math.sqrt(4096)
    assert abs(day.distinct - n) <= max(2, 5 * error * n)
    hours = buckets(items, rollup="hour")
    assert [h.count for h in hours] == [
        sum(1 for i in range(n) if (i * 7919) % 7200 < 3600),
        sum(1 for i in range(n) if (i * 7919) % 7200 >= 3600),
    ]


def test_rows_are_windows_in_time_order_with_exact_decimals() -> None:
    a = Stats.of("0.1", event_time=T0 + 130, position=(1, 0))
    b = Stats.of("0.2", event_time=T0 + 5, position=(2, 0))
    items = [scalar_item("v", "k", 60, T0 + 130, a), scalar_item("v", "k", 60, T0 + 5, b)]
    rows = buckets(items)
    assert [r.start for r in rows] == [
        datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 28, 10, 2, tzinfo=UTC),
    ]
    assert rows[0].to_json() == {
        "start": "2026-11-28T10:00:00Z",
        "end": "2026-11-28T10:01:00Z",
        "field": None,
        "count": 1,
        "sum": "0.2",
        "min": "0.2",
        "max": "0.2",
        "mean": "0.2",
        "last": "0.2",
        "distinct": None,
        "windows": 1,
    }
    [both] = buckets(items, rollup="hour")
    assert both.sum == Decimal("0.3") and both.last == Decimal("0.1") and both.windows == 2


def test_the_range_keeps_windows_inside_it_and_clips_rolled_up_buckets() -> None:
    items = [
        scalar_item("v", "k", 60, T0 + 60 * m, Stats.of(m, event_time=T0 + 60 * m, position=(m, 0)))
        for m in range(0, 180, 15)  # 10:00, 10:15, ... 12:45
    ]
    rows = buckets(items, start=T0 + 900, end="2026-11-28T12:15:00Z")
    assert [r.start.strftime("%H:%M") for r in rows if r.start] == [
        "10:15", "10:30", "10:45", "11:00", "11:15", "11:30", "11:45", "12:00",
    ]  # fmt: skip
    hourly = buckets(items, start=T0 + 900, end=T0 + 2 * 3600 + 900, rollup="hour")
    spans = [
        (b.start.strftime("%H:%M"), b.end.strftime("%H:%M")) for b in hourly if b.start and b.end
    ]
    assert spans == [("10:15", "11:00"), ("11:00", "12:00"), ("12:00", "12:15")]
    assert [b.count for b in hourly] == [3, 4, 1]
    # A window that starts inside the range but ends after it is left out.
    assert buckets(items, start=T0, end=T0 + 30) == []


def test_an_all_time_item_is_one_row_without_times() -> None:
    s = Stats.of(event_time=T0, position=(1, 0), last_value={"state": "on", "n": "1.50"})
    items = [scalar_item("state", "dev-1", None, T0, s)]
    assert item_window(items[0]) is None
    [row] = buckets(items)
    assert (row.start, row.end, row.last) == (None, None, {"state": "on", "n": "1.50"})
    assert buckets(items, start=T0) == []  # no window, so never inside a range
    with pytest.raises(ValueError, match="rollup: this is an all-time aggregate"):
        buckets(items, rollup="hour")


def test_fields_select_one_and_bad_fields_name_what_is_there() -> None:
    items = [part_item("dev-1", T0, 0, {"temp": Stats.of(3, event_time=T0, position=(1, 0))})]
    assert [b.field for b in buckets(items, field="temp")] == ["temp"]
    with pytest.raises(ValueError, match=r"field 'rpm' is in none of the items \(fields: temp\)"):
        buckets(items, field="rpm")
    scalar = [scalar_item("v", "k", 60, T0, Stats.of(1, event_time=T0, position=(1, 0)))]
    with pytest.raises(ValueError, match="single-value aggregate"):
        buckets(scalar, field="temp")
    assert buckets([], field="temp") == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "yesterday"}, "start must be epoch seconds"),
        ({"end": float("nan")}, "end must be epoch seconds"),
        ({"start": True}, "start must be epoch seconds"),
        ({"start": -1}, "start must be between 1970"),
        ({"start": T0, "end": T0}, "end .* must be after start"),
        ({"rollup": "week"}, "rollup must be 'minute', 'hour', 'day'"),
        ({"rollup": 0}, "rollup must be"),
        ({"rollup": 90}, r"rollup must be a multiple of the stored window \(60 s"),
        ({"rollup": 30}, r"multiple of the stored window"),
    ],
)
def test_bad_arguments_name_the_argument_and_what_is_allowed(
    kwargs: dict[str, Any], message: str
) -> None:
    items = [scalar_item("v", "k", 60, T0, Stats.of(1, event_time=T0, position=(1, 0)))]
    with pytest.raises(ValueError, match=message):
        buckets(items, **kwargs)


def test_times_and_rollups_accept_the_documented_forms() -> None:
    assert epoch_seconds("2026-11-28T10:00:00Z") == T0
    assert epoch_seconds("2026-11-28T11:00:00+01:00") == T0
    assert epoch_seconds("2026-11-28T10:00:00") == T0  # no offset: UTC
    assert epoch_seconds(datetime(2026, 11, 28, 10, tzinfo=UTC)) == T0
    assert epoch_seconds(Decimal(T0)) == epoch_seconds(str(T0)) == T0
    assert [rollup_seconds(r) for r in ("minute", "HOUR", "day", 300, "900")] == [
        60, 3600, 86400, 300, 900,
    ]  # fmt: skip


def test_a_part_whose_sort_key_disagrees_with_its_window_is_refused() -> None:
    item = scalar_item("v", "k", 60, T0, Stats.of(1, event_time=T0, position=(1, 0)))
    with pytest.raises(ValueError, match="is not its window_start"):
        buckets([{**item, "sk": "2026-11-28T10:01:00Z"}])
    with pytest.raises(ValueError, match="no window_start/window_end"):
        buckets([{k: v for k, v in item.items() if k != "window_end"}])
    with pytest.raises(ValueError, match="'count' must be an integer"):
        buckets([{**item, "count": Decimal("1.5")}])


def test_bucket_properties_read_the_stats() -> None:
    s = merge(
        Stats.of("2", event_time=T0, position=(1, 0), distinct_item="a"),
        Stats.of("4", event_time=T0 + 1, position=(2, 0), distinct_item="b"),
    )
    b = Bucket(None, None, None, s)
    assert (b.count, b.sum, b.min, b.max, b.mean, b.last, b.distinct) == (
        2, Decimal("6"), Decimal("2"), Decimal("4"), Decimal("3"), Decimal("4"), 2,
    )  # fmt: skip


def test_totals_merge_every_window_of_a_key_per_field() -> None:
    rs: list[Record] = [(T0 + 61.5 * i, Decimal(i), f"u{i % 5}") for i in range(100)]
    [(name, total)] = totals(minute_items(rs)).items()
    assert name is None and total.stats == merge_all(one(r, seq) for seq, r in enumerate(rs))
    assert total.start == datetime.fromtimestamp(T0, UTC)
    assert total.end == datetime.fromtimestamp(window_of(rs[-1][0], 60).end, UTC)
    assert (total.windows, total.distinct) == (100, 5)
    assert totals([]) == {}


def test_a_rolled_up_bucket_starts_at_the_first_window_it_counts() -> None:
    """[10:00:30, 11:00) per hour: the 10:00 minute straddles the start and is left
    out, so the bucket says 10:01..11:00 (not 10:00:30, which it does not cover)."""
    items = []
    for start in (T0, T0 + 60):
        w = window_of(start, 60)
        d = aggregate_delta("v", None, "k", w, Stats.of(1, event_time=start + 1.0, position=(1, 0)))
        items.append({**d.attributes(), **d.stats})
    (row,) = buckets(items, start=T0 + 30, end=T0 + 3590, rollup="hour")
    assert row.count == 1
    assert row.start is not None and row.end is not None
    assert (row.start.timestamp(), row.end.timestamp()) == (T0 + 60, T0 + 3540)


def test_decimals_are_shown_in_positional_notation() -> None:
    # Values sent in exponent form (a JSON 1E+3 read as a decimal) stay exact
    # decimals with exponents; the reader shows them positionally.
    values = [
        Stats.of(v, event_time=T0 + i, position=(i, 0)) for i, v in enumerate(("1E+3", "2E+3"))
    ]
    stats = merge_all(values)
    assert (str(stats.sum), str(stats.min)) == ("3E+3", "1E+3")
    [row] = buckets([scalar_item("v", "k", 60, T0, stats)])
    doc = row.to_json()
    assert (doc["sum"], doc["min"], doc["max"], doc["mean"]) == ("3000", "1000", "2000", "1500")
    small = Stats.of("1E-7", event_time=T0, position=(9, 0))
    assert buckets([scalar_item("v", "k", 60, T0, small)])[0].to_json()["sum"] == "0.0000001"
