"""Hypothesis strategies for Kinesis batches, outcomes and KPL aggregates.

Example::

    from hypothesis import given
    from streamkit.testing.strategies import outcomes_and_payloads

    @given(outcomes_and_payloads())
    def test_my_handler(case):
        kinds, payloads = case
        ...
"""

from __future__ import annotations

import orjson
from hypothesis import strategies as st

#: What a record handler does with one record.
OUTCOMES = ("ok", "permanent", "transient")


@st.composite
def outcomes_and_payloads(draw: st.DrawFn, max_records: int = 25) -> tuple[list[str], list[bytes]]:
    """A batch of JSON payloads ``{"n": i}`` and the outcome each should have.

    Transient failures are kept rarer than successes so that batches with several
    failures, and with none, both show up.
    """
    kinds = draw(
        st.lists(
            st.sampled_from(OUTCOMES * 1 + ("ok",) * 3),
            min_size=0,
            max_size=max_records,
        )
    )
    payloads = [orjson.dumps({"n": i}) for i in range(len(kinds))]
    return kinds, payloads


#: Partition keys as the KPL sees them: non-empty unicode strings up to 256 chars.
partition_keys = st.text(min_size=1, max_size=40)

#: Explicit hash keys: decimal strings of a 128-bit integer, or None.
explicit_hash_keys = st.one_of(st.none(), st.integers(0, 2**128 - 1).map(str))


def user_records(max_size: int = 20) -> st.SearchStrategy[list[tuple[str, bytes, str | None]]]:
    """Lists of (partition key, payload, explicit hash key) for one KPL aggregate."""
    return st.lists(
        st.tuples(partition_keys, st.binary(max_size=300), explicit_hash_keys),
        max_size=max_size,
    )
