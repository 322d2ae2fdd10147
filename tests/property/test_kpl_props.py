"""KPL de-aggregation agrees with aws_kinesis_agg (issue 2, test d; spec 6.2-6.4)."""

from __future__ import annotations

import base64

from aws_kinesis_agg.deaggregator import deaggregate_records
from hypothesis import given, settings
from hypothesis import strategies as st

import streamkit
from streamkit.kpl import KplCorruptError, deaggregate
from streamkit.testing import kinesis_event, kpl_aggregate
from streamkit.testing.strategies import user_records


@settings(max_examples=300)
@given(user_records(max_size=30).filter(bool))
def test_d_round_trip_agrees_with_aws_kinesis_agg(
    users: list[tuple[str, bytes, str | None]],
) -> None:
    """Aggregates built by aws_kinesis_agg's own aggregator decode to the same user
    records, byte for byte, as aws_kinesis_agg.deaggregate_records gives."""
    blob = kpl_aggregate(users)
    event = kinesis_event([blob])
    ours = streamkit.decode_event(event)
    theirs = deaggregate_records(event["Records"])

    assert len(ours) == len(theirs) == len(users)
    any_ehk = any(ehk for _, _, ehk in users)
    for sub, (mine, ref, (pk, data, ehk)) in enumerate(zip(ours, theirs, users, strict=True)):
        k = ref["kinesis"]
        assert mine.data == base64.b64decode(k["data"]) == data
        assert mine.partition_key == k["partitionKey"] == pk
        assert mine.sub_sequence_number == k["subSequenceNumber"] == sub
        assert mine.sequence_number == k["sequenceNumber"]
        assert mine.approximate_arrival_timestamp == k["approximateArrivalTimestamp"]
        assert mine.aggregated and k["aggregated"]
        assert mine.error is None
        # Explicit hash keys: ours are always the producer's. aws_kinesis_agg reads an
        # unset index as 0, so it reports the table's first key for a user record that
        # had none whenever any other record of the aggregate had one (documented in
        # streamkit.kpl).
        assert mine.explicit_hash_key == ehk
        if ehk is not None or not any_ehk:
            assert k["explicitHashKey"] == ehk


@settings(max_examples=200)
@given(user_records(max_size=10).filter(bool), st.data())
def test_any_single_byte_corruption_is_detected(
    users: list[tuple[str, bytes, str | None]], data: st.DataObject
) -> None:
    """A flipped byte after the magic is never decoded as valid user records."""
    blob = bytearray(kpl_aggregate(users))
    i = data.draw(st.integers(4, len(blob) - 1))
    blob[i] ^= data.draw(st.integers(1, 255))
    try:
        result = deaggregate(bytes(blob))
    except KplCorruptError:
        return
    raise AssertionError(f"corruption at byte {i} went unnoticed: {result!r}")


@given(user_records(max_size=10).filter(bool), st.data())
def test_truncation_is_always_corrupt_never_silent(
    users: list[tuple[str, bytes, str | None]], data: st.DataObject
) -> None:
    blob = kpl_aggregate(users)
    cut = data.draw(st.integers(4, len(blob) - 1))
    event = kinesis_event([blob[:cut]])
    [record] = streamkit.decode_event(event)
    assert record.error is not None
    assert record.error.reason == "kpl_corrupt"
    assert record.data == blob[:cut]
