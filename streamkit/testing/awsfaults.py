"""Fault injection at single AWS writes: :class:`~streamkit.local.writefaults.WriteFaults`.

Kept so that ``from streamkit.testing.awsfaults import WriteFaults`` works; the code
lives in :mod:`streamkit.local.writefaults`, where the ``streamkit run`` engine uses it
too (local tooling must not import ``streamkit.testing``).
"""

from streamkit.local.writefaults import KINDS, WRITE_OPERATIONS, ClientError, WriteFaults

__all__ = ["KINDS", "WRITE_OPERATIONS", "ClientError", "WriteFaults"]
