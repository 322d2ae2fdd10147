"""Lambda's limits and timings that the ESM simulator follows (spec 1.2, 2.1, 4)."""

from __future__ import annotations

from typing import Final

#: Lambda's synchronous invocation payload limit (spec 4.5: 6 MB read as 6 MiB).
MAX_EVENT_BYTES: Final = 6_291_456
#: Tumbling-window state limit per shard (spec 1.2.5).
MAX_STATE_BYTES: Final = 1_048_576
#: How long a window with no new records stays open after its end (spec 1.2.6).
WINDOW_IDLE_WAIT: Final = 120.0
#: How often an idle shard is polled (spec 4.1: about once per second).
POLL_INTERVAL: Final = 1.0
#: First retry back-off, doubled per failure in a row (spec 9.2 / 2.1.6).
BACKOFF_BASE: Final = 1.0
#: Longest retry back-off (spec 9.2 / 2.1.6).
BACKOFF_CAP: Final = 10.0
