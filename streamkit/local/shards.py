"""Reading a Kinesis stream shard by shard, the way Lambda's poller does.

Everything goes through boto3 (ListShards, GetShardIterator, GetRecords) against
whatever endpoint the client points at: the embedded moto server, kinesis-local,
or a real account. Read with a client from
``streamkit.local.aws.aws_clients(numeric_timestamps=True)``: arrival timestamps then
stay epoch numbers, and converting botocore's datetimes back would cost more than the
rest of a record.

End of a closed shard (spec 4.10, 7.3): real Kinesis and kinesis-local return a
null ``NextShardIterator`` (with ``ChildShards``) once a closed shard is exhausted.
moto never does, so a closed shard also counts as ended once a read reaches its
``EndingSequenceNumber`` and the next read is empty.

Failed reads (spec 7.9): the errors Lambda's poller retries
(:data:`RETRIED_READ_ERRORS`: throttling, expired iterators, KMS errors, trimmed
data, internal failures) never raise out of :meth:`KinesisShardReader.read`; the
result carries the error code instead and the caller backs off. An expired iterator
is re-acquired on the next read right after the last record read (the reader's
checkpoint: everything before it is already with the caller); one that was never
read from starts again where it was opened (a LATEST iterator at the time it was
first issued, as AT_TIMESTAMP). Trimmed data restarts the cursor at TRIM_HORIZON
(what retention left), skipping records up to the last one read (an emulator that
does not trim would give them again).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from botocore.exceptions import ClientError

#: (shard id, sequence number, ApproximateArrivalTimestamp from Kinesis) -> the
#: arrival time the simulator should use. Replays map records back to the arrival
#: times of the capture they came from.
ArrivalOverride = Callable[[str, str, float], float]


#: Read errors Lambda's poller backs off from and retries, never failing the mapping
#: (spec 7.9). ``TrimmedDataAccessException`` is not in botocore's Kinesis model: it
#: arrives as a plain ClientError code.
RETRIED_READ_ERRORS: Final = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ExpiredIteratorException",
        "TrimmedDataAccessException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "KMSAccessDeniedException",
        "KMSNotFoundException",
        "KMSOptInRequired",
        "KMSThrottlingException",
        "InternalFailureException",
    }
)
#: Read errors that mean the caller read too fast (spec 7.2).
THROTTLING_READ_ERRORS: Final = frozenset({"ProvisionedThroughputExceededException"})


def epoch_seconds(value: Any) -> float:
    """A Kinesis timestamp (epoch number, ISO string or datetime) as epoch seconds."""
    if isinstance(value, int | float):
        return float(value)
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    from botocore.utils import parse_timestamp

    return float(parse_timestamp(value).timestamp())


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One Kinesis record as GetRecords returns it."""

    shard_id: str
    sequence_number: str
    data: bytes
    partition_key: str
    arrival: float
    explicit_hash_key: str | None = None
    encryption_type: str | None = None

    @property
    def seq(self) -> int:
        return int(self.sequence_number)


@dataclass(frozen=True, slots=True)
class ShardInfo:
    shard_id: str
    parent_ids: tuple[str, ...]
    ending_sequence_number: str | None  # None while the shard is open

    @property
    def closed(self) -> bool:
        return self.ending_sequence_number is not None


@dataclass(frozen=True, slots=True)
class StreamSummary:
    """What the simulator needs to know about a stream (DescribeStreamSummary)."""

    arn: str
    retention_hours: int
    #: StreamCreationTimestamp as epoch seconds: a re-created stream is another stream.
    created: float


@dataclass(slots=True)
class ReadResult:
    records: list[StreamRecord]
    ended: bool
    millis_behind: int | None
    child_shard_ids: tuple[str, ...] = ()
    #: Bytes of the records returned (data and partition keys), for read limits.
    size: int = 0
    #: The code of a retried read error (:data:`RETRIED_READ_ERRORS`): nothing was read.
    error: str | None = None


@dataclass(slots=True)
class _Cursor:
    #: None until (re)acquired: the next read calls GetShardIterator first.
    iterator: str | None
    #: Where the cursor was opened: the iterator type, its timestamp, and the time a
    #: LATEST iterator was first asked for (to re-acquire it as AT_TIMESTAMP).
    origin: str = "TRIM_HORIZON"
    origin_timestamp: float | None = None
    last_sequence: str | None = None
    #: Re-acquire at TRIM_HORIZON (after TrimmedDataAccessException), skipping
    #: records up to ``last_sequence``.
    from_trim_horizon: bool = False
    ended: bool = False
    children: tuple[str, ...] = field(default_factory=tuple)


class KinesisShardReader:
    """Sequential reader of one stream's shards through a boto3 Kinesis client."""

    def __init__(
        self,
        client: Any,
        stream_name: str,
        *,
        arrival_override: ArrivalOverride | None = None,
        read_limit: int = 10_000,
    ) -> None:
        self.client = client
        self.stream_name = stream_name
        self.arrival_override = arrival_override
        self.read_limit = read_limit
        self._cursors: dict[str, _Cursor] = {}
        self.get_records_calls = 0

    def stream_arn(self) -> str:
        return self.summary().arn

    def summary(self) -> StreamSummary:
        desc = self.client.describe_stream_summary(StreamName=self.stream_name)
        d = desc["StreamDescriptionSummary"]
        created = d.get("StreamCreationTimestamp")
        return StreamSummary(
            str(d["StreamARN"]),
            int(d.get("RetentionPeriodHours", 24)),
            epoch_seconds(created) if created is not None else 0.0,
        )

    def shards(self) -> list[ShardInfo]:
        out: list[ShardInfo] = []
        kwargs: dict[str, Any] = {"StreamName": self.stream_name}
        while True:
            page = self.client.list_shards(**kwargs)
            for s in page["Shards"]:
                parents = tuple(
                    p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p
                )
                ending = s.get("SequenceNumberRange", {}).get("EndingSequenceNumber")
                out.append(ShardInfo(s["ShardId"], parents, ending))
            token = page.get("NextToken")
            if not token:
                return out
            kwargs = {"NextToken": token}

    def open(self, shard_id: str, position: str, *, timestamp: float | None = None) -> str | None:
        """Start reading ``shard_id`` at TRIM_HORIZON, LATEST or AT_TIMESTAMP.

        The iterator is asked for now (LATEST means "after this moment"); if that
        fails with a retried error, its code is returned and the next :meth:`read`
        asks again from the same position.
        """
        if position == "LATEST":
            cur = _Cursor(None, "LATEST", time.time())
        else:
            at = timestamp if position == "AT_TIMESTAMP" else None
            cur = _Cursor(None, position, at)
        self._cursors[shard_id] = cur
        try:
            self._acquire(shard_id, cur, position)
        except ClientError as e:
            return self._retried_code(e)
        return None

    def is_open(self, shard_id: str) -> bool:
        return shard_id in self._cursors

    def read(self, shard_id: str, info: ShardInfo | None = None) -> ReadResult:
        """The next records of ``shard_id`` (possibly none); ``ended`` at a closed end."""
        cur = self._cursors[shard_id]
        if cur.ended:
            return ReadResult([], True, 0, cur.children)
        try:
            if cur.iterator is None:
                self._acquire(shard_id, cur, None)
            self.get_records_calls += 1
            resp = self.client.get_records(ShardIterator=cur.iterator, Limit=self.read_limit)
        except ClientError as e:
            code = self._retried_code(e)
            if code == "ExpiredIteratorException":
                # Iterators expire after 5 minutes (spec 7.3): re-acquire after the last
                # record read, on the next read.
                cur.iterator = None
            elif code == "TrimmedDataAccessException":
                # The position is past retention: what is left starts at TRIM_HORIZON.
                cur.iterator, cur.from_trim_horizon = None, True
            return ReadResult([], False, None, cur.children, error=code)
        override = self.arrival_override
        records = []
        size = 0
        raw = resp.get("Records", ())
        behind = resp.get("MillisBehindLatest")
        if cur.from_trim_horizon and cur.last_sequence is not None and raw:
            done = int(cur.last_sequence)
            raw = [r for r in raw if int(r["SequenceNumber"]) > done]
            if not raw:
                behind = max(behind or 0, 1)  # only records read before: not at the tip
        for r in raw:
            ts = r["ApproximateArrivalTimestamp"]
            arrival = ts if type(ts) is float else epoch_seconds(ts)
            seq = r["SequenceNumber"]
            size += len(r["Data"]) + len(r["PartitionKey"])
            if override is not None:
                arrival = override(shard_id, seq, arrival)
            records.append(
                StreamRecord(
                    shard_id,
                    seq,
                    bytes(r["Data"]),
                    r["PartitionKey"],
                    arrival,
                    r.get("ExplicitHashKey"),
                    r.get("EncryptionType"),
                )
            )
        if records:
            cur.last_sequence = records[-1].sequence_number
            cur.from_trim_horizon = False  # past what was read before the trim
        cur.iterator = resp.get("NextShardIterator")
        children = tuple(c["ShardId"] for c in resp.get("ChildShards") or ())
        if children:
            cur.children = children
        ended = cur.iterator is None
        if not ended and not records and info is not None and info.closed:
            # moto: a closed shard never returns a null iterator; it has ended once
            # everything up to its EndingSequenceNumber has been read.
            last = cur.last_sequence
            ending = info.ending_sequence_number
            ended = ending is not None and (last is None or int(last) >= int(ending))
        cur.ended = ended
        return ReadResult(records, ended, behind, cur.children, size)

    def _acquire(self, shard_id: str, cur: _Cursor, position: str | None) -> None:
        """GetShardIterator for ``cur``: at ``position`` when opening, else after the
        last record read, or where the cursor was opened if nothing was read."""
        kwargs: dict[str, Any] = {"StreamName": self.stream_name, "ShardId": shard_id}
        if cur.from_trim_horizon:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        elif position is not None:
            kwargs["ShardIteratorType"] = position
            if position == "AT_TIMESTAMP":
                kwargs["Timestamp"] = cur.origin_timestamp
        elif cur.last_sequence is not None:
            kwargs["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            kwargs["StartingSequenceNumber"] = cur.last_sequence
        elif cur.origin in ("LATEST", "AT_TIMESTAMP"):
            # A LATEST iterator asked for again is "after the moment it was first
            # asked for": AT_TIMESTAMP of that moment, so nothing written since is lost.
            kwargs["ShardIteratorType"] = "AT_TIMESTAMP"
            kwargs["Timestamp"] = cur.origin_timestamp
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        cur.iterator = self.client.get_shard_iterator(**kwargs)["ShardIterator"]

    @staticmethod
    def _retried_code(error: ClientError) -> str:
        """The error's code if Lambda's poller retries it (spec 7.9); else re-raise."""
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code not in RETRIED_READ_ERRORS:
            raise error
        return code
