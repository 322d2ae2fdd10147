"""Parses Segment Spec page, track and identify calls (see :mod:`handlers.clickstream_formats`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from handlers.clickstream_formats.click import Click
from handlers.clickstream_formats.fields import (
    iso_time,
    normalize_path,
    opt_id,
    opt_obj,
    opt_str,
    req_str,
    schema_error,
    short,
    url_field,
)

_SEGMENT_TYPES: Final = ("page", "track", "identify")


def parse_segment(doc: Mapping[str, Any]) -> Click:
    """A Segment page, track or identify call as a :class:`Click`."""
    f = "segment"
    kind = req_str(f, doc, "type")
    if kind not in _SEGMENT_TYPES:
        raise schema_error(f, f"type {kind!r} is not a clickstream call (page, track, identify)")
    event_id = req_str(f, doc, "messageId")
    user_id = opt_id(f, doc, "userId") or opt_id(f, doc, "anonymousId")
    if user_id is None:
        raise schema_error(f, "userId or anonymousId is required")
    props = opt_obj(f, doc, "properties", "properties")
    context = opt_obj(f, doc, "context", "context")
    cpage = opt_obj(f, context, "page", "context.page")
    session_id = opt_id(f, context, "sessionId", "context.sessionId")

    p_path = opt_str(f, props, "path", "properties.path")
    p_url = url_field(f, props, "url", "properties.url")
    c_path = opt_str(f, cpage, "path", "context.page.path")
    c_url = url_field(f, cpage, "url", "context.page.url")
    site = p_url[0] if p_url else (c_url[0] if c_url else None)
    if kind == "page":
        page = _first_path(p_path, p_url, None, None)
        if page is None:
            page = _first_path(c_path, c_url, None, None)
        if page is None:
            raise schema_error(
                f, "properties.path or context.page.path is required for a page call"
            )
    else:
        page = _first_path(c_path, c_url, p_path, p_url)

    if kind == "track":
        event = req_str(f, doc, "event", "event is required for a track call")
    else:
        event = "page_view" if kind == "page" else "identify"

    ts = _segment_time(doc, "timestamp")
    if ts is None:
        ts = _segment_time(doc, "originalTimestamp")
    return Click("segment", event_id, kind, event, user_id, session_id, site, page, ts)


def _first_path(
    path: str | None,
    url: tuple[str, str] | None,
    path2: str | None,
    url2: tuple[str, str] | None,
) -> str | None:
    if path is not None:
        return normalize_path(path)
    if url is not None:
        return url[1]
    if path2 is not None:
        return normalize_path(path2)
    return url2[1] if url2 is not None else None


def _segment_time(doc: Mapping[str, Any], key: str) -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    ts = iso_time(value) if isinstance(value, str) else None
    if ts is None:
        raise schema_error("segment", f"{key} is not an ISO 8601 time: {short(value)}")
    return ts
