"""Records: one Kinesis user record with its identity, and decoding of Lambda events.

:func:`iter_records` turns a Lambda Kinesis event (spec 1.1) into :class:`Record`
objects in the event's order, which Lambda guarantees is shard order (spec 1.1.2),
de-aggregating KPL records (spec 6) on the way. A record whose payload cannot be
decoded (bad base64, corrupt aggregate) still becomes a Record, carrying its
:attr:`Record.error`, so the processor dead-letters it with its identity instead
of losing it.

Decoding is on the hot path of every batch, so a Record is a thin view over the
event's own dict: only the payload is decoded up front; identity fields are read
from the event when asked for.

:func:`batch_bounds` gives a batch's identity and bounds (stream, shard, first and
last sequence numbers, last arrival) from the raw event without decoding any
payload: the one place they are read for logs, metrics, ledger keys and retries.

Example::

    from streamkit import decode_event

    for record in decode_event(event):
        print(record.id, record.partition_key, record.json())
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pybase64

from streamkit.codecs import BIG_INT_RUN, DIGITS_AS_ZERO, b64decode, decode_json, decode_text
from streamkit.errors import DecodeError, InvalidEventError
from streamkit.kpl import MAGIC, KplCorruptError, deaggregate

_MISSING: Any = object()
_orjson_loads, _JSONDecodeError = orjson.loads, orjson.JSONDecodeError


class Record:
    """One Kinesis user record as seen by a Lambda consumer.

    Identity is (shard, sequence number, sub-sequence number). A plain record has
    sub-sequence number 0; the user records of a KPL aggregate share their parent's
    sequence number and are numbered 0, 1, 2, ... (spec 6.3).

    Build one by hand with :meth:`Record.create`; records of a Lambda event come
    from :func:`decode_event`.
    """

    __slots__ = (
        "_doc",
        "_ehk",
        "_kin",
        "_pk",
        "_rec",
        "aggregated",
        "data",
        "error",
        "sub_sequence_number",
    )

    data: bytes
    sub_sequence_number: int
    aggregated: bool
    error: DecodeError | None

    def __init__(
        self,
        rec: Mapping[str, Any],
        kin: Mapping[str, Any],
        data: bytes,
        sub_sequence_number: int = 0,
        partition_key: str | None = None,
        explicit_hash_key: str | None = None,
        aggregated: bool = False,
        error: DecodeError | None = None,
    ) -> None:
        # rec/kin: the event record and its "kinesis" object; partition_key and
        # explicit_hash_key override the event's for KPL user records.
        self._rec = rec
        self._kin = kin
        self.data = data
        self.sub_sequence_number = sub_sequence_number
        self._pk = partition_key
        self._ehk = explicit_hash_key
        self.aggregated = aggregated
        self.error = error
        self._doc = _MISSING

    @classmethod
    def create(
        cls,
        data: bytes,
        *,
        sequence_number: str,
        sub_sequence_number: int = 0,
        shard_id: str = "shardId-000000000000",
        partition_key: str = "pk",
        explicit_hash_key: str | None = None,
        arrival: float | datetime = 0.0,
        event_source_arn: str = "",
    ) -> Record:
        """A record built by hand (tests, tools), with the same identity rules."""
        ts = parse_timestamp(arrival)
        kin: dict[str, Any] = {
            "sequenceNumber": sequence_number,
            "partitionKey": partition_key,
            "approximateArrivalTimestamp": ts,
        }
        if explicit_hash_key is not None:
            kin["explicitHashKey"] = explicit_hash_key
        rec = {
            "kinesis": kin,
            "eventID": f"{shard_id}:{sequence_number}",
            "eventSourceARN": event_source_arn,
        }
        return cls(
            rec,
            kin,
            data,
            sub_sequence_number,
            partition_key,
            explicit_hash_key,
            sub_sequence_number > 0,
        )

    @property
    def sequence_number(self) -> str:
        """The Kinesis sequence number (a decimal string; shared by KPL user records)."""
        seq = self._kin.get("sequenceNumber")
        # isascii: str.isdigit() also accepts superscripts and other scripts' digits
        if type(seq) is not str or not (seq.isascii() and seq.isdigit()):
            raise InvalidEventError(
                f"kinesis.sequenceNumber must be a decimal string, got {seq!r} "
                f"(eventID {self._rec.get('eventID')!r})"
            )
        return seq

    @property
    def shard_id(self) -> str:
        """``shardId-NNNNNNNNNNNN``, from the eventID (spec 1.1.2)."""
        event_id = self._rec.get("eventID")
        if isinstance(event_id, str) and ":" in event_id:
            return event_id.partition(":")[0]
        shard = self._rec.get("shardId")
        return shard if isinstance(shard, str) and shard else "shardId-unknown"

    @property
    def partition_key(self) -> str:
        if self._pk is not None:
            return self._pk
        pk = self._kin.get("partitionKey")
        return pk if isinstance(pk, str) else ("" if pk is None else str(pk))

    @property
    def explicit_hash_key(self) -> str | None:
        if self.aggregated:
            return self._ehk
        ehk = self._kin.get("explicitHashKey")
        return ehk if isinstance(ehk, str) else None

    @property
    def approximate_arrival_timestamp(self) -> float:
        """Arrival time in epoch seconds.

        Raises DecodeError (reason ``malformed_record``, so the record is
        dead-lettered if a handler needs it) when the event's value is unusable.
        """
        value = self._kin.get("approximateArrivalTimestamp")
        if type(value) is float and _MIN_TS <= value <= _MAX_TS:
            return value
        try:
            return parse_timestamp(value)
        except ValueError:
            raise DecodeError(
                f"kinesis.approximateArrivalTimestamp is not a timestamp: {value!r}",
                reason="malformed_record",
            ) from None

    @property
    def raw_arrival_timestamp(self) -> Any:
        """The event's ``approximateArrivalTimestamp`` as given, even when unusable
        (a dead letter keeps it: it may be the very reason for the dead letter)."""
        return self._kin.get("approximateArrivalTimestamp")

    @property
    def arrival_time(self) -> datetime:
        """ApproximateArrivalTimestamp as a timezone-aware UTC datetime."""
        return datetime.fromtimestamp(self.approximate_arrival_timestamp, UTC)  # in range

    @property
    def event_source_arn(self) -> str:
        arn = self._rec.get("eventSourceARN")
        return arn if isinstance(arn, str) else ""

    @property
    def stream_name(self) -> str:
        """The stream's name, from the event source ARN ("" when the event has none)."""
        return self.event_source_arn.rpartition("/")[2]

    @property
    def encryption_type(self) -> str | None:
        enc = self._kin.get("encryptionType")
        return enc if isinstance(enc, str) else None

    @property
    def id(self) -> str:
        """Stable idempotency key: ``<stream>/<shard>/<sequence>/<sub-sequence>``.

        The same user record gets the same id on every delivery and retry.
        """
        return (
            f"{self.stream_name}/{self.shard_id}/{self.sequence_number}/{self.sub_sequence_number}"
        )

    @property
    def position(self) -> tuple[int, int]:
        """(sequence number, sub-sequence number) as integers, for ordering."""
        return int(self.sequence_number), self.sub_sequence_number

    def json(self) -> Any:
        """The payload parsed as JSON (gzip/zlib inflated first); cached.

        Raises :class:`~streamkit.errors.DecodeError` (reason ``bad_json``, ...),
        which the batch processor dead-letters.
        """
        doc = self._doc
        if doc is _MISSING:
            data = self.data
            # decode_json's common case, inline (the planner's hot path)
            if BIG_INT_RUN not in data.translate(DIGITS_AS_ZERO):
                try:
                    doc = _orjson_loads(data)
                except _JSONDecodeError:
                    doc = decode_json(data)  # raises the DecodeError saying why
            else:
                doc = decode_json(data)
            self._doc = doc
        return doc

    def text(self) -> str:
        """The payload as UTF-8 text (gzip/zlib inflated first)."""
        return decode_text(self.data)

    def _identity(self) -> tuple[object, ...]:
        return (
            self.shard_id,
            self._kin.get("sequenceNumber"),
            self.sub_sequence_number,
            self.partition_key,
            self.explicit_hash_key,
            self.data,
            self.event_source_arn,
        )

    def __repr__(self) -> str:
        data = self.data[:32]
        more = "..." if len(self.data) > 32 else ""
        error = f", error={self.error!r}" if self.error else ""
        return (
            f"Record(shard_id={self.shard_id!r}, "
            f"sequence_number={self._kin.get('sequenceNumber')!r}, "
            f"sub_sequence_number={self.sub_sequence_number}, "
            f"partition_key={self.partition_key!r}, data={data!r}{more}{error})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity()[:3])


#: Timestamps streamkit accepts: 1970-01-01 up to the last second of year 9999,
#: the range a datetime can hold; anything else (inf, nan, 1e300) is malformed.
_MIN_TS = 0.0
_MAX_TS = 253_402_300_799.0


def parse_timestamp(value: object) -> float:
    """ApproximateArrivalTimestamp as epoch seconds; ValueError when unusable.

    Accepts what real events carry: an int or float (``1545084650.987``), the
    exponent form (``1.545084650987E9``, parsed to float by JSON), a numeric string,
    or an ISO 8601 string / datetime (boto3 GetRecords shape). Rejects non-finite
    and out-of-range values, so ``arrival_time`` can always be built.
    """
    ts: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        ts = float(value)
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        ts = value.timestamp()
    elif isinstance(value, str):
        try:
            ts = float(value)
        except ValueError:
            try:
                return parse_timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))
            except ValueError:
                pass
    if ts is None or not _MIN_TS <= ts <= _MAX_TS:  # also false for nan
        raise ValueError(f"not a timestamp: {value!r}")
    return ts


def decode_event(event: Mapping[str, Any]) -> list[Record]:
    """Decode a Lambda Kinesis event into Records in shard order (a list).

    Raises :class:`~streamkit.errors.InvalidEventError` naming the field when the
    event is not a Kinesis event or a record has no sequence number. Payload
    problems never raise: they are attached to the Record as ``record.error``.
    """
    return list(iter_records(event_records(event)))


@dataclass(frozen=True, slots=True)
class BatchBounds:
    """Identity and bounds of one Lambda Kinesis batch (its records come from one shard).

    Sequence numbers are the event's own values, for logs and metrics; use
    :attr:`retry_from` for one Lambda can retry from.
    """

    #: The stream's name ("" when the event has no source ARN).
    stream: str
    #: ``shardId-NNNNNNNNNNNN`` ("" for an empty batch).
    shard_id: str
    first_sequence_number: str | None
    last_sequence_number: str | None
    #: The last record's arrival time (epoch seconds), None when unusable: Lambda's
    #: IteratorAge is measured from it (spec 4.11).
    last_arrival: float | None
    _head: Record | None = field(default=None, repr=False, compare=False)

    @property
    def retry_from(self) -> str:
        """The first sequence number, validated: what a retry of the whole batch reports.

        Raises :class:`~streamkit.errors.InvalidEventError` naming the field when it is
        not a decimal string, or when the batch is empty.
        """
        if self._head is None:
            raise InvalidEventError("event.Records is empty: no sequence number to retry from")
        return self._head.sequence_number


def batch_bounds(raw_records: Sequence[Mapping[str, Any]]) -> BatchBounds:
    """The :class:`BatchBounds` of a Lambda event's ``Records`` (see :func:`event_records`)."""
    if not raw_records:
        return BatchBounds("", "", None, None, None)
    head = _identity_only(raw_records[0])
    tail = _identity_only(raw_records[-1])
    last_arrival = None
    with contextlib.suppress(DecodeError):
        last_arrival = tail.approximate_arrival_timestamp
    return BatchBounds(
        stream=head.stream_name,
        shard_id=head.shard_id,
        first_sequence_number=_raw_sequence_number(head),
        last_sequence_number=_raw_sequence_number(tail),
        last_arrival=last_arrival,
        _head=head,
    )


def _identity_only(rec: Mapping[str, Any]) -> Record:
    """A payload-less Record over an event record: its identity fields only."""
    kin = rec.get("kinesis") if isinstance(rec, Mapping) else None
    return Record(
        rec if isinstance(rec, Mapping) else {}, kin if isinstance(kin, Mapping) else {}, b""
    )


def _raw_sequence_number(record: Record) -> str | None:
    seq = record._kin.get("sequenceNumber")
    return None if seq is None else str(seq)


def check_sequence_numbers(raw_records: Iterable[Mapping[str, Any]]) -> None:
    """InvalidEventError naming the first record whose ``kinesis.sequenceNumber`` is
    missing or not a decimal string: such a record can be neither retried (it is the
    batchItemFailures identifier, spec 2.2.5) nor dead-lettered with an identity, so
    the whole event is refused before any of it is handled.
    """
    for i, rec in enumerate(raw_records):
        try:
            seq = rec["kinesis"]["sequenceNumber"]
        except Exception:
            raise InvalidEventError(
                f"Records[{i}].kinesis.sequenceNumber is missing: "
                "the record can be neither retried nor dead-lettered"
            ) from None
        # isascii: str.isdigit() also accepts superscripts and other scripts' digits
        if type(seq) is not str or not (seq.isdigit() and seq.isascii()):
            raise InvalidEventError(
                f"Records[{i}].kinesis.sequenceNumber must be a decimal string, got {seq!r}"
            )


def event_records(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``Records`` list of a Lambda Kinesis event, or InvalidEventError."""
    try:
        raw_records = event["Records"]
    except (KeyError, TypeError):
        raise InvalidEventError("event.Records is missing: not a Lambda Kinesis event") from None
    if not isinstance(raw_records, list):
        raise InvalidEventError(f"event.Records must be a list, got {type(raw_records).__name__}")
    return raw_records


def iter_records(raw_records: Iterable[Mapping[str, Any]]) -> Iterator[Record]:
    """Records of a Lambda event's ``Records`` array, KPL aggregates expanded."""
    # pybase64 (SIMD) decodes ~2x faster than binascii on 300-byte payloads and
    # ~40x on 1 MB KPL aggregates; anything it rejects gets the lenient slow path.
    b64 = pybase64.b64decode
    magic = MAGIC
    for i, rec in enumerate(raw_records):
        try:
            kin = rec["kinesis"]
            kin["sequenceNumber"]  # identity is required: checked here, read lazily
            data = b64(kin["data"], validate=True)
        except Exception:
            yield from _slow_records(i, rec)
            continue
        if data[:4] == magic:
            yield from _kpl_user_records(rec, kin, data)
        else:
            yield Record(rec, kin, data)


def iter_positioned(raw_records: Sequence[Mapping[str, Any]]) -> Iterator[tuple[Record, int]]:
    """:func:`iter_records` with each record's sequence number as an int, for
    events :func:`check_sequence_numbers` passed (the planner's loop: the record's
    position is ``(number, record.sub_sequence_number)``)."""
    b64 = pybase64.b64decode
    magic = MAGIC
    for i, rec in enumerate(raw_records):
        # iter_records' body (kept apart: one more generator layer per record costs
        # the planner more than these lines)
        kin = rec["kinesis"]
        seq = int(kin["sequenceNumber"])  # checked: ASCII digits
        try:
            data = b64(kin["data"], validate=True)
        except Exception:
            for record in _slow_records(i, rec):
                yield record, seq
            continue
        if data[:4] == magic:
            for record in _kpl_user_records(rec, kin, data):
                yield record, seq
        else:
            yield Record(rec, kin, data), seq


def _kpl_user_records(rec: Mapping[str, Any], kin: Mapping[str, Any], data: bytes) -> list[Record]:
    try:
        users = deaggregate(data) or ()
    except KplCorruptError as e:
        return [Record(rec, kin, data, 0, None, None, True, e)]
    return [
        Record(rec, kin, payload, sub, pk, ehk, True)
        for sub, (pk, ehk, payload) in enumerate(users)
    ]


def _slow_records(i: int, rec: Any) -> Iterator[Record]:
    """Records of an event record the fast path could not decode, classified."""
    kin = rec.get("kinesis") if isinstance(rec, Mapping) else None
    if not isinstance(kin, Mapping) or "sequenceNumber" not in kin:
        raise InvalidEventError(
            f"Records[{i}].kinesis.sequenceNumber is missing: "
            "the record can be neither retried nor dead-lettered"
        )
    raw = kin.get("data")
    if raw is None:
        error = DecodeError(f"Records[{i}].kinesis.data is missing", reason="malformed_record")
        yield Record(rec, kin, b"", error=error)
        return
    try:
        data = b64decode(raw)  # also accepts unpadded base64
    except DecodeError as e:
        if isinstance(raw, str):
            kept = raw.encode("utf-8", "surrogateescape")
        else:
            kept = raw if isinstance(raw, bytes) else repr(raw).encode()
        yield Record(rec, kin, kept, error=e)
        return
    if data[:4] == MAGIC:
        yield from _kpl_user_records(rec, kin, data)
    else:
        yield Record(rec, kin, data)
