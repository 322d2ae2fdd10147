"""Tumbling windows (spec 1.2): window bounds, state carried between invocations,
and the final invocation that closes a window.

Choice where the spec marks a fact unconfirmed (9.6 / 1.2.3-1.2.4): a window's
first invocation gets ``state: {}``; the final invocation of a window carries an
empty ``Records`` array (:data:`~streamkit.local.esm.choices.FINAL_WINDOW_INVOKE_EMPTY`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson

from streamkit.local.clock import Clock
from streamkit.local.config import EsmSettings
from streamkit.local.esm import choices
from streamkit.local.esm.events import rfc3339
from streamkit.local.esm.invoker import Invoker
from streamkit.local.esm.limits import MAX_STATE_BYTES
from streamkit.local.esm.responses import classify_response
from streamkit.local.esm.retries import RetryPolicy
from streamkit.local.esm.state import Lane
from streamkit.local.esm.stats import EsmStats, InvocationLog


def window_start_of(arrival: float, window_s: int) -> float:
    """Start of the tumbling window a record arriving at ``arrival`` belongs to."""
    return math.floor(arrival / window_s) * window_s


class TumblingWindows:
    """A mapping's tumbling-window bookkeeping on its lanes."""

    def __init__(
        self,
        *,
        settings: EsmSettings,
        stats: EsmStats,
        clock: Clock,
        invoker: Invoker,
        retries: RetryPolicy,
    ) -> None:
        self.settings = settings
        self.stats = stats
        self.clock = clock
        self.invoker = invoker
        self.retries = retries
        if settings.tumbling_window_in_seconds and not choices.FINAL_WINDOW_INVOKE_EMPTY:
            raise NotImplementedError(
                "choices.FINAL_WINDOW_INVOKE_EMPTY = False (the window's last records in "
                "its final invocation) is not implemented; see docs/simulator.md S9.6"
            )

    def bounds(self, lane: Lane) -> tuple[str, str] | None:
        """The lane's open window as (start, end) text, for the invocation log."""
        window_s = self.settings.tumbling_window_in_seconds
        if not window_s or lane.window_start is None:
            return None
        return rfc3339(lane.window_start), rfc3339(lane.window_start + window_s)

    def take_state(self, lane: Lane, response: Mapping[str, Any]) -> None:
        """Keep the state a response returned, for the window's next invocation."""
        state = response.get("state")
        state = dict(state) if isinstance(state, Mapping) else {}
        if len(orjson.dumps(state)) > MAX_STATE_BYTES:
            # Spec 1.2.5: over 1 MB, the window ends early; the next invocation
            # continues the same window with fresh state.
            lane.window_state = {}
            lane.window_terminated_early = True
        else:
            lane.window_state = state

    def final_invoke(self, lane: Lane) -> None:
        """Spec 1.2.4: the final invocation of a window, with isFinalInvokeForWindow."""
        now = self.clock.now()
        kind, response, detail = self.invoker.call(lane, [], final=True)
        log = InvocationLog(
            lane.shard_id,
            lane.index,
            lane.last_request_id,
            (),
            "",
            time=now,
            window=self.bounds(lane),
            final_window=True,
        )
        self.stats.log.append(log)
        if kind == "ok":
            verdict, _, why = classify_response(response, [], self.settings)
            if verdict == "success":
                log.outcome = "success"
                lane.window_start = None
                lane.window_state = {}
                lane.window_terminated_early = False
                lane.consecutive_failures = 0
                lane.attempts_without_progress = 0
                lane.ready_at = self.clock.now()
                return
            detail = why
        if kind in ("throttled", "too_large"):
            # Spec 2.1.3: not an attempt; try the final invocation again later.
            log.outcome, log.detail = kind, detail
            if kind == "throttled":
                self.stats.throttles += 1
            self.retries.backoff(lane, detail)
            return
        log.outcome, log.detail = "failure", detail
        # Spec 1.2.9: a failed final invoke suspends the shard until it succeeds.
        invoke_count = lane.consecutive_failures + 1
        limit = self.settings.maximum_retry_attempts
        if limit != -1 and invoke_count > limit:
            lane.window_start = None  # give up on the window's state
            lane.window_state = {}
            lane.consecutive_failures = 0
            return
        self.retries.backoff(lane, detail)
