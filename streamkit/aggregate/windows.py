"""Event times and the tumbling windows they fall in (epoch seconds, UTC)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from streamkit.aggregate.errors import InvalidValueError

#: Event times must be within year 1970..9999 (window keys are ISO 8601 UTC).
MAX_EVENT_TIME: Final = 253402300800  # 10000-01-01T00:00:00Z


def check_event_time(event_time: float) -> float:
    """An event time as float epoch seconds, or InvalidValueError (a dead letter)
    when it is not a finite number (int, float or Decimal) between 1970 and the end of
    year 9999."""
    if type(event_time) is float and 0 <= event_time < MAX_EVENT_TIME:
        return event_time  # the common case (NaN fails the comparison)
    if isinstance(event_time, Decimal) and event_time.is_finite():
        # what a decoder with parse_float=Decimal returns for "ts": 1764000000.5
        event_time = float(event_time)
    if isinstance(event_time, bool) or not isinstance(event_time, int | float):
        raise InvalidValueError(f"event time {event_time!r} is not a number of epoch seconds")
    if not math.isfinite(event_time):
        raise InvalidValueError(f"event time {event_time!r} is not finite")
    if event_time < 0:
        raise InvalidValueError(f"event time {event_time!r} is before 1970")
    if event_time >= MAX_EVENT_TIME:
        raise InvalidValueError(f"event time {event_time!r} is after year 9999")
    return float(event_time)


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """A tumbling window ``[start, start + size)`` in epoch seconds (UTC).

    >>> w = window_of(1795860312.5, 300)
    >>> w.start, w.end, w.key
    (1795860300, 1795860600, '2026-11-28T10:05:00Z')
    """

    start: int
    size: int

    def __post_init__(self) -> None:
        if type(self.size) is not int or self.size <= 0:
            raise ValueError(f"window size must be a positive int of seconds, got {self.size!r}")
        if type(self.start) is not int or not 0 <= self.start < MAX_EVENT_TIME:
            raise ValueError(f"window start must be int epoch seconds >= 0, got {self.start!r}")

    @property
    def end(self) -> int:
        """Exclusive end, epoch seconds."""
        return self.start + self.size

    @property
    def key(self) -> str:
        """The start as ISO 8601 UTC, e.g. ``2026-11-28T10:05:00Z`` (the size is not in it)."""
        return datetime.fromtimestamp(self.start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def __contains__(self, event_time: float) -> bool:
        return self.start <= event_time < self.end


def window_of(event_time: float, size_s: int) -> Window:
    """The tumbling window of ``size_s`` seconds (aligned to the epoch) holding ``event_time``.

    Event times are epoch seconds; before 1970, or in a window ending after year 9999,
    raises :class:`InvalidValueError`.

    >>> window_of(600, 300) == Window(600, 300) and 599.999 in window_of(599.999, 300)
    True
    """
    t = check_event_time(event_time)
    if type(size_s) is not int or size_s <= 0:
        raise ValueError(f"window size must be a positive int of seconds, got {size_s!r}")
    start = (math.floor(t) // size_s) * size_s
    if start + size_s >= MAX_EVENT_TIME:
        # The item names its window's end (an ISO 8601 time): a window reaching year
        # 10000 has none, so its event times are out of range like later ones.
        raise InvalidValueError(
            f"event time {event_time!r} is in a {size_s} s window that ends after year 9999"
        )
    return Window(start, size_s)
