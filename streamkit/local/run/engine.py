"""``streamkit run``: the whole system on one machine, in under a minute.

Local tooling: never imported by a Lambda handler.

1. Start the embedded AWS endpoint (or use ``--endpoint-url`` / ``AWS_ENDPOINT_URL``)
   and create every stream, table, bucket and queue of ``infra/consumers.json``.
2. Generate realistic clickstream and IoT traffic (or load a capture), arrival
   times spread over ``--duration`` seconds, and put it on the consumers' streams.
3. Drive each consumer's real handler through the ESM simulator with its real
   settings, on a virtual clock (a minute of traffic, retries included, replays in
   seconds), with a live progress line.
4. Read back what the consumers wrote (aggregates, archive, dead letters, alerts),
   print a summary, and check it: every input record is counted or dead-lettered,
   and the aggregates equal an exactly-once reference computed from the inputs
   by the pure core. ``--faults`` injects crashes, throttles and duplicate
   deliveries; the check must still hold.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from boto3.dynamodb.types import TypeDeserializer

from streamkit.aggregate import HyperLogLog, Stats, merge, stats_from_item
from streamkit.local.aws import LocalAWS, endpoint_from_env, provision, session_clients
from streamkit.local.clock import VirtualClock
from streamkit.local.config import ConsumerConfig, load_consumers
from streamkit.local.dlq.store import DeadLetterStore
from streamkit.local.esm import EsmStats, EventSourceMapping
from streamkit.local.faults import FaultPlan
from streamkit.local.replay import put_in_order
from streamkit.local.run.reference import comparable, expected_aggregates
from streamkit.local.shards import KinesisShardReader, fast_kinesis_client
from streamkit.sinks.s3 import list_keys
from streamkit.testing.awsfaults import WriteFaults

DEFAULT_RATES = {"clickstream": 100.0, "iot": 50.0}
_DE = TypeDeserializer()


@dataclass
class ConsumerRun:
    """One consumer's traffic and what came of it."""

    name: str
    consumer: ConsumerConfig
    env: dict[str, str]
    generated: Counter[str] = field(default_factory=Counter)  # kind -> records
    placed: dict[str, list[tuple[int, str, bytes, float]]] = field(default_factory=dict)
    arrivals: dict[tuple[str, str], float] = field(default_factory=dict)
    stats: EsmStats | None = None
    succeeded: int = 0
    dead_lettered: int = 0
    faults_fired: Counter[str] = field(default_factory=Counter)


class _Env:
    """Swap a consumer's environment in around its handler calls."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for k, v in self.env.items():
            self.saved[k] = os.environ.get(k)
            os.environ[k] = v

    def __exit__(self, *exc: object) -> None:
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_main(
    *,
    seed: int = 1,
    duration: float = 30.0,
    rates: Mapping[str, float] | None = None,
    faults: bool = False,
    endpoint_url: str | None = None,
    replay_files: list[str] | None = None,
    replay_consumer: str | None = None,
    config_path: str | None = None,
    as_json: bool = False,
    out: Any = None,
    err: Any = None,
) -> int:
    """Run the local system; 0 when every check holds."""
    out = out or sys.stdout
    err = err or sys.stderr
    started = time.perf_counter()
    consumers = load_consumers(config_path)
    rates = {**DEFAULT_RATES, **(rates or {})}
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    replayed = None
    if replay_files:
        from streamkit.local.replay import load_sources

        replayed = load_sources(replay_files)  # bad files fail here, before any setup

    local: LocalAWS | None = None
    endpoint = endpoint_url or endpoint_from_env()
    saved_env = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL",)}
    if endpoint is None:
        local = LocalAWS(mode="process").start()
        local.apply_env()
        endpoint = local.endpoint_url
    elif endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    try:
        clients = session_clients()
        kinesis = fast_kinesis_client(endpoint_url=endpoint, region_name=clients.region)
        _say(err, f"endpoint {endpoint} ({'embedded' if local else 'given'}); provisioning")
        provisioned = provision(consumers, clients)
        runs: list[ConsumerRun] = []
        for name, consumer in consumers.items():
            if replay_files and name != (replay_consumer or name):
                continue
            queue_url = None
            if consumer.resources and consumer.resources.alerts_queue:
                queue_url = provisioned.resource("sqs", consumer.resources.alerts_queue).target
            env = {
                **dict(consumer.function.environment),
                **(consumer.resources.environment(name, queue_url) if consumer.resources else {}),
                "POWERTOOLS_SERVICE_NAME": name,
                "POWERTOOLS_METRICS_NAMESPACE": "streamkit",
            }
            runs.append(ConsumerRun(name, consumer, env))
        if replay_files and not runs:
            raise ValueError(f"--consumer {replay_consumer!r} is not in the config")

        start = time.time() - duration
        for run in runs:
            traffic = (
                _replayed(replayed)
                if replayed is not None
                else _generated(run.name, seed, rates.get(run.name, 50.0), duration, start)
            )
            _put(kinesis, run, traffic)
            _say(
                err,
                f"{run.name}: {sum(run.generated.values()):,} records on stream "
                f"{run.consumer.stream.name}",
            )

        for i, run in enumerate(runs):
            _drive(run, kinesis, clients, faults=faults, seed=seed + i, err=err)
        summary = _summary(runs, clients, faults=faults)
    finally:
        if local is not None:
            local.stop()
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["endpoint"] = "embedded" if local is not None else endpoint
    if as_json:
        print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode(), file=out)
    else:
        _print(summary, out)
    return 0 if summary["ok"] else 1


# ------------------------------------------------------------------ traffic


def _generated(
    name: str, seed: int, rate: float, duration: float, start: float
) -> Iterator[tuple[str, bytes, float, str]]:
    if name == "clickstream":
        from streamkit.local.generators.clickstream import clickstream

        records = clickstream(seed=seed, rate=rate, duration=duration, start=start)
    elif name == "iot":
        from streamkit.local.generators.iot import iot

        # 50 devices: each reports about once a second at the default rate, and a
        # batch touches a few hundred (device, metric, minute) items, not thousands.
        records = iot(seed=seed, rate=rate, duration=duration, start=start, devices=50)
    else:
        return iter(())
    return ((r.partition_key, r.data, r.arrival, r.kind) for r in records)


def _replayed(shards: list[Any]) -> Iterator[tuple[str, bytes, float, str]]:
    for shard in shards:
        for r in shard.records:
            yield r.partition_key, r.data, r.arrival, "replayed"


def _put(kinesis: Any, run: ConsumerRun, traffic: Iterator[tuple[str, bytes, float, str]]) -> None:
    items = sorted(traffic, key=lambda t: t[2])
    run.generated = Counter(kind for *_, kind in items)
    run.arrivals = put_in_order(
        kinesis, run.consumer.stream.name, ((pk, d, a) for pk, d, a, _ in items)
    )
    for (pk, data, arrival, _), (shard, seq) in zip(items, run.arrivals, strict=True):
        run.placed.setdefault(shard, []).append((int(seq), pk, data, arrival))


# ------------------------------------------------------------------ driving


def _drive(
    run: ConsumerRun, kinesis: Any, clients: Any, *, faults: bool, seed: int, err: Any
) -> None:
    module_name, _, attr = run.consumer.handler.rpartition(".")
    env = run.env
    with _Env(env):
        module = importlib.import_module(module_name)
        if hasattr(module, "reset"):
            module.reset()
        # Build the consumer's pipeline now, under its environment, so that fault
        # hooks can go on the very clients its sinks use.
        pipeline = module.pipeline() if hasattr(module, "pipeline") else None
    handler: Callable[[dict[str, Any], Any], Any] = getattr(module, attr)
    sink = _LogSink(run)

    def invoke(event: dict[str, Any], context: Any) -> Any:
        with _Env(env), contextlib.redirect_stdout(sink):
            return handler(event, context)

    write_faults = None
    plan = FaultPlan(seed=seed)
    if faults:
        plan = FaultPlan(
            seed=seed,
            crash_after_rate=0.1,
            partial_rate=0.05,
            throttle_rate=0.05,
            timeout_rate=0.03,
        )
        # A crash before or after a few single AWS writes, and one throttled write.
        schedule = {3: "crash_after", 8: "crash_before", 13: "throttle", 21: "crash_after"}
        write_faults = WriteFaults(schedule)
        target = pipeline.clients if pipeline is not None else clients
        hooked = [target(service) for service in ("dynamodb", "s3", "sqs")]
        write_faults.attach(*hooked)
    arrivals = run.arrivals
    reader = KinesisShardReader(
        kinesis,
        run.consumer.stream.name,
        arrival_override=lambda shard, seq, a: arrivals.get((shard, seq), a),
    )
    esm = EventSourceMapping(
        invoke,
        run.consumer.esm,
        kinesis,
        run.consumer.stream.name,
        function_name=run.name,
        function_timeout_s=float(run.consumer.function.timeout_seconds),
        memory_mb=run.consumer.function.memory_mb,
        region=clients.region,
        clock=VirtualClock(start=min(arrivals.values()) if arrivals else None),
        faults=plan,
        reader=reader,
        stuck_after=1_000,
        seed=seed,
    )
    total = sum(run.generated.values())

    def progress(stats: EsmStats) -> None:
        age = 0.0
        if stats.last_processed_arrival is not None:
            age = max(0.0, esm.clock.now() - stats.last_processed_arrival)
        _status(
            err,
            f"{run.name}: {stats.records_in:,}/{total:,} in, "
            f"{stats.records_processed:,} committed, "
            f"{run.dead_lettered:,} dead-lettered, iterator age {age:.1f} s, "
            f"{stats.invocations:,} invocations",
        )

    try:
        run.stats = esm.run(progress=progress, progress_every=0.2)
    finally:
        _status_done(err)
        if write_faults is not None:
            run.faults_fired.update(f"AWS write {kind}" for _, kind, _ in write_faults.fired)
            write_faults.detach()
    if faults:
        run.faults_fired.update({f"invocation {k}": v for k, v in plan.fired.items()})


class _LogSink(io.TextIOBase):
    """Reads the pipeline's own per-batch log lines (its observability output)."""

    def __init__(self, run: ConsumerRun) -> None:
        self.run = run
        self.buffer_ = ""

    def write(self, text: str) -> int:
        self.buffer_ += text
        while "\n" in self.buffer_:
            line, self.buffer_ = self.buffer_.split("\n", 1)
            if '"batch processed"' in line:
                with contextlib.suppress(orjson.JSONDecodeError):
                    batch = orjson.loads(line).get("batch", {})
                    if not batch.get("stopped"):
                        self.run.succeeded += batch.get("succeeded", 0)
                        self.run.dead_lettered += batch.get("dead_lettered", 0)
        return len(text)


# ------------------------------------------------------------------ results


def _items(clients: Any, table: str) -> list[dict[str, Any]]:
    ddb = clients("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        items.extend({k: _DE.deserialize(v) for k, v in raw.items()} for raw in page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _summary(runs: list[ConsumerRun], clients: Any, *, faults: bool) -> dict[str, Any]:
    consumers: dict[str, Any] = {}
    ok = True
    for run in runs:
        res = run.consumer.resources
        assert run.stats is not None
        items = _items(clients, res.aggregate_table) if res and res.aggregate_table else []
        actual = {(i["pk"], i["sk"]): stats_from_item(i) for i in items}
        expected = expected_aggregates(
            run.consumer.handler, run.env, run.consumer.stream.name, run.placed
        )
        same = set(actual) == set(expected) and all(
            comparable(actual[k]) == comparable(v) for k, v in expected.items()
        )
        dlq = DeadLetterStore(res.dead_letter_bucket, clients) if res else None
        reasons = Counter(e.reason for e in dlq.entries(run.name)) if dlq else Counter()
        dead = sum(reasons.values())
        total = sum(run.generated.values())
        archived = 0
        if res and res.archive_bucket:
            archived = _count_lines(clients, res.archive_bucket, run.name)
        counted = _counted(run.name, items)
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
            "aggregates_match_reference": same,
            "faults_injected": dict(sorted(run.faults_fired.items())),
        }
        if archived:
            info["archived"] = archived
        info.update(_details(run.name, items, clients, run))
        balance = counted + dead == total
        info["check"] = f"{total} in = {counted} counted + {dead} dead-lettered" + (
            "" if balance else "  MISMATCH"
        )
        ok = (
            ok
            and balance
            and same
            and run.stats.unresolved == 0
            and run.stats.records_discarded == 0
        )
        consumers[run.name] = info
    return {"ok": ok, "faults": faults, "consumers": consumers}


def _counted(name: str, items: list[dict[str, Any]]) -> int:
    """Input records reflected in the aggregates (one aggregate counts each record)."""
    agg = {"clickstream": "events", "iot": "state"}.get(name)
    return sum(int(i["count"]) for i in items if i.get("aggregate") == agg)


def _count_lines(clients: Any, bucket: str, prefix: str) -> int:
    import gzip

    s3 = clients("s3")
    n = 0
    for key in list_keys(s3, bucket, prefix):
        n += gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).count(b"\n")
    return n


def _details(
    name: str, items: list[dict[str, Any]], clients: Any, run: ConsumerRun
) -> dict[str, Any]:
    if name == "clickstream":
        pages: Counter[str] = Counter()
        users: dict[str, HyperLogLog] = {}
        for i in items:
            if i.get("aggregate") == "page_views":
                pages[i["key"]] += int(i["count"])
            if i.get("aggregate") == "site_users" and i.get("distinct_hll") is not None:
                hll = HyperLogLog.from_bytes(
                    bytes(getattr(i["distinct_hll"], "value", i["distinct_hll"]))
                )
                users[i["key"]] = users[i["key"]].merge(hll) if i["key"] in users else hll
        return {
            "top_pages": pages.most_common(5),
            "unique_users": {site: h.estimate() for site, h in sorted(users.items())},
        }
    if name == "iot":
        per_metric: dict[str, Stats] = {}
        devices = set()
        for i in items:
            if i.get("aggregate") == "metrics":
                device, _, metric = str(i["key"]).partition("/")
                devices.add(device)
                s = stats_from_item(i)
                per_metric[metric] = merge(per_metric[metric], s) if metric in per_metric else s
        stats = {
            m: {
                "readings": s.count,
                "min": str(s.min),
                "max": str(s.max),
                "mean": str(round(s.mean, 2)) if s.mean is not None else None,
            }
            for m, s in sorted(per_metric.items())
        }
        return {"devices": len(devices), "metrics": stats, "alerts": _alerts(run, clients)}
    return {}


def _alerts(run: ConsumerRun, clients: Any) -> dict[str, int]:
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


# ------------------------------------------------------------------ printing


def _say(err: Any, text: str) -> None:
    print(f"streamkit run: {text}", file=err, flush=True)


def _status(err: Any, text: str) -> None:
    if getattr(err, "isatty", lambda: False)():
        print("\r\033[K" + text, end="", file=err, flush=True)
    else:
        _status.last = text  # type: ignore[attr-defined]


def _status_done(err: Any) -> None:
    if getattr(err, "isatty", lambda: False)():
        print(file=err)
    elif getattr(_status, "last", None):
        print(f"streamkit run: {_status.last}", file=err, flush=True)  # type: ignore[attr-defined]
        _status.last = None  # type: ignore[attr-defined]


def _print(s: dict[str, Any], out: Any) -> None:
    title = "streamkit run" + (" (with injected faults)" if s["faults"] else "")
    print(f"{title}: {s['seconds']} s, endpoint {s['endpoint']}", file=out)
    for name, c in s["consumers"].items():
        print(f"\n{name}", file=out)
        print(
            f"  records in {c['records_in']:,}  committed {c['committed']:,}  "
            f"invocations {c['invocations']:,}  deliveries {c['records_delivered']:,}",
            file=out,
        )
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
