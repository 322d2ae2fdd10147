"""``streamkit dlq list``: one line per dead letter or redrive marker, or one JSON document.

``--json`` prints exactly one document: ``{"dead_letters": [...], "count": N,
"reasons": {reason: n}, "malformed": n}``, or with ``--redriven`` ``{"markers": [...], "count": N,
"done": n, "pending": n}``. An object under the prefix that is not a valid dead
letter is listed too, with reason ``MALFORMED`` (``malformed``: what is wrong, in
``--json``), and counted apart from the reasons.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from streamkit.deadletter import count_reasons
from streamkit.local.dlq.errors import DlqCommandError
from streamkit.local.dlq.select import selected
from streamkit.local.dlq.store import DeadLetterStore


def list_dead_letters(args: argparse.Namespace, store: DeadLetterStore) -> int:
    """Print the selected dead letters in shard order, then a count per reason."""
    out = sys.stdout
    if args.redriven:
        if args.reason is not None:
            raise DlqCommandError("--reason does not apply to --redriven (markers keep no reason)")
        return list_markers(args, store, out)
    markers = store.redrive_markers()
    entries = selected(store, args.consumer, args.reason)
    if args.since is not None:
        # A malformed object has no time to judge: it stays listed, not hidden.
        entries = [
            e
            for e in entries
            if e.problem is not None or (e.time is not None and e.time.timestamp() >= args.since)
        ]
    valid = [e for e in entries if e.problem is None]
    malformed = len(entries) - len(valid)
    if args.json:
        rows = [
            {
                "key": e.key,
                "consumer": e.consumer,
                "id": e.record_id,
                "reason": e.reason,
                "shardId": e.shard_id,
                "sequenceNumber": e.sequence_number,
                "subSequenceNumber": e.sub_sequence_number,
                "time": e.doc.get("time"),
                "handler": e.doc.get("handler"),
                "error": e.doc.get("error"),
                "stream": e.stream,
                "payloadBytes": len(e.payload),
                "redriven": markers.get(e.key),
                "malformed": e.problem,
            }
            for e in entries
        ]
        doc = {
            "dead_letters": rows,
            "count": len(rows),
            "reasons": count_reasons(valid),
            "malformed": malformed,
        }
        out.write(orjson.dumps(doc).decode() + "\n")
        return 0
    table = [
        (
            e.key,
            "MALFORMED" if e.problem is not None else e.reason,
            e.shard_id,
            f"{e.sequence_number}/{e.sub_sequence_number}" if e.problem is None else "-",
            str(e.doc.get("time", "")),
            markers.get(e.key, "-"),
            _truncate(e.problem or str(e.doc.get("error", "")), 80),
        )
        for e in entries
    ]
    header = ("KEY", "REASON", "SHARD", "SEQUENCE/SUB", "TIME", "REDRIVEN", "ERROR")
    _table(out, header, table)
    counts = count_reasons(valid)
    where = f"s3://{store.bucket}/{store.prefix}/" + (f"{args.consumer}/" if args.consumer else "")
    if not entries:
        out.write(f"no dead letters under {where}\n")
        return 0
    by_reason = ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items()))
    out.write(
        f"{len(valid)} dead letter{'s' if len(valid) != 1 else ''}"
        + (f": {by_reason}\n" if by_reason else "\n")
    )
    if malformed:
        out.write(
            f"{malformed} malformed object{'s' if malformed != 1 else ''} under the prefix "
            "(not valid dead letters, never redriven; ERROR says why)\n"
        )
    return 0


def list_markers(args: argparse.Namespace, store: DeadLetterStore, out: TextIO) -> int:
    """``list --redriven``: the redrive markers, then how many are done and pending."""
    docs = store.redrive_marker_docs()
    start = f"{store.prefix}/{args.consumer}/" if args.consumer else f"{store.prefix}/"
    items = sorted((k, d) for k, d in docs.items() if k.startswith(start))
    if args.since is not None:
        items = [(k, d) for k, d in items if _epoch(d.get("time")) >= args.since]
    states = Counter(doc.get("state") for _, doc in items)
    if args.json:
        summary = {
            "markers": [{"key": key, **doc} for key, doc in items],
            "count": len(items),
            "done": states.get("done", 0),
            "pending": states.get("pending", 0),
        }
        out.write(orjson.dumps(summary).decode() + "\n")
        return 0
    rows = [
        (
            key,
            str(doc.get("state", "")),
            str(doc.get("time", "")),
            str(doc.get("stream", "-")),
            str(doc.get("sequence_number", "-")),
            _truncate(str(doc.get("error", "")), 80),
        )
        for key, doc in items
    ]
    _table(out, ("KEY", "STATE", "TIME", "STREAM", "NEW SEQUENCE", "ERROR"), rows)
    out.write(
        f"{len(items)} redriven: done {states.get('done', 0)}, pending {states.get('pending', 0)}"
        + (" (pending: interrupted redrives; check the stream)" if states.get("pending") else "")
        + "\n"
    )
    return 0


def _epoch(value: Any) -> float:
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        return float("-inf")
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def _truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _table(out: TextIO, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    if not rows:
        return
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")
