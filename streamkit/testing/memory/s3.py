"""In-memory S3 buckets: overwrite on put, strongly consistent reads and listings.

:class:`MemoryS3` answers the calls the pipeline's stores make (``put_object``,
``get_object``) and what tests read back with (``list_objects_v2`` with paginated
``Prefix`` listings, ``delete_object``) as S3 does: a put replaces the object, reads
see the last put (S3 is strongly consistent since 2020), a missing bucket or key
raises botocore's ``NoSuchBucket`` / ``NoSuchKey``, keys are at most 1,024 bytes of
UTF-8. It is also an :class:`~streamkit.stores.ObjectStore` (``put_objects``).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from streamkit.sinks.s3 import put_objects
from streamkit.testing.memory.errors import client_error, exceptions
from streamkit.writes import ObjectWrite

#: S3's key length limit (bytes of UTF-8).
MAX_KEY_BYTES = 1024
#: Keys per ListObjectsV2 page.
PAGE_SIZE = 1000


class MemoryS3:
    """An S3 endpoint in memory: buckets created with :meth:`create_bucket`."""

    def __init__(self) -> None:
        self.exceptions = exceptions("s3")
        self._buckets: dict[str, dict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        #: Puts accepted so far, for tests and benchmarks.
        self.writes = 0

    def create_bucket(self, *, Bucket: str, **_: Any) -> dict[str, Any]:
        with self._lock:
            self._buckets.setdefault(Bucket, {})
            return {}

    def put_object(
        self, *, Bucket: str, Key: str, Body: bytes | str, ContentType: str = "", **extra: Any
    ) -> dict[str, Any]:
        if len(Key.encode()) > MAX_KEY_BYTES or not Key:
            raise client_error("s3", "KeyTooLongError", "Your key is too long", "PutObject")
        data = Body.encode() if isinstance(Body, str) else bytes(Body)
        with self._lock:
            bucket = self._bucket(Bucket, "PutObject")
            bucket[Key] = {
                "Body": data,
                "ContentType": ContentType or "binary/octet-stream",
                "ContentEncoding": extra.get("ContentEncoding"),
            }
            self.writes += 1
        return {}

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        with self._lock:
            obj = self._bucket(Bucket, "GetObject").get(Key)
            if obj is None:
                raise client_error(
                    "s3", "NoSuchKey", "The specified key does not exist.", "GetObject"
                )
            out = {k: v for k, v in obj.items() if k != "Body" and v is not None}
            return {**out, "Body": io.BytesIO(obj["Body"]), "ContentLength": len(obj["Body"])}

    def head_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        with self._lock:
            obj = self._bucket(Bucket, "HeadObject").get(Key)
            if obj is None:
                raise client_error("s3", "404", "Not Found", "HeadObject")
            return {"ContentLength": len(obj["Body"]), "ContentType": obj["ContentType"]}

    def get_paginator(self, operation: str) -> Any:
        if operation != "list_objects_v2":
            raise ValueError(f"MemoryS3 has no paginator for {operation!r}")
        return _Paginator(self.list_objects_v2)

    def delete_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        with self._lock:
            self._bucket(Bucket, "DeleteObject").pop(Key, None)
            return {}

    def list_objects_v2(
        self, *, Bucket: str, Prefix: str = "", ContinuationToken: str | None = None, **_: Any
    ) -> dict[str, Any]:
        with self._lock:
            keys = sorted(
                k
                for k in self._bucket(Bucket, "ListObjectsV2")
                if k.startswith(Prefix) and (ContinuationToken is None or k > ContinuationToken)
            )
            bucket = self._buckets[Bucket]
            page = keys[:PAGE_SIZE]
            out: dict[str, Any] = {
                "KeyCount": len(page),
                "IsTruncated": len(keys) > PAGE_SIZE,
            }
            if page:
                out["Contents"] = [{"Key": k, "Size": len(bucket[k]["Body"])} for k in page]
            if out["IsTruncated"]:
                out["NextContinuationToken"] = page[-1]
            return out

    # -------------------------------------------------------- ObjectStore, tests

    def put_objects(self, objects: Iterable[ObjectWrite]) -> int:
        """:class:`~streamkit.stores.ObjectStore`: the same calls as on S3."""
        return put_objects(objects, self)

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every object under ``prefix``: key -> body."""
        with self._lock:
            return {
                k: v["Body"]
                for k, v in sorted(self._bucket(bucket, "ListObjectsV2").items())
                if k.startswith(prefix)
            }

    def _bucket(self, name: str, operation: str) -> dict[str, dict[str, Any]]:
        bucket = self._buckets.get(name)
        if bucket is None:
            raise client_error(
                "s3", "NoSuchBucket", "The specified bucket does not exist", operation
            )
        return bucket


class _Paginator:
    """ListObjectsV2 pages, following continuation tokens as boto3's paginator does."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            page = self._call(**kwargs)
            yield page
            if not page.get("IsTruncated"):
                return
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
