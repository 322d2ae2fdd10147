"""Lambda's and Kinesis's limits and timings that the ESM simulator follows (spec 1.2,
2.1, 4, 7)."""

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
#: GetRecords calls per shard in any one second, shared by the stream's standard
#: consumers (spec 7.2); enforced with ``read_limits=True``.
GET_RECORDS_PER_SECOND: Final = 5
#: Bytes read per shard per second, shared the same way (spec 7.2: 2 MB read as 2 MiB).
READ_BYTES_PER_SECOND: Final = 2_097_152
#: First back-off after a failed read, doubled per failure in a row (spec 7.9).
READ_BACKOFF_BASE: Final = 1.0
#: Longest back-off after failed reads (spec 7.9).
READ_BACKOFF_CAP: Final = 10.0
