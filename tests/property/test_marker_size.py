"""The planner's item checks add the stand-in markers' wire size instead of
serialising them per record: the same size, so the same verdict, as checking the item
with the markers merged in (as the checks did before, and as the sink writes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from streamkit.errors import PermanentError
from streamkit.plan_aggregates import _MARKERS, _MARKERS_SIZE, _check_aggregate_item
from streamkit.spec import Aggregate
from streamkit.write_checks import ITEM_HEADROOM_BYTES, attribute_values, check_item, item_size

scalars = st.one_of(
    st.text(max_size=30),
    st.integers(-(10**20), 10**20),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.binary(max_size=20),
    st.booleans(),
)
values = st.recursive(
    scalars, lambda inner: st.dictionaries(st.text(max_size=8), inner, max_size=4)
)
names = st.one_of(st.text(min_size=1, max_size=12), st.sampled_from(sorted(_MARKERS)))


@settings(max_examples=300, deadline=None)
@given(
    item=st.dictionaries(names, values, max_size=8),
    pk_size=st.integers(1, 2100),
    big=st.integers(0, 420_000),
)
@example(  # found by CI: a number DynamoDB cannot store refuses the item on both paths
    item={"0": {}, "00": Decimal("100000000000000000000000000000000000.001")}, pk_size=1, big=0
)
def test_the_markers_size_is_added_exactly(item: dict[str, Any], pk_size: int, big: int) -> None:
    item = {**item, "pk": "p" * pk_size, "sk": "s", "blob": b"x" * big}

    def verdict(check: Any) -> str | None:
        try:
            check()
        except PermanentError as e:
            return str(e)
        return None

    agg = Aggregate("a")
    # as the checks did before: the markers merged in, the whole item serialised
    before = verdict(
        lambda: check_item(
            attribute_values({**item, **_MARKERS}),
            "aggregate 'a' item",
            headroom=ITEM_HEADROOM_BYTES,
        )
    )
    assert verdict(lambda: _check_aggregate_item(agg, item)) == before
    if before is None or "exceeds DynamoDB's 409600-byte item" in before:  # serialisable
        merged = attribute_values({**item, **_MARKERS})
        alone = attribute_values({k: v for k, v in item.items() if k not in _MARKERS})
        assert item_size(merged) == item_size(alone) + _MARKERS_SIZE
    print(f"refused={before is not None} ({(before or '')[:40]})")


def test_a_number_out_of_range_is_still_refused() -> None:
    with pytest.raises(PermanentError, match="outside DynamoDB's range"):
        _check_aggregate_item(Aggregate("a"), {"pk": "p", "sk": "s", "sum": Decimal("1E+130")})
