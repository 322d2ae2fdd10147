"""The report of ``streamkit run``: what the consumers wrote, checked and printed.

:func:`build_summary` reads back each consumer's aggregates, archive, dead letters
and alerts and checks them against the inputs and the exactly-once reference;
:func:`write_summary` prints that summary as text or as the ``--json`` object;
:func:`progress_text` is the live status line while a consumer runs.
"""

from __future__ import annotations

import gzip
from collections import Counter
from typing import TYPE_CHECKING, Any, TextIO

import orjson
from boto3.dynamodb.types import TypeDeserializer

from streamkit.aggregate import Stats, merge
from streamkit.deadletter import count_reasons
from streamkit.local.dlq.store import DeadLetterStore
from streamkit.local.run.reference import comparable, expected_aggregates, stored_aggregates
from streamkit.query import key_items, totals
from streamkit.sinks.s3 import list_keys

if TYPE_CHECKING:
    from streamkit.local.esm import EsmStats
    from streamkit.local.run.engine import ConsumerRun

_DYNAMODB_TYPES = TypeDeserializer()


def progress_text(run: ConsumerRun, stats: EsmStats, iterator_age_s: float) -> str:
    """The status line of one consumer while the simulator drives it."""
    return (
        f"{run.name}: {stats.records_in:,}/{sum(run.generated.values()):,} in, "
        f"{stats.records_processed:,} committed, "
        f"{run.dead_lettered:,} dead-lettered, iterator age {iterator_age_s:.1f} s, "
        f"{stats.invocations:,} invocations"
    )


def write_summary(summary: dict[str, Any], out: TextIO, *, as_json: bool) -> None:
    """Print the summary: indented JSON with ``as_json``, else the human text."""
    if as_json:
        print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode(), file=out)
    else:
        _print_text(summary, out)


def scan_items(clients: Any, table: str) -> list[dict[str, Any]]:
    """Every item of ``table``, deserialized (consistent reads, all pages), through
    ``clients("dynamodb")``: the embedded endpoint's or the in-memory stores'."""
    ddb = clients("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        items.extend(
            {k: _DYNAMODB_TYPES.deserialize(v) for k, v in raw.items()} for raw in page["Items"]
        )
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def build_summary(runs: list[ConsumerRun], clients: Any, *, faults: bool) -> dict[str, Any]:
    """Read back what each consumer wrote and check it; the ``--json`` summary.

    ``ok`` holds when, for every consumer, each input record is counted or
    dead-lettered, the aggregates equal the exactly-once reference, and nothing
    was left unresolved or discarded.
    """
    consumers: dict[str, Any] = {}
    ok = True
    for run in runs:
        resources = run.consumer.resources
        assert run.stats is not None
        items = (
            scan_items(clients, resources.aggregate_table)
            if resources and resources.aggregate_table
            else []
        )
        actual = stored_aggregates(items)
        expected = (  # computed while the consumer ran, when the run started it
            run.reference.result()
            if run.reference is not None
            else expected_aggregates(
                run.consumer.handler, run.env, run.consumer.stream.name, run.placed
            )
        )
        matches_reference = set(actual) == set(expected) and all(
            comparable(actual[k]) == comparable(v) for k, v in expected.items()
        )
        dlq = DeadLetterStore(resources.dead_letter_bucket, clients) if resources else None
        reasons = count_reasons(dlq.entries(run.name)) if dlq else {}
        dead_lettered = sum(reasons.values())
        total = sum(run.generated.values())
        archived = 0
        if resources and resources.archive_bucket:
            archived = _archived_lines(clients, resources.archive_bucket, run.name)
        counted = _records_counted(run.name, items)
        info: dict[str, Any] = {
            "records_in": total,
            "generated": dict(run.generated),
            "committed": run.stats.records_processed,
            "dead_letters": dict(reasons),
            "invocations": run.stats.invocations,
            "records_delivered": run.stats.records_delivered,
            "discarded": run.stats.records_discarded,
            "counted": counted,
            "aggregate_items": len(items),
            "aggregates_match_reference": matches_reference,
            "faults_injected": dict(sorted(run.faults_fired.items())),
        }
        if run.source is not None:
            info["enhanced_fan_out"] = run.source.enhanced_fan_out
            info["event_source_arn"] = run.source.event_source_arn
            info["reads"] = run.source.to_dict()
        if archived:
            info["archived"] = archived
        info.update(_consumer_details(run.name, items, clients, run))
        balance = counted + dead_lettered == total
        info["check"] = f"{total} in = {counted} counted + {dead_lettered} dead-lettered" + (
            "" if balance else "  MISMATCH"
        )
        ok = (
            ok
            and balance
            and matches_reference
            and run.stats.unresolved == 0
            and run.stats.records_discarded == 0
        )
        consumers[run.name] = info
    return {"ok": ok, "faults": faults, "consumers": consumers}


def _records_counted(name: str, items: list[dict[str, Any]]) -> int:
    """Input records reflected in the aggregates (one aggregate counts each record)."""
    agg = {"clickstream": "events", "iot": "state"}.get(name)
    return sum(
        b.count
        for key_items in _items_by_key(items, agg).values()
        if (b := totals(key_items).get(None)) is not None
    )


def _items_by_key(items: list[dict[str, Any]], aggregate: str | None) -> dict[str, list[Any]]:
    """The items of ``aggregate`` grouped by aggregate key (first seen first), either
    layout (:func:`streamkit.query.key_items`)."""
    return {
        key: group
        for (name, key), group in key_items(
            i for i in items if i.get("aggregate") == aggregate
        ).items()
        if name == aggregate
    }


def _archived_lines(clients: Any, bucket: str, prefix: str) -> int:
    """Records in the gzip JSON Lines archive objects under ``prefix``."""
    s3 = clients("s3")
    n = 0
    for key in list_keys(s3, bucket, prefix):
        n += gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).count(b"\n")
    return n


def _consumer_details(
    name: str, items: list[dict[str, Any]], clients: Any, run: ConsumerRun
) -> dict[str, Any]:
    """What each known consumer computed: top pages and unique users; device stats.

    Read through :mod:`streamkit.query`'s pure core (every window of a key merged, the
    parts of a multi-field window too), as a dashboard would, not from item attributes.
    """
    if name == "clickstream":
        pages: Counter[str] = Counter()
        for page, page_items in _items_by_key(items, "page_views").items():
            pages[page] = sum(b.count for b in totals(page_items).values())
        users = {
            site: b.distinct
            for site, site_items in _items_by_key(items, "site_users").items()
            if (b := totals(site_items).get(None)) is not None and b.distinct is not None
        }
        return {"top_pages": pages.most_common(5), "unique_users": dict(sorted(users.items()))}
    if name == "iot":
        per_metric: dict[str, Stats] = {}
        devices = set()
        for key, key_items in _items_by_key(items, "metrics").items():
            for field, b in totals(key_items).items():
                # Metrics as fields of one item per device; items written before that
                # layout hold one metric each, keyed "<device>/<metric>".
                device, _, metric = key.partition("/") if field is None else (key, "", field)
                devices.add(device)
                before = per_metric.get(metric)
                per_metric[metric] = b.stats if before is None else merge(before, b.stats)
        stats = {
            m: {
                "readings": s.count,
                "min": str(s.min),
                "max": str(s.max),
                "mean": str(round(s.mean, 2)) if s.mean is not None else None,
            }
            for m, s in sorted(per_metric.items())
        }
        return {"devices": len(devices), "metrics": stats, "alerts": _drain_alerts(run, clients)}
    return {}


def _drain_alerts(run: ConsumerRun, clients: Any) -> dict[str, int]:
    """Alerts on the consumer's queue by kind; received messages are deleted."""
    url = run.env.get("STREAMKIT_ALERTS_QUEUE_URL")
    if not url:
        return {}
    sqs = clients("sqs")
    counts: Counter[str] = Counter()
    while True:
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = resp.get("Messages", [])
        if not messages:
            return dict(counts)
        for m in messages:
            counts[orjson.loads(m["Body"]).get("alert", "?")] += 1
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )


def _print_text(s: dict[str, Any], out: TextIO) -> None:
    title = "streamkit run" + (" (with injected faults)" if s["faults"] else "")
    print(f"{title}: {s['seconds']} s, endpoint {s['endpoint']}", file=out)
    for name, c in s["consumers"].items():
        print(f"\n{name}", file=out)
        if name in s.get("terraform", {}).get("functions", {}):
            print(f"  deployed: {_deployed_text(s['terraform']['functions'][name])}", file=out)
        print(
            f"  records in {c['records_in']:,}  committed {c['committed']:,}  "
            f"invocations {c['invocations']:,}  deliveries {c['records_delivered']:,}",
            file=out,
        )
        if "reads" in c:
            print(f"  reads: {_reads_text(c)}", file=out)
        if "top_pages" in c:
            pages = ", ".join(f"{p} {n}" for p, n in c["top_pages"])
            print(f"  top pages: {pages}", file=out)
            users = ", ".join(f"{site} ~{n}" for site, n in c["unique_users"].items())
            print(f"  unique users: {users}", file=out)
        if "metrics" in c:
            print(f"  devices: {c['devices']}", file=out)
            for m, st in c["metrics"].items():
                print(
                    f"    {m:<14} {st['readings']:>6} readings  min {st['min']:>8}  "
                    f"max {st['max']:>8}  mean {st['mean']}",
                    file=out,
                )
            alerts = ", ".join(f"{k} {v}" for k, v in sorted(c["alerts"].items())) or "none"
            print(f"  alerts: {alerts}", file=out)
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(c["dead_letters"].items())) or "none"
        print(f"  dead letters: {reasons}", file=out)
        if c["faults_injected"]:
            fired = ", ".join(f"{k} {v}" for k, v in c["faults_injected"].items())
            print(f"  faults injected: {fired}", file=out)
        match = "yes" if c["aggregates_match_reference"] else "NO"
        print(
            "  aggregates equal the exactly-once, fault-free reference for this seed: " + match,
            file=out,
        )
        print(f"  check: {c['check']}", file=out)
    print(
        f"\n{'OK' if s['ok'] else 'FAILED'}: every record counted or dead-lettered exactly once"
        if s["ok"]
        else "\nFAILED: see the check lines above",
        file=out,
    )


def _reads_text(c: dict[str, Any]) -> str:
    """How the consumer read its stream, for the text summary."""
    reads = c["reads"]
    via = "enhanced fan-out" if c["enhanced_fan_out"] else "standard"
    if reads["budget"] == "unlimited":
        budget = "no read limits"
    else:
        mib = f"{reads['bytes_per_second'] / 2**20:g} MiB/s per shard"
        calls = reads["calls_per_second"]
        budget = f"own {mib}" if reads["budget"] == "own" else f"shared {calls} calls/s, {mib}"
    return (
        f"{via} from {c['event_source_arn']} ({budget}), "
        f"{reads['get_records_calls']:,} reads, {reads['read_throttles']:,} throttled"
    )


def _deployed_text(f: dict[str, Any]) -> str:
    """What ran of a consumer with --terraform: function, code, role, calls."""
    denied = f"{f['access_denied']:,} denied" + (
        f" ({'; '.join(f['denied'])})" if f["denied"] else ""
    )
    return (
        f"{f['function']}, code sha256 {f['code_sha256'][:12]}..., role {f['role']}, "
        f"{f['aws_calls']:,} AWS calls checked, {denied}"
    )
