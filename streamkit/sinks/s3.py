"""S3 archive objects: gzip JSON Lines, partitioned by event time, deterministic keys.

A batch's archived records are grouped by event-time partition
(``dt=YYYY-MM-DD/hour=HH/``); each group becomes one object whose key is derived
from the consumer, stream, shard and the sequence range of the group, and whose bytes are
deterministic (gzip with mtime 0). Objects are written only while applying a
committed-to-be intent, so a retry rewrites the same key with the same bytes and
no record is ever archived in two objects.

Example key::

    raw/dt=2026-11-28/hour=10/web-clickstream-shardId-000000000001-49590...-0-49590...-3.jsonl.gz

(consumer ``web``, stream ``clickstream``).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from streamkit.write_checks import check_s3_key
from streamkit.writes import ObjectWrite

#: One archived line: (position (seq, sub), event time, the document's JSON bytes as
#: :func:`streamkit.write_checks.json_bytes` serialised and checked it).
ArchiveLine = tuple[tuple[int, int], float, bytes]


def partition_of(event_time: float) -> str:
    """``dt=YYYY-MM-DD/hour=HH`` of an event time (UTC)."""
    dt = datetime.fromtimestamp(event_time, UTC)
    return f"dt={dt:%Y-%m-%d}/hour={dt:%H}"


def archive_objects(
    lines: Iterable[ArchiveLine],
    *,
    bucket: str,
    prefix: str,
    stream: str,
    shard_id: str,
    consumer: str,
    compresslevel: int = 6,
) -> list[ObjectWrite]:
    """Group lines by partition into one gzip JSON Lines object each (gzip at
    ``compresslevel``; see :class:`streamkit.spec.Archive`)."""
    groups: dict[str, list[ArchiveLine]] = {}
    partitions: dict[float, str] = {}  # per UTC hour: partition_of once per hour, not line
    for line in lines:
        ts = line[1]
        hour = ts // 3600
        if ts - hour * 3600 < 3599:
            partition = partitions.get(hour)
            if partition is None:
                partition = partitions[hour] = partition_of(ts)
        else:
            # The hour's last second: datetime rounds to the microsecond, so a time
            # within half a microsecond of the next hour is in the next hour's partition.
            partition = partition_of(ts)
        groups.setdefault(partition, []).append(line)
    out = []
    for partition, group in sorted(groups.items()):
        group.sort(key=lambda x: x[0])
        (s0, u0), (s1, u1) = group[0][0], group[-1][0]
        # consumer, stream and shard: two consumers archiving one stream to one bucket
        # never overwrite each other's objects.
        name = f"{consumer}-{stream}-{shard_id}-{s0}-{u0}-{s1}-{u1}.jsonl.gz"
        key = f"{prefix.strip('/')}/{partition}/{name}"
        body = b"".join(line + b"\n" for _, _, line in group)
        out.append(
            ObjectWrite(
                bucket,
                check_s3_key(key),
                gzip.compress(body, compresslevel, mtime=0),
                "application/x-ndjson",
            )
        )
    return out


def put_objects(objects: Iterable[ObjectWrite], s3: Any) -> int:
    """Write objects; same object, same key and bytes: safe to repeat."""
    n = 0
    for obj in objects:
        extra = {"ContentEncoding": "gzip"} if obj.key.endswith(".gz") else {}
        s3.put_object(
            Bucket=obj.bucket, Key=obj.key, Body=obj.body, ContentType=obj.content_type, **extra
        )
        n += 1
    return n


def read_archive(s3: Any, bucket: str, prefix: str) -> list[Any]:
    """Every document archived under ``prefix`` (tests, tooling), in key order."""
    docs: list[Any] = []
    for key in list_keys(s3, bucket, prefix):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        docs.extend(orjson.loads(line) for line in gzip.decompress(body).splitlines() if line)
    return docs


def list_keys(
    s3: Any, bucket: str, prefix: str, *, where: Callable[[str], bool] | None = None
) -> list[str]:
    """All keys under ``prefix`` (paginated ListObjectsV2)."""
    keys: list[str] = []
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = s3.list_objects_v2(**kwargs)
        keys.extend(o["Key"] for o in page.get("Contents", ()) if where is None or where(o["Key"]))
        if not page.get("IsTruncated"):
            return keys
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
