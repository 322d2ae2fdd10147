"""The one deadline policy (streamkit.deadline), shared by process_batch and the pipeline."""

from __future__ import annotations

import pytest

from streamkit.deadline import (
    MAX_MARGIN_MS,
    MIN_MARGIN_MS,
    NO_DEADLINE,
    PIPELINE_FINISH_MS,
    Deadline,
    margin_ms,
)
from streamkit.testing import FakeContext


@pytest.mark.parametrize(
    ("left_ms", "margin"),
    [(0, 200), (1_000, 200), (3_000, 300), (30_000, 3_000), (50_000, 5_000), (900_000, 5_000)],
)
def test_margin_is_ten_percent_within_bounds(left_ms: int, margin: int) -> None:
    assert margin_ms(left_ms) == margin
    assert margin_ms(left_ms, finish_ms=PIPELINE_FINISH_MS) == margin + 1_000
    assert MIN_MARGIN_MS <= margin <= MAX_MARGIN_MS


def test_deadline_is_reached_below_the_margin() -> None:
    ctx = FakeContext(10_000)
    deadline = Deadline.start(ctx)
    assert deadline.margin_ms == 1_000
    assert not deadline.reached()
    ctx.advance(9_001)
    assert deadline.reached()


def test_a_configured_margin_replaces_the_policy_reserve_included() -> None:
    assert Deadline.start(FakeContext(10_000), 42, finish_ms=PIPELINE_FINISH_MS).margin_ms == 42
    with pytest.raises(ValueError, match="deadline_margin_ms"):
        Deadline.start(FakeContext(), -1)


def test_without_a_context_there_is_no_deadline() -> None:
    for context in (None, object()):
        deadline = Deadline.start(context, finish_ms=PIPELINE_FINISH_MS)
        assert deadline == NO_DEADLINE
        assert not deadline.reached()
