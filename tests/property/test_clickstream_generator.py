"""streamkit.local.generators.clickstream: realistic traffic that parse_click reads as intended."""

from __future__ import annotations

import statistics
from collections import Counter
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.clickstream_formats import SNOWPLOW_FIELDS, Click, parse_click
from streamkit.errors import PermanentError
from streamkit.local.generators import clickstream as gen
from streamkit.local.generators.clickstream import GeneratedRecord, clickstream
from streamkit.local.generators.clickstream.snowplow import SNOWPLOW_FIELDS as GENERATED_FIELDS

START = 1_795_860_000.0  # 2026-11-28T10:00:00Z
SETTINGS = settings(max_examples=40, deadline=None)

seeds = st.integers(min_value=0, max_value=2**64)
rates = st.floats(min_value=0.2, max_value=300.0)
durations = st.floats(min_value=0.0, max_value=20.0)
fractions = st.floats(min_value=0.0, max_value=0.4)


@cache
def big_sample() -> tuple[GeneratedRecord, ...]:
    return tuple(clickstream(seed=11, rate=150.0, duration=100.0, start=START))


def parse_ok(rec: GeneratedRecord) -> Click:
    assert rec.kind in ("ok", "late"), rec
    return parse_click(rec.data)


@SETTINGS
@given(seed=seeds, rate=rates, duration=durations, malformed=fractions, late=fractions)
def test_records_parse_as_their_kind_says(
    seed: int, rate: float, duration: float, malformed: float, late: float
) -> None:
    for rec in clickstream(
        seed=seed, rate=rate, duration=duration, start=START, malformed=malformed, late=late
    ):
        if rec.kind == "malformed":
            with pytest.raises(PermanentError):
                parse_click(rec.data)
            continue
        click = parse_ok(rec)
        assert click.user_id == rec.partition_key
        if click.ts is None:
            assert rec.kind == "ok"  # a late record always says when it happened
            continue
        behind = rec.arrival - click.ts
        if rec.kind == "late":
            assert 600 - 0.002 <= behind <= 1800 + 0.002
        else:
            assert -0.002 <= behind <= 3 + 0.002


@SETTINGS
@given(seed=seeds, rate=rates, duration=durations)
def test_deterministic_per_seed_sorted_and_within_the_window(
    seed: int, rate: float, duration: float
) -> None:
    first = list(clickstream(seed=seed, rate=rate, duration=duration, start=START))
    again = list(clickstream(seed=seed, rate=rate, duration=duration, start=START))
    assert first == again
    arrivals = [r.arrival for r in first]
    assert arrivals == sorted(arrivals)
    assert all(START <= a <= START + duration for a in arrivals)
    other = list(clickstream(seed=seed + 1, rate=rate, duration=duration, start=START))
    if first and other:
        assert first != other


@settings(max_examples=10, deadline=None)
@given(seed=seeds)
def test_only_the_requested_formats(seed: int) -> None:
    recs = clickstream(
        seed=seed, rate=50.0, duration=5.0, start=START, malformed=0.0, formats={"segment": 1.0}
    )
    assert {parse_ok(r).format for r in recs} <= {"segment"}


def test_rate_is_poisson_ish() -> None:
    recs = big_sample()
    assert 150 * 100 * 0.95 < len(recs) < 150 * 100 * 1.05
    per_second = Counter(int(r.arrival - START) for r in recs)
    counts = [per_second.get(s, 0) for s in range(100)]
    # a Poisson count has variance == mean: neither constant nor wildly bursty
    assert 0.5 < statistics.variance(counts) / statistics.mean(counts) < 2.0


def test_page_popularity_is_skewed() -> None:
    views = Counter(
        (c.site, c.page)
        for r in big_sample()
        if r.kind != "malformed" and (c := parse_click(r.data)).event == "page_view"
    )
    assert len(views) > 100
    top = views.most_common(len(views) // 10)
    assert sum(n for _, n in top) > 0.4 * sum(views.values())


def test_format_mix_kinds_and_sizes() -> None:
    recs = big_sample()
    kinds = Counter(r.kind for r in recs)
    assert 0.005 < kinds["malformed"] / len(recs) < 0.015
    assert 0.002 < kinds["late"] / len(recs) < 0.009
    clicks = [parse_click(r.data) for r in recs if r.kind != "malformed"]
    formats = Counter(c.format for c in clicks)
    for name, share in gen.DEFAULT_FORMATS.items():
        assert abs(formats[name] / len(clicks) - share) < 0.06, formats
    events = Counter(c.kind for c in clicks)
    assert events["track"] > 0.03 * len(clicks)
    assert events["identify"] > 0
    assert events["struct"] + events["unstruct"] > 0
    assert 0 < sum(c.ts is None for c in clicks) < 0.05 * len(clicks)
    sizes = [len(r.data) for r in recs if r.kind == "ok"]
    assert 200 <= statistics.median(sizes) <= 800
    assert max(sizes) < 2000


def test_users_have_sessions_of_page_views() -> None:
    clicks = [parse_click(r.data) for r in big_sample() if r.kind != "malformed"]
    pages_per_session = Counter(c.session_id for c in clicks if c.event == "page_view")
    assert max(pages_per_session.values()) <= 15
    sessions_per_user: dict[str | None, set[str | None]] = {}
    for c in clicks:
        sessions_per_user.setdefault(c.user_id, set()).add(c.session_id)
    assert len(sessions_per_user) > 500
    assert max(len(s) for s in sessions_per_user.values()) >= 2  # users come back
    # a session stays on one site
    sites: dict[str | None, set[str | None]] = {}
    for c in clicks:
        sites.setdefault(c.session_id, set()).add(c.site)
    assert all(len(s) == 1 for s in sites.values())


def test_malformed_records_are_broken_in_different_ways() -> None:
    reasons: Counter[str] = Counter()
    fields: Counter[str] = Counter()
    for rec in clickstream(seed=5, rate=200.0, duration=30.0, start=START, malformed=0.5):
        if rec.kind != "malformed":
            continue
        with pytest.raises(PermanentError) as info:
            parse_click(rec.data)
        reasons[info.value.reason] += 1
        fields[str(info.value).split(":")[0]] += 1
    assert {"schema", "unknown_format", "bad_json"} <= set(reasons)
    assert {"streamkit.click/1", "segment", "snowplow-tsv", "snowplow-json"} <= set(fields)


def test_generator_field_list_matches_the_parser() -> None:
    assert GENERATED_FIELDS == SNOWPLOW_FIELDS


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 0.0},
        {"rate": float("inf")},
        {"duration": -1.0},
        {"start": 0.0},
        {"users": 0},
        {"sites": ()},
        {"sites": ("shop.example.com/x",)},
        {"malformed": 0.7, "late": 0.5},
        {"late": -0.1},
        {"formats": {"csv": 1.0}},
        {"formats": {"segment": 0.0}},
    ],
)
def test_arguments_are_checked(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"seed": 1, "rate": 1.0, "duration": 1.0, "start": START}
    args.update(kwargs)
    with pytest.raises(ValueError):
        clickstream(**args)  # type: ignore[arg-type]
