"""Settling a pending intent on purpose: roll it forward, or dead-letter its records.

* :func:`reapply` applies the intent's writes (each idempotent) and commits it: what
  the shard's next invocation would do, for a shard that will see none (closed after
  resharding) or once the cause is fixed (the table is back).
* :func:`dead_letter` gives up on the intent: every record it covers gets a dead letter
  (the records it already dead-letters keep theirs; the others get reason
  ``unappliable_intent``), re-read from the stream while retention allows, and the
  ledger commits past the intent without applying its other writes. ``streamkit dlq
  redrive`` can put the records back once the cause is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from streamkit.deadletter import DeadLetter
from streamkit.ledger import LedgerConflict
from streamkit.local.filters import compile_filters
from streamkit.local.intents.store import PendingIntent
from streamkit.local.recover.consumer import Consumer, RecoverError
from streamkit.local.recover.stream import read_range
from streamkit.records import iter_records
from streamkit.sinks.dlq import dead_letter_object

#: The dead-letter reason of records whose intent was given up on.
UNAPPLIABLE_INTENT = "unappliable_intent"


@dataclass
class Resolution:
    """What resolving one intent did."""

    ledger_id: str
    generation: int
    action: str  # "reapplied" or "dead_lettered"
    #: Dead letters written (dead_letter only): key -> reason.
    dead_letters: dict[str, str] = field(default_factory=dict)
    #: True when another invocation committed the intent first (nothing left to do).
    already_committed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "ledger_id": self.ledger_id,
            "generation": self.generation,
            "action": self.action,
            "dead_letters": len(self.dead_letters),
            "dead_letter_reasons": _count(self.dead_letters.values()),
            "already_committed": self.already_committed,
        }


def reapply(consumer: Consumer, pending: PendingIntent) -> Resolution:
    """Roll the intent forward now (raises what the failing write raises)."""
    consumer.pipeline.roll_forward(pending.intent)
    return Resolution(pending.ledger_id, pending.intent.generation, "reapplied")


def dead_letter(consumer: Consumer, pending: PendingIntent) -> Resolution:
    """Dead-letter the intent's records and commit past it, writing nothing else."""
    pipeline = consumer.pipeline
    intent = pending.intent
    bucket = pipeline.dead_letter_bucket
    if not bucket:
        raise RecoverError(
            f"consumer {consumer.name!r} has no dead-letter bucket: --dead-letter cannot "
            "keep its records (use --reapply once the cause is fixed)"
        )
    settings = consumer.config.esm
    filters = compile_filters(
        {"Filters": [{"Pattern": p} for p in settings.filter_patterns]}
        if settings.filter_patterns
        else None
    )
    read = read_range(
        consumer.kinesis,
        consumer.stream,
        consumer.stream_arn,
        pending.shard_id,
        str(intent.start[0]),
        str(intent.end[0]),
        filters,
    )
    if read.trimmed:
        raise RecoverError(
            f"cannot dead-letter {pending.ledger_id} generation {intent.generation}: "
            f"{read.trimmed}; its records are no longer in the stream"
        )
    prefix = pipeline.dead_letter_prefix.strip("/") + "/"
    planned = {o.key: o for o in intent.objects if o.bucket == bucket and o.key.startswith(prefix)}
    objects = []
    resolution = Resolution(pending.ledger_id, intent.generation, "dead_lettered")
    detail = (
        f"pending intent {intent.intent_id} (generation {intent.generation} of "
        f"{pending.ledger_id}) could not be applied and was dead-lettered by "
        "`streamkit intents resolve --dead-letter`"
    )
    for record in iter_records(read.records):
        if not intent.start <= record.position <= intent.end:
            continue
        letter = DeadLetter(record, UNAPPLIABLE_INTENT, detail, pipeline.name)
        obj = dead_letter_object(letter, bucket=bucket, prefix=prefix, consumer=pipeline.name)
        if obj.key in planned:  # already a dead letter of its own: keep its reason
            obj = planned[obj.key]
            resolution.dead_letters[obj.key] = str(orjson.loads(obj.body).get("reason"))
        else:
            resolution.dead_letters[obj.key] = UNAPPLIABLE_INTENT
        objects.append(obj)
    pipeline.objects.put_objects(objects)
    try:
        pipeline.ledger.commit(intent)
    except LedgerConflict:
        resolution.already_committed = True  # rolled forward meanwhile: applied after all
    return resolution


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts
