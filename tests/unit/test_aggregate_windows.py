"""Tumbling windows and event times (issue 4): streamkit.aggregate.windows."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from streamkit.aggregate import Window, check_event_time, window_of

# 2026-11-28T10:05:00Z
T0 = 1795860300


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


def test_decimal_event_times_of_a_parse_float_decimal_decoder_are_accepted() -> None:
    assert check_event_time(Decimal("1764000000.5")) == 1764000000.5
    assert window_of(Decimal("1764000000.5"), 60) == window_of(1764000000.5, 60)


@pytest.mark.parametrize(
    "bad_time",
    [-0.001, -1, math.nan, math.inf, 1e12, "10", None, Decimal("NaN"), Decimal("-1")],
)
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
