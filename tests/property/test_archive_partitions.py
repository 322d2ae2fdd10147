"""Archive objects group lines by their UTC hour's partition, computed once per hour."""

from __future__ import annotations

import gzip

from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.sinks.s3 import archive_objects, partition_of

HOUR = 3600.0
T0 = 1_795_860_000.0  # 2026-11-28T08:40:00Z

event_times = st.one_of(
    st.floats(T0 - 3 * HOUR, T0 + 3 * HOUR),
    # the last and first instants of hours: the boundaries the memo must not blur
    st.integers(-3, 3).map(lambda h: (T0 // HOUR + h) * HOUR),
    st.integers(-3, 3).map(lambda h: (T0 // HOUR + h) * HOUR - 1e-6),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(event_times, min_size=1, max_size=40))
def test_lines_go_to_the_partition_of_their_own_event_time(times: list[float]) -> None:
    lines = [((1000 + i, 0), ts, b'{"i": %d}' % i) for i, ts in enumerate(times)]
    objects = archive_objects(
        lines, bucket="b", prefix="archive", stream="s", shard_id="shardId-0", consumer="c"
    )
    expected: dict[str, set[bytes]] = {}
    for _, ts, data in lines:
        expected.setdefault(partition_of(ts), set()).add(data)
    got = {
        obj.key.split("/")[1] + "/" + obj.key.split("/")[2]: set(
            gzip.decompress(obj.body).splitlines()
        )
        for obj in objects
    }
    assert got == expected
    print(f"lines={len(lines)} partitions={len(got)}")
