"""KPL de-aggregation edge cases (spec 6)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from aws_kinesis_agg.deaggregator import deaggregate_records

import streamkit
from streamkit.kpl import MAGIC, KplCorruptError, deaggregate, is_aggregated
from streamkit.testing import kinesis_event, kpl_aggregate


def frame(body: bytes) -> bytes:
    """MAGIC + protobuf body + MD5(body): a well-formed envelope around any body."""
    return MAGIC + body + hashlib.md5(body).digest()


def test_plain_data_is_not_aggregated() -> None:
    assert deaggregate(b'{"a": 1}') is None
    assert not is_aggregated(b"")
    assert is_aggregated(MAGIC + b"x")


def test_mixed_batch_of_aggregated_and_plain_records_keeps_order() -> None:
    """Spec 6.1/6.3: one Lambda record per Kinesis record; user records numbered."""
    agg1 = kpl_aggregate([("u1", b"a", None), ("u2", b"b", None)])
    agg2 = kpl_aggregate([("u3", b"c", None)])
    event = kinesis_event([b"plain-0", agg1, b"plain-2", agg2])
    records = streamkit.decode_event(event)
    assert [(r.data, r.sub_sequence_number, r.aggregated) for r in records] == [
        (b"plain-0", 0, False),
        (b"a", 0, True),
        (b"b", 1, True),
        (b"plain-2", 0, False),
        (b"c", 0, True),
    ]
    seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    assert [r.sequence_number for r in records] == [seqs[0], seqs[1], seqs[1], seqs[2], seqs[3]]
    assert [r.partition_key for r in records] == ["pk-0", "u1", "u2", "pk-2", "u3"]
    assert len({r.id for r in records}) == 5


def test_explicit_hash_keys_come_from_the_table() -> None:
    blob = kpl_aggregate(
        [("a", b"1", "170141183460469231731687303715884105728"), ("b", b"2", None)]
    )
    first, second = streamkit.decode_event(kinesis_event([blob]))
    assert first.explicit_hash_key == "170141183460469231731687303715884105728"
    assert second.explicit_hash_key is None
    # the reference library reports the first table entry for the second one
    ref = deaggregate_records(kinesis_event([blob])["Records"])
    assert ref[1]["kinesis"]["explicitHashKey"] == "170141183460469231731687303715884105728"


def test_empty_aggregate_yields_no_user_records() -> None:
    """A valid aggregate with zero user records carries no data: nothing to handle."""
    assert deaggregate(frame(b"")) == []
    result = streamkit.run_batch(kinesis_event([frame(b""), b"{}"]), lambda r: None, metrics=False)
    assert result.counts.kinesis_records == 2
    assert result.counts.received == 1


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (MAGIC + b"\x00" * 5, "shorter than magic"),
        (MAGIC + b"\x0a\x01a" + b"\x00" * 16, "MD5"),
        (frame(b"\x0a\x05ab"), "malformed"),  # length runs past the end
        (frame(b"\x1a\x02\x08\x00"), "malformed"),  # record without required data
        (frame(b"\x1a\x04\x08\x00\x1a\x00"), "partition key index 0 outside a table of 0"),
        (frame(b"\x0a\x01a\x1a\x06\x08\x00\x10\x03\x1a\x00"), "explicit hash key index 3"),
        (frame(b"\x0a\x02\xff\xfe\x1a\x04\x08\x00\x1a\x00"), "not UTF-8"),
    ],
)
def test_corrupt_aggregates_raise_with_a_reason(blob: bytes, message: str) -> None:
    with pytest.raises(KplCorruptError, match=message) as info:
        deaggregate(blob)
    assert info.value.reason == "kpl_corrupt"


def test_aws_kinesis_agg_passes_a_bad_md5_aggregate_through_but_we_flag_it() -> None:
    blob = bytearray(kpl_aggregate([("a", b"payload", None)]))
    blob[-1] ^= 1
    event = kinesis_event([bytes(blob)])
    [ref] = deaggregate_records(event["Records"])
    assert "subSequenceNumber" not in ref["kinesis"]  # reference: silently "not aggregated"
    [record] = streamkit.decode_event(event)
    assert record.error is not None and record.error.reason == "kpl_corrupt"


def test_unpadded_base64_aggregate_is_still_expanded() -> None:
    blob = kpl_aggregate([("a", b"x", None), ("b", b"yy", None)])
    event = kinesis_event([blob])
    text = base64.b64encode(blob).decode().rstrip("=")
    event["Records"][0]["kinesis"]["data"] = text
    records = streamkit.decode_event(event)
    assert [r.data for r in records] == [b"x", b"yy"]


def test_unknown_fields_and_tags_are_skipped() -> None:
    # Record with a Tag (field 4) and an unknown varint field 7 in the aggregate.
    tag = b"\x0a\x01k\x12\x01v"
    record = b"\x08\x00\x1a\x03abc\x22" + bytes([len(tag)]) + tag
    body = b"\x0a\x02pk" + b"\x1a" + bytes([len(record)]) + record + b"\x38\x05"
    assert deaggregate(frame(body)) == [("pk", None, b"abc")]
