"""The writes an intent holds, typed: aggregate items, S3 objects, SQS messages.

The planner (:mod:`streamkit.plan`) decides them, the ledger stores them in an
:class:`~streamkit.ledger.Intent`, the sinks and stores (:mod:`streamkit.stores`,
:mod:`streamkit.sinks`) send them, and the local tools read them. Each is a frozen
value in the wire form the planner checked (:mod:`streamkit.write_checks`), so
applying it again writes exactly the same thing.

``to_wire`` / ``from_wire`` give the JSON-ready form an intent is stored in (version
1 of :meth:`~streamkit.ledger.Intent.to_bytes`): the field names and their order are
part of that format, so a pending intent written by an earlier version still decodes
(and one written now is byte-for-byte what earlier versions wrote).

Example::

    >>> w = ObjectWrite("archive", "raw/a.jsonl.gz", b"...", "application/x-ndjson")
    >>> ObjectWrite.from_wire(w.to_wire()) == w
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

#: An object's content type when its intent did not record one.
DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class AggregateWrite:
    """One aggregate item's delta: key, stats to merge in, read-friendly attributes.

    The item is ``pk = "<aggregate>#<key>"``, ``sk`` = the window start (``all`` for
    an all-time aggregate); ``stats`` is the delta in item form
    (:func:`streamkit.aggregate.stats_to_item`), merged into what the item holds.

    A multi-field aggregate's delta has ``fields`` instead (field name -> the field's
    delta in item form; ``stats`` is empty) and ``max_fields``: the sink merges each
    field into the item that holds it, and starts overflow items (:meth:`part_key`)
    for fields that do not fit.
    """

    pk: str
    sk: str
    stats: Mapping[str, Any]
    aggregate: str
    key: str
    window_start: str | None = None
    window_end: str | None = None
    ttl: int | None = None
    fields: Mapping[str, Mapping[str, Any]] | None = None
    max_fields: int | None = None

    @property
    def item_key(self) -> dict[str, str]:
        """The item's DynamoDB key: ``{"pk", "sk"}``."""
        return {"pk": self.pk, "sk": self.sk}

    def part_key(self, part: int) -> dict[str, str]:
        """The key of a multi-field item's part: 0 is :attr:`item_key`, overflow part
        ``n`` has sort key ``<sk>#<n>`` (sorting right after its window's item)."""
        return self.item_key if part == 0 else {"pk": self.pk, "sk": f"{self.sk}#{part}"}

    def attributes(self, part: int = 0) -> dict[str, Any]:
        """The item's key and read-friendly attributes (everything but the stats)."""
        return {**self.part_key(part), **self._extra()}

    def _extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"aggregate": self.aggregate, "key": self.key}
        if self.window_start is not None:
            extra["window_start"] = self.window_start
        if self.window_end is not None:
            extra["window_end"] = self.window_end
        if self.ttl is not None:
            extra["ttl"] = self.ttl
        return extra

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "key": self.item_key,
            "stats": dict(self.stats),
            "extra": self._extra(),
        }
        if self.fields is not None:
            # Only multi-field deltas carry these: every other delta's wire form is what
            # earlier versions wrote, byte for byte.
            wire["fields"] = {name: dict(stats) for name, stats in self.fields.items()}
            wire["max_fields"] = self.max_fields
        return wire

    @classmethod
    def from_wire(cls, doc: Mapping[str, Any]) -> AggregateWrite:
        key, extra = _field(doc, "key", "aggregate"), _field(doc, "extra", "aggregate")
        ttl = extra.get("ttl")
        return cls(
            pk=_field(key, "pk", "aggregate key"),
            sk=_field(key, "sk", "aggregate key"),
            stats=_field(doc, "stats", "aggregate"),
            aggregate=_field(extra, "aggregate", "aggregate extra"),
            key=_field(extra, "key", "aggregate extra"),
            window_start=extra.get("window_start"),
            window_end=extra.get("window_end"),
            ttl=None if ttl is None else int(ttl),
            fields=doc.get("fields"),
            max_fields=None if doc.get("max_fields") is None else int(doc["max_fields"]),
        )


@dataclass(frozen=True)
class ObjectWrite:
    """One S3 object written verbatim (archive, dead letter): same key, same bytes."""

    bucket: str
    key: str
    body: bytes
    content_type: str = DEFAULT_CONTENT_TYPE

    def to_wire(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "body": self.body,
            "content_type": self.content_type,
        }

    @classmethod
    def from_wire(cls, doc: Mapping[str, Any]) -> ObjectWrite:
        return cls(
            bucket=_field(doc, "bucket", "object"),
            key=_field(doc, "key", "object"),
            body=bytes(_field(doc, "body", "object")),
            content_type=doc.get("content_type") or DEFAULT_CONTENT_TYPE,
        )


@dataclass(frozen=True)
class MessageWrite:
    """One SQS FIFO message: ``body`` is the exact text sent; ``dedup_id`` makes a
    resend within SQS's 5-minute window a no-op."""

    queue_url: str
    body: str
    group_id: str
    dedup_id: str

    def to_wire(self) -> dict[str, Any]:
        return {
            "queue_url": self.queue_url,
            "body": self.body,
            "group_id": self.group_id,
            "dedup_id": self.dedup_id,
        }

    @classmethod
    def from_wire(cls, doc: Mapping[str, Any]) -> MessageWrite:
        body = _field(doc, "body", "message")
        return cls(
            queue_url=_field(doc, "queue_url", "message"),
            # Intents of earlier versions held the built body; it was sent as JSON.
            body=body if isinstance(body, str) else orjson.dumps(body).decode(),
            group_id=_field(doc, "group_id", "message"),
            dedup_id=_field(doc, "dedup_id", "message"),
        )


def _field(doc: Mapping[str, Any], name: str, what: str) -> Any:
    try:
        return doc[name]
    except (KeyError, TypeError):
        raise ValueError(f"intent {what} has no {name!r} field: {doc!r:.200}") from None
