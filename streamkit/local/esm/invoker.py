"""One invocation of the function, as Lambda's Python runtime performs it.

The event is checked against the 6 MB limit (spec 4.5), injected faults are drawn
(:mod:`streamkit.local.faults`), and the handler gets the event decoded from
exactly the bytes Lambda would send. Where it runs is the execution mode:

* ``process`` (an :class:`~streamkit.local.runtime.EnvironmentPool`): in the lane's
  execution environment, a worker process under AWS's runtime interface client;
  the context, the marshalling and the error documents are Lambda's own, and the
  process is killed at the timeout (spec 10.1-10.4).
* ``inline`` (no pool): in this process with a Lambda-like context; the return
  value goes through the runtime's own marshaller (spec 10.3) and the timeout is
  enforced with an alarm as far as that can (see :mod:`streamkit.local.runtime.inline`).
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from streamkit.local.clock import Clock
from streamkit.local.config import EsmSettings
from streamkit.local.esm.events import EventEncoder
from streamkit.local.esm.limits import MAX_EVENT_BYTES
from streamkit.local.esm.state import Lane
from streamkit.local.esm.stats import EsmStats
from streamkit.local.faults import Fault, FaultPlan, InjectedFault, SimulatedCrash
from streamkit.local.runtime import (
    EnvironmentPool,
    FunctionSpec,
    InvocationTimeout,
    MarshalError,
    ProxyFaults,
    deadline_alarm,
    handler_reference,
    load_handler,
    marshal_response,
    parse_response,
)
from streamkit.local.shards import StreamRecord
from streamkit.local.writefaults import WriteFaults
from streamkit.observability import clock_client_context

#: A Lambda handler: ``handler(event, context) -> response``.
Handler = Callable[[dict[str, Any], Any], Any]

#: ``ok``: the handler returned; ``error``: the invocation failed (the handler
#: raised, timed out or crashed, or its response could not be marshalled);
#: ``throttled`` and ``too_large``: the function never ran (spec 2.1.3).
CallKind = Literal["ok", "error", "throttled", "too_large"]

#: Where handlers run: worker processes under awslambdaric, or this process.
Execution = Literal["process", "inline"]
EXECUTIONS: tuple[Execution, ...] = ("process", "inline")


class ClientContext:
    """``context.client_context`` as the runtime interface client builds it."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.custom = doc.get("custom")
        self.env = doc.get("env")
        self.client = doc.get("client")


class LambdaContext:
    """The context object a Lambda Python handler receives.

    Remaining time counts down in real time from the configured timeout while the
    handler runs, like Lambda's. ``client_context`` carries the simulator's clock
    (:func:`streamkit.observability.clock_client_context`), so the handler's metrics
    use the invocation's (virtual) time.
    """

    def __init__(
        self,
        function_name: str,
        function_arn: str,
        request_id: str,
        timeout_s: float,
        memory_mb: int,
        client_context: Mapping[str, Any] | None = None,
    ) -> None:
        self.client_context = ClientContext(client_context) if client_context else None
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{request_id[:8]}"
        self._deadline = time.perf_counter() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.perf_counter()) * 1000))


class RequestIds:
    """Seeded UUID4s: request ids and destination object names, reproducible per seed."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def next(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


class Invoker:
    """Invokes one mapping's handler with a lane's records."""

    def __init__(
        self,
        handler: Handler,
        *,
        settings: EsmSettings,
        encoder: EventEncoder,
        faults: FaultPlan,
        stats: EsmStats,
        clock: Clock,
        request_ids: RequestIds,
        function_name: str,
        function_arn: str,
        function_timeout_s: float,
        memory_mb: int,
        environments: EnvironmentPool | None = None,
    ) -> None:
        self.handler = handler
        #: The worker processes of execution="process"; None runs handlers inline.
        self.environments = environments
        self.settings = settings
        self.encoder = encoder
        self.faults = faults
        self.stats = stats
        self.clock = clock
        self.request_ids = request_ids
        self.function_name = function_name
        self.function_arn = function_arn
        self.function_timeout_s = function_timeout_s
        self.memory_mb = memory_mb

    def close(self) -> None:
        """Stop the execution environments (execution="process")."""
        if self.environments is not None:
            self.environments.close()

    def call(
        self, lane: Lane, records: Sequence[StreamRecord], final: bool
    ) -> tuple[CallKind, Any, str]:
        """Invoke once. Returns (kind, response, detail); the response is the
        marshalled return value when kind is ``ok``, else None."""
        event_bytes = self.encoder.event(lane, records, final)
        if len(event_bytes) > MAX_EVENT_BYTES:
            return "too_large", None, f"event of {len(event_bytes)} bytes exceeds 6 MB"
        fault = self.faults.draw()
        if fault is Fault.THROTTLE:
            return "throttled", None, "TooManyRequestsException (injected)"
        self.stats.invocations += 1
        self.stats.records_delivered += len(records)
        request_id = self.request_ids.next()
        lane.last_request_id = request_id
        if fault is Fault.CRASH_BEFORE:
            if self.environments is not None:
                self.environments.discard(_key(lane))  # the environment died
            return "error", None, "InjectedFault: crash before the handler ran"
        started = time.perf_counter()
        if self.environments is not None:
            kind, response, detail = self._in_environment(lane, request_id, event_bytes)
        else:
            kind, response, detail = self._inline(request_id, event_bytes)
        elapsed = time.perf_counter() - started
        self.clock.spend(elapsed)
        timed_out = f"Task timed out after {self.function_timeout_s:.2f} seconds"
        if fault is Fault.TIMEOUT or fault is Fault.CRASH_AFTER:
            # The handler ran, its effects happened, the invocation still fails; the
            # environment is not reused (spec 10.2).
            if self.environments is not None:
                self.environments.discard(_key(lane))
            if fault is Fault.TIMEOUT:
                return "error", None, timed_out
            return "error", None, str(InjectedFault("crash after the handler ran"))
        if kind == "ok" and fault is Fault.PARTIAL and records:
            # The fault adds a random record to what the handler reported, never
            # replaces it: Lambda retries from the lowest of them (spec 2.2.5), so a
            # record the handler itself failed is always delivered again.
            seq = self.encoder.shown_sequence(records[self.faults.pick(len(records))])
            reported = response.get("batchItemFailures") if isinstance(response, dict) else None
            failures = list(reported) if isinstance(reported, list) else []
            response = {"batchItemFailures": [*failures, {"itemIdentifier": seq}]}
            if self.settings.tumbling_window_in_seconds:
                response["state"] = lane.window_state
        return kind, response, detail

    def _inline(self, request_id: str, event_bytes: bytes) -> tuple[CallKind, Any, str]:
        """Call the handler in this process; marshal its return value (spec 10.3)."""
        ctx = LambdaContext(
            self.function_name,
            self.function_arn,
            request_id,
            self.function_timeout_s,
            self.memory_mb,
            client_context=clock_client_context(self.clock.now()),
        )
        event = orjson.loads(event_bytes)  # exactly what Lambda would hand over
        timed_out = f"Task timed out after {self.function_timeout_s:.2f} seconds"
        started = time.perf_counter()
        try:
            with deadline_alarm(self.function_timeout_s):
                body, content_type = marshal_response(self.handler(event, ctx))
        except InvocationTimeout:
            return "error", None, timed_out
        except MarshalError as e:
            return "error", None, f"{MarshalError.error_type}: {e}"
        except (Exception, SimulatedCrash) as e:
            return "error", None, f"{type(e).__name__}: {e}"
        if time.perf_counter() - started > self.function_timeout_s:
            return "error", None, timed_out  # no alarm here (not the main thread)
        return "ok", parse_response(body, content_type), ""

    def _in_environment(
        self, lane: Lane, request_id: str, event_bytes: bytes
    ) -> tuple[CallKind, Any, str]:
        """Invoke in the lane's execution environment (spec 10.1-10.4)."""
        assert self.environments is not None
        # The simulator's clock reaches the handler as the client context (spec 4.11).
        clock = orjson.dumps(clock_client_context(self.clock.now())).decode()
        result = self.environments.invoke(_key(lane), request_id, event_bytes, clock)
        if result.init_s is not None:
            self.stats.cold_starts += 1
            self.stats.init_seconds += result.init_s
            self.stats.cold_start_requests[request_id] = result.init_s
        if result.kind == "response":
            return "ok", parse_response(result.body, result.content_type), ""
        return "error", None, result.detail


def _key(lane: Lane) -> tuple[str, int]:
    """The environment of a lane: one per shard with ParallelizationFactor 1."""
    return lane.shard_id, lane.index


def executor_for(
    handler: Handler | str,
    execution: Execution,
    *,
    function_name: str,
    function_arn: str,
    function_timeout_s: float,
    memory_mb: int,
    region: str,
    environment: Mapping[str, str] | None = None,
    log_sink: Callable[[str], None] | None = None,
    write_faults: WriteFaults | None = None,
    task_root: str | None = None,
) -> tuple[Handler, EnvironmentPool | None]:
    """The in-process handler and, for ``process``, the pool of environments.

    ``handler`` is a function or Lambda's ``module.function``; with ``process`` a
    function must be importable by name (module level). ``environment`` (the
    function's variables) and ``log_sink`` (called with each line the runtime
    prints; default: this process's stdout) apply to worker processes, and so do
    ``write_faults``, injected by a proxy in front of the AWS endpoint (inline, attach
    them to the handler's clients instead). ``task_root``: the directory worker
    processes import the handler from (their working directory; default: this one).
    """
    if execution not in EXECUTIONS:
        raise ValueError(f"execution must be one of {', '.join(EXECUTIONS)}, got {execution!r}")
    if execution == "inline":
        return (load_handler(handler) if isinstance(handler, str) else handler), None
    spec = FunctionSpec(
        handler_reference(handler),
        function_name,
        function_arn,
        function_timeout_s,
        memory_mb,
        region,
        dict(environment or {}),
        write_faults=ProxyFaults(write_faults) if write_faults is not None else None,
        task_root=task_root or os.getcwd(),
    )
    return _not_inline, EnvironmentPool(spec, log_sink=log_sink)


def _not_inline(event: dict[str, Any], context: Any) -> Any:
    raise AssertionError("execution='process' runs the handler in a worker process")
