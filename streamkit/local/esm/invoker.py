"""One invocation of the function, as Lambda's Python runtime performs it.

The event is checked against the 6 MB limit (spec 4.5), injected faults are drawn
(:mod:`streamkit.local.faults`), the handler gets the event decoded from exactly
the bytes Lambda would send and a Lambda-like context, an invocation over the
function timeout fails, and the return value is marshalled as JSON.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Sequence
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
from streamkit.local.shards import StreamRecord

#: A Lambda handler: ``handler(event, context) -> response``.
Handler = Callable[[dict[str, Any], Any], Any]

#: ``ok``: the handler returned; ``error``: the invocation failed (the handler
#: raised, timed out or crashed, or its response could not be marshalled);
#: ``throttled`` and ``too_large``: the function never ran (spec 2.1.3).
CallKind = Literal["ok", "error", "throttled", "too_large"]


class LambdaContext:
    """The context object a Lambda Python handler receives.

    Remaining time counts down in real time from the configured timeout while the
    handler runs, like Lambda's.
    """

    def __init__(
        self,
        function_name: str,
        function_arn: str,
        request_id: str,
        timeout_s: float,
        memory_mb: int,
    ) -> None:
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
    ) -> None:
        self.handler = handler
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
        ctx = LambdaContext(
            self.function_name,
            self.function_arn,
            request_id,
            self.function_timeout_s,
            self.memory_mb,
        )
        if fault is Fault.CRASH_BEFORE:
            return "error", None, "InjectedFault: crash before the handler ran"
        event = orjson.loads(event_bytes)  # exactly what Lambda would hand over
        kind: CallKind
        started = time.perf_counter()
        try:
            response = self.handler(event, ctx)
            kind, detail = "ok", ""
        except (Exception, SimulatedCrash) as e:
            response, kind, detail = None, "error", f"{type(e).__name__}: {e}"
        elapsed = time.perf_counter() - started
        self.clock.spend(elapsed)
        if elapsed > self.function_timeout_s or fault is Fault.TIMEOUT:
            return "error", None, f"Task timed out after {self.function_timeout_s:.2f} seconds"
        if fault is Fault.CRASH_AFTER:
            return "error", None, str(InjectedFault("crash after the handler ran"))
        if kind == "ok":
            try:  # the runtime serialises the return value as JSON
                response = orjson.loads(orjson.dumps(response))
            except (TypeError, orjson.JSONEncodeError) as e:
                return "error", None, f"Runtime.MarshalError: {e}"
            if fault is Fault.PARTIAL and records:
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
