"""DynamoDB aggregate items, applied idempotently: one write per distinct item.

One item per (aggregate key, window): ``pk = "<aggregate>#<key>"``, ``sk = window
start`` (``2026-11-28T10:05:00Z``), with read-friendly attributes (``count``,
``sum``, ``min``, ``max``, ``mean``, ``last_value``, ``distinct``, ``window_start``,
``window_end``, ``aggregate``, ``key``) and an optional ``ttl``.

Idempotence: each item keeps ``applied``, a map from ledger id (``<consumer>#<shard
id>``, the ledger item the generation counts for) to the last generation applied to
it, with ``applied_at`` (when, epoch seconds) and ``applied_intent`` (which intent
id). Applying generation g of ledger H skips an item whose ``applied[H] == g`` by
the same intent; otherwise it merges the delta and writes the item with a condition
on the ``version`` it read, so concurrent writers (other shards, other consumers)
never lose an update (optimistic concurrency: re-read and retry).

A marker that is *ahead* (``applied[H] > g``, or ``== g`` by another intent) is
either a zombie that was overtaken (the ledger committed g and went on) or a ledger
that restarted its generations (a recreated or restored ledger table):
:class:`MarkerAhead` says so and the pipeline tells the two apart from the ledger,
never skipping silently.

Bounded markers: each write of an item drops the markers of *other* ledger ids
applied more than ``marker_horizon_s`` (default :data:`DEFAULT_MARKER_HORIZON_S`,
7 days) before, so an item holds one marker per ledger id that wrote it within the
horizon (resharded shards, recovery lanes and old consumers age out). Sound as long
as no intent of such a ledger is re-applied after the horizon: a zombie lives at
most Lambda's 15-minute timeout. An intent left pending (blocked) longer than the
horizon may have lost its markers: the item keeps ``pruned_at``, the newest
``applied_at`` it dropped, and applying an intent written at or before that (within
:data:`CLOCK_MARGIN_S`) to an item without its ledger's marker raises
:class:`MarkerPruned` instead of possibly counting it twice.

Cost: reads are batched (BatchGetItem, 100 keys a call); writes are one
conditional PutItem per item, sent concurrently. (TransactWriteItems would save
round trips but costs two write units per item, and one item that another shard
raced would cancel the whole transaction; BatchWriteItem takes no conditions.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from streamkit.aggregate import merge, stats_from_item, stats_to_item
from streamkit.errors import StreamkitError
from streamkit.write_checks import attribute_values
from streamkit.writes import AggregateWrite

_DE = TypeDeserializer()
_MAX_ATTEMPTS = 12
_WORKERS = 16
_BATCH_GET_LIMIT = 100
#: How long a marker of another ledger id is kept on an item (seconds): far longer
#: than Lambda's 15-minute maximum timeout, so no zombie can still re-apply.
DEFAULT_MARKER_HORIZON_S = 7 * 24 * 3600.0
#: Clock difference allowed between the ledger's writer and the item's (seconds).
CLOCK_MARGIN_S = 300.0


class AggregateWriteError(StreamkitError, RuntimeError):
    """An aggregate item could not be written (contention beyond retries)."""


class MarkerPruned(StreamkitError, RuntimeError):
    """An old pending intent meets an item whose markers of that age were dropped: it
    may have written the item already, so applying could count it twice."""


class MarkerAhead(StreamkitError, RuntimeError):
    """An item carries a marker of this ledger id at or above the generation being
    applied, from another intent: an overtaken zombie, or a reset ledger."""

    def __init__(
        self, table: str, key: dict[str, Any], ledger_id: str, marker: int, generation: int
    ) -> None:
        super().__init__(
            f"{table} item {key} carries applied marker generation {marker} of ledger "
            f"{ledger_id} from another intent, at or above generation {generation} being "
            "applied"
        )
        self.ledger_id = ledger_id
        self.marker_generation = marker
        self.generation = generation


def _to_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    # The one serialiser: the planner checked every record's item with it.
    return attribute_values(item)


def _from_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _DE.deserialize(v) for k, v in item.items()}


class AggregateTable:
    """Applies aggregate deltas of ledger intents to one DynamoDB table."""

    def __init__(
        self,
        table: str,
        clients: Callable[[str], Any],
        *,
        marker_horizon_s: float = DEFAULT_MARKER_HORIZON_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not marker_horizon_s > 0:
            raise ValueError(f"marker_horizon_s must be > 0 seconds, got {marker_horizon_s!r}")
        self.table = table
        self.clients = clients
        self.marker_horizon_s = float(marker_horizon_s)
        self.clock = clock

    def apply(
        self,
        ledger_id: str,
        generation: int,
        deltas: Sequence[AggregateWrite],
        intent_id: str | None = None,
        written_at: float | None = None,
    ) -> int:
        """Apply ``deltas`` of generation ``generation`` of ledger ``ledger_id``
        (``<consumer>#<shard id>``) by intent ``intent_id``, written to the ledger at
        ``written_at`` (epoch seconds; None: just now); return the items written.

        Raises :class:`MarkerAhead` for an item whose marker is ahead (module docstring).
        """
        if not deltas:
            return 0
        mark = _Mark(ledger_id, generation, intent_id, written_at)
        current = self._batch_get([d.item_key for d in deltas])
        puts: list[tuple[AggregateWrite, dict[str, Any]]] = []
        for delta in deltas:
            put = self._conditional_put(mark, delta, current.get((delta.pk, delta.sk)))
            if put is not None:
                puts.append((delta, put))
        if len(puts) <= 1:
            return sum(self._put(mark, d, p) for d, p in puts)
        # Independent items: write them concurrently (boto3 clients are thread-safe).
        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(puts))) as pool:
            futures = [pool.submit(self._put, mark, d, p) for d, p in puts]
            return sum(f.result() for f in futures)

    def _put(self, mark: _Mark, delta: AggregateWrite, put: dict[str, Any]) -> int:
        ddb = self.clients("dynamodb")
        try:
            ddb.put_item(**put)
            return 1
        except ddb.exceptions.ConditionalCheckFailedException:
            # Another shard wrote the item since we read it: read again and merge.
            return self._merge_after_conflict(mark, delta)

    def _merge_after_conflict(self, mark: _Mark, delta: AggregateWrite) -> int:
        ddb = self.clients("dynamodb")
        for _ in range(_MAX_ATTEMPTS):
            got = ddb.get_item(
                TableName=self.table, Key=_to_attribute_values(delta.item_key), ConsistentRead=True
            ).get("Item")
            put = self._conditional_put(mark, delta, _from_attribute_values(got) if got else None)
            if put is None:
                return 0  # already applied
            try:
                ddb.put_item(**put)
                return 1
            except ddb.exceptions.ConditionalCheckFailedException:
                continue  # someone wrote in between: read again
        raise AggregateWriteError(
            f"{self.table} item {delta.item_key} still contended after {_MAX_ATTEMPTS} attempts"
        )

    def _conditional_put(
        self, mark: _Mark, delta: AggregateWrite, current: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The conditional Put for ``delta`` on top of ``current``; None if applied."""
        ledger_id, generation = mark.ledger_id, mark.generation
        applied: dict[str, Any] = dict(current.get("applied", {})) if current else {}
        at: dict[str, Any] = dict(current.get("applied_at", {})) if current else {}
        by: dict[str, Any] = dict(current.get("applied_intent", {})) if current else {}
        marker = int(applied.get(ledger_id, 0))
        if marker >= generation:
            if marker == generation and by.get(ledger_id) in (None, mark.intent_id):
                return None  # applied by this intent (or by a marker without its id)
            raise MarkerAhead(self.table, delta.item_key, ledger_id, marker, generation)
        pruned_at = float(current.get("pruned_at", 0)) if current else 0.0
        if (
            mark.written_at is not None
            and pruned_at
            and ledger_id not in applied
            and pruned_at >= mark.written_at - CLOCK_MARGIN_S
        ):
            raise MarkerPruned(
                f"{self.table} item {delta.item_key} dropped markers applied at {pruned_at:.0f}, "
                f"after intent {mark.intent_id} (generation {generation} of {ledger_id}) was "
                f"written at {mark.written_at:.0f}: it may already count this intent; settle "
                "it with `streamkit intents resolve`"
            )
        now = self.clock()
        for other in list(applied):
            # Markers of earlier versions have no time: their horizon starts now.
            if other != ledger_id and float(at.setdefault(other, Decimal(int(now)))) < (
                now - self.marker_horizon_s
            ):
                applied.pop(other)
                pruned_at = max(pruned_at, float(at.pop(other)))
                by.pop(other, None)
        for name in set(at) - set(applied):
            at.pop(name)
        for name in set(by) - set(applied):
            by.pop(name)
        stats = stats_from_item(delta.stats)
        if current is not None:
            # Exact with as many digits as needed (sum_exact): the merge never depends
            # on what the item holds, so every apply of this delta writes the same.
            stats = merge(stats_from_item(current), stats)
        applied[ledger_id] = Decimal(generation)
        at[ledger_id] = Decimal(int(now))
        if mark.intent_id is not None:
            by[ledger_id] = mark.intent_id
        else:
            by.pop(ledger_id, None)
        version = int(current.get("version", 0)) if current else 0
        item = {
            **delta.attributes(),
            **stats_to_item(stats),
            "applied": applied,
            "applied_at": at,
            **({"applied_intent": by} if by else {}),
            **({"pruned_at": Decimal(int(pruned_at))} if pruned_at else {}),
            "version": Decimal(version + 1),
        }
        put: dict[str, Any] = {"TableName": self.table, "Item": _to_attribute_values(item)}
        if current is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "#v = :v"
            put["ExpressionAttributeNames"] = {"#v": "version"}
            put["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
        return put

    def _batch_get(self, keys: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        ddb = self.clients("dynamodb")
        out: dict[tuple[str, str], dict[str, Any]] = {}
        unique = list({_item_key(k): k for k in keys}.values())
        for i in range(0, len(unique), _BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [_to_attribute_values(k) for k in unique[i : i + _BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                }
            }
            while request:
                resp = ddb.batch_get_item(RequestItems=request)
                for raw in resp.get("Responses", {}).get(self.table, ()):
                    item = _from_attribute_values(raw)
                    out[(item["pk"], item["sk"])] = item
                request = resp.get("UnprocessedKeys") or {}
        return out


@dataclass(frozen=True)
class _Mark:
    """The marker one apply sets: ledger id, generation, intent id."""

    ledger_id: str
    generation: int
    intent_id: str | None
    written_at: float | None


def _item_key(key: dict[str, Any]) -> tuple[str, str]:
    return (str(key["pk"]), str(key["sk"]))
