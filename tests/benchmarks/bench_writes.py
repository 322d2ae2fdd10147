"""Benchmark: AWS calls per batch, streamkit's ledger vs Powertools' idempotency utility.

Run: ``.venv/bin/python tests/benchmarks/bench_writes.py`` (``--records``, ``--keys``).

In one run, against one embedded moto endpoint (:class:`streamkit.local.aws.LocalAWS`)
and one Lambda event of 10,000 ~300-byte clickstream records whose ``page`` takes
~50 values, all inside one 60-s window, both consumers compute page views per
(page, window):

* streamkit: ``Pipeline`` with one ``Aggregate`` and its per-shard ledger, invoked
  once on the whole batch.
* Powertools: ``BatchProcessor(EventType.KinesisDataStreams)`` +
  ``process_partial_response`` with a record handler made idempotent by
  ``idempotent_function`` (``DynamoDBPersistenceLayer``, keyed on the record's
  ``eventID``), whose body adds 1 to the (page, window) item with one
  ``UpdateItem ADD`` per record.

Every AWS call each side makes is counted with botocore event hooks
(``before-call`` for API calls, ``before-send`` for HTTP attempts, retries
included). Writes are PutItem, UpdateItem, DeleteItem, BatchWriteItem,
TransactWriteItems (plus S3 PutObject/DeleteObject(s), should streamkit spill an
intent to S3); item writes count each item of a batch or transaction.

Budget: streamkit at most (distinct keys + 3) item writes per batch. Exit status 1
when it is missed, 2 when the two sides disagree on the per-page counts (then the
comparison is meaningless).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import string
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
import orjson

from streamkit.testing.events import FIRST_SEQUENCE, kinesis_event

WINDOW_S = 60
#: Start of the one 60-s window every event falls in (a multiple of 60).
WINDOW_START = 1_700_000_040
AGGREGATE = "page_views"
BUDGET_CONSTANT = 3

#: Writes, by (service, operation). DynamoDB's five write APIs, and S3 object writes
#: (streamkit puts an intent in S3 only when it exceeds the inline limit).
WRITE_OPERATIONS = frozenset(
    {
        ("dynamodb", "PutItem"),
        ("dynamodb", "UpdateItem"),
        ("dynamodb", "DeleteItem"),
        ("dynamodb", "BatchWriteItem"),
        ("dynamodb", "TransactWriteItems"),
        ("s3", "PutObject"),
        ("s3", "DeleteObject"),
        ("s3", "DeleteObjects"),
    }
)
READ_OPERATIONS = frozenset(
    {
        ("dynamodb", "GetItem"),
        ("dynamodb", "BatchGetItem"),
        ("dynamodb", "TransactGetItems"),
        ("dynamodb", "Query"),
        ("dynamodb", "Scan"),
        ("s3", "GetObject"),
        ("s3", "HeadObject"),
    }
)

# Table and bucket names (one moto endpoint holds both setups).
SK_LEDGER = "bench-ledger"
SK_AGGREGATES = "bench-aggregates"
SK_DLQ = "bench-dlq"
PT_IDEMPOTENCY = "bench-idempotency"
PT_AGGREGATES = "bench-pt-aggregates"


# ------------------------------------------------------------------------ workload


def make_payloads(n: int, keys: int, seed: int = 7) -> list[bytes]:
    """~300-byte clickstream JSON documents; ``page`` takes ``keys`` values.

    Event times (``ts``, epoch ms) all fall in ``[WINDOW_START, WINDOW_START + 60)``.
    """
    rnd = random.Random(seed)
    pages = [f"/products/{i}" for i in range(keys)]
    span_ms = WINDOW_S * 1000
    out = []
    for i in range(n):
        doc = {
            "type": "page",
            "event_id": f"{rnd.getrandbits(64):016x}",
            "user_id": f"u{rnd.randrange(50_000)}",
            "session_id": "".join(rnd.choices(string.ascii_lowercase, k=16)),
            "page": pages[i % keys] if i < keys else rnd.choice(pages),
            "referrer": "https://www.example.com/search?q=" + "".join(rnd.choices("abcdef", k=12)),
            "ts": WINDOW_START * 1000 + (i * span_ms) // max(n, 1),
            "ua": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120",
            "props": {"ab": rnd.choice(["a", "b"]), "w": 1280, "h": 720},
        }
        out.append(orjson.dumps(doc))
    return out


def expected_counts(payloads: list[bytes]) -> dict[str, int]:
    return dict(Counter(str(orjson.loads(p)["page"]) for p in payloads))


# ------------------------------------------------------------------------ counting


@dataclass
class CallCounter:
    """Tallies AWS calls made through the clients it is attached to (botocore hooks)."""

    label: str
    #: (service, operation, table or bucket) -> API calls
    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: (service, operation, table or bucket) -> items written (transactions/batches count
    #: each item)
    items: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    http_requests: int = 0
    _attached: list[Any] = field(default_factory=list)

    def attach(self, events: Any) -> None:
        """Register on a client's ``meta.events`` or a boto3 session's ``events``."""
        events.register("before-call.*.*", self._before_call)
        events.register("before-send.*.*", self._before_send)
        self._attached.append(events)

    def detach(self) -> None:
        for events in self._attached:
            events.unregister("before-call.*.*", self._before_call)
            events.unregister("before-send.*.*", self._before_send)
        self._attached.clear()

    @contextlib.contextmanager
    def counting(self, *events: Any) -> Iterator[CallCounter]:
        for e in events:
            self.attach(e)
        try:
            yield self
        finally:
            self.detach()

    def _before_call(self, event_name: str, params: Mapping[str, Any], **kwargs: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        body = _body(params)
        target = _tables(body) or _bucket(params) or ""
        key = (service, operation, target)
        self.calls[key] += 1
        if operation == "TransactWriteItems":
            self.items[key] += len(body.get("TransactItems") or ())
        elif operation == "BatchWriteItem":
            self.items[key] += sum(len(v) for v in (body.get("RequestItems") or {}).values())
        elif operation == "DeleteObjects":
            self.items[key] += len((body.get("Delete") or {}).get("Objects") or ()) or 1
        else:
            self.items[key] += 1

    def _before_send(self, **kwargs: Any) -> None:
        self.http_requests += 1

    def _total(self, counter: Counter[tuple[str, str, str]], kinds: frozenset[Any]) -> int:
        return sum(n for (svc, op, _), n in counter.items() if (svc, op) in kinds)

    @property
    def write_calls(self) -> int:
        return self._total(self.calls, WRITE_OPERATIONS)

    @property
    def item_writes(self) -> int:
        return self._total(self.items, WRITE_OPERATIONS)

    @property
    def read_calls(self) -> int:
        return self._total(self.calls, READ_OPERATIONS)

    @property
    def other_calls(self) -> int:
        return sum(self.calls.values()) - self.write_calls - self.read_calls

    def breakdown(self) -> list[str]:
        lines = []
        for (svc, op, target), n in sorted(self.calls.items()):
            items = self.items[(svc, op, target)]
            extra = f" ({items} items)" if items != n else ""
            lines.append(f"{svc} {op} on {target or '-'}: {n}{extra}")
        return lines


def _body(params: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON request body of a before-call ``request_dict`` (DynamoDB is JSON)."""
    raw = params.get("body")
    if not raw:
        return {}
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _tables(body: Mapping[str, Any]) -> str | None:
    """The table(s) a DynamoDB request touches, comma-separated."""
    if body.get("TableName"):
        return str(body["TableName"])
    names = set(body.get("RequestItems") or ())  # BatchGetItem / BatchWriteItem
    for entry in body.get("TransactItems") or ():  # TransactWrite/GetItems
        names.update(str(op["TableName"]) for op in entry.values() if "TableName" in op)
    return ",".join(sorted(names)) or None


def _bucket(params: Mapping[str, Any]) -> str | None:
    # S3 is REST: the bucket is the first path segment of the URL (path style) or in
    # the context; good enough for a label.
    ctx = params.get("context") or {}
    bucket = (ctx.get("signing") or {}).get("bucket") if isinstance(ctx, dict) else None
    if bucket:
        return str(bucket)
    path = str(params.get("url_path") or "").lstrip("/")
    return path.split("/", 1)[0] or None


# ------------------------------------------------------------------------- setups


def run_streamkit(aws: Any, event: dict[str, Any], counter: CallCounter) -> dict[str, Any]:
    from streamkit.pipeline import Aggregate, Pipeline
    from streamkit.testing import FakeContext

    pipeline = Pipeline(
        "bench",
        event_time=lambda doc, record: doc["ts"] / 1000,
        aggregates=[Aggregate(AGGREGATE, key=lambda d: d["page"], window_s=WINDOW_S)],
        table=SK_AGGREGATES,
        ledger_table=SK_LEDGER,
        dead_letter_bucket=SK_DLQ,
        clients=aws.clients,
        metrics=False,
    )
    clients = aws.clients
    sink = io.StringIO()
    with (
        counter.counting(clients("dynamodb").meta.events, clients("s3").meta.events),
        contextlib.redirect_stdout(sink),  # the batch summary log line
    ):
        response = pipeline.handle(event, FakeContext(900_000))
    return response


def run_powertools(event: dict[str, Any], counter: CallCounter) -> Mapping[str, Any]:
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )
    from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
        KinesisStreamRecord,
    )
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from streamkit.aggregate import window_of
    from streamkit.testing import FakeContext

    # One session for everything this side calls: its event hooks reach every client
    # it creates, the persistence layer's included (passed as boto3_session).
    session = boto3.Session()
    counter.attach(session.events)
    persistence = DynamoDBPersistenceLayer(table_name=PT_IDEMPOTENCY, boto3_session=session)
    config = IdempotencyConfig(event_key_jmespath="eventID")
    business = session.client("dynamodb")
    processor = BatchProcessor(event_type=EventType.KinesisDataStreams)
    total = len(event["Records"])
    done = 0
    started = time.perf_counter()

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="record", config=config, persistence_store=persistence
    )
    def record_handler(record: KinesisStreamRecord) -> None:
        nonlocal done
        doc = orjson.loads(record.kinesis.data_as_bytes())
        window = window_of(doc["ts"] / 1000, WINDOW_S)
        business.update_item(
            TableName=PT_AGGREGATES,
            Key={"pk": {"S": f"{AGGREGATE}#{doc['page']}"}, "sk": {"S": window.key}},
            UpdateExpression="ADD #c :one",
            ExpressionAttributeNames={"#c": "count"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        done += 1
        if done % 1000 == 0 or done == total:
            rate = done / max(time.perf_counter() - started, 1e-9)
            print(f"  powertools: {done}/{total} records ({rate:.0f}/s)", file=sys.stderr)

    def handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
        config.register_lambda_context(context)
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink):
            response = handler(event, FakeContext(900_000))
    finally:
        counter.detach()
    return response


# ---------------------------------------------------------------------- verification


def table_counts(ddb: Any, table: str) -> tuple[dict[str, int], int]:
    """(per-page count summed over windows, number of items) of an aggregate table."""
    counts: dict[str, int] = {}
    items = 0
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            items += 1
            key = item["pk"]["S"].removeprefix(f"{AGGREGATE}#")
            counts[key] = counts.get(key, 0) + int(Decimal(item["count"]["N"]))
    return counts, items


def create_resources(clients: Callable[[str], Any]) -> None:
    from streamkit.local.aws import DynamoDbTable, Resource, S3Bucket

    resources: list[Resource] = [
        DynamoDbTable.ledger(SK_LEDGER),
        DynamoDbTable.aggregates(SK_AGGREGATES),
        S3Bucket(SK_DLQ),
        # Powertools' required idempotency table: partition key "id" (S), TTL on
        # "expiration" (its defaults).
        DynamoDbTable(PT_IDEMPOTENCY, "id", ttl_attribute="expiration"),
        DynamoDbTable.aggregates(PT_AGGREGATES),
    ]
    for resource in resources:
        created = resource.create(clients)
        resource.ready(clients, wait=True, created=created)


# ------------------------------------------------------------------------------ main


def _ratio(a: int, b: int) -> str:
    return f"{a / b:,.0f}x" if b else "inf"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--records", type=int, default=10_000, help="records in the batch")
    ap.add_argument("--keys", type=int, default=50, help="distinct pages (aggregate keys)")
    ap.add_argument(
        "--first-sequence",
        type=int,
        default=FIRST_SEQUENCE,
        help="sequence number of the first record (default: a realistic 56-digit one)",
    )
    args = ap.parse_args(argv)
    if args.records < 1 or args.keys < 1:
        ap.error("--records and --keys must be positive")

    from streamkit.local.aws import LocalAWS

    # Powertools skips idempotency entirely when this is set: the comparison would lie.
    os.environ.pop("POWERTOOLS_IDEMPOTENCY_DISABLED", None)

    payloads = make_payloads(args.records, args.keys)
    event = kinesis_event(
        payloads,
        first_sequence=args.first_sequence,
        stream_arn="arn:aws:kinesis:us-east-1:123456789012:stream/clickstream",
    )
    expected = expected_counts(payloads)
    distinct = len(expected)
    avg = sum(map(len, payloads)) / len(payloads)

    with LocalAWS() as aws:
        aws.apply_env()
        setup = boto3.Session().client("dynamodb")  # setup and scans: never counted
        create_resources(lambda name: boto3.Session().client(name))

        sk = CallCounter("streamkit")
        print(f"streamkit: one invocation on {args.records} records...", file=sys.stderr)
        t0 = time.perf_counter()
        sk_response = run_streamkit(aws, event, sk)
        sk_seconds = time.perf_counter() - t0

        pt = CallCounter("powertools")
        print(f"powertools: one invocation on {args.records} records...", file=sys.stderr)
        t0 = time.perf_counter()
        pt_response = run_powertools(event, pt)
        pt_seconds = time.perf_counter() - t0

        sk_counts, sk_items = table_counts(setup, SK_AGGREGATES)
        pt_counts, pt_items = table_counts(setup, PT_AGGREGATES)

    print(
        f"batch: {args.records} clickstream records (~{avg:.0f} B each), "
        f"{distinct} distinct pages, one {WINDOW_S}-s window"
    )
    header = f"  {'':<22}{'write calls':>12}{'item writes':>13}{'reads':>8}{'other':>7}{'HTTP':>8}"
    print(header)
    for c, seconds in ((sk, sk_seconds), (pt, pt_seconds)):
        print(
            f"  {c.label:<22}{c.write_calls:>12,}{c.item_writes:>13,}{c.read_calls:>8,}"
            f"{c.other_calls:>7,}{c.http_requests:>8,}  ({seconds:.1f} s)"
        )
    print(
        f"  {'powertools/streamkit':<22}{_ratio(pt.write_calls, sk.write_calls):>12}"
        f"{_ratio(pt.item_writes, sk.item_writes):>13}"
    )
    print(
        f"streamkit writes per batch: {sk.write_calls} calls, {sk.item_writes} items; "
        f"powertools: {pt.write_calls} calls, {pt.item_writes} items; "
        f"ratio (item writes) = {pt.item_writes / max(sk.item_writes, 1):.1f}"
    )
    for c in (sk, pt):
        print(f"  {c.label} calls by operation:")
        for line in c.breakdown():
            print(f"    {line}")

    budget = distinct + BUDGET_CONSTANT
    within = sk.item_writes <= budget
    verdict = "ok" if within else "OVER BUDGET"
    print(
        f"budget: streamkit item writes {sk.item_writes} <= distinct keys + "
        f"{BUDGET_CONSTANT} = {budget}: {verdict}"
    )

    problems = []
    if sk_response.get("batchItemFailures"):
        problems.append(f"streamkit reported failures: {sk_response}")
    if pt_response.get("batchItemFailures"):
        problems.append(f"powertools reported failures: {pt_response['batchItemFailures'][:3]}")
    if sk_counts != expected:
        problems.append("streamkit's per-page counts differ from the input")
    if pt_counts != expected:
        problems.append("powertools' per-page counts differ from the input")
    if sk_items != distinct:
        problems.append(f"streamkit wrote {sk_items} aggregate items, expected {distinct}")
    if problems:
        print("RESULTS DISAGREE: " + "; ".join(problems))
        return 2
    print(
        f"results: both sides agree on all {distinct} per-page counts "
        f"({sum(expected.values())} records; aggregate items: streamkit {sk_items}, "
        f"powertools {pt_items})"
    )
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
