"""Writes a valid event in its session's format (the tracker the session comes from)."""

from __future__ import annotations

import random
from typing import Any

import orjson

from streamkit.local.generators.clickstream.segment import segment_doc
from streamkit.local.generators.clickstream.snowplow import snowplow_fields, snowplow_json, tsv_line
from streamkit.local.generators.clickstream.streamkit_click import streamkit_doc
from streamkit.local.generators.clickstream.world import Event


def render(event: Event, rng: random.Random, *, allow_no_time: bool) -> bytes:
    """The bytes of a valid event; ``allow_no_time`` lets a few records omit the event time."""
    fmt = event.session.fmt
    if fmt == "streamkit":
        return orjson.dumps(streamkit_doc(event, rng, allow_no_time))
    if fmt == "segment":
        return orjson.dumps(segment_doc(event, rng, allow_no_time))
    fields = snowplow_fields(event, rng)
    if fmt == "snowplow-tsv":
        return tsv_line(fields)
    return orjson.dumps(snowplow_json(fields))


def json_doc(event: Event, rng: random.Random) -> dict[str, Any]:
    """The event as its format's JSON document, with an event time (Snowplow: SDK JSON)."""
    fmt = event.session.fmt
    if fmt == "streamkit":
        return streamkit_doc(event, rng, False)
    if fmt == "segment":
        return segment_doc(event, rng, False)
    return snowplow_json(snowplow_fields(event, rng))
