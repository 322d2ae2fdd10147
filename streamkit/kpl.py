"""KPL de-aggregation in the aws-kinesis-agg wire format (spec 6.2).

An aggregated Kinesis record is ``MAGIC + protobuf(AggregatedRecord) + MD5(protobuf)``.
This module parses it directly: a small hand-written protobuf reader that avoids
the protobuf runtime on the Lambda import path and skips re-encoding each user
record to base64 (what ``aws_kinesis_agg`` does), which is what makes it several
times faster. Tests check it against ``aws_kinesis_agg`` on aggregates built
with that library's own aggregator.

Unlike ``aws_kinesis_agg``, a record that starts with the magic but fails the MD5
check or does not parse raises :class:`KplCorruptError`; the caller turns it into a
dead letter with reason ``kpl_corrupt`` instead of passing it on or dropping data.

Example::

    >>> from streamkit.kpl import deaggregate, MAGIC
    >>> deaggregate(b"plain")  is None       # not aggregated
    True
"""

from __future__ import annotations

from hashlib import md5

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
    try:
        return _parse_aggregate(body)
    except KplCorruptError:
        raise
    except (IndexError, UnicodeDecodeError) as e:
        raise KplCorruptError(f"aggregate protobuf is malformed: {e}") from e


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; return (value, next position)."""
    result = 0
    shift = 0
    while True:
        b = buf[pos]  # IndexError on truncation, reported as corrupt by the caller
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise KplCorruptError("varint longer than 10 bytes")


def _skip(buf: bytes, pos: int, wire_type: int, end: int) -> int:
    """Skip an unknown field's value (protobuf forward compatibility)."""
    if wire_type == 0:
        return _varint(buf, pos)[1]
    if wire_type == 2:
        length, pos = _varint(buf, pos)
        pos += length
    elif wire_type == 1:
        pos += 8
    elif wire_type == 5:
        pos += 4
    else:
        raise KplCorruptError(f"unsupported protobuf wire type {wire_type}")
    if pos > end:
        raise KplCorruptError("field runs past the end of its message")
    return pos


def _parse_aggregate(buf: bytes) -> list[UserRecord]:
    # AggregatedRecord: 1 = partition_key_table (string), 2 = explicit_hash_key_table
    # (string), 3 = records (Record). Single-byte tags/lengths are the common case
    # and are read inline; anything longer goes through _varint.
    n = len(buf)
    pos = 0
    pks: list[str] = []
    ehks: list[str] = []
    spans: list[tuple[int, int]] = []
    while pos < n:
        tag = buf[pos]
        pos += 1
        if tag & 0x80:
            tag, pos = _varint(buf, pos - 1)
        if tag & 7 != 2:
            pos = _skip(buf, pos, tag & 7, n)
            continue
        length = buf[pos]
        pos += 1
        if length & 0x80:
            length, pos = _varint(buf, pos - 1)
        end = pos + length
        if end > n:
            raise KplCorruptError("length-delimited field runs past the end of the aggregate")
        field = tag >> 3
        if field == 3:
            spans.append((pos, end))
        elif field == 1:
            pks.append(buf[pos:end].decode("utf-8"))
        elif field == 2:
            ehks.append(buf[pos:end].decode("utf-8"))
        pos = end

    out: list[UserRecord] = []
    npk = len(pks)
    nehk = len(ehks)
    for start, end in spans:
        # Record: 1 = partition_key_index (required), 2 = explicit_hash_key_index,
        # 3 = data (required), 4 = tags (ignored).
        pk_index = -1
        ehk_index = -1
        payload: bytes | None = None
        pos = start
        while pos < end:
            tag = buf[pos]
            pos += 1
            if tag & 0x80:
                tag, pos = _varint(buf, pos - 1)
            if tag == 0x1A:  # field 3, length-delimited: data
                length = buf[pos]
                pos += 1
                if length & 0x80:
                    length, pos = _varint(buf, pos - 1)
                if pos + length > end:
                    raise KplCorruptError("user record data runs past its record")
                payload = buf[pos : pos + length]
                pos += length
            elif tag == 0x08:  # field 1, varint: partition key index
                pk_index = buf[pos]
                pos += 1
                if pk_index & 0x80:
                    pk_index, pos = _varint(buf, pos - 1)
            elif tag == 0x10:  # field 2, varint: explicit hash key index
                ehk_index = buf[pos]
                pos += 1
                if ehk_index & 0x80:
                    ehk_index, pos = _varint(buf, pos - 1)
            else:
                pos = _skip(buf, pos, tag & 7, end)
        if pos != end:
            raise KplCorruptError("user record overruns its length")
        if payload is None or pk_index < 0:
            raise KplCorruptError(f"user record {len(out)} lacks a required field")
        if pk_index >= npk:
            raise KplCorruptError(
                f"user record {len(out)}: partition key index {pk_index} outside a table of {npk}"
            )
        if ehk_index >= nehk:
            raise KplCorruptError(
                f"user record {len(out)}: explicit hash key index {ehk_index} "
                f"outside a table of {nehk}"
            )
        out.append((pks[pk_index], ehks[ehk_index] if ehk_index >= 0 else None, payload))
    return out
