"""Live capture: read a stream's shards with GetRecords into a capture file.

Imports boto3 only when a client is built, so reading captures stays light.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from streamkit.local.capture.format import CapturedRecord, CaptureError, CaptureWriter
from streamkit.records import parse_timestamp

#: GetRecords returns at most this many records per call.
GET_RECORDS_LIMIT = 10_000
#: Shards per ListShards page (the API allows up to 10000).
LIST_SHARDS_PAGE_SIZE = 1000

StartPosition = Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]
START_POSITIONS: tuple[StartPosition, ...] = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")


@dataclass(slots=True)
class CaptureSummary:
    """What :func:`capture_stream` wrote."""

    path: Path
    stream_arn: str
    records_per_shard: dict[str, int]
    bytes_written: int

    @property
    def total(self) -> int:
        return sum(self.records_per_shard.values())

    def __str__(self) -> str:
        shards = ", ".join(f"{s}: {n}" for s, n in self.records_per_shard.items()) or "no shards"
        return (
            f"captured {self.total} records ({shards}) to {self.path} ({self.bytes_written} bytes)"
        )


def kinesis_client(region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 Kinesis client for capturing.

    The region is ``region``, else ``AWS_REGION``, else boto3's own chain
    (``AWS_DEFAULT_REGION``, config file). The endpoint is ``endpoint_url``, else
    boto3's (which honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_KINESIS``).
    Throttling (ProvisionedThroughputExceededException, LimitExceededException) is
    retried by botocore's adaptive retry mode.
    """
    from botocore.exceptions import BotoCoreError

    from streamkit.local.aws import aws_clients, client_config

    config = client_config(retries={"mode": "adaptive", "max_attempts": 10})
    try:
        return aws_clients(region=region, endpoint_url=endpoint_url, config=config)("kinesis")
    except BotoCoreError as e:
        raise CaptureError(f"cannot create a Kinesis client: {e}") from None
    except ValueError as e:  # e.g. a malformed endpoint URL
        raise CaptureError(f"cannot create a Kinesis client: {e}") from None


def capture_stream(
    kinesis: Any,
    stream_name: str,
    out_path: str | os.PathLike[str],
    *,
    shard_ids: Iterable[str] | None = None,
    start: StartPosition = "TRIM_HORIZON",
    timestamp: float | datetime | str | None = None,
    max_records: int | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> CaptureSummary:
    """Read shards of ``stream_name`` with GetRecords and write them to ``out_path``.

    Every shard (or only ``shard_ids``) is read from ``start`` (``TRIM_HORIZON``,
    ``LATEST``, or ``AT_TIMESTAMP`` with ``timestamp``) until caught up: an empty
    batch with MillisBehindLatest 0, or the end of a closed shard. ``max_records``
    caps the total over all shards. ``progress(records_so_far, shard_id)`` is called
    when a shard starts and after each batch. The file is written under a temporary
    name and renamed when complete.

    Raises :class:`CaptureError` for a missing stream, an unknown shard id (naming
    the shards that exist), or any other AWS error.
    """
    if start not in START_POSITIONS:
        raise CaptureError(f"start must be one of {', '.join(START_POSITIONS)}, got {start!r}")
    at: float | None = None
    if start == "AT_TIMESTAMP":
        if timestamp is None:
            raise CaptureError("AT_TIMESTAMP needs a timestamp")
        try:
            at = parse_timestamp(timestamp)
        except ValueError as e:
            raise CaptureError(str(e)) from None
    elif timestamp is not None:
        raise CaptureError(f"a timestamp is only used with AT_TIMESTAMP, not {start}")
    if max_records is not None and max_records < 1:
        raise CaptureError(f"max_records must be at least 1, got {max_records}")

    with _as_capture_errors(kinesis, stream_name):
        summary = kinesis.describe_stream_summary(StreamName=stream_name)
        stream_arn: str = summary["StreamDescriptionSummary"]["StreamARN"]
        existing = _list_shards(kinesis, stream_name)
    if shard_ids is None:
        wanted = existing
    else:
        wanted = list(dict.fromkeys(shard_ids))
        unknown = [s for s in wanted if s not in existing]
        if unknown:
            raise CaptureError(
                f"stream {stream_name!r} has no shard {', '.join(map(repr, unknown))}; "
                f"its shards are: {', '.join(existing) or 'none'}"
            )

    region: str = kinesis.meta.region_name or ""
    captured_at = datetime.now(UTC)
    out = Path(out_path)
    partial = out.with_name(out.name + ".partial")
    counts: dict[str, int] = {}
    total = 0
    try:
        compress = out.name.endswith(".gz")
        with (
            CaptureWriter(partial, compress=compress) as writer,
            _as_capture_errors(kinesis, stream_name),
        ):
            for shard_id in wanted:
                writer.start_shard(stream_arn, shard_id, region, captured_at)
                counts[shard_id] = 0
                if progress is not None:
                    progress(total, shard_id)
                remaining = None if max_records is None else max_records - total
                if remaining == 0:
                    continue
                for rec in _read_shard(kinesis, stream_name, shard_id, start, at, remaining):
                    writer.write(rec)
                    counts[shard_id] += 1
                    total += 1
                    if progress is not None and total % 500 == 0:
                        progress(total, shard_id)
                if progress is not None:
                    progress(total, shard_id)
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return CaptureSummary(out, stream_arn, counts, out.stat().st_size)


def _list_shards(kinesis: Any, stream_name: str) -> list[str]:
    shards: list[str] = []
    page = kinesis.list_shards(StreamName=stream_name, MaxResults=LIST_SHARDS_PAGE_SIZE)
    while True:
        shards.extend(s["ShardId"] for s in page.get("Shards", []))
        token = page.get("NextToken")
        if not token:
            return shards
        page = kinesis.list_shards(NextToken=token, MaxResults=LIST_SHARDS_PAGE_SIZE)


def _read_shard(
    kinesis: Any,
    stream_name: str,
    shard_id: str,
    start: StartPosition,
    at: float | None,
    remaining: int | None,
) -> Iterator[CapturedRecord]:
    params: dict[str, Any] = {
        "StreamName": stream_name,
        "ShardId": shard_id,
        "ShardIteratorType": start,
    }
    if at is not None:
        params["Timestamp"] = datetime.fromtimestamp(at, UTC)
    iterator: str | None = kinesis.get_shard_iterator(**params)["ShardIterator"]
    while iterator:
        limit = GET_RECORDS_LIMIT if remaining is None else min(GET_RECORDS_LIMIT, remaining)
        page = kinesis.get_records(ShardIterator=iterator, Limit=limit)
        batch = page.get("Records", [])
        for raw in batch:
            yield CapturedRecord(
                sequence_number=raw["SequenceNumber"],
                data=raw["Data"],
                partition_key=raw["PartitionKey"],
                arrival=parse_timestamp(raw["ApproximateArrivalTimestamp"]),
                explicit_hash_key=raw.get("ExplicitHashKey"),
                shard_id=shard_id,
                encryption_type=raw.get("EncryptionType"),
            )
        if remaining is not None:
            remaining -= len(batch)
            if remaining <= 0:
                return
        if not batch and page.get("MillisBehindLatest", 0) == 0:
            return  # caught up
        iterator = page.get("NextShardIterator")  # None at a closed shard's end


@contextlib.contextmanager
def _as_capture_errors(kinesis: Any, stream_name: str) -> Iterator[None]:
    """Turn botocore errors into CaptureErrors naming the stream and the endpoint."""
    try:
        yield
    except Exception as exc:
        from botocore.exceptions import BotoCoreError, ClientError

        endpoint = getattr(kinesis.meta, "endpoint_url", "?")
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            message = error.get("Message", "")
            if code == "ResourceNotFoundException":
                raise CaptureError(
                    f"stream {stream_name!r} not found at {endpoint} "
                    f"(region {kinesis.meta.region_name}): {message}"
                ) from None
            raise CaptureError(
                f"{code or 'AWS error'} from {endpoint} while capturing stream "
                f"{stream_name!r}: {message}"
            ) from None
        if isinstance(exc, BotoCoreError):
            raise CaptureError(
                f"cannot capture stream {stream_name!r} from {endpoint}: {exc}"
            ) from None
        raise
