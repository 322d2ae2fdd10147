"""An in-memory Kinesis stream the ESM simulator reads without HTTP.

:class:`MemoryStream` holds shards of :class:`~streamkit.local.shards.StreamRecord`
with realistic 56-digit sequence numbers (increasing per shard), routes records by
the MD5 hash of the partition key like Kinesis, and can split a shard (the parent
closes, two children continue: spec 4.10). :class:`MemoryShardReader` is a
:class:`~streamkit.local.shards.KinesisShardReader` over it, so an
:class:`~streamkit.local.esm.EventSourceMapping` built with ``reader=`` polls it
exactly as it polls a Kinesis endpoint.

Example::

    stream = MemoryStream("clicks", shards=2)
    stream.put(b'{"page": "/"}', "user-1", arrival=1_764_000_000.0)
    esm = EventSourceMapping(handler, settings, None, "clicks", reader=stream.reader())
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from streamkit.local.shards import KinesisShardReader, ReadResult, ShardInfo, StreamRecord

#: The first sequence number of shard 0 (a real one's shape: 56 digits).
FIRST_SEQUENCE = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898
_SHARD_STEP = 10**40
_HASH_SPACE = 2**128


@dataclass
class _Shard:
    info: ShardInfo
    hash_range: tuple[int, int]  # inclusive
    records: list[StreamRecord] = field(default_factory=list)
    next_sequence: int = 0


class MemoryStream:
    """One Kinesis stream in memory."""

    def __init__(
        self,
        name: str,
        shards: int = 1,
        *,
        account_id: str = "123456789012",
        created: float = 1_700_000_000.0,
    ) -> None:
        self.name = name
        self.created = created
        self.arn = f"arn:aws:kinesis:us-east-1:{account_id}:stream/{name}"
        self._shards: dict[str, _Shard] = {}
        self._created = 0
        step = _HASH_SPACE // shards
        for i in range(shards):
            high = _HASH_SPACE - 1 if i == shards - 1 else (i + 1) * step - 1
            self._add_shard((), (i * step, high))

    def _add_shard(self, parents: tuple[str, ...], hash_range: tuple[int, int]) -> str:
        shard_id = f"shardId-{self._created:012d}"
        first = FIRST_SEQUENCE + self._created * _SHARD_STEP
        self._created += 1
        self._shards[shard_id] = _Shard(ShardInfo(shard_id, parents, None), hash_range, [], first)
        return shard_id

    @property
    def shard_ids(self) -> list[str]:
        return list(self._shards)

    def open_shard_for(self, partition_key: str) -> str:
        h = int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")
        for shard_id, shard in self._shards.items():
            low, high = shard.hash_range
            if not shard.info.closed and low <= h <= high:
                return shard_id
        raise ValueError(f"no open shard for hash key {h}")

    def put(
        self, data: bytes, partition_key: str, *, arrival: float, shard_id: str | None = None
    ) -> StreamRecord:
        """Append a record (to ``shard_id``, else the shard the key hashes to)."""
        shard = self._shards[shard_id or self.open_shard_for(partition_key)]
        if shard.info.closed:
            raise ValueError(f"{shard.info.shard_id} is closed")
        shard.next_sequence += 1 + len(data) % 7  # gaps, as in real sequence numbers
        record = StreamRecord(
            shard.info.shard_id, str(shard.next_sequence), bytes(data), partition_key, arrival
        )
        shard.records.append(record)
        return record

    def split(self, shard_id: str) -> tuple[str, str]:
        """Close ``shard_id`` and open two children covering its hash range."""
        parent = self._shards[shard_id]
        if parent.info.closed:
            raise ValueError(f"{shard_id} is already closed")
        ending = str(parent.next_sequence)
        parent.info = ShardInfo(shard_id, parent.info.parent_ids, ending)
        low, high = parent.hash_range
        mid = (low + high) // 2
        return (
            self._add_shard((shard_id,), (low, mid)),
            self._add_shard((shard_id,), (mid + 1, high)),
        )

    def list_shards(self, **_: Any) -> dict[str, Any]:
        """ListShards' answer (one page), for tools that ask the stream directly."""
        shards = []
        for info in self.shard_infos():
            shard: dict[str, Any] = {
                "ShardId": info.shard_id,
                "SequenceNumberRange": {"StartingSequenceNumber": "0"},
            }
            if info.parent_ids:
                shard["ParentShardId"] = info.parent_ids[0]
            if info.ending_sequence_number is not None:
                shard["SequenceNumberRange"]["EndingSequenceNumber"] = info.ending_sequence_number
            shards.append(shard)
        return {"Shards": shards}

    def records(self, shard_id: str) -> list[StreamRecord]:
        return list(self._shards[shard_id].records)

    def reader(self) -> MemoryShardReader:
        return MemoryShardReader(self)

    def shard_infos(self) -> list[ShardInfo]:
        return [s.info for s in self._shards.values()]


class MemoryShardReader(KinesisShardReader):
    """Reads a :class:`MemoryStream` the way the simulator reads Kinesis."""

    def __init__(self, stream: MemoryStream, *, read_limit: int = 10_000) -> None:
        super().__init__(None, stream.name, read_limit=read_limit)
        self.stream = stream
        self._next: dict[str, int] = {}

    def stream_arn(self) -> str:
        return self.stream.arn

    def summary(self) -> Any:
        """DescribeStreamSummary's answer: ARN, 24 h retention, creation time."""
        from streamkit.local import shards

        return shards.StreamSummary(self.stream.arn, 24, self.stream.created)

    def shards(self) -> list[ShardInfo]:
        return self.stream.shard_infos()

    def open(self, shard_id: str, position: str, *, timestamp: float | None = None) -> None:
        records = self.stream.records(shard_id)
        if position == "TRIM_HORIZON":
            self._next[shard_id] = 0
        elif position == "LATEST":
            self._next[shard_id] = len(records)
        elif position == "AT_TIMESTAMP":
            at = timestamp or 0.0
            self._next[shard_id] = next(
                (i for i, r in enumerate(records) if r.arrival >= at), len(records)
            )
        else:
            raise ValueError(f"unknown ShardIteratorType {position!r}")

    def is_open(self, shard_id: str) -> bool:
        return shard_id in self._next

    def read(self, shard_id: str, info: Any = None) -> ReadResult:
        self.get_records_calls += 1
        shard = self.stream._shards[shard_id]
        start = self._next[shard_id]
        batch = shard.records[start : start + self.read_limit]
        self._next[shard_id] = start + len(batch)
        behind = len(shard.records) - self._next[shard_id]
        ended = shard.info.closed and behind == 0
        children = (
            tuple(s for s, x in self.stream._shards.items() if shard_id in x.info.parent_ids)
            if ended
            else ()
        )
        return ReadResult(batch, ended, 1000 * behind if behind else 0, children)
