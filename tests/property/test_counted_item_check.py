"""check_counted_item settles most items from a size computed once per aggregate and
window (plus twice the key's bytes) instead of building each one-record item: it must
say what the full check says, and the size it assumes must bound the real one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from streamkit import plan_aggregates
from streamkit.aggregate import Stats, Window
from streamkit.errors import PermanentError
from streamkit.pipeline import Aggregate
from streamkit.plan_aggregates import (
    ALL_TIME,
    check_counted_item,
    check_counted_item_full,
)
from streamkit.write_checks import ITEM_HEADROOM_BYTES, MAX_ITEM_BYTES, attribute_values, item_size

names = st.text(
    st.characters(blacklist_characters="#", blacklist_categories=["Cs"]), min_size=1, max_size=40
)
keys = st.one_of(
    st.text(max_size=60),  # lone surrogates included: not UTF-8, refused alike
    st.text(st.characters(blacklist_categories=["Cs"]), min_size=400, max_size=700),  # near 2 KB
    st.integers(1, 2100).map(lambda n: "k" * n),  # both sides of the 2,048-byte pk
)
windows = st.one_of(
    st.just(ALL_TIME),
    st.builds(
        lambda start, size: Window(start - start % size, size),
        st.integers(0, 253_402_300_799 - 2 * 86_400),  # windows end by 9999
        st.sampled_from([1, 60, 3600, 86_400]),
    ),
)
distinct_items = st.one_of(st.none(), st.text(max_size=30), st.integers(), st.just(b"x"))
positions = st.tuples(st.integers(0, 10**128 - 1), st.integers(0, 2**31))
ttls = st.one_of(st.none(), st.integers(1, 10**9))


def outcome(check: Any, *args: Any) -> tuple[str, str] | None:
    try:
        check(*args)
    except PermanentError as e:
        return (e.reason, str(e))
    return None


@settings(max_examples=400, deadline=None)
@given(names, keys, windows, ttls, distinct_items, st.floats(0, 253_402_300_000), positions)
@example("page_views", "k" * 2043, Window(60, 60), None, "u", 61.0, (1, 0))  # pk at 2,048
@example("page_views", "k" * 2044, Window(60, 60), None, "u", 61.0, (1, 0))  # one byte over
def test_the_shortcut_says_what_the_full_check_says(
    name: str,
    key: str,
    window: Window,
    ttl_s: int | None,
    item: Any,
    ts: float,
    position: tuple[int, int],
) -> None:
    agg = Aggregate(
        name, key=lambda d: d, window_s=None if window == ALL_TIME else window.size, ttl_s=ttl_s
    )
    args = (agg, key, window, ts, position, item)
    assert outcome(check_counted_item, *args) == outcome(check_counted_item_full, *args)


@settings(max_examples=300, deadline=None)
@given(
    names,
    keys,
    windows,
    ttls,
    st.one_of(st.none(), st.text(max_size=30)),
    st.floats(0, 253_402_300_000),
    positions,
)
def test_the_assumed_size_bounds_the_real_one(
    name: str,
    key: str,
    window: Window,
    ttl_s: int | None,
    item: str | None,
    ts: float,
    position: tuple[int, int],
) -> None:
    try:
        key_bytes = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return  # refused by check_key before any size
    stats = Stats.of(None, event_time=ts, position=position, distinct_item=item)
    real_item = plan_aggregates._aggregate_item(
        Aggregate(name, key=lambda d: d, ttl_s=ttl_s), key, window, stats
    )
    real = (
        item_size(attribute_values(real_item)) + plan_aggregates._MARKERS_SIZE + ITEM_HEADROOM_BYTES
    )
    base = plan_aggregates._counted_base_size(name, ttl_s, window, item is not None)
    assumed = base + 2 * key_bytes
    assert real <= assumed + plan_aggregates._COUNTED_SLACK_BYTES
    assert assumed - 64 <= real  # and it is the size, not a loose guess
    print(f"key_bytes={key_bytes} real={real} assumed={assumed}")


def test_past_the_shortcut_the_full_check_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    """No counted item gets there (its pk is at most 2 KB): forced, it is the full check."""
    monkeypatch.setattr(plan_aggregates, "_COUNTED_SLACK_BYTES", MAX_ITEM_BYTES)
    agg = Aggregate("views", key=lambda d: d)
    check_counted_item(agg, "/", Window(60, 60), 61.0, (1, 0), "u")  # passes
    with pytest.raises(PermanentError):
        check_counted_item(agg, "/", Window(60, 60), 61.0, (1, 0), 7)  # not a str
