"""The function timeout for handlers called in this process (execution="inline").

In-process, an invocation cannot be stopped the way Lambda stops it (spec 10.2):
there is no process to kill. :func:`deadline_alarm` gets as close as Python allows:
on the main thread a ``SIGALRM`` at the deadline raises :class:`InvocationTimeout`
inside the handler, which interrupts ``time.sleep`` and blocking socket reads, so
the code after them never runs. It cannot interrupt a long C call that ignores
signals, and a handler that catches ``BaseException`` can swallow it; off the main
thread there is no alarm at all and the simulator only labels the invocation a
timeout afterwards. Worker processes (execution="process") have none of these
limits.

Example::

    try:
        with deadline_alarm(3.0):
            handler(event, context)
    except InvocationTimeout:
        ...                                  # Task timed out after 3.00 seconds
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class InvocationTimeout(BaseException):
    """Raised in the handler at the function timeout.

    A BaseException so that the handler's ``except Exception`` does not swallow it.
    """


@contextmanager
def deadline_alarm(timeout_s: float) -> Iterator[bool]:
    """Raise :class:`InvocationTimeout` in this thread after ``timeout_s`` seconds.

    Yields whether the alarm is armed (only on the main thread of a platform with
    ``setitimer``). A timer armed before is restored, less the time spent here.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield False
        return

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise InvocationTimeout(f"Task timed out after {timeout_s:.2f} seconds")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    earlier, interval = signal.setitimer(signal.ITIMER_REAL, max(timeout_s, 1e-6))
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if earlier > 0:
            left = max(earlier - (time.monotonic() - started), 1e-6)
            signal.setitimer(signal.ITIMER_REAL, left, interval)
