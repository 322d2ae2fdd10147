"""The write checks' fast paths give what the full checks give (issue 13, CPU)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from streamkit.errors import PermanentError
from streamkit.write_checks import check_float, float_text, number_text

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
        with pytest.raises(PermanentError):
            check_float(value, "n")
    else:
        assert float_text(value, "n") == expected
        check_float(value, "n")


@settings(max_examples=1000, deadline=None)
@given(st.one_of(floats, st.integers(-5, 10**12), st.decimals(allow_nan=True), st.booleans()))
def test_check_event_time_fast_path_is_the_full_check(value: object) -> None:
    from streamkit.aggregate.errors import InvalidValueError
    from streamkit.aggregate.windows import MAX_EVENT_TIME, check_event_time

    def reference(event_time: object) -> float | None:
        if isinstance(event_time, Decimal) and event_time.is_finite():
            event_time = float(event_time)
        if isinstance(event_time, bool) or not isinstance(event_time, int | float):
            return None
        if not math.isfinite(event_time) or not 0 <= event_time < MAX_EVENT_TIME:
            return None
        return float(event_time)

    expected = reference(value)
    if expected is None:
        with pytest.raises(InvalidValueError):
            check_event_time(value)  # type: ignore[arg-type]
    else:
        assert check_event_time(value) == expected  # type: ignore[arg-type]


def _reference_representable(d: Decimal) -> bool:
    if not d.is_finite():
        return False
    if d.is_zero():
        return True
    if not Decimal("1E-130") <= d.copy_abs() < Decimal("1E+126"):
        return False
    return len("".join(map(str, d.as_tuple().digits)).strip("0")) <= 38


numbers = st.one_of(
    st.integers(-(10**40), 10**40),
    st.sampled_from([10**38 - 1, 10**38, -(10**38), 10**38 * 10, 0, True, False]),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(
        lambda digits, exp: Decimal(f"{digits}E{exp}"),
        st.integers(1, 10**45),
        st.integers(-175, 130),
    ),
)


@settings(max_examples=2000, deadline=None)
@given(numbers)
def test_number_text_is_the_full_check(value: int | Decimal) -> None:
    from streamkit.write_checks import representable

    d = value if isinstance(value, Decimal) else Decimal(value)
    if isinstance(value, Decimal):
        assert representable(value) == _reference_representable(value)
    if _reference_representable(d):
        assert number_text(value) == str(d)
    else:
        with pytest.raises(PermanentError):
            number_text(value)
