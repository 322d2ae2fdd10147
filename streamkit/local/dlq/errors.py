"""The one error of the ``streamkit dlq`` command: a message for the person at the terminal."""

from __future__ import annotations

from streamkit.errors import StreamkitError


class DlqCommandError(StreamkitError):
    """A user-facing error: printed as ``streamkit dlq ACTION: error: ...``, exit status 2."""
