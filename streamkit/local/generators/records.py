"""The record every traffic generator yields (local tooling, never on a Lambda path)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["KINDS", "GeneratedRecord"]

#: Values of :attr:`GeneratedRecord.kind`.
KINDS: Final = ("ok", "malformed", "late")


@dataclass(frozen=True, slots=True)
class GeneratedRecord:
    """One generated Kinesis record.

    ``partition_key`` and ``data`` are what a producer puts on the stream; ``arrival``
    is the time (epoch seconds) it reaches the stream; ``kind`` is what a consumer
    should make of it: ``"ok"``, ``"malformed"`` (must be dead-lettered) or ``"late"``
    (valid, but its event time is far behind its arrival).
    """

    partition_key: str
    data: bytes
    arrival: float
    kind: str  # "ok" | "malformed" | "late"
