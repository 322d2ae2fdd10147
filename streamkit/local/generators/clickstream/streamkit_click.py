"""Writes an event in the ``streamkit.click/1`` format (about 500 bytes per record)."""

from __future__ import annotations

import random
from typing import Any

from streamkit.local.generators.clickstream.timestamps import iso
from streamkit.local.generators.clickstream.world import Event, identity, uuid4


def streamkit_doc(event: Event, rng: random.Random, allow_no_time: bool) -> dict[str, Any]:
    """A ``streamkit.click/1`` document; ``ts`` as epoch ms or ISO 8601, rarely absent."""
    s = event.session
    doc: dict[str, Any] = {
        "schema": "streamkit.click/1",
        "event_id": uuid4(rng),
        "type": event.kind,
    }
    if event.kind == "track":
        doc["event"] = event.name
    doc["user_id"] = identity(s)
    doc["session_id"] = s.session_id
    doc["site"] = s.site.host
    if event.kind != "identify":
        path = event.url.partition(s.site.host)[2]
        doc["page"] = path if rng.random() < 0.3 else event.page.path
    x = rng.random()
    if not (allow_no_time and x < 0.03):
        doc["ts"] = event.ts_ms if x < 0.5 else iso(event.ts_ms)
    if event.kind == "page":
        doc["properties"] = {"title": event.page.title, "referrer": event.referrer or None}
    elif event.properties:
        doc["properties"] = event.properties
    doc["user_agent"] = s.user.user_agent
    return doc
