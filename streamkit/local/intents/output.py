"""What ``streamkit intents list|show|resolve`` print: text for people, ``--json`` for scripts."""

from __future__ import annotations

import time
from typing import Any, TextIO

import orjson

from streamkit.local.intents.resolve import Resolution
from streamkit.local.intents.store import PendingIntent


def print_list(consumer: str, pending: list[PendingIntent], out: TextIO, *, as_json: bool) -> None:
    now = time.time()
    if as_json:
        doc = {"consumer": consumer, "pending": [p.to_dict(now) for p in pending]}
        out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if not pending:
        out.write(f"{consumer}: no pending intents\n")
        return
    out.write(
        f"{'LEDGER ID':<48} {'GEN':>5} {'STREAM':<16} {'AGE':>8} {'RECORDS':>7} "
        f"{'SIZE':>8}  WRITES\n"
    )
    for p in pending:
        d = p.to_dict(now)
        out.write(
            f"{p.ledger_id:<48} {d['generation']:>5} {p.stream:<16} {_age(d['age_s']):>8} "
            f"{d['records']:>7} {d['size_bytes']:>8}  {_writes(d['writes'])}\n"
        )
    out.write(
        f"{len(pending)} pending intent(s): `streamkit intents show ID --consumer {consumer}` "
        "for one, `resolve ID --reapply|--dead-letter` to settle it\n"
    )


def print_show(pending: PendingIntent, out: TextIO, *, as_json: bool) -> None:
    doc = pending.to_dict(time.time())
    intent = pending.intent
    doc["aggregates"] = [
        {"pk": a.pk, "sk": a.sk, "count": a.stats.get("count")}
        if a.fields is None
        else {
            "pk": a.pk,
            "sk": a.sk,
            "fields": {name: stats.get("count") for name, stats in sorted(a.fields.items())},
        }
        for a in intent.aggregates
    ]
    doc["objects"] = [{"bucket": o.bucket, "key": o.key} for o in intent.objects]
    doc["messages"] = [
        {"queue_url": m.queue_url, "group_id": m.group_id, "dedup_id": m.dedup_id}
        for m in intent.messages
    ]
    if as_json:
        out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")
        return
    out.write(
        f"{pending.ledger_id}  generation {doc['generation']}  intent {doc['intent_id']}\n"
        f"  stream {pending.stream}, shard {pending.shard_id}"
        + (f", lane {pending.lane}" if pending.lane else "")
        + "\n"
        f"  records {doc['records']}: {doc['start']['sequence']}/{doc['start']['sub']} .. "
        f"{doc['end']['sequence']}/{doc['end']['sub']}\n"
        f"  age {_age(doc['age_s'])}, {doc['size_bytes']} bytes stored {doc['stored']}\n"
        f"  writes {_writes(doc['writes'])}\n"
    )
    for a in doc["aggregates"]:
        if "fields" in a:  # a multi-field delta: each field's count
            counts = ", ".join(f"{name} {count}" for name, count in a["fields"].items())
            out.write(f"    aggregate {a['pk']} / {a['sk']}  fields: {counts}\n")
        else:
            out.write(f"    aggregate {a['pk']} / {a['sk']}  count {a['count']}\n")
    for o in doc["objects"]:
        out.write(f"    object    s3://{o['bucket']}/{o['key']}\n")
    for m in doc["messages"]:
        out.write(f"    message   {m['queue_url']} group {m['group_id']}\n")


def print_resolution(resolution: Resolution, out: TextIO, *, as_json: bool) -> None:
    doc = resolution.to_dict()
    if as_json:
        out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    what = (
        "rolled forward and committed"
        if resolution.action == "reapplied"
        else f"{doc['dead_letters']} dead letter(s) written "
        f"({', '.join(f'{k} {v}' for k, v in sorted(doc['dead_letter_reasons'].items()))}), "
        "ledger committed past it"
    )
    note = " (another invocation had committed it first)" if resolution.already_committed else ""
    out.write(f"{resolution.ledger_id} generation {resolution.generation}: {what}{note}\n")


def _age(age_s: float | None) -> str:
    if age_s is None:
        return "?"
    if age_s < 120:
        return f"{age_s:.0f}s"
    if age_s < 7200:
        return f"{age_s / 60:.0f}m"
    return f"{age_s / 3600:.1f}h"


def _writes(writes: dict[str, Any]) -> str:
    parts = [f"{writes['aggregate_items']} aggregate item(s)"]
    parts += [f"{n} object(s) to {b}" for b, n in sorted(writes["objects"].items())]
    parts += [f"{n} message(s) to {q}" for q, n in sorted(writes["messages"].items())]
    return ", ".join(parts)
