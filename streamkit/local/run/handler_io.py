"""What a consumer's handler sees and says in ``streamkit run``: environment and stdout.

Local tooling: never imported by a Lambda handler.

:class:`HandlerEnv` sets a consumer's environment variables around each inline
invocation (both consumers share this process); :class:`BatchLogCounter` is the
handler's stdout, adding up the pipeline's "batch processed" log lines for the live
status and passing everything on to ``--logs``.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

import orjson

if TYPE_CHECKING:
    from streamkit.local.run.engine import ConsumerRun

__all__ = ["BatchLogCounter", "HandlerEnv"]


class HandlerEnv:
    """Context manager: a consumer's environment variables set around its handler calls.

    Both consumers run in this one process, so each invocation sees its own function's
    environment, as in Lambda, and the previous values come back afterwards.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for k, v in self.env.items():
            self.saved[k] = os.environ.get(k)
            os.environ[k] = v

    def __exit__(self, *exc: object) -> None:
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class BatchLogCounter(io.TextIOBase):
    """The handler's stdout: adds up the pipeline's "batch processed" log lines.

    Those lines (its observability output) say how many records each committed
    batch succeeded and dead-lettered; the live status line shows the totals.
    Everything written is passed on to ``logs`` when given (``--logs FILE``).
    """

    def __init__(self, run: ConsumerRun, logs: TextIO | None = None) -> None:
        self.run = run
        self.logs = logs
        self._partial_line = ""

    def line(self, text: str) -> None:
        """One line a worker process printed (execution="process")."""
        self.write(text)

    def write(self, text: str) -> int:
        if self.logs is not None:
            self.logs.write(text)
        self._partial_line += text
        while "\n" in self._partial_line:
            line, self._partial_line = self._partial_line.split("\n", 1)
            if '"batch processed"' in line:
                with contextlib.suppress(orjson.JSONDecodeError):
                    batch = orjson.loads(line).get("batch", {})
                    if not batch.get("stopped"):
                        self.run.succeeded += batch.get("succeeded", 0)
                        self.run.dead_lettered += batch.get("dead_lettered", 0)
        return len(text)
