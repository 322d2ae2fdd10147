"""Parses Snowplow enriched events: TSV lines and the SDKs' JSON (see the package docs)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from handlers.clickstream_formats.click import Click
from handlers.clickstream_formats.fields import (
    iso_time,
    normalize_path,
    opt_str,
    preview,
    schema_error,
    short,
    url_value,
)
from handlers.clickstream_formats.snowplow_fields import SNOWPLOW_FIELDS
from streamkit.errors import DecodeError

_SNOWPLOW_INDEX: Final = {name: i for i, name in enumerate(SNOWPLOW_FIELDS)}
_SNOWPLOW_TIMES: Final = ("derived_tstamp", "dvce_created_tstamp", "collector_tstamp")


def parse_snowplow_tsv(data: bytes) -> Click:
    """A Snowplow enriched TSV line (131 tab-separated fields) as a :class:`Click`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError(
            f"snowplow-tsv: payload is not UTF-8 ({preview(data)})", reason="not_utf8"
        ) from None
    if text.endswith("\n"):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    fields = text.split("\t")
    if len(fields) != len(SNOWPLOW_FIELDS):
        raise schema_error(
            "snowplow-tsv",
            f"expected {len(SNOWPLOW_FIELDS)} tab-separated fields, got {len(fields)}",
        )

    def get(name: str) -> str | None:
        return fields[_SNOWPLOW_INDEX[name]] or None

    return _snowplow("snowplow-tsv", get)


def parse_snowplow_json(doc: Mapping[str, Any]) -> Click:
    """A Snowplow enriched event in the analytics SDKs' JSON as a :class:`Click`."""
    f = "snowplow-json"

    def get(name: str) -> str | None:
        return opt_str(f, doc, name)

    return _snowplow(f, get)


def _snowplow(f: str, get: Callable[[str], str | None]) -> Click:
    event_id = get("event_id")
    if event_id is None:
        raise schema_error(f, "event_id is required")
    kind = get("event")
    if kind is None:
        raise schema_error(f, "event is required (the event type, e.g. page_view)")
    if kind == "page_view":
        event = "page_view"
    elif kind == "struct":
        action = get("se_action")
        if action is None:
            raise schema_error(f, "se_action is required for a struct event")
        event = action
    else:
        name = get("event_name")
        if name is None and kind == "unstruct":
            raise schema_error(f, "event_name is required for an unstruct event")
        event = name or kind

    url = url_value(f, "page_url", get("page_url"))
    host = get("page_urlhost")
    site = host.lower() if host else (url[0] if url else None)
    path = get("page_urlpath")
    page = normalize_path(path) if path is not None else (url[1] if url else None)
    if page is None and kind == "page_view":
        raise schema_error(f, "page_urlpath or page_url is required for a page_view event")

    ts = None
    for name in _SNOWPLOW_TIMES:
        value = get(name)
        if value is not None:
            ts = iso_time(value)
            if ts is None:
                raise schema_error(f, f"{name} is not a timestamp: {short(value)}")
            break
    user_id = get("user_id") or get("domain_userid")
    return Click(f, event_id, kind, event, user_id, get("domain_sessionid"), site, page, ts)
