"""Where a handler's output goes while a local command runs it.

``streamkit replay`` and ``streamkit run`` call user handlers in this process, and
whatever a handler writes to stdout (``print()``, Powertools Logger lines, EMF metric
documents) would land in the middle of the command's own result, where ``--json``
promises exactly one JSON document. :func:`handler_output` sends it elsewhere while
the command runs: to stderr, to a file (``--logs FILE``), or nowhere.

Three roads lead to stdout, and each is closed:

* ``sys.stdout`` looked up at write time (``print()``, Powertools' EMF flush,
  streamkit's own logger): ``sys.stdout`` is the target meanwhile;
* a stream kept from earlier: a Powertools ``Logger`` holds the ``sys.stdout`` of its
  construction, usually the handler module's import. Every logging handler writing
  to the old stdout writes to the target meanwhile, and one created meanwhile is
  pointed back at stdout afterwards;
* file descriptor 1 itself (C extensions, child processes): when stdout *is* fd 1,
  fd 1 points at the target too, and the command's result goes to a duplicate of
  the original descriptor.

Example::

    with handler_output("-") as output:          # "-": stderr; a path: that file
        summary = run_the_handler()
        print(json.dumps(summary), file=output.result)
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from typing import TextIO

__all__ = ["STDERR", "HandlerOutput", "handler_output"]

#: The ``--logs`` value meaning stderr.
STDERR = "-"


@dataclass(frozen=True, slots=True)
class HandlerOutput:
    """The two streams of a command that runs handlers."""

    #: The command's own output: its summary or its ``--json`` document.
    result: TextIO
    #: Where the handler's output goes (stderr, the ``--logs`` file, or nowhere).
    logs: TextIO

    def line(self, text: str) -> None:
        """Write one line of handler output (for output read from a child process)."""
        self.logs.write(text if text.endswith("\n") else text + "\n")
        self.logs.flush()


def handler_output(logs: str | None = STDERR) -> AbstractContextManager[HandlerOutput]:
    """Send everything written to stdout to ``logs`` while the ``with`` block runs.

    ``logs`` is a file path (created or truncated), :data:`STDERR`, or None to
    discard the output. Write the command's result to the yielded ``result``
    (inside the block) or to ``sys.stdout`` (after it). Raises OSError here, at
    the call, when the file cannot be opened.
    """
    opened: TextIO | None = None
    if logs is None:
        opened = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed on exit
    elif logs != STDERR:
        # Line-buffered: lines written through Python and by child processes to
        # fd 1 land in the order they were written.
        opened = open(logs, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed on exit
    return _redirected(opened if opened is not None else sys.stderr, opened)


@contextmanager
def _redirected(target: TextIO, opened: TextIO | None) -> Iterator[HandlerOutput]:
    old = sys.stdout
    _flush(old)
    saved_fd: int | None = None
    result: TextIO = old
    target_fd = _fileno(target)
    if _fileno(old) == 1 and target_fd is not None:
        saved_fd = os.dup(1)
        result = io.TextIOWrapper(
            io.FileIO(os.dup(saved_fd), "w"),
            encoding=getattr(old, "encoding", None) or "utf-8",
            line_buffering=True,
        )
        os.dup2(target_fd, 1)
    before = _stream_handlers()
    moved = [h for h in before if h.stream is old or h.stream is sys.__stdout__]
    previous = {id(h): h.stream for h in moved}
    for h in moved:
        h.setStream(target)
    sys.stdout = target
    try:
        yield HandlerOutput(result, target)
    finally:
        _flush(target)
        sys.stdout = old
        for h in moved:
            h.setStream(previous[id(h)])
        known = {id(h) for h in before}
        for h in _stream_handlers():
            # A logger created meanwhile (a handler module imported by the command)
            # keeps writing where stdout is, not into a file about to be closed.
            if id(h) not in known and h.stream is target:
                h.setStream(old)
        if result is not old:
            result.close()
        _flush(old)  # what went to the old stream meanwhile belongs to the target
        if saved_fd is not None:
            os.dup2(saved_fd, 1)
            os.close(saved_fd)
        if opened is not None:
            opened.close()


def _stream_handlers() -> list[logging.StreamHandler]:  # type: ignore[type-arg]
    """Every logging handler that writes to a stream (files excluded)."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    seen: dict[int, logging.StreamHandler] = {}  # type: ignore[type-arg]
    for lg in loggers:
        for h in lg.handlers:
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
                seen.setdefault(id(h), h)
    return list(seen.values())


def _fileno(stream: TextIO | None) -> int | None:
    try:
        return stream.fileno() if stream is not None else None
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None


def _flush(stream: TextIO | None) -> None:
    if stream is not None:
        with suppress(OSError, ValueError):
            stream.flush()
