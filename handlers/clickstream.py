"""The clickstream consumer: page views, events and unique users per minute, exactly once.

Accepts, per record, Segment ``page``/``track``/``identify`` JSON, Snowplow enriched
events (TSV and JSON) and streamkit's own ``streamkit.click/1`` JSON (see
:mod:`handlers.clickstream_formats`). A record that fails validation is
dead-lettered with the field named. Event time comes from the event; an event
without a usable timestamp is counted at its Kinesis arrival time.

Aggregates (DynamoDB, per minute by event time):

* ``page_views#<site><path>``: page views per page, with approximate unique users
  (one item per page and minute);
* ``events``: events per type, every type a field of one item per minute
  (``layout="window"``);
* ``site_users``: approximate unique users per site, every site a field of one item
  per minute (``layout="window"``).

Raw events are archived to S3 as gzip JSON Lines under ``clickstream/dt=.../hour=.../``.

Configuration (environment variables, set by Terraform and by ``streamkit run``):
``STREAMKIT_CONSUMER``, ``STREAMKIT_LEDGER_TABLE``, ``STREAMKIT_AGGREGATE_TABLE``,
``STREAMKIT_ARCHIVE_BUCKET``, ``STREAMKIT_DLQ_BUCKET``, and optionally
``STREAMKIT_ALLOWED_LATENESS_S`` (default 600).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.clickstream_formats import Click, parse_click
from streamkit import Record
from streamkit.pipeline import Aggregate, Archive, LazyPipeline, Pipeline

WINDOW_S = 60
DEFAULT_LATENESS_S = 600


def decode(record: Record) -> Click:
    return parse_click(record.data)


def event_time(click: Click, record: Record) -> float | None:
    return click.ts  # None: the pipeline uses the record's arrival time


def page_key(click: Click) -> str | None:
    if click.event != "page_view" or click.page is None:
        return None
    return f"{click.site or '-'}{click.page}"


def archived(click: Click, record: Record) -> dict[str, Any]:
    """The archived line: identity, detected format and the raw payload as sent."""
    return {
        "id": record.id,
        "format": click.format,
        "event_id": click.event_id,
        "event_time": click.ts,
        "raw": record.data.decode("utf-8", "replace"),
    }


def build_pipeline(env: Mapping[str, str]) -> Pipeline:
    """The consumer's pipeline from its environment (raises KeyError naming a missing variable)."""
    return Pipeline(
        env.get("STREAMKIT_CONSUMER", "clickstream"),
        decode=decode,
        event_time=event_time,
        aggregates=[
            # Pages are unbounded: one item per page and minute. Event types and
            # sites are a handful: one item per minute holds them all (one write per
            # minute and batch instead of one per key; see Aggregate.layout).
            Aggregate("page_views", key=page_key, window_s=WINDOW_S, distinct=lambda c: c.user_id),
            Aggregate("events", key=lambda c: c.event, window_s=WINDOW_S, layout="window"),
            Aggregate(
                "site_users",
                key=lambda c: c.site,
                window_s=WINDOW_S,
                distinct=lambda c: c.user_id,
                layout="window",
            ),
        ],
        table=env["STREAMKIT_AGGREGATE_TABLE"],
        archive=Archive(env["STREAMKIT_ARCHIVE_BUCKET"], "clickstream", transform=archived),
        dead_letter_bucket=env["STREAMKIT_DLQ_BUCKET"],
        ledger_table=env["STREAMKIT_LEDGER_TABLE"],
        allowed_lateness_s=float(env.get("STREAMKIT_ALLOWED_LATENESS_S", DEFAULT_LATENESS_S)),
    )


_lazy = LazyPipeline(build_pipeline)

#: This container's pipeline, built from the environment on first use.
pipeline = _lazy.get
#: Lambda entry point (``handlers.clickstream.handler``).
handler = _lazy.handler
#: Forget the cached pipeline (tests that change the environment).
reset = _lazy.reset
