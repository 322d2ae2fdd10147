"""Clocks for the ESM simulator: virtual by default, real time as an option.

On the virtual clock, waiting (batching windows, retry back-off, tumbling-window
ends, records that have not "arrived" yet) advances time without sleeping, so a
day of traffic with retries replays in seconds. Time spent running the handler
is real time on both clocks; on the virtual clock it advances only the timeline of
the lane (shard) that ran it (:meth:`VirtualClock.rewind_to`, rule S4.13).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def wait_until(self, t: float) -> None:
        """Advance to ``t`` (no-op if already past it)."""
        ...

    def spend(self, seconds: float) -> None:
        """Account for ``seconds`` of work done (e.g. a handler invocation)."""
        ...


class VirtualClock:
    """Simulated time: starts at ``start`` and moves only when told to."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)

    def now(self) -> float:
        return self._now

    def wait_until(self, t: float) -> None:
        if t > self._now:
            self._now = t

    def spend(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds

    def rewind_to(self, t: float) -> None:
        """Go back to ``t`` (no-op if earlier than it). Only the ESM simulator's
        scheduler does this, after one lane's step: that step's time belongs to its
        lane alone, and other lanes act from ``t`` (rule S4.13, docs/simulator.md)."""
        if t < self._now:
            self._now = t


class RealClock:
    """Wall-clock time: waiting really sleeps."""

    def now(self) -> float:
        return time.time()

    def wait_until(self, t: float) -> None:
        delay = t - time.time()
        if delay > 0:
            time.sleep(delay)

    def spend(self, seconds: float) -> None:
        """Nothing to do: the work already took real time."""
