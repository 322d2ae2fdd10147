"""Event times as the trackers write them (millisecond precision, UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with a ``Z``, e.g. ``2026-11-28T10:00:00.123Z``."""
    secs, frac = divmod(ms, 1000)
    return f"{datetime.fromtimestamp(secs, UTC):%Y-%m-%dT%H:%M:%S}.{frac:03d}Z"


def snowplow_time(ms: int) -> str:
    """Epoch milliseconds in Snowplow's format, e.g. ``2026-11-28 10:00:00.123``."""
    secs, frac = divmod(ms, 1000)
    return f"{datetime.fromtimestamp(secs, UTC):%Y-%m-%d %H:%M:%S}.{frac:03d}"
