"""Clickstream wire formats: detect, validate and normalize one record into a :class:`Click`.

Pure parsing with light imports (stdlib, orjson through :mod:`streamkit.codecs`): this
module is on the Lambda import path. :func:`parse_click` takes one Kinesis record's
payload and returns a :class:`Click`, or raises :class:`~streamkit.errors.PermanentError`
(the batch processor dead-letters the record and goes on) whose message starts with the
format and names the offending field, e.g.
``segment: properties.path or context.page.path is required for a page call``.

Dead-letter reasons: ``schema`` (the format was recognized, a field is missing or
invalid), ``unknown_format`` (no format matches), ``bad_json`` (starts like JSON but is
not), ``not_utf8`` (a text payload that is not UTF-8) and the decode reasons of
:mod:`streamkit.codecs` for compressed payloads.

Formats
=======

``streamkit.click/1`` (ours, documented here)
---------------------------------------------

One JSON object per record::

    {
      "schema": "streamkit.click/1",          # required, exactly this string
      "event_id": "4b5c7f0e-...",             # required, non-empty string, unique per event
      "type": "page",                         # required: "page" | "track" | "identify"
      "event": "Product Added",               # required for "track", ignored otherwise
      "user_id": "user-000042",               # required, non-empty string (an anonymous id
                                              #   is fine when the user is not logged in)
      "session_id": "s-81f3...",              # optional string (or null)
      "site": "shop.example.com",             # required, the host the event happened on
      "page": "/products/42",                 # required for "page", optional otherwise: a
                                              #   path starting with "/"; a query string or
                                              #   fragment is dropped, "" means "/"
      "ts": "2026-11-28T10:00:00.123Z"        # optional: ISO 8601 (no offset = UTC) or epoch
                                              #   milliseconds (1795860000123)
    }

Unknown keys are ignored. ``ts`` as a number is epoch **milliseconds**; a number below
1e11 (before March 1973) is rejected as probably being epoch seconds. Another
``streamkit.click/N`` version is rejected as ``unknown_format``.

Segment (track / page / identify)
---------------------------------

The Segment Spec message: ``type``, ``messageId`` (required: it is the event id),
``userId`` or ``anonymousId`` (one required; ``userId`` wins; a numeric id is
accepted as its decimal string), ``timestamp``/``originalTimestamp`` (ISO 8601),
``event`` (required for track), ``properties`` and ``context``. The page comes from
``properties.path``, else the path of ``properties.url``, else ``context.page.path``,
else the path of ``context.page.url``; a page call without any of them is invalid.
Track and identify calls take their page from ``context.page`` when it is there. The
site is the host of ``properties.url``, else of ``context.page.url``. The Spec has no
session field: ``session_id`` is ``context.sessionId`` when a source sets one. Other
call types (screen, group, alias) are rejected as ``schema`` errors naming ``type``.

Snowplow enriched events (TSV and JSON)
---------------------------------------

The enriched event of the Snowplow pipeline: a 131-field tab-separated line in the
order of :data:`SNOWPLOW_FIELDS`, or the JSON object the Snowplow analytics SDKs make
of it (the same field names as flat keys, empty fields left out, timestamps as ISO
strings, contexts shredded into ``contexts_*`` keys). ``event_id`` and ``event`` (the
event type: ``page_view``, ``struct``, ``unstruct``, ``page_ping``, ...) are required.
The normalized event name is ``page_view`` for page views, ``se_action`` for
structured events (required there), else ``event_name`` (required for ``unstruct``),
else the event type. The user is ``user_id``, else ``domain_userid``; the session is
``domain_sessionid``; the page is ``page_urlpath`` (else the path of ``page_url``;
required for a ``page_view``) and the site ``page_urlhost`` (else the host of
``page_url``).

Detection (per record, in this order)
=====================================

1. A gzip/zlib-compressed payload is inflated first (as :func:`streamkit.codecs.decode_json`
   does).
2. A payload whose first non-blank byte is ``{`` or ``[`` is JSON: invalid JSON is
   ``bad_json``; a JSON value that is not an object is ``unknown_format``. An object is

   a. ``streamkit.click/1`` when its ``schema`` starts with ``streamkit.click/``;
   b. Snowplow enriched JSON when it has both ``event_id`` and ``collector_tstamp``;
   c. Segment when it has ``type`` and one of ``messageId``, ``userId``, ``anonymousId``;
   d. otherwise ``unknown_format``.

3. Any other payload containing a tab is Snowplow enriched TSV (a wrong field count is a
   ``schema`` error saying how many fields there were).
4. Anything else is ``unknown_format``.

Event time
==========

``Click.ts`` is epoch seconds, or ``None`` when the record carries no timestamp at all;
the consumer then uses the record's Kinesis arrival time
(``ApproximateArrivalTimestamp``). A timestamp that is present but unreadable is a
``schema`` error naming the field, never silently replaced. Timestamps without an
offset are UTC.

- ``streamkit.click/1``: ``ts``.
- Segment: ``timestamp`` (the event time corrected for device clock skew), else
  ``originalTimestamp`` (the device clock). ``sentAt`` and ``receivedAt`` are transport
  times, not event times, and are not used: the arrival time plays their part.
- Snowplow: ``derived_tstamp`` (skew-corrected), else ``dvce_created_tstamp`` (device
  clock), else ``collector_tstamp`` (when the collector got it). The first non-empty one
  is used and must parse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from streamkit.codecs import decode_json, inflate, is_compressed
from streamkit.errors import DecodeError, PermanentError

__all__ = ["FORMATS", "SNOWPLOW_FIELDS", "Click", "parse_click"]

#: The format names a :class:`Click` can carry.
FORMATS: Final = ("streamkit", "segment", "snowplow-tsv", "snowplow-json")

#: Our documented schema's identifier (the ``schema`` field).
STREAMKIT_SCHEMA: Final = "streamkit.click/1"

#: The Snowplow enriched event's fields, in TSV column order (131 fields).
SNOWPLOW_FIELDS: Final[tuple[str, ...]] = (
    # application and platform
    "app_id",
    "platform",
    # date and time
    "etl_tstamp",
    "collector_tstamp",
    "dvce_created_tstamp",
    # the event
    "event",
    "event_id",
    "txn_id",
    # versions
    "name_tracker",
    "v_tracker",
    "v_collector",
    "v_etl",
    # user and visit
    "user_id",
    "user_ipaddress",
    "user_fingerprint",
    "domain_userid",
    "domain_sessionidx",
    "network_userid",
    # location
    "geo_country",
    "geo_region",
    "geo_city",
    "geo_zipcode",
    "geo_latitude",
    "geo_longitude",
    "geo_region_name",
    # IP lookups
    "ip_isp",
    "ip_organization",
    "ip_domain",
    "ip_netspeed",
    # page
    "page_url",
    "page_title",
    "page_referrer",
    "page_urlscheme",
    "page_urlhost",
    "page_urlport",
    "page_urlpath",
    "page_urlquery",
    "page_urlfragment",
    # referrer
    "refr_urlscheme",
    "refr_urlhost",
    "refr_urlport",
    "refr_urlpath",
    "refr_urlquery",
    "refr_urlfragment",
    "refr_medium",
    "refr_source",
    "refr_term",
    # marketing
    "mkt_medium",
    "mkt_source",
    "mkt_term",
    "mkt_content",
    "mkt_campaign",
    # custom contexts
    "contexts",
    # structured event
    "se_category",
    "se_action",
    "se_label",
    "se_property",
    "se_value",
    # self-describing (unstructured) event
    "unstruct_event",
    # ecommerce transaction
    "tr_orderid",
    "tr_affiliation",
    "tr_total",
    "tr_tax",
    "tr_shipping",
    "tr_city",
    "tr_state",
    "tr_country",
    # ecommerce transaction item
    "ti_orderid",
    "ti_sku",
    "ti_name",
    "ti_category",
    "ti_price",
    "ti_quantity",
    # page pings
    "pp_xoffset_min",
    "pp_xoffset_max",
    "pp_yoffset_min",
    "pp_yoffset_max",
    # browser
    "useragent",
    "br_name",
    "br_family",
    "br_version",
    "br_type",
    "br_renderengine",
    "br_lang",
    "br_features_pdf",
    "br_features_flash",
    "br_features_java",
    "br_features_director",
    "br_features_quicktime",
    "br_features_realplayer",
    "br_features_windowsmedia",
    "br_features_gears",
    "br_features_silverlight",
    "br_cookies",
    "br_colordepth",
    "br_viewwidth",
    "br_viewheight",
    # operating system and device
    "os_name",
    "os_family",
    "os_manufacturer",
    "os_timezone",
    "dvce_type",
    "dvce_ismobile",
    "dvce_screenwidth",
    "dvce_screenheight",
    # document
    "doc_charset",
    "doc_width",
    "doc_height",
    # currency
    "tr_currency",
    "tr_total_base",
    "tr_tax_base",
    "tr_shipping_base",
    "ti_currency",
    "ti_price_base",
    "base_currency",
    # geo and marketing, later additions
    "geo_timezone",
    "mkt_clickid",
    "mkt_network",
    # etl and late additions
    "etl_tags",
    "dvce_sent_tstamp",
    "refr_domain_userid",
    "refr_device_tstamp",
    "derived_contexts",
    "domain_sessionid",
    "derived_tstamp",
    "event_vendor",
    "event_name",
    "event_format",
    "event_version",
    "event_fingerprint",
    "true_tstamp",
)

_SNOWPLOW_INDEX: Final = {name: i for i, name in enumerate(SNOWPLOW_FIELDS)}

#: Event times must fit a datetime and not precede the epoch.
_MAX_TS: Final = 253_402_300_799.0
#: Epoch milliseconds below this (1973-03-03) are almost surely epoch seconds.
_MIN_EPOCH_MS: Final = 100_000_000_000


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


def parse_click(data: bytes) -> Click:
    """Detect the format of one record's payload and parse it into a :class:`Click`.

    Raises :class:`~streamkit.errors.PermanentError` naming the field when the record
    is invalid (reason ``schema``), ``unknown_format`` when no format matches, and
    :class:`~streamkit.errors.DecodeError` (reason ``bad_json``, ...) when the payload
    cannot be decoded.
    """
    if is_compressed(data):
        data = inflate(data)
    first = data.lstrip()[:1]
    if first in (b"{", b"["):
        doc = decode_json(data)
        if not isinstance(doc, dict):
            raise PermanentError(
                f"a JSON {type(doc).__name__} is not a click event (one JSON object per record)",
                reason="unknown_format",
            )
        return _parse_object(doc)
    if b"\t" in data:
        return _parse_snowplow_tsv(data)
    raise PermanentError(
        f"not JSON and not a Snowplow enriched TSV line: {_preview(data)}",
        reason="unknown_format",
    )


# --- detection -------------------------------------------------------------------------


def _parse_object(doc: dict[str, Any]) -> Click:
    schema = doc.get("schema")
    if isinstance(schema, str) and schema.startswith("streamkit.click/"):
        if schema != STREAMKIT_SCHEMA:
            raise PermanentError(
                f"schema {schema!r} is not supported (this consumer reads {STREAMKIT_SCHEMA})",
                reason="unknown_format",
            )
        return _parse_streamkit(doc)
    if "event_id" in doc and "collector_tstamp" in doc:
        return _parse_snowplow_json(doc)
    if "type" in doc and ("messageId" in doc or "userId" in doc or "anonymousId" in doc):
        return _parse_segment(doc)
    keys = ", ".join(sorted(doc)[:8]) or "none"
    raise PermanentError(
        "JSON object matches no click format (streamkit.click/1 needs schema; Snowplow "
        "needs event_id and collector_tstamp; Segment needs type and messageId, userId "
        f"or anonymousId); keys: {keys}",
        reason="unknown_format",
    )


# --- streamkit.click/1 -----------------------------------------------------------------

_STREAMKIT_TYPES: Final = ("page", "track", "identify")


def _parse_streamkit(doc: Mapping[str, Any]) -> Click:
    f = STREAMKIT_SCHEMA
    event_id = _req_str(f, doc, "event_id")
    kind = _req_str(f, doc, "type")
    if kind not in _STREAMKIT_TYPES:
        raise _schema(f, f"type must be one of page, track, identify, got {kind!r}")
    user_id = _req_str(f, doc, "user_id")
    session_id = _opt_str(f, doc, "session_id")
    site = _req_str(f, doc, "site")
    page = "/" if doc.get("page") == "" else _opt_str(f, doc, "page")
    if page is not None or kind == "page":
        if page is None:
            raise _schema(f, "page is required for a page event")
        if not _normalize_path(page).startswith("/"):
            raise _schema(f, f"page must be a path starting with '/', got {_short(page)}")
        page = _normalize_path(page)
    if kind == "track":
        event = _req_str(f, doc, "event", "event is required for a track event")
    else:
        event = "page_view" if kind == "page" else "identify"
    return Click("streamkit", event_id, kind, event, user_id, session_id, site, page, _ts(doc))


def _ts(doc: Mapping[str, Any]) -> float | None:
    value = doc.get("ts")
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _MIN_EPOCH_MS <= value <= _MAX_TS * 1000:
            return value / 1000
        hint = " (looks like epoch seconds)" if 0 < value < _MIN_EPOCH_MS else ""
        raise _schema(
            STREAMKIT_SCHEMA,
            f"ts is not an ISO 8601 time or epoch milliseconds: {value!r}{hint}",
        )
    if isinstance(value, str):
        ts = _iso_time(value)
        if ts is not None:
            return ts
    raise _schema(
        STREAMKIT_SCHEMA, f"ts is not an ISO 8601 time or epoch milliseconds: {_short(value)}"
    )


# --- Segment ---------------------------------------------------------------------------

_SEGMENT_TYPES: Final = ("page", "track", "identify")


def _parse_segment(doc: Mapping[str, Any]) -> Click:
    f = "segment"
    kind = _req_str(f, doc, "type")
    if kind not in _SEGMENT_TYPES:
        raise _schema(f, f"type {kind!r} is not a clickstream call (page, track, identify)")
    event_id = _req_str(f, doc, "messageId")
    user_id = _opt_id(f, doc, "userId") or _opt_id(f, doc, "anonymousId")
    if user_id is None:
        raise _schema(f, "userId or anonymousId is required")
    props = _opt_obj(f, doc, "properties", "properties")
    context = _opt_obj(f, doc, "context", "context")
    cpage = _opt_obj(f, context, "page", "context.page")
    session_id = _opt_id(f, context, "sessionId", "context.sessionId")

    p_path = _opt_str(f, props, "path", "properties.path")
    p_url = _url(f, props, "url", "properties.url")
    c_path = _opt_str(f, cpage, "path", "context.page.path")
    c_url = _url(f, cpage, "url", "context.page.url")
    site = p_url[0] if p_url else (c_url[0] if c_url else None)
    if kind == "page":
        page = _first_path(p_path, p_url, None, None)
        if page is None:
            page = _first_path(c_path, c_url, None, None)
        if page is None:
            raise _schema(f, "properties.path or context.page.path is required for a page call")
    else:
        page = _first_path(c_path, c_url, p_path, p_url)

    if kind == "track":
        event = _req_str(f, doc, "event", "event is required for a track call")
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
        return _normalize_path(path)
    if url is not None:
        return url[1]
    if path2 is not None:
        return _normalize_path(path2)
    return url2[1] if url2 is not None else None


def _segment_time(doc: Mapping[str, Any], key: str) -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    ts = _iso_time(value) if isinstance(value, str) else None
    if ts is None:
        raise _schema("segment", f"{key} is not an ISO 8601 time: {_short(value)}")
    return ts


# --- Snowplow --------------------------------------------------------------------------

_SNOWPLOW_TIMES: Final = ("derived_tstamp", "dvce_created_tstamp", "collector_tstamp")


def _parse_snowplow_tsv(data: bytes) -> Click:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError(
            f"snowplow-tsv: payload is not UTF-8 ({_preview(data)})", reason="not_utf8"
        ) from None
    if text.endswith("\n"):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    fields = text.split("\t")
    if len(fields) != len(SNOWPLOW_FIELDS):
        raise _schema(
            "snowplow-tsv",
            f"expected {len(SNOWPLOW_FIELDS)} tab-separated fields, got {len(fields)}",
        )

    def get(name: str) -> str | None:
        return fields[_SNOWPLOW_INDEX[name]] or None

    return _snowplow("snowplow-tsv", get)


def _parse_snowplow_json(doc: Mapping[str, Any]) -> Click:
    f = "snowplow-json"

    def get(name: str) -> str | None:
        return _opt_str(f, doc, name)

    return _snowplow(f, get)


def _snowplow(f: str, get: Callable[[str], str | None]) -> Click:
    event_id = get("event_id")
    if event_id is None:
        raise _schema(f, "event_id is required")
    kind = get("event")
    if kind is None:
        raise _schema(f, "event is required (the event type, e.g. page_view)")
    if kind == "page_view":
        event = "page_view"
    elif kind == "struct":
        action = get("se_action")
        if action is None:
            raise _schema(f, "se_action is required for a struct event")
        event = action
    else:
        name = get("event_name")
        if name is None and kind == "unstruct":
            raise _schema(f, "event_name is required for an unstruct event")
        event = name or kind

    url = _url_value(f, "page_url", get("page_url"))
    host = get("page_urlhost")
    site = host.lower() if host else (url[0] if url else None)
    path = get("page_urlpath")
    page = _normalize_path(path) if path is not None else (url[1] if url else None)
    if page is None and kind == "page_view":
        raise _schema(f, "page_urlpath or page_url is required for a page_view event")

    ts = None
    for name in _SNOWPLOW_TIMES:
        value = get(name)
        if value is not None:
            ts = _iso_time(value)
            if ts is None:
                raise _schema(f, f"{name} is not a timestamp: {_short(value)}")
            break
    user_id = get("user_id") or get("domain_userid")
    return Click(f, event_id, kind, event, user_id, get("domain_sessionid"), site, page, ts)


# --- fields ----------------------------------------------------------------------------


def _schema(fmt: str, message: str) -> PermanentError:
    return PermanentError(f"{fmt}: {message}", reason="schema")


def _req_str(fmt: str, doc: Mapping[str, Any], key: str, missing: str | None = None) -> str:
    value = doc.get(key)
    if value is None:
        raise _schema(fmt, missing or f"{key} is required")
    if not isinstance(value, str) or not value:
        raise _schema(fmt, f"{key} must be a non-empty string, got {_short(value)}")
    return value


def _opt_str(
    fmt: str, doc: Mapping[str, Any] | None, key: str, label: str | None = None
) -> str | None:
    """A string field; absent, null and "" are None."""
    if doc is None:
        return None
    value = doc.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _schema(fmt, f"{label or key} must be a string, got {_short(value)}")
    return value


def _opt_id(
    fmt: str, doc: Mapping[str, Any] | None, key: str, label: str | None = None
) -> str | None:
    """An identifier: a string, or an integer taken as its decimal string."""
    if doc is None:
        return None
    value = doc.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _opt_str(fmt, doc, key, label)


def _opt_obj(
    fmt: str, doc: Mapping[str, Any] | None, key: str, label: str
) -> Mapping[str, Any] | None:
    if doc is None:
        return None
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _schema(fmt, f"{label} must be an object, got {_short(value)}")
    return value


def _url(fmt: str, doc: Mapping[str, Any] | None, key: str, label: str) -> tuple[str, str] | None:
    return _url_value(fmt, label, _opt_str(fmt, doc, key, label))


def _url_value(fmt: str, label: str, url: str | None) -> tuple[str, str] | None:
    """(host, normalized path) of an absolute URL; None when absent."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if not host:
        raise _schema(fmt, f"{label} is not an absolute URL: {_short(url)}")
    return host, parts.path or "/"


def _normalize_path(path: str) -> str:
    """A page path without query string or fragment; "" becomes "/"."""
    for sep in ("?", "#"):
        cut = path.find(sep)
        if cut >= 0:
            path = path[:cut]
    return path or "/"


def _iso_time(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 time (no offset: UTC); None when unreadable.

    Accepts ``2026-11-28T10:00:00.123Z``, ``...+01:00`` and Snowplow's
    ``2026-11-28 10:00:00.123``.
    """
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        ts = dt.timestamp()
    except (OverflowError, ValueError):  # pragma: no cover - platform limits
        return None
    return ts if 0.0 <= ts <= _MAX_TS else None


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _preview(data: bytes, limit: int = 32) -> str:
    more = "..." if len(data) > limit else ""
    return f"{data[:limit]!r}{more}"
