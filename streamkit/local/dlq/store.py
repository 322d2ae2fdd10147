"""The dead-letter store as the ``streamkit dlq`` command sees it: list, show, redrive.

Dead letters are written by the Lambda path (:mod:`streamkit.sinks.dlq`) as one S3
object per record at ``<prefix>/<consumer>/<shardId>/<sequence>-<sub-sequence>.json``.
This module only reads them and puts them back; it is local tooling, never imported
by a Lambda.

Redrive puts a record back into its stream after a fix. Each entry is redriven at
most once: a marker ``<prefix>-redriven/<same key>`` is written *before* the
PutRecord (state ``pending``) and completed after it (state ``done``). A crash in
between leaves a ``pending`` marker, which ``streamkit dlq list --redriven`` shows
and which is never redriven again automatically, so a redrive never duplicates a
record; at worst it asks a person to check one. If the PutRecord raises, the
redrive stops there and that marker stays ``pending`` with the error text.

``streamkit dlq list|show|redrive`` (:mod:`streamkit.local.commands.dlq`) is the command
line over :class:`DeadLetterStore`: :meth:`~DeadLetterStore.find` takes a key or a
record id, ``redrive(..., dry_run=True)`` reports already-redriven entries as
skipped without writing anything.

An object under the prefix that is not a valid dead letter (not JSON, not an object,
no base64 ``data``, no ``partitionKey``...) is still listed, as an entry whose
:attr:`~DeadLetterEntry.problem` says what is wrong; it is never redriven.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from streamkit.errors import StreamkitError
from streamkit.sinks.s3 import list_keys

#: Dead-letter objects read at once by :meth:`DeadLetterStore.entries`, and per batch.
_READERS = 8
_READ_CHUNK = 256


class DeadLetterNotFound(StreamkitError, KeyError):
    """No dead letter matches a key or record id (``str()`` is the plain message)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "dead letter not found"


class AmbiguousDeadLetter(StreamkitError, LookupError):
    """A record id matches dead letters of several consumers; ``keys`` lists them."""

    def __init__(self, message: str, keys: list[str]) -> None:
        super().__init__(message)
        self.keys = keys


@dataclass(frozen=True)
class DeadLetterEntry:
    """A stored dead letter."""

    key: str
    doc: dict[str, Any]
    #: Why the object is not a valid dead letter (None when it is one): such an entry
    #: is listed and shown as malformed, and never redriven.
    problem: str | None = None

    @classmethod
    def parse(cls, key: str, body: bytes) -> DeadLetterEntry:
        """The entry stored at ``key``: valid, or with :attr:`problem` set."""
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            return cls(key, {}, f"not JSON ({e})")
        if not isinstance(doc, dict):
            kind = "null" if doc is None else "an array" if isinstance(doc, list) else "a scalar"
            return cls(key, {}, f"{kind}, not a dead-letter object")
        return cls(key, doc, _problem(doc))

    @property
    def reason(self) -> str:
        return str(self.doc.get("reason", ""))

    @property
    def payload(self) -> bytes:
        """The record's raw bytes (empty for a malformed entry)."""
        if self.problem is not None:
            return b""
        return base64.b64decode(self.doc["data"], validate=True)

    @property
    def stream(self) -> str:
        return str(self.doc.get("eventSourceARN", "")).rpartition("/")[2]

    @property
    def consumer(self) -> str:
        return str(self.doc.get("consumer", ""))

    @property
    def record_id(self) -> str:
        return str(self.doc.get("id", ""))

    @property
    def shard_id(self) -> str:
        return str(self.doc.get("shardId", ""))

    @property
    def sequence_number(self) -> str:
        return str(self.doc.get("sequenceNumber", ""))

    @property
    def sub_sequence_number(self) -> int:
        sub = self.doc.get("subSequenceNumber")
        return sub if isinstance(sub, int) and not isinstance(sub, bool) else 0

    @property
    def time(self) -> datetime | None:
        """When the record was dead-lettered (None if the document has no valid time)."""
        try:
            t = datetime.fromisoformat(str(self.doc.get("time", "")))
        except ValueError:
            return None
        return t if t.tzinfo else t.replace(tzinfo=UTC)

    @property
    def order(self) -> tuple[str, str, int, int]:
        """Sort key: consumer, shard, then shard order (sequence numbers compared as numbers)."""
        seq = self.sequence_number
        return (
            self.consumer,
            self.shard_id,
            int(seq) if seq.isdigit() else -1,
            self.sub_sequence_number,
        )


@dataclass(frozen=True)
class RedriveResult:
    """What :meth:`DeadLetterStore.redrive` did (or, with ``dry_run``, would do)."""

    redriven: list[str]
    skipped: list[str]  # already redriven (or pending) before
    #: key -> why the entry is not a valid dead letter: never redriven, no marker written
    malformed: dict[str, str] = field(default_factory=dict)
    #: key -> error of the PutRecord that failed (its marker stays ``pending``); the
    #: redrive stops at the first failure, so later entries are in neither list.
    failed: dict[str, str] = field(default_factory=dict)
    #: key -> the new Kinesis sequence number of each redriven record (not in dry runs)
    sequence_numbers: dict[str, str] = field(default_factory=dict)


class DeadLetterStore:
    """Read, inspect and redrive dead letters kept in S3."""

    def __init__(self, bucket: str, clients: Callable[[str], Any], *, prefix: str = "dlq") -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.clients = clients

    @property
    def redriven_prefix(self) -> str:
        return f"{self.prefix}-redriven"

    def marker_key(self, key: str) -> str:
        """The redrive marker of the dead letter stored at ``key``."""
        if not key.startswith(f"{self.prefix}/"):
            raise ValueError(f"{key!r} is not under the dead-letter prefix {self.prefix!r}/")
        return f"{self.redriven_prefix}/{key[len(self.prefix) + 1 :]}"

    def keys(self, consumer: str | None = None) -> list[str]:
        where = f"{self.prefix}/{consumer}/" if consumer else f"{self.prefix}/"
        return list_keys(self.clients("s3"), self.bucket, where)

    def entries(
        self, consumer: str | None = None, *, reason: str | None = None
    ) -> Iterator[DeadLetterEntry]:
        s3 = self.clients("s3")

        def body(key: str) -> bytes:
            return bytes(s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

        keys = self.keys(consumer)
        # One GET per dead letter: a few in flight at once (in key order), so a large
        # store is not read one round trip at a time.
        with ThreadPoolExecutor(max_workers=_READERS) as pool:
            for start in range(0, len(keys), _READ_CHUNK):
                chunk = keys[start : start + _READ_CHUNK]
                for key, data in zip(chunk, pool.map(body, chunk), strict=True):
                    entry = DeadLetterEntry.parse(key, data)
                    if reason is None or entry.reason == reason:
                        yield entry

    def get(self, key: str) -> DeadLetterEntry:
        s3 = self.clients("s3")
        try:
            body = s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            raise DeadLetterNotFound(f"no dead letter s3://{self.bucket}/{key}") from None
        return DeadLetterEntry.parse(key, body)

    def find(self, ref: str, consumer: str | None = None) -> DeadLetterEntry:
        """The dead letter at key ``ref``, or of the record with id ``ref``.

        A record id is ``<stream>/<shardId>/<sequence>/<sub-sequence>`` (the
        document's ``id``). Raises DeadLetterNotFound, or AmbiguousDeadLetter when
        the record was dead-lettered by several consumers (pass ``consumer``).
        """
        if ref.startswith(f"{self.prefix}/") and ref.endswith(".json"):
            return self.get(ref)
        parts = ref.split("/")
        if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
            raise DeadLetterNotFound(
                f"{ref!r} is neither a dead-letter key ({self.prefix}/<consumer>/<shardId>/"
                "<sequence>-<sub>.json) nor a record id (<stream>/<shardId>/<sequence>/<sub>)"
            )
        _, shard_id, seq, sub = parts
        suffix = f"/{shard_id}/{seq}-{int(sub)}.json"
        found = [
            entry
            for entry in (self.get(key) for key in self.keys(consumer) if key.endswith(suffix))
            if entry.record_id == ref
        ]
        if not found:
            where = f"{self.prefix}/{consumer}/" if consumer else f"{self.prefix}/"
            raise DeadLetterNotFound(
                f"no dead letter of record {ref} under s3://{self.bucket}/{where}"
            )
        if len(found) > 1:
            keys = [e.key for e in found]
            raise AmbiguousDeadLetter(
                f"record {ref} was dead-lettered by {len(found)} consumers: " + ", ".join(keys),
                keys,
            )
        return found[0]

    def redrive_marker_docs(self) -> dict[str, dict[str, Any]]:
        """Original key -> marker document (``state``, ``time``; ``stream`` and
        ``sequence_number`` once done; ``error`` when the PutRecord failed)."""
        s3 = self.clients("s3")
        out = {}
        for key in list_keys(s3, self.bucket, f"{self.redriven_prefix}/"):
            doc = orjson.loads(s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            out[f"{self.prefix}/{key[len(self.redriven_prefix) + 1 :]}"] = doc
        return out

    def redrive_markers(self) -> dict[str, str]:
        """Original key -> marker state (``pending`` or ``done``)."""
        return {key: str(doc.get("state")) for key, doc in self.redrive_marker_docs().items()}

    def redrive(
        self,
        entries: list[DeadLetterEntry],
        *,
        stream: str | None = None,
        dry_run: bool = False,
    ) -> RedriveResult:
        """Put each entry's payload back into its stream (or ``stream``), once.

        ``dry_run`` writes nothing: entries that already have a marker are reported
        as skipped, the others as redriven (what a real run would do now). A
        PutRecord that raises stops the redrive: the entry goes to ``failed`` and
        keeps its ``pending`` marker (with the error, best effort), since whether
        the record reached the stream is unknown.
        """
        s3 = self.clients("s3")
        kinesis = self.clients("kinesis")
        result = RedriveResult([], [])
        for entry in entries:
            if entry.problem is not None:
                result.malformed[entry.key] = entry.problem
                continue
            marker = self.marker_key(entry.key)
            if dry_run:
                if self._exists(marker):
                    result.skipped.append(entry.key)
                else:
                    result.redriven.append(entry.key)
                continue
            try:  # claim the entry: only the first redrive gets the marker
                s3.put_object(
                    Bucket=self.bucket,
                    Key=marker,
                    Body=_marker("pending"),
                    IfNoneMatch="*",
                )
            except s3.exceptions.ClientError as e:
                # 412: the marker exists; 409: a concurrent redrive is claiming it.
                if e.response.get("Error", {}).get("Code") in (
                    "PreconditionFailed",
                    "412",
                    "ConditionalRequestConflict",
                    "409",
                ):
                    result.skipped.append(entry.key)
                    continue
                raise
            target = stream or entry.stream
            kwargs: dict[str, Any] = {
                "StreamName": target,
                "Data": entry.payload,
                "PartitionKey": entry.doc.get("partitionKey") or "-",
            }
            if entry.doc.get("explicitHashKey"):
                kwargs["ExplicitHashKey"] = entry.doc["explicitHashKey"]
            try:
                put = kinesis.put_record(**kwargs)
            except Exception as e:
                error = f"PutRecord into {target!r} failed: {e}"
                result.failed[entry.key] = error
                with contextlib.suppress(Exception):
                    s3.put_object(
                        Bucket=self.bucket, Key=marker, Body=_marker("pending", error=error)
                    )
                break
            s3.put_object(
                Bucket=self.bucket,
                Key=marker,
                Body=_marker("done", stream=target, sequence_number=put["SequenceNumber"]),
            )
            result.redriven.append(entry.key)
            result.sequence_numbers[entry.key] = str(put["SequenceNumber"])
        return result

    def _exists(self, key: str) -> bool:
        s3 = self.clients("s3")
        try:
            s3.head_object(Bucket=self.bucket, Key=key)
        except s3.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def _problem(doc: dict[str, Any]) -> str | None:
    """What keeps ``doc`` from being a dead letter that can be redriven, or None."""
    data = doc.get("data")
    if not isinstance(data, str):
        return "no base64 `data` (the record's payload)"
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return "`data` is not valid base64"
    key = doc.get("partitionKey")
    if not isinstance(key, str) or not key:
        return "no `partitionKey` (needed to put the record back)"
    hash_key = doc.get("explicitHashKey")
    if hash_key is not None and not (isinstance(hash_key, str) and hash_key.isdigit()):
        return f"`explicitHashKey` is {hash_key!r}, not a decimal number"
    for name in ("reason", "shardId"):
        if not isinstance(doc.get(name), str) or not doc[name]:
            return f"no `{name}`"
    seq = doc.get("sequenceNumber")
    if not isinstance(seq, str) or not seq.isdigit():
        return f"`sequenceNumber` is {seq!r}, not a decimal sequence number"
    return None


def _marker(state: str, **extra: str) -> bytes:
    return orjson.dumps(
        {"state": state, "time": datetime.now(UTC).isoformat(timespec="milliseconds"), **extra}
    )
