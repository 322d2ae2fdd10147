"""Lateness against the shard's watermark (issue 4): streamkit.aggregate.lateness.

The pipeline decides lateness with :func:`is_late` and dead-letters a late record as a
``PermanentError`` with reason ``late`` (tests/integration/test_pipeline.py checks the
dead letter); :func:`admit` below is that use, record by record in shard order.
"""

from __future__ import annotations

import math

import pytest

from streamkit import PermanentError
from streamkit.aggregate import is_late


def admit(
    watermark: float | None, event_times: list[float], allowed_lateness_s: float
) -> tuple[list[bool], float | None]:
    """Which records are on time, and the watermark after them, as the pipeline
    computes it: a late record leaves the watermark alone, an on-time one advances it
    to the largest event time admitted so far."""
    admitted = []
    for t in event_times:
        late = is_late(t, watermark, allowed_lateness_s)
        admitted.append(not late)
        if not late and (watermark is None or t > watermark):
            watermark = t
    return admitted, watermark


def test_lateness_boundary_equal_is_on_time_just_over_is_late() -> None:
    assert not is_late(100.0, 160.0, 60)  # exactly at watermark - lateness
    assert is_late(99.999, 160.0, 60)
    assert not is_late(160.0, 160.0, 0)
    assert is_late(159.5, 160.0, 0)
    assert not is_late(1000.0, 160.0, 0)  # ahead of the watermark
    assert not is_late(0.0, None, 0)  # nothing seen yet: never late


@pytest.mark.parametrize("bad", [-1, -0.5, math.nan, math.inf])
def test_negative_or_infinite_lateness_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="lateness"):
        is_late(1.0, 2.0, bad)
    with pytest.raises(ValueError, match="lateness") as info:
        is_late(1.0, None, bad)  # even before the shard's first record
    assert not isinstance(info.value, PermanentError)  # a configuration error, not a record's


def test_watermark_advances_in_shard_order_and_late_records_leave_it() -> None:
    admitted, watermark = admit(None, [1000, 1100, 1040], allowed_lateness_s=60)
    assert admitted == [True, True, True]  # 1040: exactly at the boundary, admitted
    assert watermark == 1100.0  # never moves back
    admitted, watermark = admit(watermark, [1039.5], allowed_lateness_s=60)
    assert admitted == [False]
    assert watermark == 1100.0


def test_watermark_retry_from_committed_value_makes_same_decisions() -> None:
    times = [1000.0, 900.0, 1200.0, 1130.0, 1139.0, 1500.0, 1000.0]

    whole, _ = admit(None, times, allowed_lateness_s=70)
    assert [not a for a in whole] == [False, True, False, False, False, False, True]
    # commit after 3 records, then "retry" the rest starting from the committed value
    _, committed = admit(None, times[:3], allowed_lateness_s=70)
    retried, _ = admit(committed, times[3:], allowed_lateness_s=70)
    assert retried == whole[3:]
