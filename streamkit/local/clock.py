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
    """Simulated time: starts at ``start`` and moves only when told to.

    ``work_s``: each handler invocation takes that many seconds of simulated time
    instead of the time it really took, so a timeline does not depend on how busy the
    machine is (tests that compare times or repeat a seeded run exactly).
    """

    def __init__(self, start: float | None = None, *, work_s: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self.work_s = work_s

    def now(self) -> float:
        return self._now

    def wait_until(self, t: float) -> None:
        if t > self._now:
            self._now = t

    def spend(self, seconds: float) -> None:
        if self.work_s is not None:
            seconds = self.work_s
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
