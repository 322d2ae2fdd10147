"""The per-shard commit ledger: exactly-once effects at O(distinct keys) writes.

Kinesis orders each shard and Lambda runs one batch per shard at a time
(ParallelizationFactor 1, enforced by the consumer config). One DynamoDB item per
(consumer, shard) holds the *generation* (how many intents were committed), the
position (sequence number, sub-sequence number) up to which effects are committed,
the shard's event-time watermark, and at most one pending *intent*.

Protocol for one invocation on shard H (architecture.md, "Exactly-once")::

    state = read(H)                         # consistent read
    if state.intent: apply(state.intent); commit(H, state.intent)    # roll forward
    drop records at or before state.position
    intent = process(records)               # pure: deltas, archive objects, dead letters
    write_intent(H, state, intent)          # conditional: generation and no intent
    apply(intent)                           # every write idempotent, keyed by generation
    commit(H, intent)                       # conditional: our intent id

Why it is exactly-once: an effect is only ever written while applying an intent
that is durably recorded in the ledger, every apply of generation g is idempotent
(DynamoDB items carry ``applied[H] >= g`` markers, S3 keys and bytes are fixed by
the intent), and the next invocation re-applies a pending intent before anything
else. A zombie invocation (timed out but still running) loses the conditional
intent write, or re-applies the same intent harmlessly.

Intents are stored inline in the ledger item (gzip) up to :data:`BUCKET_INLINE_LIMIT`
bytes when the ledger has an intent bucket (:data:`INLINE_LIMIT` without one); larger
ones go to S3 first, with the ledger holding the pointer.
"""

from __future__ import annotations

import base64
import gzip
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from streamkit.errors import StreamkitError
from streamkit.write_checks import float_text
from streamkit.writes import AggregateWrite, MessageWrite, ObjectWrite

#: Intents above this size (gzip) go to S3; a DynamoDB item holds at most 400 KB.
INLINE_LIMIT = 300_000
#: The inline limit when the ledger has an intent bucket: a ledger write costs one
#: write unit per started KB of the whole item, and an inline intent is paid twice
#: (the intent write, then the commit: DynamoDB charges the larger of the item before
#: and after), so beyond a few KB one S3 PUT (about 8 on-demand write units' price)
#: is cheaper: a 230 KB intent inline costs ~460 write units, in S3 one PUT.
BUCKET_INLINE_LIMIT = 4_096

#: Where in the intent bucket intents above the inline limit go (``<prefix>/<consumer>/
#: <shard>/<generation>-<intent id>.json.gz``); the execution role's grants name it.
DEFAULT_INTENT_PREFIX = "streamkit/intents"

#: Days each commit's journal entry (:meth:`Ledger.journal`) is kept: how long after a
#: discard ``streamkit recover`` can still tell what the shard's ledger committed.
DEFAULT_JOURNAL_DAYS = 14.0

Position = tuple[int, int]  # (sequence number, sub-sequence number)


class LedgerConflict(StreamkitError):
    """Another invocation changed the ledger first (a retry overtook a zombie)."""


@dataclass
class Intent:
    """Everything one batch will write, decided before any of it is written."""

    consumer: str
    shard_id: str
    generation: int  # the generation this intent creates when committed
    start: Position  # first record covered
    end: Position  # last record covered (the new committed position)
    watermark: float | None
    #: DynamoDB aggregate item deltas (to :attr:`table`).
    aggregates: list[AggregateWrite] = field(default_factory=list)
    #: S3 objects written verbatim (archive, dead letters).
    objects: list[ObjectWrite] = field(default_factory=list)
    #: SQS FIFO messages (alerts).
    messages: list[MessageWrite] = field(default_factory=list)
    #: Records the intent covers (succeeded + dead-lettered).
    record_count: int = 0
    #: The aggregate table the deltas were planned for: a pending intent is applied
    #: there even after a redeploy renamed the pipeline's table (None: intents written
    #: before the intent named it, applied to the pipeline's table).
    table: str | None = None
    #: The stream the records came from (None in intents of earlier versions): the
    #: ledger item records it, so another stream of the same consumer with the same
    #: shard id gets a ledger item of its own (:meth:`Ledger.stream_shard`).
    stream: str | None = None
    intent_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def empty(self) -> bool:
        return not (self.aggregates or self.objects or self.messages)

    def to_bytes(self) -> bytes:
        doc = {
            "v": 1,
            "consumer": self.consumer,
            "shard_id": self.shard_id,
            "generation": self.generation,
            # Sequence numbers have up to 128 digits: beyond JSON's (and orjson's)
            # integers, so positions travel as strings.
            "start": [str(self.start[0]), self.start[1]],
            "end": [str(self.end[0]), self.end[1]],
            "watermark": self.watermark,
            # The writes' wire forms: field names and order are part of version 1.
            "aggregates": [a.to_wire() for a in self.aggregates],
            "objects": [o.to_wire() for o in self.objects],
            "messages": [m.to_wire() for m in self.messages],
            # "records": the wire name since version 1 (pending intents must still
            # decode after an upgrade).
            "records": self.record_count,
            "intent_id": self.intent_id,
            "table": self.table,
            "stream": self.stream,
        }
        return gzip.compress(orjson.dumps(_to_json_safe(doc)), mtime=0)

    @classmethod
    def from_bytes(cls, data: bytes) -> Intent:
        doc = _from_json_safe(orjson.loads(gzip.decompress(data)))
        if doc.get("v") != 1:
            raise ValueError(f"unknown intent version {doc.get('v')!r}")
        return cls(
            consumer=doc["consumer"],
            shard_id=doc["shard_id"],
            generation=doc["generation"],
            start=(int(doc["start"][0]), int(doc["start"][1])),
            end=(int(doc["end"][0]), int(doc["end"][1])),
            watermark=doc["watermark"],
            aggregates=[AggregateWrite.from_wire(a) for a in doc["aggregates"]],
            objects=[ObjectWrite.from_wire(o) for o in doc["objects"]],
            messages=[MessageWrite.from_wire(m) for m in doc["messages"]],
            record_count=doc["records"],
            intent_id=doc["intent_id"],
            table=doc.get("table"),  # absent in intents of earlier versions
            stream=doc.get("stream"),
        )


@dataclass(frozen=True)
class LedgerState:
    """What the ledger says about one shard."""

    generation: int
    position: Position | None
    watermark: float | None
    intent: Intent | None
    exists: bool
    #: When the pending intent was written (epoch seconds), if one is pending.
    intent_time: float | None = None
    #: The stream whose records this ledger item counts (None: not recorded yet, as
    #: in items of earlier versions; the next intent records its stream).
    stream: str | None = None

    @classmethod
    def new_shard(cls) -> LedgerState:
        """The state of a shard the ledger has never seen: nothing committed yet."""
        return cls(0, None, None, None, exists=False)

    def covers(self, position: Position) -> bool:
        """True when the record at ``position`` is already committed."""
        return self.position is not None and position <= self.position


class Ledger:
    """The ledger table: one item per (consumer, shard), key attribute ``id``."""

    def __init__(
        self,
        table: str,
        consumer: str,
        clients: Callable[[str], Any],
        *,
        intent_bucket: str | None = None,
        intent_prefix: str = DEFAULT_INTENT_PREFIX,
        journal_days: float | None = DEFAULT_JOURNAL_DAYS,
        inline_limit: int | None = None,
    ) -> None:
        self.table = table
        #: Intents above this many bytes (gzip) go to the intent bucket: by default
        #: :data:`BUCKET_INLINE_LIMIT` with a bucket, else :data:`INLINE_LIMIT`.
        self.inline_limit = min(
            INLINE_LIMIT,
            inline_limit
            if inline_limit is not None
            else (BUCKET_INLINE_LIMIT if intent_bucket else INLINE_LIMIT),
        )
        #: Days a commit's journal entry is kept (None: no journal; ``streamkit
        #: recover`` then cannot tell a discarded range the shard committed).
        self.journal_days = journal_days
        self.consumer = consumer
        self.clients = clients
        self.intent_bucket = intent_bucket
        self.intent_prefix = intent_prefix.strip("/")

    def _key(self, shard_id: str) -> dict[str, Any]:
        return {"id": {"S": f"{self.consumer}#{shard_id}"}}

    def read(self, shard_id: str) -> LedgerState:
        item = (
            self.clients("dynamodb")
            .get_item(TableName=self.table, Key=self._key(shard_id), ConsistentRead=True)
            .get("Item")
        )
        if not item:
            return LedgerState.new_shard()
        position = None
        if "position_seq" in item:
            position = (int(item["position_seq"]["S"]), int(item["position_sub"]["N"]))
        watermark = float(item["watermark"]["N"]) if "watermark" in item else None
        intent = None
        if "intent" in item:
            intent = Intent.from_bytes(bytes(item["intent"]["B"]))
        elif "intent_s3" in item:
            bucket, _, key = item["intent_s3"]["S"].partition("/")
            body = self.clients("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            intent = Intent.from_bytes(body)
        written = float(item["intent_time"]["N"]) if intent and "intent_time" in item else None
        stream = str(item["source_stream"]["S"]) if "source_stream" in item else None
        return LedgerState(
            int(item["generation"]["N"]), position, watermark, intent, True, written, stream
        )

    @staticmethod
    def stream_shard(shard_id: str, stream: str) -> str:
        """The ledger shard of ``stream``'s shard ``shard_id`` when another stream of
        the consumer already owns ``shard_id``'s ledger item: ``<shard id>@<stream>``.

        Shard ids repeat across streams (``shardId-000000000000``); without this a
        consumer reading two streams would drop the second one's records as already
        committed.
        """
        return f"{shard_id}@{stream}"

    def write_intent(self, state: LedgerState, intent: Intent) -> None:
        """Record ``intent`` as pending, only if nobody moved the ledger since ``state``.

        Raises :class:`LedgerConflict` when the condition fails.
        """
        blob = intent.to_bytes()
        values: dict[str, Any] = {
            ":iid": {"S": intent.intent_id},
            ":g": {"N": str(state.generation)},
            ":now": {"N": str(int(time.time()))},  # the intent's age, for `streamkit intents`
        }
        if len(blob) <= self.inline_limit:
            update = "SET intent = :blob, intent_id = :iid, generation = :g, intent_time = :now"
            values[":blob"] = {"B": blob}
        else:
            if not self.intent_bucket:
                raise ValueError(
                    f"intent of {len(blob)} bytes exceeds {self.inline_limit} and no intent bucket "
                    "is configured: give the ledger an intent_bucket or lower BatchSize"
                )
            key = (
                f"{self.intent_prefix}/{self.consumer}/{intent.shard_id}/"
                f"{intent.generation:012d}-{intent.intent_id}.json.gz"
            )
            self.clients("s3").put_object(Bucket=self.intent_bucket, Key=key, Body=blob)
            update = "SET intent_s3 = :ptr, intent_id = :iid, generation = :g, intent_time = :now"
            values[":ptr"] = {"S": f"{self.intent_bucket}/{key}"}
        if intent.stream:
            # "stream" is a DynamoDB reserved word: the attribute is source_stream.
            update += ", source_stream = if_not_exists(source_stream, :stream)"
            values[":stream"] = {"S": intent.stream}
        condition = "attribute_not_exists(intent_id) AND " + (
            "generation = :g" if state.exists else "attribute_not_exists(generation)"
        )
        self._conditional_update(intent.shard_id, update, condition, values)

    def commit(self, intent: Intent) -> None:
        """Mark ``intent`` committed: new generation and position, intent removed.

        First journals the span the intent covers (:meth:`journal`), so what the shard
        committed stays known after its position moves on.
        """
        if self.journal_days is not None:
            self.journal(intent)
        values: dict[str, Any] = {
            ":iid": {"S": intent.intent_id},
            ":g": {"N": str(intent.generation)},
            ":seq": {"S": str(intent.end[0])},
            ":sub": {"N": str(intent.end[1])},
        }
        update = "SET generation = :g, position_seq = :seq, position_sub = :sub"
        if intent.watermark is not None:
            update += ", watermark = :wm"
            # The planner checked every event time with this same serialiser.
            values[":wm"] = {"N": float_text(intent.watermark, "watermark")}
        update += " REMOVE intent, intent_s3, intent_id, intent_time"
        self._conditional_update(intent.shard_id, update, "intent_id = :iid", values)

    def journal(self, intent: Intent) -> None:
        """Record that generation ``intent.generation`` covers ``intent.start..end``.

        One item per commit, ``<consumer>#<shard>#commit#<generation>``, expiring after
        ``journal_days`` (TTL attribute ``expires_at``). ``streamkit recover`` reads it:
        Lambda may discard a batch the ledger already committed (the invocation timed
        out or crashed after the commit, and its retries did too until the records
        aged out), and only the journal tells those records from ones never committed
        (:meth:`committed_span`). Written before the commit, unconditionally: one
        generation is only ever one intent (the intent write is conditional), so a
        repeat writes the same values.
        """
        days = self.journal_days if self.journal_days is not None else DEFAULT_JOURNAL_DAYS
        self.clients("dynamodb").update_item(
            TableName=self.table,
            Key=self._journal_key(intent.shard_id, intent.generation),
            UpdateExpression=(
                "SET start_seq = :ss, start_sub = :su, end_seq = :es, end_sub = :eu, "
                "expires_at = :exp"
            ),
            ExpressionAttributeValues={
                ":ss": {"S": str(intent.start[0])},
                ":su": {"N": str(intent.start[1])},
                ":es": {"S": str(intent.end[0])},
                ":eu": {"N": str(intent.end[1])},
                ":exp": {"N": str(int(time.time() + days * 86_400))},
            },
        )

    def committed_span(self, shard_id: str, generation: int) -> tuple[Position, Position] | None:
        """The (start, end) positions generation ``generation`` of ``shard_id``
        committed, from the journal; None when it has no entry (expired, or committed
        before the journal existed)."""
        item = (
            self.clients("dynamodb")
            .get_item(
                TableName=self.table,
                Key=self._journal_key(shard_id, generation),
                ConsistentRead=True,
            )
            .get("Item")
        )
        if not item:
            return None
        return (
            (int(item["start_seq"]["S"]), int(item["start_sub"]["N"])),
            (int(item["end_seq"]["S"]), int(item["end_sub"]["N"])),
        )

    def seed(self, shard_id: str, position: Position) -> bool:
        """Create ``shard_id``'s ledger item at generation 0, committed up to
        ``position``, unless it exists. True when it was created.

        ``streamkit recover`` seeds a discarded range's lane with what the shard's own
        ledger committed of it, so the lane processes only the rest.
        """
        try:
            self._conditional_update(
                shard_id,
                "SET generation = :g, position_seq = :seq, position_sub = :sub",
                "attribute_not_exists(generation)",
                {
                    ":g": {"N": "0"},
                    ":seq": {"S": str(position[0])},
                    ":sub": {"N": str(position[1])},
                },
            )
        except LedgerConflict:
            return False
        return True

    def _journal_key(self, shard_id: str, generation: int) -> dict[str, Any]:
        return {"id": {"S": f"{self.consumer}#{shard_id}#commit#{generation}"}}

    def _conditional_update(
        self, shard_id: str, update: str, condition: str, values: Mapping[str, Any]
    ) -> None:
        ddb = self.clients("dynamodb")
        try:
            ddb.update_item(
                TableName=self.table,
                Key=self._key(shard_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=dict(values),
            )
        except ddb.exceptions.ConditionalCheckFailedException as e:
            raise LedgerConflict(
                f"ledger for {self.consumer}/{shard_id} changed under us: {condition}"
            ) from e


# JSON has no bytes or Decimal; intents carry both (S3 bodies, DynamoDB numbers).
def _to_json_safe(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, dict):
        encoded = {k: _to_json_safe(v) for k, v in value.items()}
        # A user dict that looks like a tag (one key starting with "$") is wrapped,
        # so decoding can never mistake it for bytes or a number.
        if len(encoded) == 1 and next(iter(encoded)).startswith("$"):
            return {"$$": encoded}
        return encoded
    if isinstance(value, list | tuple):
        return [_to_json_safe(v) for v in value]
    return value


def _from_json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            if "$b" in value:
                return base64.b64decode(value["$b"])
            if "$d" in value:
                return Decimal(value["$d"])
            if "$$" in value:
                return {k: _from_json_safe(v) for k, v in value["$$"].items()}
        return {k: _from_json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json_safe(v) for v in value]
    return value
