"""The proof, widened (issue 10, item 6): exactly-once effects in thousands of schedules.

In-process and without HTTP: the ESM simulator (with the production settings of
``infra/consumers.json``) reads an in-memory Kinesis stream and invokes real
:class:`~streamkit.pipeline.Pipeline` objects whose shipped adapters (ledger,
aggregate table, S3 and SQS stores) write to ``streamkit.testing.memory`` -- the
in-memory stores whose semantics ``tests/integration/test_store_contract.py`` checks
against moto. Each schedule draws:

* the consumer's production ESM settings (finite retries, bisection, record age),
  with its BatchSize or a small one; records old enough to expire during retries;
* faults around invocations (throttles, crashes before/after the handler, timeouts,
  partial failures) and at single store writes (crash before/after the write,
  throttling), transient failures of single records (also inside KPL aggregates);
* zombies: an invocation stops right before or right after writing its intent, or
  after applying it but before its commit; Lambda retries, and the stale invocation
  resumes its writes (or its commit) later, after newer commits;
* two consumers sharing the aggregate table, the archive and dead-letter buckets and
  the alert queue; alerts; KPL aggregates; intents above the inline limit (stored in
  S3); resharding; extreme values (tiny and huge numbers, 38-digit sums, far-future
  and far-past event times, ``Decimal`` values from the decoder).

Besides the final effects, every schedule checks the write order the protocol rests
on: an archive or dead-letter object is written only once the ledger records an
intent naming it (:meth:`FaultyClients.check_order`).

The reference is the planner (:meth:`Pipeline.plan`) on each shard's records in one
batch. With finite retries Lambda may discard records: the reference then holds the
records the ledger committed, and every record it does not hold must have been
discarded by Lambda (reported to the on-failure destination): nothing is lost
silently. A pending intent left when the stream ends is rolled forward
(:meth:`Pipeline.roll_forward`, what the next invocation or ``streamkit recover``
does).

The same schedules also run with moto's stores over HTTP
(:func:`test_the_same_schedules_hold_on_moto`: 100, ``--slow`` 1,000).

CI runs 2,000 schedules; ``pytest --slow`` 20,000 (``STREAMKIT_PROOF_SCHEDULES=N``: N,
for a quick local run). A summary line prints the number of
schedules, the seed and schedules per second; replay a failure with
``--hypothesis-seed=N`` (and hypothesis's printed ``@reproduce_failure`` blob).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import functools
import gzip
import io
import json
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

import orjson
import pytest
from boto3.dynamodb.types import TypeDeserializer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streamkit import PermanentError
from streamkit.aggregate import Stats, merge
from streamkit.errors import TransientError
from streamkit.ledger import DEFAULT_INTENT_PREFIX, Intent, Ledger, LedgerState
from streamkit.local.aws import DynamoDbTable, LocalAWS, S3Bucket
from streamkit.local.clock import VirtualClock
from streamkit.local.config import ConsumerConfig, DestinationRef, EsmSettings, load_consumers
from streamkit.local.destinations import DestinationSender
from streamkit.local.esm import DISCARDED, EventSourceMapping
from streamkit.local.events import kinesis_record, kpl_aggregate
from streamkit.local.faults import FaultPlan, SimulatedCrash
from streamkit.local.recover.consumer import Consumer
from streamkit.local.recover.engine import recover
from streamkit.local.run.reference import (
    AggregateKey,
    comparable,
    stored_aggregates,
    write_entries,
)
from streamkit.pipeline import Aggregate, Archive, Message, Pipeline, json_doc
from streamkit.sinks.s3 import list_keys
from streamkit.stores import Stores
from streamkit.testing.memory import MemoryAWS, MemoryStream

T0 = 1_764_000_000.0  # the simulator's clock starts here (a minute boundary)
WINDOW = 60
LATENESS = 90
KEYS = ("/", "/cart", "/pay")
CONSUMERS = ("alpha", "beta")
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/alerts.fifo"
#: Route what Lambda discarded through ``streamkit recover`` before comparing (off: the
#: proof only checks that every record not committed is one Lambda discarded). Lambda
#: may discard records the shard's ledger committed (the invocation committed, then
#: timed out or crashed, and so did its retries until the records aged out; minimal
#: schedule: one valid record 10 s short of clickstream's age limit,
#: FaultPlan(seed=4, timeout_rate=0.6)): recover reads the ledger's commit journal and
#: skips them.
RECOVER_DISCARDED = True
#: Fault schedules per run: at least 2,000 in CI (issue 10), 20,000 with --slow.
SCHEDULES = int(os.environ.get("STREAMKIT_PROOF_SCHEDULES", 0)) or (
    20_000 if os.environ.get("STREAMKIT_SLOW") else 2_000
)
_DE = TypeDeserializer()


class CrashAfterWrite(SimulatedCrash):
    """The process dies right after a store write succeeded."""

    def __init__(self, message: str, written: dict[str, Any]) -> None:
        super().__init__(message)
        self.written = written  # the write's arguments: which item it was


class Paused(SimulatedCrash):
    """The invocation stops here (a zombie): its remaining writes come later."""


# ------------------------------------------------------------------ the world


class FaultyClients:
    """A ``clients`` factory with faults at chosen store writes (memory or moto)."""

    WRITES = frozenset({"put_item", "update_item", "put_object", "send_message"})
    THROTTLE: ClassVar[dict[str, str]] = {
        "dynamodb": "ProvisionedThroughputExceededException",
        "s3": "SlowDown",
        "sqs": "RequestThrottled",
    }

    #: The buckets the pipelines write archive and dead-letter objects to (and, in
    #: ``dlq``, intents above the inline limit, under :data:`INTENT_PREFIX`).
    OBJECT_BUCKETS = frozenset({"archive", "dlq"})
    INTENT_PREFIX = DEFAULT_INTENT_PREFIX + "/"

    def __init__(self, inner: Callable[[str], Any], schedule: dict[int, str]) -> None:
        self.inner = inner
        self.schedule = schedule
        self.enabled = True
        self.writes = 0
        self._proxies: dict[str, Any] = {}
        #: (bucket, key) of every object some intent the ledger recorded names.
        self.named: set[tuple[str, str]] = set()
        self._intent_objects: dict[str, bytes] = {}  # "bucket/key" -> intent bytes
        #: Objects written before the ledger recorded an intent naming them.
        self.early: list[str] = []

    def check_order(self, service: str, operation: str, kwargs: dict[str, Any]) -> None:
        """The write order the proof rests on: an archive or dead-letter object is
        written only once an intent naming it is recorded in the ledger. Written
        before (an intent referencing objects instead of holding their bodies), a
        crash or a zombie in between leaves an object whose records a retry with
        other batch bounds writes again: the proof's schedules find such a record
        archived twice within a few hundred schedules."""
        if service != "s3" or operation != "put_object":
            return
        bucket, key = kwargs["Bucket"], kwargs["Key"]
        if bucket not in self.OBJECT_BUCKETS:
            return
        if key.startswith(self.INTENT_PREFIX):
            self._intent_objects[f"{bucket}/{key}"] = kwargs["Body"]
            return
        if (bucket, key) not in self.named:
            # Recorded, not raised: the pipeline would catch an assertion as a failed
            # write. The schedule's end asserts there is none.
            self.early.append(f"s3://{bucket}/{key}")

    def observe(self, service: str, operation: str, kwargs: dict[str, Any]) -> None:
        """After a write took effect: an intent the ledger now records names its objects."""
        if service != "dynamodb" or operation != "update_item":
            return
        values = kwargs.get("ExpressionAttributeValues", {})
        if ":blob" in values:
            blob = values[":blob"]["B"]
        elif ":ptr" in values:
            blob = self._intent_objects[values[":ptr"]["S"]]
        else:
            return
        intent = Intent.from_bytes(blob)
        self.named.update((o.bucket, o.key) for o in intent.objects)

    def __call__(self, service: str) -> Any:
        proxy = self._proxies.get(service)
        if proxy is None:
            proxy = self._proxies[service] = _FaultyService(self, service, self.inner(service))
        return proxy

    def before(self, service: str) -> str | None:
        if not self.enabled:
            return None
        self.writes += 1
        kind = self.schedule.get(self.writes)
        if kind == "crash_before":
            raise SimulatedCrash(f"crash before write {self.writes}")
        if kind == "throttle":
            from streamkit.testing.memory.errors import client_error

            raise client_error(service, self.THROTTLE[service], "Rate exceeded", "Write")
        return kind


class _FaultyService:
    def __init__(self, owner: FaultyClients, service: str, inner: Any) -> None:
        self._owner, self._service, self._inner = owner, service, inner
        self.exceptions = inner.exceptions

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in FaultyClients.WRITES:
            return attr

        def write(**kwargs: Any) -> Any:
            self._owner.check_order(self._service, name, kwargs)
            kind = self._owner.before(self._service)
            out = attr(**kwargs)
            self._owner.observe(self._service, name, kwargs)
            if kind == "crash_after":
                raise CrashAfterWrite(f"crash after write {self._owner.writes}", kwargs)
            return out

        return write


class TrackingLedger:
    """The shipped ledger, plus: which ranges were committed, and zombie pauses."""

    def __init__(self, inner: Ledger) -> None:
        self.inner = inner
        self.commits: list[tuple[str, tuple[int, int], tuple[int, int]]] = []
        #: "before" / "after" the next intent write, or "commit": before the next commit
        self.pause: str | None = None
        self.paused: list[tuple[str, LedgerState, Intent]] = []

    def read(self, shard_id: str) -> LedgerState:
        return self.inner.read(shard_id)

    def write_intent(self, state: LedgerState, intent: Intent) -> None:
        pause = self.pause if self.pause in ("before", "after") else None
        if pause is not None:
            self.pause = None
        if pause == "before":
            self.paused.append(("before", state, intent))
            raise Paused("zombie: stopped before its intent write")
        self.inner.write_intent(state, intent)
        if pause == "after":
            self.paused.append(("after", state, intent))
            raise Paused("zombie: stopped after its intent write")

    def commit(self, intent: Intent) -> None:
        if self.pause == "commit":  # applied everything; the commit comes later
            self.pause = None
            self.paused.append(("commit", LedgerState.new_shard(), intent))
            raise Paused("zombie: stopped before its commit")
        try:
            self.inner.commit(intent)
        except CrashAfterWrite as e:
            # The process died after a write: the commit itself, or the journal entry
            # written before it (then nothing was committed yet).
            if "#commit#" not in e.written.get("Key", {}).get("id", {}).get("S", ""):
                self.commits.append((intent.shard_id, intent.start, intent.end))
            raise
        self.commits.append((intent.shard_id, intent.start, intent.end))


def _validate(doc: Any, flaky: Counter[str] | None) -> Any:
    if not isinstance(doc, dict) or doc.get("page") not in KEYS or "ts" not in doc:
        raise PermanentError("not a page view", reason="schema")
    if flaky is not None and doc.get("flaky"):
        flaky[doc["id"]] += 1
        if flaky[doc["id"]] <= doc["flaky"]:
            raise TransientError(f"flaky record {doc['id']}")
    return doc


def _decimal_json(record: Any) -> Any:
    """A decoder returning Decimal numbers (exact money amounts)."""
    return json.loads(record.data, parse_float=Decimal)


def _alerts(doc: Any, record: Any) -> list[tuple[str, Any]]:
    return [("alert", {"id": doc["id"], "page": doc["page"]})] if doc.get("alert") else []


def build_pipeline(
    name: str,
    clients: Callable[[str], Any],
    *,
    shared_prefix: bool,
    flaky: bool,
    queue_url: str = QUEUE_URL,
) -> tuple[Pipeline, TrackingLedger]:
    """Consumer ``alpha`` (JSON decoder) or ``beta`` (Decimal decoder); both count
    ``views`` in one table, archive to one bucket, dead-letter to one, alert to one queue."""
    ledger = TrackingLedger(Ledger("ledger", name, clients, intent_bucket="dlq"))
    counter: Counter[str] | None = Counter() if flaky else None
    aggregates = [
        Aggregate(
            "views",
            key=lambda d: d["page"],
            window_s=WINDOW,
            value=lambda d: d.get("ms"),
            distinct=lambda d: d.get("user"),
        ),
        # Every page of a window in one item, two pages an item (overflow parts), the
        # same items for both consumers: crashes, zombies and races between consumers
        # also meet a window item's parts.
        Aggregate(
            "hits",
            key=lambda d: d["page"],
            window_s=WINDOW,
            distinct=lambda d: d.get("user"),
            layout="window",
            max_fields=2,
        ),
    ]
    if name == "beta":
        aggregates.append(
            Aggregate("spend", key=lambda d: "all", window_s=None, value=lambda d: d.get("ms"))
        )
        # A multi-field aggregate with two fields an item: users' spend per page and
        # window spills into overflow items, so crashes, zombies and races also meet
        # an item's parts.
        aggregates.append(
            Aggregate(
                "by_user",
                key=lambda d: d["page"],
                window_s=WINDOW,
                fields=lambda d: [(d["user"], d.get("ms"))],
                max_fields=2,
            )
        )
    pipeline = Pipeline(
        name,
        decode=_decimal_json if name == "beta" else json_doc,
        validate=functools.partial(_validate, flaky=counter),
        event_time=lambda doc, record: doc["ts"],
        aggregates=aggregates,
        table="aggs",
        archive=Archive("archive", "alpha" if shared_prefix else name),
        dead_letter_bucket="dlq",
        messages=[Message(queue_url, _alerts)],
        ledger_table="ledger",
        allowed_lateness_s=LATENESS,
        clients=clients,
        stores=Stores(ledger=ledger),
        metrics=False,
    )
    return pipeline, ledger


class MemoryBackend:
    """The stores in memory (``streamkit.testing.memory``): a fresh world per schedule."""

    def __init__(self, clock: VirtualClock) -> None:
        self.aws = aws = MemoryAWS(clock=clock.now)
        aws.dynamodb.create_table("ledger", ("id",))
        aws.dynamodb.create_table("aggs", ("pk", "sk"))
        for bucket in ("archive", "dlq", *(f"{n}-failures" for n in CONSUMERS)):
            aws.s3.create_bucket(Bucket=bucket)
        self.queue_url = aws.sqs.create_queue(QueueName="alerts.fifo")["QueueUrl"]
        self.clients = aws.clients

    def items(self, table: str) -> list[dict[str, Any]]:
        return list(self.aws.dynamodb.scan(TableName=table)["Items"])

    def objects(self, bucket: str) -> dict[str, bytes]:
        return self.aws.s3.objects(bucket)

    def messages(self) -> list[tuple[str, str]]:
        return [(m.group_id, m.body) for m in self.aws.sqs.messages(self.queue_url)]


class MotoBackend:
    """The same stores on the embedded moto endpoint over HTTP, reset per schedule."""

    def __init__(self, local_aws: LocalAWS) -> None:
        local_aws.reset()
        self.clients = clients = local_aws.clients
        DynamoDbTable.ledger("ledger").create(clients)
        DynamoDbTable.aggregates("aggs").create(clients)
        for bucket in ("archive", "dlq", *(f"{n}-failures" for n in CONSUMERS)):
            S3Bucket(bucket).create(clients)
        self.queue_url = clients("sqs").create_queue(
            QueueName="alerts.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"},
        )["QueueUrl"]

    def items(self, table: str) -> list[dict[str, Any]]:
        return list(self.clients("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"])

    def objects(self, bucket: str) -> dict[str, bytes]:
        s3 = self.clients("s3")
        return {
            key: s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            for key in list_keys(s3, bucket, "")
        }

    def messages(self) -> list[tuple[str, str]]:
        sqs, out = self.clients("sqs"), []
        while True:  # FIFO: a group's next message shows once the one before is deleted
            got = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                return out
            for m in got:
                out.append((m["Attributes"]["MessageGroupId"], m["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])


Backend = MemoryBackend | MotoBackend


@functools.cache
def production_settings(consumer: str, batch_size: int | None) -> EsmSettings:
    """The consumer's ESM settings from infra/consumers.json (BatchSize optionally smaller)."""
    esm = load_consumers()[consumer].esm
    return esm if batch_size is None else dataclasses.replace(esm, batch_size=batch_size)


@functools.cache
def recovery_config(consumer: str, batch_size: int | None, name: str) -> ConsumerConfig:
    """The production config with these settings, discarding to the S3 bucket
    ``<name>-failures`` (the S3 document carries the records: spec 3.4)."""
    base = load_consumers()[consumer]
    esm = dataclasses.replace(
        production_settings(consumer, batch_size),
        on_failure=DestinationRef("s3", f"{name}-failures"),
    )
    assert base.resources is not None
    resources = dataclasses.replace(base.resources, ledger_table="ledger")
    return dataclasses.replace(base, event_source_mapping=esm, resources=resources)


# --------------------------------------------------------------- strategies

NORMAL_TS = st.integers(int(T0) - 120, int(T0) + 4 * WINDOW)
EXTREME_TS = st.sampled_from([T0 + 10 * 365 * 86_400, 1.0, 1e-200, T0 + 0.5])
NORMAL_MS = st.one_of(st.none(), st.integers(0, 1000), st.sampled_from([0.1, 12.75, 999.99]))
EXTREME_MS = st.sampled_from(
    [10**37, -(10**37), 9.999999999999999e125, 1e-120, 1e-130, 2**70, 1e-200]
)


@st.composite
def page_docs(draw: st.DrawFn, extreme: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "page": draw(st.sampled_from(KEYS)),
        "ts": draw(st.one_of(NORMAL_TS, EXTREME_TS) if extreme else NORMAL_TS),
        "user": draw(st.sampled_from([f"u{i}" for i in range(6)])),
    }
    ms = draw(st.one_of(NORMAL_MS, EXTREME_MS) if extreme else NORMAL_MS)
    if ms is not None:
        doc["ms"] = ms
    if draw(st.integers(0, 5)) == 0:
        doc["alert"] = True
    if draw(st.integers(0, 6)) == 0:
        doc["flaky"] = draw(st.integers(1, 3))
    return doc


def payloads(extreme: bool) -> st.SearchStrategy[Any]:
    """One Kinesis record: a document, junk, bad JSON, or a KPL aggregate of documents."""
    single = st.one_of(
        page_docs(extreme),
        page_docs(extreme),
        page_docs(extreme),
        st.just({"junk": 1}),
        st.just(None),
    )
    return st.one_of(single, st.lists(single, min_size=1, max_size=3).map(tuple))


@st.composite
def invocation_faults(draw: st.DrawFn) -> FaultPlan:
    rate = st.sampled_from([0.0, 0.1, 0.25])
    return FaultPlan(
        seed=draw(st.integers(0, 2**16)),
        throttle_rate=draw(st.sampled_from([0.0, 0.1])),
        crash_rate=draw(st.sampled_from([0.0, 0.05])),
        crash_after_rate=draw(rate),
        timeout_rate=draw(st.sampled_from([0.0, 0.1])),
        partial_rate=draw(rate),
    )


@dataclasses.dataclass
class Schedule:
    records: list[Any]
    consumer_config: str
    batch_size: int | None
    shards: int
    reshard: bool
    two_consumers: bool
    shared_prefix: bool
    aged: bool
    big: bool
    invocation_faults: FaultPlan
    write_faults: dict[int, str]
    zombies: dict[int, tuple[str, int]]  # invocation -> (pause point, resume after n)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    extreme = draw(st.integers(0, 3)) == 0
    return Schedule(
        records=draw(st.lists(payloads(extreme), min_size=1, max_size=8)),
        consumer_config=draw(st.sampled_from(["clickstream", "iot"])),
        batch_size=draw(st.one_of(st.none(), st.integers(1, 5))),
        shards=draw(st.integers(1, 2)),
        reshard=draw(st.booleans()),
        two_consumers=draw(st.booleans()),
        shared_prefix=draw(st.booleans()),
        aged=draw(st.integers(0, 4)) == 0,
        big=draw(st.integers(0, 249)) == 0,
        invocation_faults=draw(invocation_faults()),
        write_faults=draw(
            st.dictionaries(
                st.integers(1, 40),
                st.sampled_from(["crash_before", "crash_after", "throttle"]),
                max_size=3,
            )
        ),
        zombies=draw(
            st.dictionaries(
                st.integers(1, 10),
                st.tuples(st.sampled_from(["before", "after", "commit"]), st.integers(0, 6)),
                max_size=3,
            )
        ),
    )


# --------------------------------------------------------------------- running


@dataclasses.dataclass
class Placed:
    """A Kinesis record as written: its user records' payloads (one unless KPL)."""

    shard_id: str
    sequence_number: str
    partition_key: str
    arrival: float
    subs: list[bytes]
    kpl: bool


def _payload(doc: Any, n: int, rng: random.Random, big: bool) -> bytes:
    if doc is None:
        return b"{not json"
    doc = {"id": f"r{n}", **doc}
    if big:  # incompressible: the intent passes INLINE_LIMIT and goes to S3
        doc["blob"] = base64.b64encode(rng.randbytes(310_000)).decode()
    return json.dumps(doc).encode()  # the standard library: integers of any size


def _place(
    schedule: Schedule, stream: MemoryStream, rng: random.Random, max_age: int
) -> list[Placed]:
    placed: list[Placed] = []
    # Aged: the records are 10 s short of MaximumRecordAgeInSeconds when polling starts.
    arrival = T0 - (max_age - 10 if schedule.aged and max_age > 0 else 5)
    n = 0
    for i, item in enumerate(schedule.records):
        if schedule.reshard and i == len(schedule.records) // 2:
            stream.split(stream.open_shard_for("pk0"))
        docs = list(item) if isinstance(item, tuple) else [item]
        subs = []
        for doc in docs:
            subs.append(_payload(doc, n, rng, schedule.big and n == 0))
            n += 1
        kpl = isinstance(item, tuple)
        pk = f"pk{i % 3}"
        data = kpl_aggregate((pk, s, None) for s in subs) if kpl else subs[0]
        arrival += 0.25
        rec = stream.put(data, pk, arrival=arrival)
        placed.append(Placed(rec.shard_id, rec.sequence_number, pk, round(arrival, 3), subs, kpl))
    return placed


def _run(schedule: Schedule, local_aws: LocalAWS | None = None) -> None:
    """Run one schedule in memory, or on moto when ``local_aws`` is given."""
    rng = random.Random(schedule.invocation_faults.seed)
    clock = VirtualClock(T0)
    backend: Backend = MemoryBackend(clock) if local_aws is None else MotoBackend(local_aws)
    stream = MemoryStream("proof", schedule.shards)
    settings_ = production_settings(schedule.consumer_config, schedule.batch_size)
    placed = _place(schedule, stream, rng, settings_.maximum_record_age_in_seconds)
    clients = FaultyClients(backend.clients, schedule.write_faults)
    names = CONSUMERS if schedule.two_consumers else CONSUMERS[:1]
    built = {
        name: build_pipeline(
            name,
            clients,
            shared_prefix=schedule.shared_prefix,
            flaky=True,
            queue_url=backend.queue_url,
        )
        for name in names
    }
    invocations = 0
    waiting: list[tuple[int, str, Pipeline, TrackingLedger]] = []

    zombies_resumed = [0]

    def resume(pipeline: Pipeline, ledger: TrackingLedger) -> None:
        """A zombie resumes: what its invocation would have done after the pause."""
        point, state, intent = ledger.paused.pop(0)
        zombies_resumed[0] += 1
        with contextlib.suppress(Exception, SimulatedCrash):
            if point == "commit":  # its writes are done: only the (late) commit is left
                FEATURES["zombie committed late"] += 1
                ledger.commit(intent)  # LedgerConflict if the retry committed it first
                return
            if point == "before":
                ledger.inner.write_intent(state, intent)  # LedgerConflict if overtaken
            pipeline.roll_forward(intent)  # apply, then commit (conflict suppressed)

    def handler_of(name: str) -> Callable[[dict[str, Any], Any], Any]:
        pipeline, ledger = built[name]

        def handler(event: dict[str, Any], context: Any) -> Any:
            nonlocal invocations
            invocations += 1
            for due in [w for w in waiting if w[0] <= invocations]:
                waiting.remove(due)
                resume(due[2], due[3])
            zombie = schedule.zombies.get(invocations)
            if zombie is not None:
                ledger.pause = zombie[0]
                waiting.append((invocations + 1 + zombie[1], name, pipeline, ledger))
            try:
                return pipeline.handle(event, context)
            finally:
                ledger.pause = None

        return handler

    esms = {
        name: EventSourceMapping(
            handler_of(name),
            settings_,
            None,
            "proof",
            clock=clock,
            faults=dataclasses.replace(schedule.invocation_faults),
            reader=stream.reader(),
            destination=DestinationSender("s3", f"{name}-failures", backend.clients, name),
            stuck_after=500,
            seed=schedule.invocation_faults.seed,
        )
        for name in names
    }
    with contextlib.redirect_stdout(io.StringIO()):  # the pipelines' log lines
        for _ in range(10_000):  # the two consumers' mappings take turns
            for esm in esms.values():
                esm.run(max_seconds=3)
            # Private, on purpose: "every record read is resolved" is the stop condition.
            if all(esm._idle() for esm in esms.values()):
                break
        else:
            raise AssertionError("the mappings never became idle")
        clients.enabled = False  # what happens after the stream ends runs without faults
        for _, _, pipeline, ledger in waiting:
            while ledger.paused:
                resume(pipeline, ledger)
        for pipeline, ledger in built.values():
            for shard_id in stream.shard_ids:
                pending = ledger.read(shard_id).intent
                if pending is not None:  # the next invocation (or recover) does this
                    pipeline.roll_forward(pending)
        for name, (pipeline, _) in built.items() if RECOVER_DISCARDED else ():
            # `streamkit recover --consumer NAME`: what Lambda discarded, exactly once.
            config = recovery_config(schedule.consumer_config, schedule.batch_size, name)
            consumer = Consumer(name, config, {}, pipeline, backend.clients, stream, stream.arn)
            summary = recover(consumer)
            for _ in range(3):  # a range still failing (a flaky record): run it again
                if summary.ok:
                    break
                summary = recover(consumer)
            assert summary.ok, summary.to_dict()
            if summary.ranges:
                FEATURES["streamkit recover"] += 1
                # Idempotent: a second run finds every range done.
                again = recover(consumer).to_dict()["records"]
                assert again["succeeded"] == again["dead_lettered"] == 0, again
            if any(r.status == "committed_by_shard" for r in summary.ranges):
                FEATURES["recover: range the shard had committed"] += 1
    objects = {bucket: backend.objects(bucket) for bucket in ("archive", "dlq")}
    messages = backend.messages()
    assert not clients.early, f"objects written before an intent named them: {clients.early}"
    _check(
        schedule,
        backend,
        objects,
        messages,
        stream,
        placed,
        built,
        {n: e.stats.outcomes for n, e in esms.items()},
    )
    # What the schedule exercised (counted in the summary line).
    event = FEATURES.update
    for esm in esms.values():
        if esm.stats.records_discarded:
            event(["Lambda discarded records"])
        if esm.stats.bisections:
            event(["bisected a batch"])
    if any(key.startswith("streamkit/intents/") for key in objects["dlq"]):
        event(["intent above the inline limit"])
    if messages:
        event(["alerts"])
    if zombies_resumed[0]:
        event(["zombie resumed"])
    if len(stream.shard_ids) > schedule.shards:
        event(["resharded"])
    if len(esms) > 1:
        event(["two consumers"])
    if any(p.kpl for p in placed):
        event(["KPL aggregates"])


# ------------------------------------------------------------------- checking


def _reference_batches(
    placed: list[Placed],
    shard_id: str,
    commits: list[tuple[str, tuple[int, int], tuple[int, int]]],
    outcomes: dict[Any, str],
) -> list[tuple[list[dict[str, Any]], LedgerState]]:
    """The records of ``shard_id`` as the ledger ids that committed them hold them.

    Every user record must be committed by exactly one ledger id: the shard's own, or
    the lane ``streamkit recover`` gave a discarded range (``<shard>#recover#<seq>``);
    without recovery, one that none committed must be in a record Lambda discarded.
    Each ledger id's records, in shard order, are one reference batch (planned from a
    new ledger state, skipping the sub-records before its first one).
    """
    owners = [(lid, a, b) for lid, a, b in commits if lid.split("#", 1)[0] == shard_id]
    groups: dict[str, list[tuple[Placed, int, int]]] = {}
    for p in placed:
        if p.shard_id != shard_id:
            continue
        by_sub = []
        for i in range(len(p.subs)):
            pos = (int(p.sequence_number), i)
            ids = [lid for lid, a, b in owners if a <= pos <= b]
            if not ids and not RECOVER_DISCARDED:
                assert outcomes.get((shard_id, p.sequence_number)) == DISCARDED, (
                    f"user record {pos} of {shard_id} was never committed, yet Lambda "
                    "did not discard its record (lost silently)"
                )
                by_sub.append(None)
                continue
            assert len(ids) == 1, (
                f"user record {pos} of {shard_id} committed by {ids or 'no ledger id'} "
                "(exactly once: one ledger id; nothing lost after recovery)"
            )
            by_sub.append(ids[0])
        if None in by_sub:  # committed ones first, then the rest discarded (a prefix)
            k = by_sub.index(None)
            assert by_sub[k:] == [None] * (len(by_sub) - k), (p.sequence_number, by_sub)
        for lid in dict.fromkeys(x for x in by_sub if x is not None):
            subs = [i for i, x in enumerate(by_sub) if x == lid]
            assert subs == list(range(subs[0], subs[-1] + 1)), (p.sequence_number, by_sub)
            groups.setdefault(lid, []).append((p, subs[0], subs[-1]))
    batches = []
    for members in groups.values():
        raw = []
        for p, _, last in members:
            subs = p.subs[: last + 1]
            data = kpl_aggregate((p.partition_key, x, None) for x in subs) if p.kpl else subs[0]
            raw.append(
                kinesis_record(
                    data,
                    p.sequence_number,
                    partition_key=p.partition_key,
                    shard_id=shard_id,
                    arrival=p.arrival,
                    stream_arn="arn:aws:kinesis:us-east-1:123456789012:stream/proof",
                )
            )
        first, first_sub, _ = members[0]
        state = LedgerState.new_shard()
        if first_sub:  # the sub-records before it belong to another ledger id
            state = dataclasses.replace(state, position=(int(first.sequence_number), first_sub - 1))
        batches.append((raw, state))
    return batches


@dataclasses.dataclass
class Effects:
    aggregates: dict[AggregateKey, Stats] = dataclasses.field(default_factory=dict)
    archive: Counter[tuple[str, bytes]] = dataclasses.field(default_factory=Counter)
    dead: dict[str, str] = dataclasses.field(default_factory=dict)
    messages: Counter[tuple[str, str]] = dataclasses.field(default_factory=Counter)

    def add_stats(self, key: AggregateKey, stats: Stats) -> None:
        self.aggregates[key] = (
            merge(self.aggregates[key], stats) if key in self.aggregates else stats
        )

    def add_object(self, bucket: str, key: str, body: bytes) -> None:
        if bucket == "archive":
            for line in gzip.decompress(body).splitlines():
                self.archive[(key.split("/")[0], line)] += 1
        elif key.startswith("dlq/"):
            self.dead[key] = orjson.loads(body)["reason"]


def _check(
    schedule: Schedule,
    backend: Backend,
    objects: dict[str, dict[str, bytes]],
    messages: list[tuple[str, str]],
    stream: MemoryStream,
    placed: list[Placed],
    built: dict[str, tuple[Pipeline, TrackingLedger]],
    outcomes: dict[str, dict[Any, str]],
) -> None:
    expected = Effects()
    for name, (_, ledger) in built.items():
        reference, _ = build_pipeline(
            name,
            backend.clients,
            shared_prefix=schedule.shared_prefix,
            flaky=False,
            queue_url=backend.queue_url,
        )
        batches = [
            batch
            for shard_id in stream.shard_ids
            for batch in _reference_batches(placed, shard_id, ledger.commits, outcomes[name])
        ]
        for raw, state in batches:
            plan = reference.plan(raw, state)
            assert plan.stopped is None and plan.intent is not None
            for delta in plan.intent.aggregates:
                for key, stats in write_entries(delta):
                    expected.add_stats(key, stats)
            for obj in plan.intent.objects:
                expected.add_object(obj.bucket, obj.key, obj.body)
            for m in plan.intent.messages:
                expected.messages[(m.group_id, m.body)] += 1

    actual = Effects()
    stored = [{k: _DE.deserialize(v) for k, v in raw.items()} for raw in backend.items("aggs")]
    for key, stats in stored_aggregates(stored).items():  # overflow parts merged
        actual.add_stats(key, stats)
    for bucket in ("archive", "dlq"):
        for key, body in objects[bucket].items():
            actual.add_object(bucket, key, body)
    for group_id, body in messages:
        actual.messages[(group_id, body)] += 1

    committed = sum(len(ledger.commits) for _, ledger in built.values())
    if committed and not any(DISCARDED in o.values() for o in outcomes.values()):
        FEATURES["every record committed"] += 1
    assert actual.dead == expected.dead
    assert actual.archive == expected.archive
    assert actual.messages == expected.messages
    assert set(actual.aggregates) == set(expected.aggregates)
    for key, want in expected.aggregates.items():
        assert comparable(actual.aggregates[key]) == comparable(want), key


# ------------------------------------------------------------------- the test

_COUNT = [0]
#: How many schedules exercised each feature (printed with the summary line).
FEATURES: Counter[str] = Counter()


#: A zombie that read the ledger, stopped before its intent write, and resumes it after
#: the retry committed three newer generations: the write must lose (the ledger's
#: generation condition), else the next batch's generation repeats one the items
#: already carry and its counts are skipped. Found by hand (random schedules rarely
#: line it up); a regression guard for the ledger's conditions.
_STALE_ZOMBIE = Schedule(
    records=[{"page": "/", "ts": int(T0), "user": "u1", "ms": 5}] * 6,
    consumer_config="clickstream",
    batch_size=1,
    shards=1,
    reshard=False,
    two_consumers=False,
    shared_prefix=False,
    aged=False,
    big=False,
    invocation_faults=FaultPlan(seed=1),
    write_faults={},
    zombies={2: ("before", 3)},
)

#: Regression (issue 10, class 7): the invocation commits the record, then times out;
#: so do the retries until the record passes the age limit and Lambda discards it.
#: ``streamkit recover`` used to process it again in its lane (counted twice); the
#: ledger's commit journal tells it the shard committed the range.
_COMMITTED_THEN_DISCARDED = Schedule(
    records=[{"page": "/", "ts": int(T0), "user": "u1", "ms": 5}],
    consumer_config="clickstream",
    batch_size=None,
    shards=1,
    reshard=False,
    two_consumers=False,
    shared_prefix=False,
    aged=True,
    big=False,
    invocation_faults=FaultPlan(seed=4, timeout_rate=0.6),
    write_faults={},
    zombies={},
)


@settings(
    max_examples=SCHEDULES,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(schedule=schedules())
@example(schedule=_STALE_ZOMBIE)
@example(schedule=_COMMITTED_THEN_DISCARDED)
def _effects_are_exactly_once(schedule: Schedule) -> None:
    _COUNT[0] += 1
    _run(schedule)


def test_effects_are_exactly_once_in_thousands_of_schedules(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = request.config.getoption("hypothesis_seed", None)
    _COUNT[0] = 0
    FEATURES.clear()
    started = time.perf_counter()
    logging.disable(logging.ERROR)  # the pipelines' log lines (thousands) cost time
    try:
        _effects_are_exactly_once()
    finally:
        logging.disable(logging.NOTSET)
        elapsed = time.perf_counter() - started
        with capsys.disabled():
            print(
                f"\nexactly-once proof (in memory): {_COUNT[0]} schedules, "
                f"seed {seed if seed is not None else 'random (replay with --hypothesis-seed=N)'}, "
                f"{_COUNT[0] / elapsed:.1f} schedules/s; schedules with: "
                + ", ".join(f"{k} {v}" for k, v in sorted(FEATURES.items()))
            )
    assert _COUNT[0] >= SCHEDULES
    # Not vacuous: in most schedules Lambda discards nothing and everything commits
    # (a store that made every write fail would turn all of them into discards).
    assert FEATURES["every record committed"] >= SCHEDULES // 4, FEATURES


#: The same schedules on moto over HTTP (the adapters against an AWS API): fewer.
MOTO_SCHEDULES = int(os.environ.get("STREAMKIT_PROOF_MOTO_SCHEDULES", 0)) or (
    1_000 if os.environ.get("STREAMKIT_SLOW") else 100
)


@pytest.mark.integration
def test_the_same_schedules_hold_on_moto(local_aws: LocalAWS) -> None:
    """The stores behind the same schedules are moto's (the ESM still reads the
    in-memory stream): what the in-memory proof shows holds on an AWS API too."""
    count = [0]

    @settings(
        max_examples=MOTO_SCHEDULES,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(schedule=schedules())
    def on_moto(schedule: Schedule) -> None:
        count[0] += 1
        _run(schedule, local_aws)

    logging.disable(logging.ERROR)
    try:
        on_moto()
    finally:
        logging.disable(logging.NOTSET)
    assert count[0] >= MOTO_SCHEDULES
