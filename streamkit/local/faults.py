"""Fault injection for the ESM simulator: what can go wrong around an invocation.

A seeded :class:`FaultPlan` decides, per invocation, whether Lambda throttles it
(spec 2.1.3: retried, not counted as an attempt), whether the function crashes
before or after its handler ran, times out, or returns a partial failure. Crashes
*after* the handler ran are the interesting ones for exactly-once effects: the
handler's writes happened, the response is lost, and Lambda retries the batch.

Example::

    plan = FaultPlan(seed=7, crash_after_rate=0.1, partial_rate=0.1)
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

from streamkit.errors import StreamkitError


class Fault(Enum):
    THROTTLE = "throttle"  # Lambda could not invoke; not an attempt (spec 2.1.3)
    CRASH_BEFORE = "crash_before"  # the function fails before the handler runs
    CRASH_AFTER = "crash_after"  # the handler ran; the invocation still fails
    TIMEOUT = "timeout"  # the handler ran; the invocation timed out
    PARTIAL = "partial"  # the response reports a random record of the batch failed


@dataclass
class FaultPlan:
    """Per-invocation fault rates (each 0..1), drawn from one seeded generator."""

    seed: int = 0
    throttle_rate: float = 0.0
    crash_rate: float = 0.0
    crash_after_rate: float = 0.0
    timeout_rate: float = 0.0
    partial_rate: float = 0.0
    #: How many of each fault were drawn so far.
    fired: Counter[str] = field(init=False, repr=False, default_factory=Counter)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        total = 0.0
        for name in (
            "throttle_rate",
            "crash_rate",
            "crash_after_rate",
            "timeout_rate",
            "partial_rate",
        ):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
            total += rate
        if total > 1.0:
            raise ValueError(f"fault rates add up to {total:.3f}; at most 1 is allowed")
        self._rng = random.Random(self.seed)

    @property
    def active(self) -> bool:
        return any(
            (
                self.throttle_rate,
                self.crash_rate,
                self.crash_after_rate,
                self.timeout_rate,
                self.partial_rate,
            )
        )

    def draw(self) -> Fault | None:
        """The fault for the next invocation, or None."""
        if not self.active:
            return None
        roll = self._rng.random()
        for fault, rate in (
            (Fault.THROTTLE, self.throttle_rate),
            (Fault.CRASH_BEFORE, self.crash_rate),
            (Fault.CRASH_AFTER, self.crash_after_rate),
            (Fault.TIMEOUT, self.timeout_rate),
            (Fault.PARTIAL, self.partial_rate),
        ):
            if roll < rate:
                self.fired[fault.value] += 1
                return fault
            roll -= rate
        return None

    def pick(self, n: int) -> int:
        """A random index below ``n`` (which record a PARTIAL fault reports)."""
        return self._rng.randrange(n)


class InjectedFault(StreamkitError):
    """Raised in place of the function for CRASH_BEFORE / CRASH_AFTER faults."""


class SimulatedCrash(BaseException):
    """The Lambda process dies mid-invocation (raised by test fault injectors).

    A BaseException, so that no ``except Exception`` in the code under test can
    swallow it: like a real crash it ends the invocation, and the simulator treats
    it as a function error. For the same reason it is the one exception here that
    does not derive from :class:`~streamkit.errors.StreamkitError` (an ``Exception``).
    """
