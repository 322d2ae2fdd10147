"""Replay captured shards through a handler with Lambda's real ESM rules.

Local tooling: never imported by a Lambda handler.

A replay puts the captured records into a stream on the local endpoint (one local
shard per captured shard, in the captured order), then drives the handler through
the ESM simulator with the consumer's real settings, on a virtual clock that starts
at the first captured arrival time: record ages, batching windows and tumbling
windows see the *original* arrival times, and retries cost no waiting.

The handler sees each record's captured identity, whatever numbers the local
emulator assigned: its ``sequenceNumber`` (and ``eventID``), ``partitionKey`` and
arrival time are the captured ones, and so are the sequence numbers it reports in
``batchItemFailures``, the on-failure records and the report's ``stats.outcomes``
and ``stats.log``. The simulator still reads and checkpoints with the emulator's
numbers.

Example (a regression test from a production capture)::

    from streamkit.local.replay import replay
    from streamkit.local.config import load_consumers

    consumer = load_consumers()["clickstream"]
    report = replay(["tests/data/captures/incident-42.jsonl.gz"], my_handler,
                    consumer=consumer, kinesis_client=kinesis)
    assert report.stats.unresolved == 0
    assert report.stats.records_discarded == 0
"""

from __future__ import annotations

import contextlib
import importlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamkit.errors import StreamkitError
from streamkit.local.capture import ShardCapture, load_records
from streamkit.local.clock import Clock, VirtualClock
from streamkit.local.config import ConsumerConfig, EsmSettings
from streamkit.local.destinations import DestinationSender
from streamkit.local.esm import EsmStats, EventSourceMapping, Handler, StuckShardError
from streamkit.local.esm.events import CapturedIdentity
from streamkit.local.esm.invoker import Execution
from streamkit.local.faults import FaultPlan
from streamkit.local.shards import KinesisShardReader

#: Settings used when no consumer config is given: Lambda's defaults (spec 0.1)
#: plus partial batch responses and a retry limit, so a replay always ends.
DEFAULT_SETTINGS = EsmSettings(
    "TRIM_HORIZON",
    batch_size=100,
    function_response_types=("ReportBatchItemFailures",),
    maximum_retry_attempts=10,
)

_PUT_BATCH = 500  # PutRecords: at most 500 records a request (spec 7.7)
#: PutRecords: at most 5 MiB a request, data plus partition keys (spec 7.7).
_PUT_BYTES = 5 * 1024 * 1024


class ReplayError(StreamkitError, ValueError):
    """A replay that cannot start: bad handler reference, empty input, ..."""


@dataclass
class ReplayReport:
    """The outcome of a replay: the simulator's stats plus what was loaded."""

    stats: EsmStats
    stream_name: str
    shards: int
    records_loaded: int
    destination: str | None = None
    #: Why the run stopped early (a stuck shard), or None.
    error: str | None = None
    clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True when every record ended processed, filtered or in a destination."""
        return self.stats.unresolved == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.stats.to_dict(),
            "stream": self.stream_name,
            "shards": self.shards,
            "records_loaded": self.records_loaded,
            "destination": self.destination,
            "error": self.error,
            "ok": self.ok,
        }


def resolve_handler(ref: str) -> Handler:
    """``package.module:function`` (or ``package.module.function``) -> the function."""
    module_name, sep, attr = ref.partition(":")
    if not sep:
        module_name, _, attr = ref.rpartition(".")
    if not module_name or not attr:
        raise ReplayError(f"--handler must look like module:function, got {ref!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ReplayError(f"cannot import handler module {module_name!r}: {e}") from e
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ReplayError(f"{module_name!r} has no function {attr!r}")
    handler: Handler = fn
    return handler


def load_sources(paths: Iterable[str | Path]) -> list[ShardCapture]:
    """All shards of all the given files (captures, get-records output, Lambda events)."""
    shards: list[ShardCapture] = []
    for p in paths:
        shards.extend(load_records(p))
    if not any(s.records for s in shards):
        raise ReplayError("the input files hold no records")
    return shards


def replay(
    sources: Sequence[str | Path | ShardCapture],
    handler: Handler | str,
    *,
    kinesis_client: Any,
    clients: Callable[[str], Any] | None = None,
    consumer: ConsumerConfig | None = None,
    settings: EsmSettings | None = None,
    stream_name: str | None = None,
    faults: FaultPlan | None = None,
    clock: Clock | None = None,
    function_timeout_s: float | None = None,
    progress: Callable[[EsmStats], None] | None = None,
    seed: int = 0,
    execution: Execution = "inline",
    log_sink: Callable[[str], None] | None = None,
    read_limits: bool = False,
) -> ReplayReport:
    """Load ``sources`` into a fresh local stream and run ``handler`` over them.

    ``consumer`` supplies the ESM settings, the function timeout and the on-failure
    destination (created on the endpoint if missing); without it ``settings`` or
    :data:`DEFAULT_SETTINGS` apply. ``clients(service)`` builds the boto3 clients for
    the destination (default: from ``kinesis_client``'s endpoint and region).

    ``execution="process"`` runs the handler (a module-level function or
    ``"module.function"``) in Lambda-like worker processes under awslambdaric (spec
    10), their output going to ``log_sink`` line by line (default: this process's
    stdout); the default ``"inline"`` calls it here, where a test can inspect it.

    ``read_limits=True`` reads each shard within Kinesis's 5 GetRecords calls/s and
    2 MB/s on the virtual clock (spec 7.2): a replay then takes the time reading the
    capture would take on AWS (``stats.read_throttles`` counts the refused calls).
    """
    shards = [s for src in sources for s in _as_shards(src)]
    shards = [s for s in shards if s.records]
    if not shards:
        raise ReplayError("nothing to replay: no records in the sources")
    esm_settings = settings or (consumer.esm if consumer else DEFAULT_SETTINGS)
    name = stream_name or f"replay-{uuid.uuid4().hex[:8]}"
    client_for = clients or _clients_like(kinesis_client)

    identities = _load_stream(kinesis_client, name, shards)
    first_arrival = min(i.arrival for i in identities.values())
    destination = None
    dest_label = None
    if consumer is not None and esm_settings.on_failure is not None:
        destination, dest_label = _on_failure_destination(esm_settings, client_for)

    def arrival_override(shard_id: str, seq: str, arrival: float) -> float:
        ident = identities.get((shard_id, seq))
        return arrival if ident is None else ident.arrival

    timeout = function_timeout_s or (float(consumer.function.timeout_seconds) if consumer else 60.0)
    esm = EventSourceMapping(
        handler,
        esm_settings,
        kinesis_client,
        name,
        identities=identities,
        function_name=consumer.name if consumer else "replay",
        function_timeout_s=timeout,
        memory_mb=consumer.function.memory_mb if consumer else 512,
        region=kinesis_client.meta.region_name,
        clock=clock or VirtualClock(start=first_arrival),
        faults=faults,
        destination=destination,
        reader=KinesisShardReader(kinesis_client, name, arrival_override=arrival_override),
        seed=seed,
        execution=execution,
        log_sink=log_sink,
        read_limits=read_limits,
        # Spec 4.2: the consumer's own 2 MB/s per shard, not the stream's shared reads.
        enhanced_fan_out=consumer.stream.enhanced_fan_out if consumer else False,
    )
    error = None
    try:
        esm.run(progress=progress)
    except StuckShardError as e:
        error = str(e)  # the records left are counted as unresolved
    finally:
        esm.close()
    return ReplayReport(esm.stats, name, len(shards), len(identities), dest_label, error)


def _as_shards(src: str | Path | ShardCapture) -> list[ShardCapture]:
    """A loaded shard as is; a file path loaded into its shards."""
    return [src] if isinstance(src, ShardCapture) else load_sources([src])


def _load_stream(
    client: Any, name: str, shards: Sequence[ShardCapture]
) -> dict[tuple[str, str], CapturedIdentity]:
    """Create the stream, put each captured shard on its own local shard, in order.

    Returns (local shard id, local sequence number) -> the record's captured identity.
    """
    client.create_stream(StreamName=name, ShardCount=len(shards))
    client.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
    return put_captures(client, name, shards)


def put_captures(
    client: Any, name: str, shards: Sequence[ShardCapture]
) -> dict[tuple[str, str], CapturedIdentity]:
    """Put the i-th captured shard on the i-th open shard of stream ``name`` (in hash
    key order), each in its captured order; ``streamkit run --replay`` uses it too.

    Returns (local shard id, local sequence number) -> the record's captured identity,
    the simulator's ``identities``, in the order put: shard by shard, each in captured
    (sequence number) order. ReplayError when the stream has fewer open shards
    than there are captured shards (one local shard must not mix two captured ones:
    their sequence numbers would not increase along it).
    """
    local = sorted(
        (
            s
            for s in client.list_shards(StreamName=name)["Shards"]
            if "EndingSequenceNumber" not in s["SequenceNumberRange"]
        ),
        key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]),
    )
    if len(shards) > len(local):
        raise ReplayError(
            f"the captures hold {len(shards)} shards but stream {name!r} has "
            f"{len(local)} open shards: replay at most {len(local)} captured shards, "
            "or give the stream more (stream.shard_count in the consumer config)"
        )
    identities: dict[tuple[str, str], CapturedIdentity] = {}
    for captured, target in zip(shards, local, strict=False):
        # ExplicitHashKey pins every record to this shard whatever its partition key.
        ehk = target["HashKeyRange"]["StartingHashKey"]
        records = sorted(captured.records, key=lambda r: int(r.sequence_number))
        placed = put_in_order(
            client, name, ((r.partition_key, r.data, r.arrival) for r in records), ehk
        )
        # put_in_order keeps the order it was given: its i-th key is the i-th record.
        for local_key, r in zip(placed, records, strict=True):
            identities[local_key] = CapturedIdentity(
                r.sequence_number, r.partition_key, r.arrival, r.explicit_hash_key
            )
    return identities


def put_in_order(
    client: Any,
    stream: str,
    records: Iterable[tuple[str, bytes, float]],
    explicit_hash_key: str | None = None,
) -> dict[tuple[str, str], float]:
    """PutRecords (partition key, data, arrival) in order, 500 records and 5 MiB a call.

    A request is cut before the record that would take it past either limit of
    spec 7.7 (data plus partition key count towards the 5 MiB), so a capture of
    large records loads in more, smaller requests.

    Returns (shard id, sequence number) -> the given arrival time, for the
    simulator's ``arrival_override``.
    """
    arrivals: dict[tuple[str, str], float] = {}
    chunk: list[tuple[str, bytes, float]] = []
    chunk_bytes = 0

    def flush() -> None:
        nonlocal chunk_bytes
        entries = []
        for pk, data, _ in chunk:
            entry: dict[str, Any] = {"Data": data, "PartitionKey": pk or "-"}
            if explicit_hash_key is not None:
                entry["ExplicitHashKey"] = explicit_hash_key
            entries.append(entry)
        resp = client.put_records(StreamName=stream, Records=entries)
        _raise_on_failed_put(resp, len(chunk))
        for (_, _, arrival), out in zip(chunk, resp["Records"], strict=True):
            arrivals[(out["ShardId"], out["SequenceNumber"])] = arrival
        chunk.clear()
        chunk_bytes = 0

    for rec in records:
        size = len(rec[1]) + len((rec[0] or "-").encode())
        if chunk and (len(chunk) == _PUT_BATCH or chunk_bytes + size > _PUT_BYTES):
            flush()
        chunk.append(rec)
        chunk_bytes += size
    if chunk:
        flush()
    return arrivals


def _raise_on_failed_put(resp: dict[str, Any], sent: int) -> None:
    """ReplayError when PutRecords rejected any record of the call."""
    failed = resp.get("FailedRecordCount") or 0
    if failed:
        # Order matters within a shard, so a partial put cannot simply be resent.
        first = next(r for r in resp["Records"] if r.get("ErrorCode"))
        raise ReplayError(
            f"the stream rejected {failed} of {sent} records "
            f"({first.get('ErrorCode')}: {first.get('ErrorMessage')})"
        )


def _on_failure_destination(
    settings: EsmSettings, clients: Callable[[str], Any]
) -> tuple[DestinationSender, str]:
    """The sender for the on-failure destination (created if missing) and its label."""
    ref = settings.on_failure
    assert ref is not None
    if ref.type == "sqs":
        target = clients("sqs").create_queue(QueueName=ref.name)["QueueUrl"]
    elif ref.type == "sns":
        target = clients("sns").create_topic(Name=ref.name)["TopicArn"]
    else:
        s3 = clients("s3")
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=ref.name)
        target = ref.name
    return DestinationSender(ref.type, target, clients, str(uuid.uuid4())), f"{ref.type}:{ref.name}"


def _clients_like(kinesis_client: Any) -> Callable[[str], Any]:
    """boto3 clients on the same endpoint and region as ``kinesis_client``."""
    from streamkit.local.aws import aws_clients

    endpoint = kinesis_client.meta.endpoint_url
    if "amazonaws.com" in endpoint:
        endpoint = None  # a real account: each service has its own endpoint
    return aws_clients(endpoint_url=endpoint, region=kinesis_client.meta.region_name)
