"""Deadline safety: the time Lambda has left, and when to stop taking records.

Lambda kills an invocation at its timeout. Before that, :func:`~streamkit.batch.process_batch`
and the :class:`~streamkit.pipeline.Pipeline` stop taking new records, finish what they
have and report the rest for retry (guarantee 4). They share one policy:

* the *margin* is 10% of the time left when the batch starts, within 200..5,000 ms:
  enough for the per-batch log line and metrics, and for one record that started just
  before the margin to finish, without giving up much of a long timeout;
* plus a *finishing reserve* for work a caller does after its last record. For
  ``process_batch`` that is nothing (0 ms: every record's effects are done when its
  handler returns). The pipeline reserves :data:`PIPELINE_FINISH_MS` (1,000 ms) for its
  intent write, the idempotent apply (a BatchGetItem and one PutItem per distinct item,
  16 at a time, S3 puts, SQS sends) and the commit, a few round trips that take well
  under a second unless throttled. Running out anyway is safe, only slower: the intent
  stays pending and the next invocation rolls it forward.

So: 200..5,000 ms for ``process_batch``, 1,200..6,000 ms for the pipeline. An explicit
``deadline_margin_ms`` replaces the whole computation (reserve included).

Example::

    deadline = Deadline.start(context)
    for record in records:
        if deadline.reached():
            break  # report this record and the rest for retry
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

#: The margin is this percentage of the time left at batch start ...
MARGIN_PERCENT = 10
#: ... bounded below (short timeouts) ...
MIN_MARGIN_MS = 200
#: ... and above (long timeouts give up at most this much).
MAX_MARGIN_MS = 5_000
#: The pipeline's finishing reserve: intent write, apply and commit after its last record.
PIPELINE_FINISH_MS = 1_000


class LambdaContext(Protocol):
    """The part of Lambda's context object streamkit uses."""

    def get_remaining_time_in_millis(self) -> int: ...


def remaining_time(context: object) -> Callable[[], int] | None:
    """The context's ``get_remaining_time_in_millis``, or None without a usable context."""
    fn = getattr(context, "get_remaining_time_in_millis", None) if context is not None else None
    return fn if callable(fn) else None


def check_margin(configured: int | None) -> int | None:
    """A ``deadline_margin_ms`` option as given, or ValueError naming it when negative."""
    if configured is not None and configured < 0:
        raise ValueError(f"deadline_margin_ms must be >= 0, got {configured}")
    return configured


def margin_ms(remaining_at_start_ms: int, *, finish_ms: int = 0) -> int:
    """The policy of the module docstring, for a batch starting with this much time left."""
    share = remaining_at_start_ms * MARGIN_PERCENT // 100
    return min(MAX_MARGIN_MS, max(MIN_MARGIN_MS, share)) + finish_ms


@dataclass(frozen=True, slots=True)
class Deadline:
    """When one invocation must stop taking records."""

    #: Milliseconds left (Lambda's clock), or None: no deadline (tests, tools).
    remaining: Callable[[], int] | None
    #: Stop once less than this is left.
    margin_ms: int

    @classmethod
    def start(
        cls, context: object, configured_ms: int | None = None, *, finish_ms: int = 0
    ) -> Deadline:
        """The deadline of a batch starting now: ``configured_ms`` or the policy."""
        remaining = remaining_time(context)
        configured = check_margin(configured_ms)
        if configured is not None:
            return cls(remaining, configured)
        if remaining is None:
            return cls(None, 0)
        return cls(remaining, margin_ms(remaining(), finish_ms=finish_ms))

    def reached(self) -> bool:
        """True once less than the margin is left: take no more records."""
        return self.remaining is not None and self.remaining() < self.margin_ms


#: No deadline: take every record (the pure planning step outside Lambda).
NO_DEADLINE = Deadline(None, 0)
