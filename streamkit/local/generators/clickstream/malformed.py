"""Records broken on purpose, each in a way ``parse_click`` rejects.

Invalid JSON, a missing required field, an unreadable timestamp, a wrong type, a
truncated Snowplow line, or a payload of no known format.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Final

import orjson

from streamkit.local.generators.clickstream.render import json_doc
from streamkit.local.generators.clickstream.segment import segment_doc
from streamkit.local.generators.clickstream.snowplow import (
    SNOWPLOW_FIELDS,
    snowplow_fields,
    snowplow_json,
    tsv_line,
)
from streamkit.local.generators.clickstream.streamkit_click import streamkit_doc
from streamkit.local.generators.clickstream.timestamps import iso
from streamkit.local.generators.clickstream.world import Event, identity


def malformed_record(event: Event, rng: random.Random) -> bytes:
    """A record of the event broken in one of several ways ``parse_click`` rejects."""
    fmt = event.session.fmt
    breakers = _BREAKERS[fmt]
    return rng.choice(breakers)(event, rng)


def _bad_json(event: Event, rng: random.Random) -> bytes:
    doc = json_doc(event, rng)
    if rng.random() < 0.5:
        raw = orjson.dumps(doc)
        return raw[: rng.randint(1, len(raw) - 1)]  # a truncated object is never valid
    return repr(doc).encode()  # a Python dict repr: single quotes


def _missing_field(event: Event, rng: random.Random) -> bytes:
    fmt = event.session.fmt
    if fmt == "streamkit":
        doc = streamkit_doc(event, rng, False)
        choices = ["event_id", "type", "user_id", "site"]
        choices.append("event" if event.kind == "track" else "page" if "page" in doc else "site")
        doc.pop(rng.choice(choices))
        return orjson.dumps(doc)
    if fmt == "segment":
        doc = segment_doc(event, rng, False)
        x = rng.random()
        if x < 0.3:
            del doc["messageId"]
        elif x < 0.5:
            doc.pop("anonymousId")
            if "userId" in doc:
                doc["userId"] = None
        elif event.kind == "page":
            doc["properties"] = {"title": event.page.title}
            doc["context"].pop("page")
        elif event.kind == "track":
            del doc["event"]
        else:
            del doc["messageId"]
        return orjson.dumps(doc)
    f = snowplow_fields(event, rng)
    if fmt == "snowplow-tsv":
        f[rng.choice(("event_id", "event"))] = ""
        return tsv_line(f)
    doc = snowplow_json(f)
    del doc["event"]  # without event_id it would not even be detected as Snowplow
    return orjson.dumps(doc)


_BAD_TIMES: Final = (
    "yesterday",
    "2026-13-45T25:61:00Z",
    "Sat Nov 28 2026 10:00:00 GMT+0000",
    "28/11/2026 10:00",
    "",
)


def _bad_timestamp(event: Event, rng: random.Random) -> bytes:
    fmt = event.session.fmt
    bad = rng.choice(_BAD_TIMES[:-1])
    if fmt == "streamkit":
        doc = streamkit_doc(event, rng, False)
        # epoch seconds where milliseconds are documented is a classic
        doc["ts"] = rng.choice((bad, event.ts_ms // 1000, True))
        return orjson.dumps(doc)
    if fmt == "segment":
        doc = segment_doc(event, rng, False)
        doc["timestamp"] = rng.choice((bad, event.ts_ms))
        return orjson.dumps(doc)
    f = snowplow_fields(event, rng)
    f["derived_tstamp"] = bad
    if fmt == "snowplow-tsv":
        return tsv_line(f)
    doc = snowplow_json(f)
    doc["derived_tstamp"] = bad  # not converted: it is not a timestamp
    return orjson.dumps(doc)


def _wrong_type(event: Event, rng: random.Random) -> bytes:
    fmt = event.session.fmt
    if fmt == "streamkit":
        doc = streamkit_doc(event, rng, False)
        key, value = rng.choice((("type", "click"), ("user_id", 42), ("page", "products")))
        doc[key] = value
        return orjson.dumps(doc)
    if fmt == "segment":
        doc = segment_doc(event, rng, False)
        if rng.random() < 0.5:
            doc["type"] = "screen"  # a mobile screen call: not a clickstream call here
        else:
            doc["context"]["page"]["url"] = "not a url"
            doc["properties"] = {}
        return orjson.dumps(doc)
    f = snowplow_fields(event, rng)
    if fmt == "snowplow-tsv":  # a truncated line (cut at a tab)
        cells = [f.get(name, "") for name in SNOWPLOW_FIELDS]
        return "\t".join(cells[: rng.randint(2, len(cells) - 1)]).encode()
    doc = snowplow_json(f)
    doc["event_id"] = rng.randint(1, 10**6)
    return orjson.dumps(doc)


def _unknown_format(event: Event, rng: random.Random) -> bytes:
    s = event.session
    when = iso(event.ts_ms)
    choices = (
        f'{s.user.ip} - - [{when}] "GET {event.page.path} HTTP/1.1" 200 5120',
        f"<event><user>{identity(s)}</user><page>{event.page.path}</page></event>",
        f"{identity(s)},{s.site.host},{event.page.path},{when}",
        orjson.dumps({"device": "thermostat-7", "temperature": 21.5, "at": when}).decode(),
        orjson.dumps([{"type": "page", "path": event.page.path}]).decode(),
        "",
    )
    return rng.choice(choices).encode()


_Breaker = Callable[[Event, random.Random], bytes]
_BREAKERS: Final[Mapping[str, tuple[_Breaker, ...]]] = {
    "streamkit": (_bad_json, _missing_field, _bad_timestamp, _wrong_type, _unknown_format),
    "segment": (_bad_json, _missing_field, _bad_timestamp, _wrong_type, _unknown_format),
    "snowplow-tsv": (_missing_field, _bad_timestamp, _wrong_type, _unknown_format),
    "snowplow-json": (_bad_json, _missing_field, _bad_timestamp, _wrong_type, _unknown_format),
}
