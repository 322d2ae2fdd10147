"""Dead-letter objects: one S3 object per dead-lettered record, deterministic keys.

Key: ``<prefix>/<consumer>/<stream>/<shardId>/<sequence>-<sub-sequence>.json`` (the
full identity: one consumer may read several streams); body: the
:meth:`~streamkit.deadletter.DeadLetter.to_dict` document (raw payload as base64,
identity, reason, error text, handler, time) plus the consumer name. Written only
while applying a ledger intent, so a record is dead-lettered once, whatever Lambda
retries. Listing, inspecting and redriving the store is local tooling
(:mod:`streamkit.local.dlq.store`), never on the Lambda path.
"""

from __future__ import annotations

from typing import Any

import orjson

from streamkit.deadletter import DeadLetter
from streamkit.write_checks import check_s3_key
from streamkit.writes import ObjectWrite


def dead_letter_key(
    prefix: str, consumer: str, shard_id: str, seq: str, sub: int, stream: str = ""
) -> str:
    """The key of one record's dead letter (without ``stream``: the key of earlier
    versions, ``<prefix>/<consumer>/<shardId>/...``, which the tooling still reads)."""
    scope = f"{consumer}/{stream}/{shard_id}" if stream else f"{consumer}/{shard_id}"
    return check_s3_key(f"{prefix.strip('/')}/{scope}/{seq}-{sub}.json")


def dead_letter_object(
    letter: DeadLetter, *, bucket: str, prefix: str, consumer: str
) -> ObjectWrite:
    """The S3 object of one dead letter."""
    r = letter.record
    doc = {"consumer": consumer, **letter.to_dict()}
    key = dead_letter_key(
        prefix,
        consumer,
        r.shard_id,
        r.sequence_number,
        r.sub_sequence_number,
        stream=r.stream_name or "stream",
    )
    return ObjectWrite(bucket, key, _json_body(doc), "application/json")


def _json_body(doc: dict[str, Any]) -> bytes:
    # A dead letter must always be writable: text that is not valid UTF-8 (a lone
    # surrogate in an error message) is kept as backslash escapes instead of failing.
    try:
        return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS, default=str)
    except (orjson.JSONEncodeError, TypeError):
        return orjson.dumps(_escaped(doc), option=orjson.OPT_SORT_KEYS, default=str)


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    return value
