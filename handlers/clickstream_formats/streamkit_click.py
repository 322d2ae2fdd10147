"""Parses our ``streamkit.click/1`` JSON (specified in :mod:`handlers.clickstream_formats`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from handlers.clickstream_formats.click import Click
from handlers.clickstream_formats.fields import (
    MAX_TS,
    iso_time,
    normalize_path,
    opt_str,
    req_str,
    schema_error,
    short,
)

#: Our documented schema's identifier (the ``schema`` field).
STREAMKIT_SCHEMA: Final = "streamkit.click/1"

#: Epoch milliseconds below this (1973-03-03) are almost surely epoch seconds.
_MIN_EPOCH_MS: Final = 100_000_000_000

_STREAMKIT_TYPES: Final = ("page", "track", "identify")


def parse_streamkit(doc: Mapping[str, Any]) -> Click:
    """A ``streamkit.click/1`` document as a :class:`Click`."""
    f = STREAMKIT_SCHEMA
    event_id = req_str(f, doc, "event_id")
    kind = req_str(f, doc, "type")
    if kind not in _STREAMKIT_TYPES:
        raise schema_error(f, f"type must be one of page, track, identify, got {kind!r}")
    user_id = req_str(f, doc, "user_id")
    session_id = opt_str(f, doc, "session_id")
    site = req_str(f, doc, "site")
    page = "/" if doc.get("page") == "" else opt_str(f, doc, "page")
    if page is not None or kind == "page":
        if page is None:
            raise schema_error(f, "page is required for a page event")
        if not normalize_path(page).startswith("/"):
            raise schema_error(f, f"page must be a path starting with '/', got {short(page)}")
        page = normalize_path(page)
    if kind == "track":
        event = req_str(f, doc, "event", "event is required for a track event")
    else:
        event = "page_view" if kind == "page" else "identify"
    return Click("streamkit", event_id, kind, event, user_id, session_id, site, page, _ts(doc))


def _ts(doc: Mapping[str, Any]) -> float | None:
    value = doc.get("ts")
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _MIN_EPOCH_MS <= value <= MAX_TS * 1000:
            return value / 1000
        hint = " (looks like epoch seconds)" if 0 < value < _MIN_EPOCH_MS else ""
        raise schema_error(
            STREAMKIT_SCHEMA,
            f"ts is not an ISO 8601 time or epoch milliseconds: {value!r}{hint}",
        )
    if isinstance(value, str):
        ts = iso_time(value)
        if ts is not None:
            return ts
    raise schema_error(
        STREAMKIT_SCHEMA, f"ts is not an ISO 8601 time or epoch milliseconds: {short(value)}"
    )
