"""The capture format (version 1): its records, its errors, and the writer.

See :mod:`streamkit.local.capture` for the format itself. Writing streams record by
record, so a capture of any size is written in flat memory.
"""

from __future__ import annotations

import binascii
import gzip
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast

import orjson

from streamkit.errors import StreamkitError

FORMAT_VERSION = 1
#: The shard id given to ``aws kinesis get-records`` output, which does not say.
DEFAULT_SHARD_ID = "shardId-000000000000"
#: What every gzip stream starts with; readers detect compression by it.
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class CapturedRecord:
    """One record as GetRecords returned it (data is the raw payload, not base64)."""

    sequence_number: str
    data: bytes
    partition_key: str
    arrival: float
    explicit_hash_key: str | None = None
    shard_id: str = DEFAULT_SHARD_ID
    encryption_type: str | None = None


@dataclass(slots=True)
class ShardCapture:
    """One shard section: where the records came from, and the records in shard order."""

    stream_arn: str
    shard_id: str
    region: str
    captured_at: datetime | None
    records: list[CapturedRecord] = field(default_factory=list)


class CaptureError(StreamkitError):
    """Capturing failed: missing stream, unknown shard, unreachable endpoint, ..."""


class CaptureFormatError(CaptureError, ValueError):
    """A capture (or get-records output, or Lambda event) file cannot be read.

    The message names the file, the line when known, and the field:
    ``capture.jsonl:17: Data is not valid base64``.
    """

    def __init__(
        self, path: str | os.PathLike[str], line: int | None, field: str | None, problem: str
    ) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.field = field
        self.problem = problem
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"{field} {problem}" if field else problem
        super().__init__(f"{where}: {what}")


def _iso_utc(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _record_line(rec: CapturedRecord) -> dict[str, Any]:
    line: dict[str, Any] = {
        "SequenceNumber": rec.sequence_number,
        "ApproximateArrivalTimestamp": rec.arrival,
        "Data": binascii.b2a_base64(rec.data, newline=False).decode("ascii"),
        "PartitionKey": rec.partition_key,
    }
    if rec.explicit_hash_key is not None:
        line["ExplicitHashKey"] = rec.explicit_hash_key
    if rec.encryption_type is not None:
        line["EncryptionType"] = rec.encryption_type
    return line


class CaptureWriter:
    """Writes a capture file record by record, so memory stays flat.

    Gzip-compressed when the path ends in ``.gz`` (or as ``compress`` says). Use as
    a context manager; call
    :meth:`start_shard` before each shard's records::

        with CaptureWriter("out.jsonl.gz") as writer:
            writer.start_shard(arn, "shardId-000000000000", "us-east-1", datetime.now(UTC))
            writer.write(record)
    """

    def __init__(self, path: str | os.PathLike[str], *, compress: bool | None = None) -> None:
        self.path = Path(path)
        self.records_written = 0
        self._raw: IO[bytes] = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._out: IO[bytes] = self._raw
        if self.path.name.endswith(".gz") if compress is None else compress:
            self._out = cast(
                IO[bytes],
                gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6, mtime=0),
            )
        self._in_shard = False

    def start_shard(
        self, stream_arn: str, shard_id: str, region: str, captured_at: datetime | None
    ) -> None:
        """Write a shard section header; the following records belong to ``shard_id``."""
        header = {
            "streamkit_capture": FORMAT_VERSION,
            "stream_arn": stream_arn,
            "shard_id": shard_id,
            "region": region,
            "captured_at": None if captured_at is None else _iso_utc(captured_at),
        }
        self._out.write(orjson.dumps(header) + b"\n")
        self._in_shard = True

    def write(self, record: CapturedRecord) -> None:
        """Write one record into the current shard section."""
        if not self._in_shard:
            raise CaptureError("CaptureWriter.write called before start_shard")
        self._out.write(orjson.dumps(_record_line(record)) + b"\n")
        self.records_written += 1

    def write_shard(self, shard: ShardCapture) -> None:
        self.start_shard(shard.stream_arn, shard.shard_id, shard.region, shard.captured_at)
        for rec in shard.records:
            self.write(rec)

    def close(self) -> None:
        try:
            if self._out is not self._raw:
                self._out.close()
        finally:
            self._raw.close()

    @property
    def bytes_written(self) -> int:
        """Size of the file on disk (final once closed)."""
        if not self._raw.closed:
            self._out.flush()
        return self.path.stat().st_size

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_capture(path: str | os.PathLike[str], shards: Iterable[ShardCapture]) -> int:
    """Write shard sections to ``path`` (gzip if it ends in ``.gz``); records written."""
    with CaptureWriter(path) as writer:
        for shard in shards:
            writer.write_shard(shard)
        return writer.records_written
