"""The write checks' fast paths give what the full checks give (issue 13, CPU)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from streamkit.errors import PermanentError
from streamkit.write_checks import float_text, number_text

EDGES = [1e-130, 1e125, 1e126, 9.9e125, 1e-131, 5e-324, 0.0, -0.0, 1e16, 1764000000.5]
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(EDGES).flatmap(
        lambda x: st.sampled_from([x, -x, math.nextafter(x, 0), math.nextafter(x, math.inf)])
    ),
)


def _reference(value: float) -> str | None:
    """The full check: the N text of the float's repr, None when refused."""
    try:
        return number_text(Decimal(repr(value)), "n")
    except PermanentError:
        return None


@settings(max_examples=2000, deadline=None)
@given(floats)
@example(math.nan)
@example(math.inf)
def test_float_text_is_the_full_check(value: float) -> None:
    expected = _reference(value)
    if expected is None:
        with pytest.raises(PermanentError):
            float_text(value, "n")
    else:
        assert float_text(value, "n") == expected
