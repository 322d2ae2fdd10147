"""Whether a record is too late for its shard's event-time watermark.

The *watermark* is the largest event time of the records admitted so far on the
shard. It is per shard and advances in shard order; the pipeline stores it with the
ledger's committed position, so a retry that starts from the same committed watermark
makes the same late / on time decision for every record. A late record is a
``PermanentError`` with reason ``late`` (a dead letter):

    >>> from streamkit import PermanentError
    >>> watermark = 1000.0  # as committed after the previous batch
    >>> event_time = 930.0
    >>> if is_late(event_time, watermark, allowed_lateness_s=60):
    ...     raise PermanentError("behind the shard's watermark", reason="late")
    Traceback (most recent call last):
    streamkit.errors.PermanentError: behind the shard's watermark
"""

from __future__ import annotations

import math


def is_late(event_time: float, watermark: float | None, allowed_lateness_s: float) -> bool:
    """True when ``event_time < watermark - allowed_lateness_s``.

    ``watermark`` is the largest event time seen so far on the shard (``None`` before the
    first record: nothing is late). ``allowed_lateness_s`` must be a finite number >= 0
    (else ``ValueError``, whatever the watermark).

    >>> is_late(100, 160, 60), is_late(99.5, 160, 60), is_late(0, None, 0)
    (False, True, False)
    """
    if allowed_lateness_s < 0 or not math.isfinite(allowed_lateness_s):
        raise ValueError(f"allowed lateness must be >= 0 seconds, got {allowed_lateness_s!r}")
    if watermark is None:
        return False
    return event_time < watermark - allowed_lateness_s
