"""``streamkit run`` drives its consumers at the same time: one thread per consumer.

Local tooling: never imported by a Lambda handler.

Each consumer has its own event source mapping, virtual clock, stream, tables and
(with ``--execution process``, the default) its own worker processes; nothing of
one mapping's decisions depends on another's, so driving them one after the other
only left a core idle: while one consumer's worker plans a batch, the other's
writes can be served by the endpoint's process. The threads share one status line
(:class:`SharedStatus`): the consumers' progress side by side, each one's final
line printed when it ends.

Example::

    status = SharedStatus(StatusLine(sys.stderr))
    run_concurrently({name: functools.partial(drive, run, status=status.part(name))
                      for name, run in runs.items()})
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from streamkit.local.console import StatusLine

__all__ = ["ProgressLine", "SharedStatus", "StatusPart", "run_concurrently"]


class ProgressLine(Protocol):
    """What a consumer's drive reports to: its live status, and its end."""

    def update(self, text: str) -> None: ...

    def done(self) -> None: ...


class SharedStatus:
    """One :class:`StatusLine` shared by consumers driven at once (thread-safe)."""

    def __init__(self, line: StatusLine) -> None:
        self.line = line
        self._lock = threading.Lock()
        self._texts: dict[str, str] = {}

    def part(self, name: str) -> StatusPart:
        """The status of consumer ``name`` (shown in the order parts are made)."""
        with self._lock:
            self._texts.setdefault(name, "")
        return StatusPart(self, name)

    def update(self, name: str, text: str) -> None:
        with self._lock:
            self._texts[name] = text
            self.line.update(" | ".join(t for t in self._texts.values() if t))

    def say(self, text: str) -> None:
        """A permanent line (the consumers' status, if any, shows again after it)."""
        with self._lock:
            self.line.say(text)
            current = " | ".join(t for t in self._texts.values() if t)
            if current:
                self.line.update(current)

    def finish(self, name: str) -> None:
        """Print ``name``'s last status as a permanent line; the others go on."""
        with self._lock:
            last = self._texts.pop(name, "")
            if last:
                self.line.say(last)
            rest = " | ".join(t for t in self._texts.values() if t)
            if rest:
                self.line.update(rest)


class StatusPart:
    """One consumer's share of a :class:`SharedStatus` (a :class:`ProgressLine`)."""

    def __init__(self, shared: SharedStatus, name: str) -> None:
        self.shared = shared
        self.name = name

    def update(self, text: str) -> None:
        self.shared.update(self.name, text)

    def done(self) -> None:
        self.shared.finish(self.name)


def run_concurrently(jobs: Mapping[str, Callable[[], None]]) -> None:
    """Run every job in its own thread and wait for all of them.

    All jobs run to their end even when one fails; then the first failure (in
    ``jobs`` order) is raised.
    """
    if len(jobs) <= 1:
        for job in jobs.values():
            job()
        return
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="drive") as pool:
        futures = [pool.submit(job) for job in jobs.values()]
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
