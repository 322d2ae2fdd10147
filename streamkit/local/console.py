"""The progress line of the long-running local commands (capture, replay, run).

Progress goes to stderr, so stdout carries only the result (and ``--json``). On a
terminal one status line is rewritten in place, cut to the terminal's width so it
never wraps (a wrapped line cannot be overwritten). Anywhere else (a log file, a
pipe, CI) rewriting makes no sense, so a status is printed as a plain line only when
the caller marks it a milestone, and the last status is printed when the work ends;
logs stay short and still end with the final numbers.

Example::

    status = StatusLine(prefix="streamkit run: ")
    status.say("provisioning")                   # a permanent line
    for done in range(total):
        status.update(f"{done}/{total} records", milestone=done % 1000 == 0)
    status.done()                                # the last status stays visible
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import TextIO

__all__ = ["StatusLine"]

_CLEAR_LINE = "\r\x1b[K"  # carriage return, then erase to the end of the line


class StatusLine:
    """One status line on ``stream`` (default stderr), plus permanent lines.

    ``prefix`` starts every plain line (permanent lines, and status lines outside a
    terminal), naming the tool in a shared log; the transient terminal line goes
    without it. ``tty`` overrides the terminal detection (for tests).
    """

    def __init__(
        self, stream: TextIO | None = None, *, prefix: str = "", tty: bool | None = None
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.prefix = prefix
        self.tty = _is_terminal(self.stream) if tty is None else tty
        self._on_screen = False  # a transient status line is showing (terminal)
        self._unprinted: str | None = None  # the last status, not yet printed (no terminal)

    def update(self, text: str, *, milestone: bool = False) -> None:
        """Show ``text`` as the current status.

        On a terminal it replaces the previous status; elsewhere it is printed when
        ``milestone`` is true and otherwise kept for :meth:`done`.
        """
        if self.tty:
            self._write(_CLEAR_LINE + self._fit(text))
            self._on_screen = True
        elif milestone:
            self._write(f"{self.prefix}{text}\n")
            self._unprinted = None
        else:
            self._unprinted = text

    def say(self, text: str) -> None:
        """Print a permanent line (a transient status on screen is erased first)."""
        if self._on_screen:
            self._write(_CLEAR_LINE)
            self._on_screen = False
        self._write(f"{self.prefix}{text}\n")

    def done(self) -> None:
        """End the status: keep the terminal line, or print the last unprinted status."""
        if self._on_screen:
            self._write("\n")
            self._on_screen = False
        elif self._unprinted is not None:
            self._write(f"{self.prefix}{self._unprinted}\n")
            self._unprinted = None

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _fit(self, text: str) -> str:
        # Writing into the last column makes some terminals wrap; stop one short.
        return text[: max(_terminal_width(self.stream) - 1, 1)]


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty()) if callable(isatty) else False


def _terminal_width(stream: TextIO) -> int:
    """Columns for the status line: COLUMNS, else ``stream``'s terminal, else stdout's, else 80.

    A terminal that reports no size (0 columns, e.g. a bare pseudo-terminal) counts
    as unknown.
    """
    columns = 0
    if not os.environ.get("COLUMNS"):
        try:
            columns = os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            columns = 0
    return columns if columns > 0 else shutil.get_terminal_size().columns
