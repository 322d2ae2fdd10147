"""What a pipeline computes, declared: aggregates, the archive, messages, the decoder.

These are the declarative parts of a :class:`~streamkit.pipeline.Pipeline`: plain
frozen dataclasses of functions over the decoded document, evaluated per record by the
planner (:mod:`streamkit.plan`). Nothing here does I/O.

Example::

    from streamkit.spec import Aggregate

    Aggregate("page_views", key=lambda doc: doc["page"], window_s=60,
              distinct=lambda doc: doc["user_id"])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from streamkit.records import Record

#: A decoded record: whatever the pipeline's ``decode`` returns (a JSON document by
#: default, a consumer's own parsed type such as a ``Click``); the spec's functions
#: take it. ``Any`` because each consumer picks its own.
Decoded = Any


#: Fields one item of a multi-field aggregate holds before an overflow item starts.
DEFAULT_MAX_FIELDS = 64
#: The most ``max_fields`` may be: a field's stats take at most ~1 KB (a number's
#: statistics and a name of at most :data:`MAX_FIELD_NAME_BYTES`), so 256 of them and
#: the markers stay well inside DynamoDB's 400 KB item.
MAX_FIELDS_LIMIT = 256
#: A field name's most UTF-8 bytes (a longer one dead-letters the record, too_large).
MAX_FIELD_NAME_BYTES = 255
#: The item layouts of an aggregate (:attr:`Aggregate.layout`).
LAYOUTS = ("key", "window")
#: The most ``max_fields`` of a ``layout="window"`` aggregate: with ``distinct=`` each
#: key's statistics hold a sketch of up to 3,075 bytes (precision 12) besides its
#: ~1 KB of numbers and name, so 64 of them and the markers stay inside 400 KB
#: (tests/unit/test_window_layout_settings.py builds the largest such item). The
#: limit holds without ``distinct=`` too: a part keeps the ``max_fields`` it was
#: created with, so a part of 256 keys would outgrow the item once a redeploy added
#: ``distinct=`` (every later apply a ValidationException, the shard blocked).
MAX_WINDOW_FIELDS_LIMIT = 64


@dataclass(frozen=True)
class Aggregate:
    """One aggregate: per key and tumbling event-time window.

    ``key(doc)`` gives the aggregate key (None: this record does not count here);
    ``value(doc)`` a number for sum/min/max/mean (None: count only); ``distinct(doc)``
    an item for the approximate distinct count; ``last(doc)`` the "last value"
    (default: ``value``). ``pairs(doc)``, instead of ``key``/``value``, yields several
    (key, value) pairs from one record (e.g. one per metric of a device reading).
    ``window_s=None`` keeps one all-time item per key (sort key ``all``), e.g. the
    latest state of a device.

    ``fields(doc)``, with ``key``, yields (field name, value) pairs that share one item
    per key and window: e.g. every metric of a device reading in one item per (device,
    minute), with the per-metric statistics nested under ``fields`` (one write per
    device and minute instead of one per metric). An item holds at most ``max_fields``
    fields; more go to overflow items (sort key ``<window start>#1``, ...), which
    :mod:`streamkit.query` merges back. Each field's "last value" is its value, so
    ``fields`` goes without ``value``, ``distinct``, ``last`` and ``pairs``.

    ``layout`` is how the sink stores the aggregate's windows:

    * ``"key"`` (the default): one item per key and window, ``pk = "<name>#<key>"``.
      A batch writes one item per key it touches: right for keys without bound
      (pages, users, devices).
    * ``"window"``: one item per window holding every key, ``pk = "<name>"``, each
      key's statistics under ``fields.<key>``, at most ``max_fields`` keys an item
      (more go to overflow items, as a multi-field aggregate's). A batch writes one
      item per window instead of one per key and window: for aggregates with few
      keys (event types, sites, countries: tens, not thousands) it saves requests,
      Lambda CPU (~1 ms each) and write units (one item of a few hundred bytes per
      key costs a whole unit). The trade-off: every write rewrites the whole item,
      keys a batch does not touch included, and every shard writes the same item
      (optimistic retries grow with the shard count). Keys are at most 255 UTF-8
      bytes (a longer one dead-letters its record, ``too_large``); ``layout="window"``
      goes without ``fields`` and ``last``, and takes ``max_fields`` up to 64 (room
      for a distinct sketch per key, should ``distinct=`` be added later).
      :func:`streamkit.query.query_aggregate` reads both layouts and merges them, so
      a plain aggregate (no ``fields=``) may switch layout under its name (the
      layouts' partition keys differ: nothing is overwritten).

    Example: unique users per site, one item per minute for all sites::

        Aggregate("site_users", key=lambda doc: doc["site"], window_s=60,
                  distinct=lambda doc: doc["user_id"], layout="window")
    """

    name: str
    key: Callable[[Decoded], str | None] = lambda doc: None
    window_s: int | None = 60
    value: Callable[[Decoded], Any] | None = None
    distinct: Callable[[Decoded], str | None] | None = None
    last: Callable[[Decoded], Any] | None = None
    pairs: Callable[[Decoded], Iterable[tuple[str, Any]]] | None = None
    ttl_s: int | None = None
    fields: Callable[[Decoded], Iterable[tuple[str, Any]]] | None = None
    max_fields: int = DEFAULT_MAX_FIELDS
    layout: str = "key"


@dataclass(frozen=True)
class Archive:
    """Archive raw records (or ``transform(doc, record)``) to S3 as gzip JSON Lines.

    ``compresslevel`` is gzip's, 0 (stored) to 9 (smallest). The default 6 is zlib's
    own: on clickstream's archive it takes half the CPU of 9 for objects 2.8% larger
    (17.9 -> 8.4 µs per record, 40% of that consumer's planning at 9; 1 would be 3.6
    µs and 32% larger). Pass 9 for archives kept long enough that storage outweighs
    the invocations' duration, e.g. ``Archive("clicks-archive", compresslevel=9)``.
    """

    bucket: str
    prefix: str = "archive"
    transform: Callable[[Decoded, Record], Any] | None = None
    compresslevel: int = 6

    def __post_init__(self) -> None:
        level = self.compresslevel
        if type(level) is not int or not 0 <= level <= 9:
            raise ValueError(
                f"archive.compresslevel must be an int from 0 (stored) to 9 (smallest), "
                f"got {level!r}"
            )


@dataclass(frozen=True)
class Message:
    """An SQS FIFO message to send exactly once per triggering record.

    ``build(doc, record)`` returns a list of (name, body) pairs; each is sent with a
    deduplication id derived from the record identity and the name.
    """

    queue_url: str
    build: Callable[[Decoded, Record], Sequence[tuple[str, Any]]]
    group_id: Callable[[Decoded, Record], str] = lambda doc, record: record.partition_key or "-"


def json_doc(record: Record) -> Decoded:
    """Default decoder: the payload as JSON (gzip/zlib inflated)."""
    return record.json()


def check_aggregate_names(aggregates: Sequence[Aggregate]) -> None:
    """ValueError unless every aggregate name is non-empty, unique and without ``#``,
    and every multi-field aggregate's settings go together (see :class:`Aggregate`)."""
    for agg in aggregates:
        _check_fields(agg)
        _check_layout(agg)
    names = [a.name for a in aggregates]
    for name in names:
        if not name or "#" in name or names.count(name) > 1:
            raise ValueError(
                f"aggregates: name {name!r} must be non-empty, unique and without "
                f"'#' (it is the prefix of the item key '<name>#<key>'; names: {names})"
            )


def _check_fields(agg: Aggregate) -> None:
    if agg.fields is None:
        return
    clashing = [
        name for name in ("value", "distinct", "last", "pairs") if getattr(agg, name) is not None
    ]
    if clashing:
        raise ValueError(
            f"aggregate {agg.name!r}: fields= goes without {', '.join(clashing)} (each field's "
            "statistics are of its own value; give another aggregate for the rest)"
        )
    _check_max_fields(agg, MAX_FIELDS_LIMIT, "max_fields")


def _check_layout(agg: Aggregate) -> None:
    if agg.layout not in LAYOUTS:
        raise ValueError(
            f"aggregate {agg.name!r}: layout must be one of {', '.join(map(repr, LAYOUTS))}, "
            f"got {agg.layout!r}"
        )
    if agg.layout != "window":
        return
    clashing = [name for name in ("fields", "last") if getattr(agg, name) is not None]
    if clashing:
        raise ValueError(
            f"aggregate {agg.name!r}: layout='window' goes without {', '.join(clashing)} "
            "(each key's statistics are a field of the window's item; keep layout='key' "
            "for this aggregate)"
        )
    _check_max_fields(agg, MAX_WINDOW_FIELDS_LIMIT, "max_fields (keys per item of layout='window')")


def _check_max_fields(agg: Aggregate, limit: int, what: str) -> None:
    n = agg.max_fields
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= limit:
        raise ValueError(
            f"aggregate {agg.name!r}: {what} must be an integer from 1 to {limit}, got {n!r}"
        )


def check_resource_names(names: Mapping[str, object], *, required: bool = False) -> None:
    """ValueError naming the setting unless each resource name (table, bucket, queue
    URL) is a non-empty str; None means "not configured" unless ``required``. Checked
    when the pipeline is built: the sinks' clients skip botocore's parameter
    validation, so an unset environment variable would otherwise reach the service as
    an odd request (a 500 retried six times, or a misleading "does not exist")."""
    for setting, value in names.items():
        if value is None and not required:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{setting} must be a non-empty string, got {value!r}")
