"""The pending intents of a consumer, read from its ledger table.

Every ledger item of the consumer (id ``<consumer>#<shard>``, or
``<consumer>#<shard>#recover#<sequence>`` for a range ``streamkit recover`` processes)
that holds an ``intent_id`` has a pending intent. A :class:`PendingIntent` says which
ledger item and generation it is, how old it is, which records it covers and what it
writes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from streamkit.ledger import Intent, LedgerState
from streamkit.local.recover.consumer import Consumer, RecoverError


@dataclass(frozen=True)
class PendingIntent:
    """One ledger item's pending intent."""

    ledger_id: str
    #: The shard the intent's records come from.
    shard_id: str
    #: The recovery lane (``recover#<sequence>``) or None for the shard's own ledger.
    lane: str | None
    stream: str
    state: LedgerState
    #: Bytes of the stored intent (gzip JSON).
    size: int
    #: ``inline`` (in the ledger item) or ``s3://bucket/key``.
    stored: str

    @property
    def intent(self) -> Intent:
        assert self.state.intent is not None  # only items with an intent are listed
        return self.state.intent

    def age_s(self, now: float) -> float | None:
        written = self.state.intent_time
        return None if written is None else max(0.0, now - written)

    def writes(self) -> dict[str, Any]:
        """What applying it writes: aggregate items, objects per bucket, messages per queue."""
        intent = self.intent
        return {
            "aggregate_items": len(intent.aggregates),
            "objects": dict(Counter(o.bucket for o in intent.objects)),
            "messages": dict(Counter(m.queue_url.rsplit("/", 1)[-1] for m in intent.messages)),
        }

    def to_dict(self, now: float) -> dict[str, Any]:
        intent = self.intent
        age = self.age_s(now)
        return {
            "ledger_id": self.ledger_id,
            "generation": intent.generation,
            "intent_id": intent.intent_id,
            "stream": self.stream,
            "shard_id": self.shard_id,
            "lane": self.lane,
            "age_s": None if age is None else round(age, 1),
            "start": {"sequence": str(intent.start[0]), "sub": intent.start[1]},
            "end": {"sequence": str(intent.end[0]), "sub": intent.end[1]},
            "records": intent.record_count,
            "writes": self.writes(),
            "size_bytes": self.size,
            "stored": self.stored,
            "committed_position": None
            if self.state.position is None
            else {"sequence": str(self.state.position[0]), "sub": self.state.position[1]},
        }


def pending_intents(consumer: Consumer) -> list[PendingIntent]:
    """The consumer's pending intents, in ledger id order."""
    prefix = f"{consumer.name}#"
    ddb = consumer.clients("dynamodb")
    items: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(
        TableName=consumer.ledger_table,
        ConsistentRead=True,
        FilterExpression="begins_with(id, :p) AND attribute_exists(intent_id)",
        ExpressionAttributeValues={":p": {"S": prefix}},
    ):
        items.extend(page.get("Items", []))
    found = []
    for item in sorted(items, key=lambda i: str(i["id"]["S"])):
        ledger_id = str(item["id"]["S"])
        rest = ledger_id[len(prefix) :]
        # <shard>[#recover#<seq>][@<stream>] (the stream when a second stream of the
        # consumer has the same shard id)
        shard_id, sep, lane = rest.split("@", 1)[0].partition("#")
        state = consumer.pipeline.ledger.read(rest)
        if state.intent is None:  # committed between the scan and the read
            continue
        if "intent" in item:
            size, stored = len(bytes(item["intent"]["B"])), "inline"
        else:
            bucket, _, key = str(item["intent_s3"]["S"]).partition("/")
            head = consumer.clients("s3").head_object(Bucket=bucket, Key=key)
            size, stored = int(head["ContentLength"]), f"s3://{bucket}/{key}"
        stream = getattr(state, "stream", None) or consumer.stream
        found.append(
            PendingIntent(ledger_id, shard_id, lane if sep else None, stream, state, size, stored)
        )
    return found


def find_intent(consumer: Consumer, ref: str, generation: int | None = None) -> PendingIntent:
    """The pending intent ``ref`` names: its ledger id, or the part after ``<consumer>#``."""
    pending = pending_intents(consumer)
    matches = [p for p in pending if ref in (p.ledger_id, p.ledger_id[len(consumer.name) + 1 :])]
    if not matches:
        known = ", ".join(p.ledger_id for p in pending) or "none"
        raise RecoverError(
            f"no pending intent {ref!r} for consumer {consumer.name!r} (pending: {known})"
        )
    found = matches[0]
    if generation is not None and found.intent.generation != generation:
        raise RecoverError(
            f"{found.ledger_id}'s pending intent is generation {found.intent.generation}, "
            f"not {generation} (it changed since you looked: list again)"
        )
    return found
