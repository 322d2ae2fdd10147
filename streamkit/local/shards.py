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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: (shard id, sequence number, ApproximateArrivalTimestamp from Kinesis) -> the
#: arrival time the simulator should use. Replays map records back to the arrival
#: times of the capture they came from.
ArrivalOverride = Callable[[str, str, float], float]


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


@dataclass(slots=True)
class ReadResult:
    records: list[StreamRecord]
    ended: bool
    millis_behind: int | None
    child_shard_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class _Cursor:
    iterator: str | None
    last_sequence: str | None = None
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
        desc = self.client.describe_stream_summary(StreamName=self.stream_name)
        return str(desc["StreamDescriptionSummary"]["StreamARN"])

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

    def open(self, shard_id: str, position: str, *, timestamp: float | None = None) -> None:
        """Start reading ``shard_id`` at TRIM_HORIZON, LATEST or AT_TIMESTAMP."""
        kwargs: dict[str, Any] = {
            "StreamName": self.stream_name,
            "ShardId": shard_id,
            "ShardIteratorType": position,
        }
        if position == "AT_TIMESTAMP":
            kwargs["Timestamp"] = timestamp
        it = self.client.get_shard_iterator(**kwargs)["ShardIterator"]
        self._cursors[shard_id] = _Cursor(it)

    def is_open(self, shard_id: str) -> bool:
        return shard_id in self._cursors

    def read(self, shard_id: str, info: ShardInfo | None = None) -> ReadResult:
        """The next records of ``shard_id`` (possibly none); ``ended`` at a closed end."""
        cur = self._cursors[shard_id]
        if cur.ended or cur.iterator is None:
            return ReadResult([], True, 0, cur.children)
        self.get_records_calls += 1
        try:
            resp = self.client.get_records(ShardIterator=cur.iterator, Limit=self.read_limit)
        except self.client.exceptions.ExpiredIteratorException:
            # Iterators expire after 5 minutes (spec 7.3): resume after the last record.
            self._reopen_after(shard_id, cur)
            resp = self.client.get_records(ShardIterator=cur.iterator, Limit=self.read_limit)
        override = self.arrival_override
        records = []
        for r in resp.get("Records", ()):
            ts = r["ApproximateArrivalTimestamp"]
            arrival = ts if type(ts) is float else epoch_seconds(ts)
            seq = r["SequenceNumber"]
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
        return ReadResult(records, ended, resp.get("MillisBehindLatest"), cur.children)

    def _reopen_after(self, shard_id: str, cur: _Cursor) -> None:
        kwargs: dict[str, Any] = {"StreamName": self.stream_name, "ShardId": shard_id}
        if cur.last_sequence is None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            kwargs["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            kwargs["StartingSequenceNumber"] = cur.last_sequence
        cur.iterator = self.client.get_shard_iterator(**kwargs)["ShardIterator"]
