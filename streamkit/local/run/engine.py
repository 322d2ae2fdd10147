"""``streamkit run``: the whole system on one machine, in under a minute.

Local tooling: never imported by a Lambda handler.

1. Start the embedded AWS endpoint (or use ``--endpoint-url`` / ``AWS_ENDPOINT_URL``)
   and create every stream, table, bucket and queue of ``infra/consumers.json``.
2. Generate realistic clickstream and IoT traffic (or load a capture), arrival
   times spread over ``--duration`` seconds, and put it on the consumers' streams.
3. Drive each consumer's real handler through the ESM simulator with its real
   settings, on a virtual clock (a minute of traffic, retries included, replays in
   seconds), the consumers at the same time (:mod:`~streamkit.local.run.concurrent`;
   one after the other with ``--execution inline``), with a live progress line.
4. Read back what the consumers wrote (aggregates, archive, dead letters, alerts),
   print a summary, and check it: every input record is counted or dead-lettered,
   and the aggregates equal an exactly-once reference computed from the inputs
   by the pure core. ``--faults`` injects crashes, throttles and duplicate
   deliveries; the check must still hold.

With ``--replay`` each captured shard goes on its own shard of the consumer's stream,
and the handler sees each record's captured identity (sequence number, partition key,
arrival time; the explicit hash key is kept, Lambda's event has none), as with
``streamkit replay``; the reference is computed with the same identities. A consumer
with ``stream.enhanced_fan_out`` reads through a stream consumer registered on the
endpoint (RegisterStreamConsumer, named like its function), with its own read budget
under ``--read-limits`` (spec 4.2, 7.2, 7.6).

With ``--terraform`` step 1 is a Terraform deploy of ``infra/`` (the zip of
``streamkit package``; :mod:`~streamkit.local.run.deploy`) and step 3 drives what was
deployed: each function's code unpacked from its deployed zip, its deployed
environment, its mapping's settings read back from the Lambda API, and its own
execution role's credentials, with each AWS call checked against that role's policies
(:mod:`~streamkit.local.iam`).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from streamkit.local.aws import LocalAWS, aws_clients, endpoint_from_env, provision
from streamkit.local.aws.leftovers import owned_resources, start_clean
from streamkit.local.capture import ShardCapture
from streamkit.local.clock import VirtualClock
from streamkit.local.config import ConsumerConfig, load_consumers
from streamkit.local.console import StatusLine
from streamkit.local.esm import EsmStats, EventSourceMapping
from streamkit.local.esm.events import CapturedIdentity
from streamkit.local.esm.invoker import Execution
from streamkit.local.faults import FaultPlan
from streamkit.local.replay import put_captures, put_in_order
from streamkit.local.run.background import BackgroundReference
from streamkit.local.run.concurrent import ProgressLine, SharedStatus, run_concurrently
from streamkit.local.run.endpoints import ConsumerEndpoint, ConsumerEndpoints, read_back
from streamkit.local.run.fan_out import ReadSource, register_stream_consumer
from streamkit.local.run.handler_io import BatchLogCounter, HandlerEnv
from streamkit.local.run.report import progress_text, write_summary
from streamkit.local.shards import KinesisShardReader
from streamkit.local.writefaults import WriteFaults

if TYPE_CHECKING:
    from streamkit.local.run.deploy import TerraformRun

#: Records per second of generated traffic, per consumer.
DEFAULT_RATES = {"clickstream": 100.0, "iot": 50.0}

#: One input record: partition key, payload, arrival time (epoch s), kind (for counts).
Traffic = Iterator[tuple[str, bytes, float, str]]


@dataclass
class ConsumerRun:
    """One consumer's traffic and what came of it."""

    name: str
    consumer: ConsumerConfig
    #: The function's environment (config + resources), set around each invocation.
    env: dict[str, str]
    #: Records put on the stream, by kind (page view, malformed, ...).
    generated: Counter[str] = field(default_factory=Counter)
    #: Shard id -> (sequence number, partition key, data, arrival) in shard order:
    #: the input of the exactly-once reference.
    placed: dict[str, list[tuple[int, str, bytes, float]]] = field(default_factory=dict)
    #: (shard id, sequence number) -> the generated arrival time, for the simulator.
    arrivals: dict[tuple[str, str], float] = field(default_factory=dict)
    #: With --replay: (local shard id, local sequence number) -> the captured identity
    #: the handler sees (and the reference uses).
    identities: dict[tuple[str, str], CapturedIdentity] | None = None
    #: How the mapping read the stream: its source ARN and read budget.
    source: ReadSource | None = None
    #: With --terraform: the deployed function's name, the directory its code is
    #: imported from, and its mapping's event source (a stream or stream consumer).
    function_name: str | None = None
    task_root: str | None = None
    event_source_arn: str | None = None
    #: With --terraform: the Kinesis client the mapping reads with (the function's
    #: execution role's credentials, as Lambda's poller reads).
    reader_kinesis: Any = None
    stats: EsmStats | None = None
    #: Totals of the pipeline's committed "batch processed" log lines.
    succeeded: int = 0
    dead_lettered: int = 0
    faults_fired: Counter[str] = field(default_factory=Counter)
    #: Its own embedded endpoint (the default run; None: the run's one endpoint).
    endpoint: ConsumerEndpoint | None = None
    #: The exactly-once reference of ``placed``, computed while the consumer runs.
    reference: BackgroundReference | None = None


def run_main(
    *,
    seed: int = 1,
    start: float | None = None,
    duration: float = 30.0,
    rates: Mapping[str, float] | None = None,
    faults: bool = False,
    endpoint_url: str | None = None,
    replay_files: list[str] | None = None,
    replay_consumer: str | None = None,
    config_path: str | None = None,
    as_json: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    logs: TextIO | None = None,
    execution: Execution = "inline",
    read_limits: bool = False,
    terraform: bool = False,
    keep_deployed: bool = False,
    terraform_variables: Mapping[str, Any] | None = None,
    deployment: TerraformRun | None = None,
    reset: bool = False,
) -> int:
    """Run the local system; 0 when every check holds, 1 when one fails.

    ``execution="process"`` runs each consumer's handler in Lambda-like execution
    environments (worker processes under awslambdaric, spec 10); ``"inline"`` in
    this process. ``read_limits`` enforces Kinesis's per-shard read limits (spec 7.2):
    shared by a stream's standard consumers, an enhanced fan-out consumer's own.
    ``terraform`` deploys ``infra/`` with Terraform first and drives the deployed
    functions (worker processes only), each with its own role's credentials;
    ``terraform_variables`` are extra root variables. The deployment is destroyed at
    the end, unless ``keep_deployed`` (with ``endpoint_url`` only; its working copy is
    then ``.streamkit/run-terraform``). ``deployment``: drive this one (deployed to
    ``endpoint_url`` by :func:`~streamkit.local.run.deploy.deploy_consumers`; the
    caller destroys it) instead of deploying. On a given endpoint the consumers'
    resources must hold nothing yet (the check reads all of them back), or the run
    refuses with :class:`~streamkit.local.aws.leftovers.LeftoverError` (a ValueError);
    ``reset`` empties them first (:mod:`~streamkit.local.aws.leftovers`).

    Progress goes to ``err`` (stderr), the summary (text, or JSON with ``as_json``)
    to ``out`` (stdout), what the handlers print and log to ``logs`` (default:
    nowhere; the progress line counts their batches). Raises ConfigError,
    CaptureError, ReplayError, ValueError or OSError for bad input, before anything
    is provisioned where it can.
    """
    out = out or sys.stdout
    status = StatusLine(err or sys.stderr, prefix="streamkit run: ")
    started = time.perf_counter()
    consumers = load_consumers(config_path)
    if terraform and execution != "process":
        raise ValueError(
            "--terraform imports the deployed code in worker processes: use --execution process"
        )
    if keep_deployed and not (terraform and (endpoint_url or endpoint_from_env())):
        raise ValueError(
            "--keep-deployed needs --terraform and --endpoint-url (an embedded endpoint "
            "stops with the run)"
        )
    if reset and not (endpoint_url or endpoint_from_env()):
        raise ValueError(
            "--reset needs --endpoint-url or AWS_ENDPOINT_URL (an embedded endpoint starts empty)"
        )
    rates = {**DEFAULT_RATES, **(rates or {})}
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    replayed = None
    if replay_files:
        from streamkit.local.replay import load_sources

        replayed = load_sources(replay_files)  # bad files fail here, before any setup

    local: LocalAWS | None = None
    endpoints: ConsumerEndpoints | None = None
    runs: list[ConsumerRun] = []
    endpoint = endpoint_url or endpoint_from_env()
    saved_env = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL",)}
    if endpoint is None:
        local = LocalAWS(mode="process").start()
        local.apply_env()
        endpoint = local.endpoint_url
    elif endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    tf_run = deployment
    terraform = terraform or deployment is not None
    try:
        clients = aws_clients()
        kinesis = aws_clients(
            endpoint_url=endpoint, region=clients.region, numeric_timestamps=True
        )("kinesis")
        names = [n for n in consumers if not replay_files or n == (replay_consumer or n)]
        if local is None and deployment is None:  # a given endpoint: start clean or refuse
            owned = owned_resources(consumers, names)
            start_clean(owned, clients, reset_first=reset, endpoint=endpoint, say=status.say)
        if terraform:
            from streamkit.local.run.deploy import deploy_consumers

            status.say(f"endpoint {endpoint} ({'embedded' if local else 'given'}); terraform")
            if tf_run is None:  # kept: a working copy a later terraform destroy can use
                workdir = Path(".streamkit", "run-terraform").resolve() if keep_deployed else None
                tf_run = deploy_consumers(
                    consumers,
                    endpoint,
                    clients.region,
                    status=status,
                    workdir=workdir,
                    variables=terraform_variables,
                )
            tf_run.start_roles(endpoint, clients.region, clients)
            for name, fields in tf_run.run_fields().items():
                if not replay_files or name == (replay_consumer or name):
                    runs.append(ConsumerRun(name, **fields))
            consumers = {}  # every run comes from the deployment
        else:
            if local is not None and execution == "process" and len(names) > 1:
                # Each consumer on its own moto process (endpoints.py says why).
                endpoints = ConsumerEndpoints.start(names, first=local, region=clients.region)
                where = ", ".join(f"{n} {e.url}" for n, e in endpoints.items())
                status.say(f"endpoints {where} (embedded); provisioning")
                provisioned = {
                    n: provision({n: consumers[n]}, e.clients) for n, e in endpoints.items()
                }
            else:
                status.say(
                    f"endpoint {endpoint} ({'embedded' if local else 'given'}); provisioning"
                )
                provisioned = dict.fromkeys(consumers, provision(consumers, clients))
        for name, consumer in consumers.items():
            if replay_files and name != (replay_consumer or name):
                continue
            queue_url = None
            if consumer.resources and consumer.resources.alerts_queue:
                alerts = consumer.resources.alerts_queue
                queue_url = provisioned[name].resource("sqs", alerts).target
            env = {
                **dict(consumer.function.environment),
                **(consumer.resources.environment(name, queue_url) if consumer.resources else {}),
                "POWERTOOLS_SERVICE_NAME": name,
                "POWERTOOLS_METRICS_NAMESPACE": "streamkit",
            }
            own = endpoints[name] if endpoints else None
            if own is not None:
                env["AWS_ENDPOINT_URL"] = own.url
            runs.append(ConsumerRun(name, consumer, env, endpoint=own))
        if replay_files and not runs:
            raise ValueError(f"--consumer {replay_consumer!r} is not in the config")

        if start is None:
            start = time.time() - duration
        # Worker processes keep each consumer's environment and output apart, so the
        # consumers are driven at once (inline handlers share os.environ and stdout).
        shared = SharedStatus(status) if execution == "process" and not terraform else None
        say = shared.say if shared else status.say

        def put(run: ConsumerRun, start: float) -> None:
            if replayed is not None:
                _put_captured(run.endpoint.kinesis if run.endpoint else kinesis, run, replayed)
            else:
                rate = rates.get(run.name, 50.0)
                traffic = _generated_traffic(run.name, seed, rate, duration, start)
                _put(run.endpoint.kinesis if run.endpoint else kinesis, run, traffic)
            stream = run.consumer.stream.name
            say(f"{run.name}: {sum(run.generated.values()):,} records on stream {stream}")
            run.reference = BackgroundReference(run.consumer.handler, run.env, stream, run.placed)

        puts = {run.name: functools.partial(put, run, start) for run in runs}
        if endpoints is not None:  # each stream on its own endpoint: put them at once
            run_concurrently(puts)
        else:
            for job in puts.values():
                job()
        drives = {
            run.name: functools.partial(
                _drive,
                run,
                run.endpoint.kinesis if run.endpoint else kinesis,
                run.endpoint.clients if run.endpoint else clients,
                faults=faults,
                seed=seed + i,
                status=shared.part(run.name) if shared else status,
                logs=logs,
                execution=execution,
                read_limits=read_limits,
            )
            for i, run in enumerate(runs)
        }
        if shared is not None:
            run_concurrently(drives)
        else:
            for drive in drives.values():
                drive()
        summary = read_back(runs, clients, faults=faults)
        if tf_run is not None:
            summary["terraform"] = tf_run.summary()
    finally:
        for run in runs:
            if run.reference is not None:
                run.reference.close()
        if tf_run is not None:
            tf_run.close()
            if not keep_deployed and deployment is None:
                tf_run.teardown()
        if endpoints is not None:
            endpoints.stop()
        if local is not None:
            local.stop()
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["endpoint"] = "embedded" if local is not None else endpoint
    write_summary(summary, out, as_json=as_json)
    return 0 if summary["ok"] else 1


# ------------------------------------------------------------------ traffic


def _generated_traffic(name: str, seed: int, rate: float, duration: float, start: float) -> Traffic:
    """Generated traffic of a known consumer (none for others), ``duration`` s from ``start``."""
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


def _put_captured(kinesis: Any, run: ConsumerRun, shards: list[ShardCapture]) -> None:
    """Put each captured shard on its own shard of the consumer's stream, in captured
    order (as ``streamkit replay`` does); note each record's captured identity."""
    captured = [s for s in shards if s.records]
    run.identities = put_captures(kinesis, run.consumer.stream.name, captured)
    run.generated = Counter(replayed=len(run.identities))
    # put_captures lists the records in the order it put them: shard by shard, each in
    # captured (sequence number) order.
    ordered = [r for s in captured for r in sorted(s.records, key=lambda r: int(r.sequence_number))]
    for (key, ident), rec in zip(run.identities.items(), ordered, strict=True):
        run.arrivals[key] = ident.arrival
        # The reference sees what the handler sees: the captured identity.
        placed = (int(ident.sequence_number), ident.partition_key, rec.data, ident.arrival)
        run.placed.setdefault(key[0], []).append(placed)


def _put(kinesis: Any, run: ConsumerRun, traffic: Traffic) -> None:
    """Put ``traffic`` on the consumer's stream in arrival order; note where each landed."""
    items = sorted(traffic, key=lambda t: t[2])
    run.generated = Counter(kind for *_, kind in items)
    run.arrivals = put_in_order(
        kinesis, run.consumer.stream.name, ((pk, d, a) for pk, d, a, _ in items)
    )
    for (pk, data, arrival, _), (shard, seq) in zip(items, run.arrivals, strict=True):
        run.placed.setdefault(shard, []).append((int(seq), pk, data, arrival))


# ------------------------------------------------------------------ driving


def _drive(
    run: ConsumerRun,
    kinesis: Any,
    clients: Any,
    *,
    faults: bool,
    seed: int,
    status: ProgressLine,
    logs: TextIO | None = None,
    execution: Execution = "inline",
    read_limits: bool = False,
) -> None:
    """Run the consumer's real handler over its stream with the ESM simulator.

    The handler module is imported under the consumer's environment and reset; with
    ``faults``, invocations crash, time out, throttle and report partial failures,
    and a few single AWS writes crash or throttle. Fills ``run.stats``, ``run.source``
    and the counts.
    """
    env = run.env
    kinesis = run.reader_kinesis or kinesis
    batch_log = BatchLogCounter(run, logs)
    pipeline = None
    invoke: Callable[[dict[str, Any], Any], Any] | str = run.consumer.handler
    if execution == "inline":
        module_name, _, attr = run.consumer.handler.rpartition(".")
        with HandlerEnv(env):
            module = importlib.import_module(module_name)
            if hasattr(module, "reset"):
                module.reset()
            # Build the consumer's pipeline now, under its environment, so that fault
            # hooks can go on the very clients its sinks use.
            pipeline = module.pipeline() if hasattr(module, "pipeline") else None
        handler: Callable[[dict[str, Any], Any], Any] = getattr(module, attr)

        def invoke_inline(event: dict[str, Any], context: Any) -> Any:
            with HandlerEnv(env), contextlib.redirect_stdout(batch_log):
                return handler(event, context)

        invoke = invoke_inline

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
        if execution == "inline":
            target = pipeline.clients if pipeline is not None else clients
            hooked = [target(service) for service in ("dynamodb", "s3", "sqs")]
            write_faults.attach(*hooked)
        # In worker processes a proxy in front of the endpoint injects them.
    arrivals = run.arrivals
    reader = KinesisShardReader(
        kinesis,
        run.consumer.stream.name,
        arrival_override=lambda shard, seq, a: arrivals.get((shard, seq), a),
    )
    efo = run.consumer.stream.enhanced_fan_out
    # Spec 4.2: an enhanced fan-out consumer reads through a registered stream consumer,
    # named like its function, as Terraform registers it.
    if run.event_source_arn is not None:  # deployed: the mapping's own event source
        efo = "/consumer/" in run.event_source_arn
        consumer_arn = run.event_source_arn if efo else None
    else:
        consumer_arn = (
            register_stream_consumer(kinesis, run.consumer.stream.name, run.name) if efo else None
        )
    esm = EventSourceMapping(
        invoke,
        run.consumer.esm,
        kinesis,
        run.consumer.stream.name,
        identities=run.identities,
        function_name=run.function_name or run.name,
        function_timeout_s=float(run.consumer.function.timeout_seconds),
        memory_mb=run.consumer.function.memory_mb,
        region=clients.region,
        clock=VirtualClock(start=min(arrivals.values()) if arrivals else None),
        faults=plan,
        reader=reader,
        stuck_after=1_000,
        seed=seed,
        execution=execution,
        environment=env,
        log_sink=batch_log.line,
        write_faults=write_faults if execution == "process" else None,
        read_limits=read_limits,
        task_root=run.task_root,
        enhanced_fan_out=efo,
        consumer_arn=consumer_arn,
    )

    def progress(stats: EsmStats) -> None:
        age = 0.0
        if stats.last_processed_arrival is not None:
            age = max(0.0, esm.clock.now() - stats.last_processed_arrival)
        status.update(progress_text(run, stats, age))

    try:
        run.stats = esm.run(progress=progress, progress_every=0.2)
        run.source = ReadSource.of(esm)
    finally:
        esm.close()
        status.done()
        if write_faults is not None:
            run.faults_fired.update(f"AWS write {kind}" for _, kind, _ in write_faults.fired)
            write_faults.detach()
    if faults:
        run.faults_fired.update({f"invocation {k}": v for k, v in plan.fired.items()})
