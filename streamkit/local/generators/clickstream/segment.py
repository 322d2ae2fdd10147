"""Writes an event as a Segment (analytics.js) call: page, track or identify."""

from __future__ import annotations

import random
from typing import Any

from streamkit.local.generators.clickstream.timestamps import iso
from streamkit.local.generators.clickstream.world import Event, hex_id


def segment_doc(event: Event, rng: random.Random, allow_no_time: bool) -> dict[str, Any]:
    """A Segment call (about 800 bytes); a few carry only ``originalTimestamp`` or no time."""
    s = event.session
    page_ctx = {
        "path": event.page.path,
        "referrer": event.referrer,
        "title": event.page.title,
        "url": event.url,
    }
    doc: dict[str, Any] = {"type": event.kind, "messageId": f"ajs-next-{hex_id(rng, 32)}"}
    doc["anonymousId"] = s.user.anonymous_id
    if s.logged_in and s.user.user_id is not None:
        doc["userId"] = s.user.user_id
    if event.kind == "page":
        doc["name"] = event.page.title.split(" | ")[0]
        doc["properties"] = page_ctx
    elif event.kind == "track":
        doc["event"] = event.name
        doc["properties"] = event.properties
    else:
        user_id = s.user.user_id or ""
        doc["traits"] = {"email": f"{user_id}@example.org", "plan": rng.choice(("free", "pro"))}
    doc["context"] = {
        "ip": s.user.ip,
        "library": {"name": "analytics.js", "version": "next-1.74.0"},
        "locale": "en-US",
        "page": {"path": event.page.path, "url": event.url},
        "sessionId": s.session_id,
        "userAgent": s.user.user_agent,
    }
    when = iso(event.ts_ms)
    x = rng.random()
    if allow_no_time and x < 0.02:
        pass  # no timestamp at all: the consumer uses the arrival time
    elif allow_no_time and x < 0.07:
        doc["originalTimestamp"] = when
    else:
        doc["originalTimestamp"] = when
        doc["timestamp"] = when
    doc["sentAt"] = iso(int(event.arrival * 1000) - 200)
    return doc
