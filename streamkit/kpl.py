"""KPL de-aggregation in the aws-kinesis-agg wire format (spec 6.2).

An aggregated Kinesis record is ``MAGIC + protobuf(AggregatedRecord) + MD5(protobuf)``.
The protobuf is parsed by the protobuf runtime's C parser (upb), the same one
``aws_kinesis_agg`` uses; what makes streamkit several times faster is what it
skips: no per-user-record dict, no base64 re-encoding of every payload (see
``tests/benchmarks/bench_batch.py``). Tests check agreement with
``aws_kinesis_agg`` on aggregates built by that library's own aggregator.

The protobuf runtime is imported on the first aggregated record, so consumers of
plain streams never pay its import time.

Differences from ``aws_kinesis_agg``, on purpose:

* A record that starts with the magic but fails the MD5 check, is too short, or
  does not parse raises :class:`KplCorruptError`; the caller dead-letters it with
  reason ``kpl_corrupt``. ``aws_kinesis_agg`` passes such a record on as if it were
  a plain record, or prints an error and drops the rest of the aggregate.
* A user record without an explicit hash key index has no explicit hash key.
  ``aws_kinesis_agg`` reads the unset index as 0 and reports the first table entry.
* A valid aggregate holding no user records yields no records; ``aws_kinesis_agg``
  passes it on unchanged as one plain record.

Example::

    >>> from streamkit.kpl import deaggregate
    >>> deaggregate(b"plain") is None       # not aggregated
    True
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from hashlib import md5
from typing import Any

from streamkit.errors import DecodeError

MAGIC = b"\xf3\x89\x9a\xc2"
_DIGEST = 16

#: One user record: (partition key, explicit hash key or None, payload bytes).
UserRecord = tuple[str, str | None, bytes]


class KplCorruptError(DecodeError):
    """An aggregated record whose checksum or protobuf is invalid."""

    reason = "kpl_corrupt"


def is_aggregated(data: bytes) -> bool:
    """True when ``data`` starts with the KPL magic number."""
    return data[:4] == MAGIC


def deaggregate(data: bytes) -> list[UserRecord] | None:
    """User records of an aggregated record, or None when ``data`` is not aggregated.

    An aggregate with no user records returns ``[]``. Raises
    :class:`KplCorruptError` for a bad digest or malformed protobuf.
    """
    if data[:4] != MAGIC:
        return None
    if len(data) < 4 + _DIGEST:
        raise KplCorruptError(f"aggregate of {len(data)} bytes is shorter than magic + MD5")
    body = data[4:-_DIGEST]
    if md5(body, usedforsecurity=False).digest() != data[-_DIGEST:]:
        raise KplCorruptError("aggregate MD5 digest does not match its protobuf body")
    message_class, decode_error = _protobuf()
    agg = message_class()
    try:
        agg.ParseFromString(body)
    except decode_error as e:
        raise KplCorruptError(f"aggregate protobuf is malformed: {e}") from e
    if not agg.IsInitialized():  # upb does not check nested proto2 `required` fields
        missing = ", ".join(agg.FindInitializationErrors())
        raise KplCorruptError(f"aggregate protobuf is malformed: missing required {missing}")
    try:
        # Keys are declared `bytes` (wire-identical to `string`) so that invalid
        # UTF-8 is our error to classify, not a parser quirk.
        pks = [k.decode("utf-8") for k in agg.partition_key_table]
        ehks = [k.decode("utf-8") for k in agg.explicit_hash_key_table]
    except UnicodeDecodeError as e:
        raise KplCorruptError(f"aggregate key table is not UTF-8: {e}") from e
    try:
        records = agg.records
        if not ehks:  # the common case: KPL sets explicit hash keys only on request
            out: list[UserRecord] = [(pks[r.partition_key_index], None, r.data) for r in records]
            if any(r.HasField("explicit_hash_key_index") for r in records):
                raise IndexError
            return out
        return [
            (
                pks[r.partition_key_index],
                ehks[r.explicit_hash_key_index] if r.HasField("explicit_hash_key_index") else None,
                r.data,
            )
            for r in records
        ]
    except IndexError:
        raise KplCorruptError(_bad_index(agg, len(pks), len(ehks))) from None


def _bad_index(agg: Any, npk: int, nehk: int) -> str:
    for i, r in enumerate(agg.records):
        if r.partition_key_index >= npk:
            return (
                f"user record {i}: partition key index {r.partition_key_index} "
                f"outside a table of {npk}"
            )
        if r.HasField("explicit_hash_key_index") and r.explicit_hash_key_index >= nehk:
            return (
                f"user record {i}: explicit hash key index {r.explicit_hash_key_index} "
                f"outside a table of {nehk}"
            )
    return "user record key index out of range"


@cache
def _protobuf() -> tuple[Callable[[], Any], type[Exception]]:
    """The AggregatedRecord message class (spec 6.2), built on first use."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

    f = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="streamkit/kpl_aggregation.proto", package="streamkit.kpl", syntax="proto2"
    )

    def add(msg: Any, name: str, number: int, ftype: int, label: int, type_name: str = "") -> None:
        field = msg.field.add(name=name, number=number, type=ftype, label=label)
        if type_name:
            field.type_name = type_name

    agg = proto.message_type.add(name="AggregatedRecord")
    add(agg, "partition_key_table", 1, f.TYPE_BYTES, f.LABEL_REPEATED)
    add(agg, "explicit_hash_key_table", 2, f.TYPE_BYTES, f.LABEL_REPEATED)
    add(agg, "records", 3, f.TYPE_MESSAGE, f.LABEL_REPEATED, ".streamkit.kpl.Record")
    tag = proto.message_type.add(name="Tag")
    add(tag, "key", 1, f.TYPE_STRING, f.LABEL_REQUIRED)
    add(tag, "value", 2, f.TYPE_STRING, f.LABEL_OPTIONAL)
    rec = proto.message_type.add(name="Record")
    add(rec, "partition_key_index", 1, f.TYPE_UINT64, f.LABEL_REQUIRED)
    add(rec, "explicit_hash_key_index", 2, f.TYPE_UINT64, f.LABEL_OPTIONAL)
    add(rec, "data", 3, f.TYPE_BYTES, f.LABEL_REQUIRED)
    add(rec, "tags", 4, f.TYPE_MESSAGE, f.LABEL_REPEATED, ".streamkit.kpl.Tag")

    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    cls = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("streamkit.kpl.AggregatedRecord")
    )
    return cls, message.DecodeError
