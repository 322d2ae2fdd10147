"""Realistic clickstream traffic: users in sessions, skewed pages, mixed formats, bad records.

:func:`clickstream` yields :class:`~streamkit.local.generators.records.GeneratedRecord` objects
in arrival order, deterministic for a seed. Local tooling, never on a Lambda path.

The model:

- **Arrivals** form a Poisson process at ``rate`` records per second over ``duration``
  seconds from ``start``.
- **Users** (``users`` of them) each have an anonymous id (a first-party cookie); 40%
  are registered and log in during 60% of their sessions, from then on sending their
  user id. The partition key is the id the record's user resolves to (the user id once
  logged in, else the anonymous id), so it equals ``parse_click(data).user_id``.
- **Sessions**: each arrival goes to the active session whose next event is due, or
  starts a new session for an idle user. A session lands on a site, views 5-15 pages
  with a think time of about 15 s (log-normal) between events, then ends. Track events
  (about 12% of events) and an identify call at login are sprinkled in.
- **Pages** per site follow a Zipf law (exponent 1.1, the home page most popular): the
  top 10% of pages get about three quarters of the views.
- **Formats** are chosen per session (a session comes from one tracker) with the
  ``formats`` weights, by default 50% ``streamkit``, 30% ``segment``, 15%
  ``snowplow-tsv``, 5% ``snowplow-json``.
- **Sizes**: about 500 bytes (``streamkit``), 800 (Segment, Snowplow TSV) and 1.2 KB
  (Snowplow JSON) per record, user agents and URLs included.
- **Event time** is the arrival minus a client delay of 0-3 s, at millisecond
  precision. A few records carry no event time at all (the consumer then uses the
  arrival time), and some carry only a fallback timestamp (Segment
  ``originalTimestamp``, Snowplow ``dvce_created_tstamp``).
- A ``late`` fraction of records have an event time 10-30 minutes before arrival
  (a device that was offline) and are valid otherwise: kind ``"late"``.
- A ``malformed`` fraction are broken on purpose, each in a way
  :func:`handlers.clickstream_formats.parse_click` rejects: invalid JSON, a missing
  required field, an unreadable timestamp, a wrong type, a truncated Snowplow line, or
  a payload of no known format: kind ``"malformed"``.

Example::

    from streamkit.local.generators.clickstream import clickstream

    for rec in clickstream(seed=7, rate=50, duration=60, start=1_795_860_000):
        put_record(rec.partition_key, rec.data)
"""

from __future__ import annotations

from streamkit.local.generators.clickstream.traffic import (
    DEFAULT_FORMATS,
    FORMATS,
    MIN_START,
    clickstream,
)
from streamkit.local.generators.records import GeneratedRecord

__all__ = ["DEFAULT_FORMATS", "FORMATS", "MIN_START", "GeneratedRecord", "clickstream"]
