"""The summary ``streamkit recover`` prints: text for people, ``--json`` for scripts."""

from __future__ import annotations

from typing import TextIO

import orjson

from streamkit.local.recover.engine import RecoverSummary


def write_summary(summary: RecoverSummary, out: TextIO, *, as_json: bool) -> None:
    doc = summary.to_dict()
    if as_json:
        out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    records = doc["records"]
    ranges = doc["ranges"]
    out.write(
        f"{summary.consumer}: {sum(ranges.values())} discarded range(s) at {summary.destination}"
        + (f" ({', '.join(f'{n} {s}' for s, n in sorted(ranges.items()))})" if ranges else "")
        + "\n"
    )
    out.write(
        f"  records: {records['read']} read, {records['succeeded']} succeeded, "
        f"{records['dead_lettered']} dead-lettered, {records['already_committed']} already "
        f"committed, {records['filtered']} filtered out\n"
    )
    if summary.intents:
        out.write(
            f"  pending intents of closed shards: {doc['intents_rolled_forward']} of "
            f"{len(summary.intents)} rolled forward\n"
        )
    if summary.left_pending:
        out.write(
            f"  pending on open shards (their next invocation rolls them forward; see "
            f"`streamkit intents list --consumer {summary.consumer}`): "
            f"{', '.join(summary.left_pending)}\n"
        )
    for r in summary.ranges:
        if not r.ok:
            out.write(
                f"  {r.status}: {r.range.shard_id} {r.range.start}..{r.range.end}: {r.detail}\n"
            )
    for m in summary.malformed:
        out.write(f"  malformed (left in place): {m.source}: {m.reason}\n")
    if summary.other_streams:
        out.write(
            f"  {summary.other_streams} document(s) of other streams' mappings left in place\n"
        )
    for i in summary.intents:
        if i.status != "rolled_forward":
            out.write(f"  still pending: {i.ledger_id} generation {i.generation}: {i.detail}\n")
    out.write("  ok\n" if summary.ok else "  NOT everything was recovered (see above)\n")
