"""The normalized clickstream event every format parses into."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: The format names a :class:`Click` can carry.
FORMATS: Final = ("streamkit", "segment", "snowplow-tsv", "snowplow-json")


@dataclass(frozen=True, slots=True)
class Click:
    """One clickstream event, normalized whatever format it arrived in."""

    format: str  # "segment" | "snowplow-tsv" | "snowplow-json" | "streamkit"
    event_id: str
    kind: str  # "page" | "track" | "identify", or the Snowplow event type
    event: str  # "page_view" for page views, the track/struct event name, "identify"
    user_id: str | None
    session_id: str | None
    site: str | None  # host of the page URL, or our "site"
    page: str | None  # path of the page URL: no query string or fragment, "" -> "/"
    ts: float | None  # event time, epoch seconds; None: use the arrival time
