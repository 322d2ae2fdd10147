"""DynamoDB aggregate items, applied idempotently: one write per distinct item.

One item per (aggregate key, window): ``pk = "<aggregate>#<key>"``, ``sk = window
start`` (``2026-11-28T10:05:00Z``), with read-friendly attributes (``count``,
``sum``, ``min``, ``max``, ``mean``, ``last_value``, ``distinct``, ``window_start``,
``window_end``, ``aggregate``, ``key``) and an optional ``ttl``. A multi-field
aggregate's item (``Aggregate(fields=...)``) holds those statistics per field in the
map ``fields`` (``fields.temperature.max``), at most ``max_fields`` of them; more go
to overflow items with sort key ``<window start>#1``, ``#2``, ... (see
:meth:`AggregateTable._apply_fields`; :mod:`streamkit.query` reads them merged).
An ``Aggregate(layout="window")`` has one such multi-field item per window, ``pk =
"<aggregate>"``, its keys the fields: the planner hands it over as one multi-field
delta per window, and it is applied exactly as one.

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

import functools
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from streamkit.aggregate import (
    fields_from_item,
    fields_to_item,
    merge,
    stats_from_item,
    stats_to_item,
)
from streamkit.errors import StreamkitError
from streamkit.spec import MAX_WINDOW_FIELDS_LIMIT
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

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _writers() -> ThreadPoolExecutor:
    """The writer threads, shared by every table of the process and kept between
    invocations (a warm container reuses them: starting 16 threads per batch cost
    about a millisecond, more than the whole planning of a small batch)."""
    global _pool
    pool = _pool
    if pool is None:
        with _pool_lock:
            pool = _pool
            if pool is None:
                pool = _pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="streamkit-ddb")
    return pool


def _forget_writers() -> None:
    # A forked child has none of the parent's threads; the parent's executor would
    # count them as idle and never start any (its submits would hang): start over.
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_writers)


class AggregateWriteError(StreamkitError, RuntimeError):
    """An aggregate item could not be written (contention beyond retries)."""


class MarkerPruned(StreamkitError, RuntimeError):
    """An old pending intent meets an item whose markers of that age were dropped: it
    may have written the item already, so applying could count it twice."""


class LayoutMismatch(StreamkitError, RuntimeError):
    """A plain aggregate delta meets a multi-field item, or the other way round: the
    aggregate changed its layout under the same name (``fields=`` added or removed)."""


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
        # Part 0 of every item and part 1 of every multi-field item in one BatchGetItem.
        current = self._batch_get(
            [d.item_key for d in deltas] + [d.part_key(1) for d in deltas if d.fields is not None]
        )
        jobs: list[Callable[[], int]] = []
        for delta in deltas:
            got = current.get((delta.pk, delta.sk))
            _check_layout(self.table, delta, got)
            if delta.fields is not None:
                parts = self._read_parts(delta, got, current)
                # Every part is checked before anything is written, as a plain item is:
                # a marker ahead anywhere in the item (an overtaken zombie, a reset
                # ledger) stops the apply with nothing written.
                for n, item in parts.items():
                    self._marker_state(mark, delta.part_key(n), item)
                jobs.append(functools.partial(self._apply_fields, mark, delta, parts))
                continue
            put = self._conditional_put(mark, delta, got)
            if put is not None:
                jobs.append(functools.partial(self._put, mark, delta, put))
        if len(jobs) <= 1:
            return sum(job() for job in jobs)
        # Independent items: write them concurrently (boto3 clients are thread-safe).
        # Every write ends before apply returns or raises (none may outlive the
        # invocation: a frozen container would finish it later). A job never
        # submits to the pool itself, so waiting here cannot deadlock.
        futures = [_writers().submit(job) for job in jobs]
        wait(futures)
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
            put = self._conditional_put(mark, delta, self._get(delta.item_key))
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
        if self._marker_state(mark, delta.item_key, current) == "applied":
            return None  # applied by this intent (or by a marker without its id)
        stats = stats_from_item(delta.stats)
        if current is not None:
            # Exact with as many digits as needed (sum_exact): the merge never depends
            # on what the item holds, so every apply of this delta writes the same.
            stats = merge(stats_from_item(current), stats)
        return self._build_put(mark, delta.attributes(), stats_to_item(stats), current)

    def _read_parts(
        self,
        delta: AggregateWrite,
        first: dict[str, Any] | None,
        batch: dict[tuple[str, str], dict[str, Any]],
    ) -> dict[int, dict[str, Any] | None]:
        """Every stored part of a multi-field item (parts 0 and 1 from ``batch``, later
        ones read one by one: only items past ``2 * max_fields`` fields have them),
        ending with the first part that does not exist (None)."""
        parts: dict[int, dict[str, Any] | None] = {0: first}
        if first is None:
            return parts
        n = 1
        while True:
            key = delta.part_key(n)
            item = batch.get((key["pk"], key["sk"])) if n == 1 else self._get(key)
            parts[n] = item
            if item is None:
                return parts
            n += 1

    def _apply_fields(
        self, mark: _Mark, delta: AggregateWrite, parts: dict[int, dict[str, Any] | None]
    ) -> int:
        """Apply a multi-field delta part by part; return the items written.

        Placement: a field is merged into the part that holds it, else added to the
        first part with room (fewer than its ``max_fields`` fields), parts in order. A
        part keeps the ``max_fields`` it was created with (attribute ``max_fields``),
        whatever the writer's setting (a redeploy that changes it, another consumer),
        so every writer sees the same room. Parts never lose fields, so every part
        before the last is full and a field lives in exactly one part; re-applying
        after a crash between parts therefore places every field where the first
        apply did (a part this intent already marked took exactly the fields of the
        delta it holds).
        """
        assert delta.fields is not None and delta.max_fields is not None
        remaining = dict(delta.fields)
        part, written = 0, 0
        ddb = self.clients("dynamodb")
        while remaining:
            key = delta.part_key(part)
            # As read before the apply (a part past those: not there then; a writer
            # that created it since makes the conditional put fail, and it is re-read).
            current = parts.get(part)
            for _ in range(_MAX_ATTEMPTS):
                put, placed = self._fields_put(mark, delta, part, current, remaining)
                if put is None:
                    break
                try:
                    ddb.put_item(**put)
                    written += 1
                    break
                except ddb.exceptions.ConditionalCheckFailedException:
                    current = self._get(key)  # someone wrote in between: read again
            else:
                raise AggregateWriteError(
                    f"{self.table} item {key} still contended after {_MAX_ATTEMPTS} attempts"
                )
            remaining = {n: v for n, v in remaining.items() if n not in placed}
            part += 1
        return written

    def _fields_put(
        self,
        mark: _Mark,
        delta: AggregateWrite,
        part: int,
        current: dict[str, Any] | None,
        remaining: dict[str, Any],
    ) -> tuple[dict[str, Any] | None, set[str]]:
        """The Put of one part and the fields of ``remaining`` it takes (None: nothing
        to write there: applied by this intent already, or full without them)."""
        assert delta.max_fields is not None
        key = delta.part_key(part)
        existing = fields_from_item(current) if current else {}
        state = self._marker_state(mark, key, current, raise_ahead=False)
        if state == "applied":
            return None, set(remaining) & set(existing)
        # The part's own capacity (parts written before it was stored: the delta's).
        capacity = int(current.get("max_fields", delta.max_fields)) if current else delta.max_fields
        if delta.pk == delta.aggregate:
            # A window item (layout="window") never takes more than 64 keys, whatever
            # it was created with (earlier versions allowed 256): each key may come to
            # hold a distinct sketch. An over-full part just has no room, so placement
            # stays as _apply_fields says (earlier parts full, a field in one part).
            capacity = min(capacity, MAX_WINDOW_FIELDS_LIMIT)
        room = max(capacity - len(existing), 0)
        new = [n for n in sorted(remaining) if n not in existing][:room]
        placed = {n for n in remaining if n in existing} | set(new)
        if not placed:
            return None, placed
        if state == "ahead":
            self._marker_state(mark, key, current)  # raises MarkerAhead
        merged = dict(existing)
        for name in placed:
            stats = stats_from_item(remaining[name])
            merged[name] = merge(existing[name], stats) if name in existing else stats
        body = {"fields": fields_to_item(merged), "max_fields": Decimal(capacity)}
        return self._build_put(mark, delta.attributes(part), body, current), placed

    def _marker_state(
        self,
        mark: _Mark,
        key: dict[str, Any],
        current: dict[str, Any] | None,
        *,
        raise_ahead: bool = True,
    ) -> str:
        """``"applied"`` (by this intent, or a marker without an id), ``"ahead"``
        (raises :class:`MarkerAhead` unless ``raise_ahead`` is False) or ``"new"``."""
        if current is None:
            return "new"
        marker = int(current.get("applied", {}).get(mark.ledger_id, 0))
        if marker < mark.generation:
            return "new"
        by = current.get("applied_intent", {})
        if marker == mark.generation and by.get(mark.ledger_id) in (None, mark.intent_id):
            return "applied"
        if raise_ahead:
            raise MarkerAhead(self.table, key, mark.ledger_id, marker, mark.generation)
        return "ahead"

    def _build_put(
        self,
        mark: _Mark,
        attributes: dict[str, Any],
        body: dict[str, Any],
        current: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """The conditional Put of ``attributes`` and ``body`` (the merged statistics)
        with this apply's marker set and other ledgers' old markers pruned."""
        ledger_id, generation = mark.ledger_id, mark.generation
        applied: dict[str, Any] = dict(current.get("applied", {})) if current else {}
        at: dict[str, Any] = dict(current.get("applied_at", {})) if current else {}
        by: dict[str, Any] = dict(current.get("applied_intent", {})) if current else {}
        pruned_at = float(current.get("pruned_at", 0)) if current else 0.0
        if (
            mark.written_at is not None
            and pruned_at
            and ledger_id not in applied
            and pruned_at >= mark.written_at - CLOCK_MARGIN_S
        ):
            raise MarkerPruned(
                f"{self.table} item {_key_of(attributes)} dropped markers applied at "
                f"{pruned_at:.0f}, after intent {mark.intent_id} (generation {generation} of "
                f"{ledger_id}) was written at {mark.written_at:.0f}: it may already count "
                "this intent; settle it with `streamkit intents resolve`"
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
        applied[ledger_id] = Decimal(generation)
        at[ledger_id] = Decimal(int(now))
        if mark.intent_id is not None:
            by[ledger_id] = mark.intent_id
        else:
            by.pop(ledger_id, None)
        version = int(current.get("version", 0)) if current else 0
        item = {
            **attributes,
            **body,
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

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        got = (
            self.clients("dynamodb")
            .get_item(TableName=self.table, Key=_to_attribute_values(key), ConsistentRead=True)
            .get("Item")
        )
        return _from_attribute_values(got) if got else None

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


def _check_layout(table: str, delta: AggregateWrite, current: dict[str, Any] | None) -> None:
    """LayoutMismatch when ``delta`` and the stored item are of different layouts
    (plain statistics vs per-field ``fields``): writing would replace one by the other."""
    if current is None:
        return
    stored_fields = "fields" in current
    if (delta.fields is not None) != stored_fields and (stored_fields or "count" in current):
        raise LayoutMismatch(
            f"{table} item {delta.item_key} holds a "
            f"{'multi-field' if stored_fields else 'plain'} aggregate, but aggregate "
            f"{delta.aggregate!r} now writes it as a "
            f"{'multi-field' if delta.fields is not None else 'plain'} one: writing it would "
            "drop what it counts. Give the changed aggregate a new name (its items' "
            "partition keys start with it), or delete the old items first"
        )


def _key_of(attributes: dict[str, Any]) -> dict[str, Any]:
    return {"pk": attributes["pk"], "sk": attributes["sk"]}


def _item_key(key: dict[str, Any]) -> tuple[str, str]:
    return (str(key["pk"]), str(key["sk"]))
