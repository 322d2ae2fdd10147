"""The dead-letter store: one S3 object per dead-lettered record, deterministic keys.

Key: ``<prefix>/<consumer>/<shardId>/<sequence>-<sub-sequence>.json``; body: the
:meth:`~streamkit.deadletter.DeadLetter.to_dict` document (raw payload as base64,
identity, reason, error text, handler, time) plus the consumer name. Written only
while applying a ledger intent, so a record is dead-lettered once, whatever Lambda
retries.

Redrive puts a record back into its stream after a fix. Each entry is redriven at
most once: a marker ``<prefix>-redriven/<same key>`` is written *before* the
PutRecord (state ``pending``) and completed after it (state ``done``). A crash in
between leaves a ``pending`` marker, which ``streamkit dlq list --redriven`` shows
and which is never redriven again automatically, so a redrive never duplicates a
record; at worst it asks a person to check one.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from streamkit.deadletter import DeadLetter
from streamkit.sinks.s3 import list_keys


def dead_letter_key(prefix: str, consumer: str, shard_id: str, seq: str, sub: int) -> str:
    return f"{prefix.strip('/')}/{consumer}/{shard_id}/{seq}-{sub}.json"


def dead_letter_object(
    letter: DeadLetter, *, bucket: str, prefix: str, consumer: str
) -> dict[str, Any]:
    """The S3 object spec ``{bucket, key, body, content_type}`` of one dead letter."""
    r = letter.record
    doc = {"consumer": consumer, **letter.to_dict()}
    return {
        "bucket": bucket,
        "key": dead_letter_key(
            prefix, consumer, r.shard_id, r.sequence_number, r.sub_sequence_number
        ),
        "body": orjson.dumps(doc, option=orjson.OPT_SORT_KEYS),
        "content_type": "application/json",
    }


@dataclass(frozen=True)
class DeadLetterEntry:
    """A stored dead letter."""

    key: str
    doc: dict[str, Any]

    @property
    def reason(self) -> str:
        return str(self.doc.get("reason", ""))

    @property
    def payload(self) -> bytes:
        return base64.b64decode(self.doc.get("data", ""))

    @property
    def stream(self) -> str:
        return str(self.doc.get("eventSourceARN", "")).rpartition("/")[2]


@dataclass(frozen=True)
class RedriveResult:
    redriven: list[str]
    skipped: list[str]  # already redriven (or pending) before


class DeadLetterStore:
    """Read, inspect and redrive dead letters kept in S3."""

    def __init__(self, bucket: str, clients: Callable[[str], Any], *, prefix: str = "dlq") -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.clients = clients

    @property
    def redriven_prefix(self) -> str:
        return f"{self.prefix}-redriven"

    def keys(self, consumer: str | None = None) -> list[str]:
        where = f"{self.prefix}/{consumer}/" if consumer else f"{self.prefix}/"
        return list_keys(self.clients("s3"), self.bucket, where)

    def entries(
        self, consumer: str | None = None, *, reason: str | None = None
    ) -> Iterator[DeadLetterEntry]:
        s3 = self.clients("s3")
        for key in self.keys(consumer):
            doc = orjson.loads(s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            entry = DeadLetterEntry(key, doc)
            if reason is None or entry.reason == reason:
                yield entry

    def get(self, key: str) -> DeadLetterEntry:
        s3 = self.clients("s3")
        try:
            body = s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            raise KeyError(f"no dead letter s3://{self.bucket}/{key}") from None
        return DeadLetterEntry(key, orjson.loads(body))

    def redrive_markers(self) -> dict[str, str]:
        """Original key -> marker state (``pending`` or ``done``)."""
        s3 = self.clients("s3")
        out = {}
        for key in list_keys(s3, self.bucket, f"{self.redriven_prefix}/"):
            doc = orjson.loads(s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            out[f"{self.prefix}/{key[len(self.redriven_prefix) + 1 :]}"] = str(doc.get("state"))
        return out

    def redrive(
        self,
        entries: list[DeadLetterEntry],
        *,
        stream: str | None = None,
        dry_run: bool = False,
    ) -> RedriveResult:
        """Put each entry's payload back into its stream (or ``stream``), once."""
        s3 = self.clients("s3")
        kinesis = self.clients("kinesis")
        done: list[str] = []
        skipped: list[str] = []
        for entry in entries:
            marker = f"{self.redriven_prefix}/{entry.key[len(self.prefix) + 1 :]}"
            if dry_run:
                done.append(entry.key)
                continue
            try:  # claim the entry: only the first redrive gets the marker
                s3.put_object(
                    Bucket=self.bucket,
                    Key=marker,
                    Body=_marker("pending"),
                    IfNoneMatch="*",
                )
            except s3.exceptions.ClientError as e:
                if e.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                    skipped.append(entry.key)
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
            put = kinesis.put_record(**kwargs)
            s3.put_object(
                Bucket=self.bucket,
                Key=marker,
                Body=_marker("done", stream=target, sequence_number=put["SequenceNumber"]),
            )
            done.append(entry.key)
        return RedriveResult(done, skipped)


def _marker(state: str, **extra: str) -> bytes:
    return orjson.dumps(
        {"state": state, "time": datetime.now(UTC).isoformat(timespec="milliseconds"), **extra}
    )
