"""handlers.clickstream_formats: each format into the exact Click, validation naming fields.

The Segment and Snowplow samples are hand-written after the shapes in Segment's Spec
(common fields, Page, Track, Identify) and Snowplow's enriched event / analytics SDK
JSON, with our own values.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from handlers.clickstream_formats import SNOWPLOW_FIELDS, Click, parse_click
from streamkit.errors import DecodeError, PermanentError

T0 = datetime(2026, 11, 28, 10, 0, 0, 123000, tzinfo=UTC).timestamp()  # ...10:00:00.123Z


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def dumps(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc)


def rejects(data: bytes, reason: str = "schema") -> str:
    with pytest.raises(PermanentError) as info:
        parse_click(data)
    assert info.value.reason == reason, str(info.value)
    return str(info.value)


# --- streamkit.click/1 -----------------------------------------------------------------


def ours(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "streamkit.click/1",
        "event_id": "6f1c2a9e-3b1d-4c55-9a53-0f0e5d7c1a11",
        "type": "page",
        "user_id": "user-000042",
        "session_id": "s-81f3",
        "site": "shop.example.com",
        "page": "/products/42",
        "ts": "2026-11-28T10:00:00.123Z",
    }
    for key, value in changes.items():
        if value is ...:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def test_streamkit_page() -> None:
    assert parse_click(dumps(ours())) == Click(
        format="streamkit",
        event_id="6f1c2a9e-3b1d-4c55-9a53-0f0e5d7c1a11",
        kind="page",
        event="page_view",
        user_id="user-000042",
        session_id="s-81f3",
        site="shop.example.com",
        page="/products/42",
        ts=T0,
    )


def test_streamkit_track_and_identify() -> None:
    track = ours(type="track", event="Product Added", page=..., ts=1795860000123, extra=[1])
    assert parse_click(dumps(track)) == Click(
        "streamkit",
        "6f1c2a9e-3b1d-4c55-9a53-0f0e5d7c1a11",
        "track",
        "Product Added",
        "user-000042",
        "s-81f3",
        "shop.example.com",
        None,
        T0,
    )
    ident = ours(type="identify", page=..., session_id=None, ts=...)
    assert parse_click(dumps(ident)) == Click(
        "streamkit",
        "6f1c2a9e-3b1d-4c55-9a53-0f0e5d7c1a11",
        "identify",
        "identify",
        "user-000042",
        None,
        "shop.example.com",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("/cart", "/cart"),
        ("/search?q=boots", "/search"),
        ("/p/alpine-tent#reviews", "/p/alpine-tent"),
        ("/a?b=1#c", "/a"),
        ("", "/"),
        ("/", "/"),
    ],
)
def test_streamkit_page_normalization(page: str, expected: str) -> None:
    assert parse_click(dumps(ours(page=page))).page == expected


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2026-11-28T10:00:00.123Z", T0),
        ("2026-11-28T10:00:00.123+00:00", T0),
        ("2026-11-28T11:00:00.123+01:00", T0),
        ("2026-11-28T10:00:00.123", T0),  # no offset: UTC
        ("2026-11-28 10:00:00.123", T0),
        ("2026-11-28T10:00:00Z", at(2026, 11, 28, 10)),
        (1795860000123, T0),
        (1795860000123.0, T0),
        (None, None),
    ],
)
def test_streamkit_timestamp_variants(ts: object, expected: float | None) -> None:
    got = parse_click(dumps(ours(ts=ts))).ts
    assert got == pytest.approx(expected) if expected is not None else got is None


def test_streamkit_ts_errors_name_the_field() -> None:
    msg = rejects(dumps(ours(ts="yesterday")))
    assert msg == (
        "streamkit.click/1: ts is not an ISO 8601 time or epoch milliseconds: 'yesterday'"
    )
    assert "looks like epoch seconds" in rejects(dumps(ours(ts=1795860000)))
    bad_values: tuple[object, ...] = (True, -5, 10**18, [], {"at": 1}, "2026-13-01T00:00:00Z")
    for bad in (*bad_values, "1795860000123"):
        assert "ts is not an ISO 8601 time" in rejects(dumps(ours(ts=bad)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"event_id": ...}, "streamkit.click/1: event_id is required"),
        ({"event_id": ""}, "streamkit.click/1: event_id must be a non-empty string, got ''"),
        ({"type": ...}, "streamkit.click/1: type is required"),
        (
            {"type": "click"},
            "streamkit.click/1: type must be one of page, track, identify, got 'click'",
        ),
        ({"user_id": ...}, "streamkit.click/1: user_id is required"),
        ({"user_id": 42}, "streamkit.click/1: user_id must be a non-empty string, got 42"),
        ({"site": ...}, "streamkit.click/1: site is required"),
        ({"page": ...}, "streamkit.click/1: page is required for a page event"),
        (
            {"page": "products/42"},
            "streamkit.click/1: page must be a path starting with '/', got 'products/42'",
        ),
        ({"session_id": 7}, "streamkit.click/1: session_id must be a string, got 7"),
        ({"type": "track"}, "streamkit.click/1: event is required for a track event"),
    ],
)
def test_streamkit_validation_names_the_field(changes: dict[str, Any], message: str) -> None:
    assert rejects(dumps(ours(**changes))) == message


def test_streamkit_other_schema_version_is_unknown_format() -> None:
    msg = rejects(dumps(ours(schema="streamkit.click/2")), "unknown_format")
    assert "schema 'streamkit.click/2'" in msg


# --- Segment ---------------------------------------------------------------------------

SEG_PAGE: dict[str, Any] = {
    "anonymousId": "3a12eab0-bca7-11e4-8dfc-aa07a5b093db",
    "context": {
        "ip": "203.0.113.9",
        "library": {"name": "analytics.js", "version": "next-1.74.0"},
        "locale": "en-US",
        "page": {
            "path": "/pricing",
            "referrer": "https://www.google.com/",
            "search": "?plan=team",
            "title": "Pricing | Initrode",
            "url": "https://www.initrode.example/pricing?plan=team",
        },
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) Safari/605.1.15",
    },
    "integrations": {},
    "messageId": "ajs-next-5c3b0b3cbd7a4d6fa1d3e0e1c2d8f9aa",
    "name": "Pricing",
    "originalTimestamp": "2026-11-28T09:59:58.000Z",
    "properties": {
        "path": "/pricing",
        "referrer": "https://www.google.com/",
        "search": "?plan=team",
        "title": "Pricing | Initrode",
        "url": "https://www.initrode.example/pricing?plan=team",
    },
    "receivedAt": "2026-11-28T10:00:01.456Z",
    "sentAt": "2026-11-28T10:00:00.900Z",
    "timestamp": "2026-11-28T10:00:00.123Z",
    "type": "page",
    "userId": "u-97980cfea0067",
    "version": 2,
}

SEG_TRACK: dict[str, Any] = {
    "type": "track",
    "event": "Order Completed",
    "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "anonymousId": "3a12eab0-bca7-11e4-8dfc-aa07a5b093db",
    "properties": {"order_id": "50314b8e", "total": 27.5, "currency": "USD"},
    "context": {
        "page": {"url": "https://www.initrode.example/checkout/done#thanks"},
        "sessionId": 1795859000,
    },
    "timestamp": "2026-11-28T10:00:00.123Z",
}

SEG_IDENTIFY: dict[str, Any] = {
    "type": "identify",
    "messageId": "identify-7d2e",
    "userId": 97980,
    "traits": {"email": "peter@initrode.example", "plan": "team", "logins": 5},
    "originalTimestamp": "2026-11-28T10:00:00.123Z",
    "sentAt": "2026-11-28T10:00:09.000Z",
}


def seg(base: dict[str, Any], **changes: Any) -> bytes:
    doc = orjson.loads(orjson.dumps(base))
    for key, value in changes.items():
        if value is ...:
            doc.pop(key, None)
        else:
            doc[key] = value
    return dumps(doc)


def test_segment_page() -> None:
    assert parse_click(seg(SEG_PAGE)) == Click(
        "segment",
        "ajs-next-5c3b0b3cbd7a4d6fa1d3e0e1c2d8f9aa",
        "page",
        "page_view",
        "u-97980cfea0067",
        None,
        "www.initrode.example",
        "/pricing",
        T0,
    )


def test_segment_track_takes_page_from_context_and_anonymous_id() -> None:
    assert parse_click(seg(SEG_TRACK)) == Click(
        "segment",
        "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
        "track",
        "Order Completed",
        "3a12eab0-bca7-11e4-8dfc-aa07a5b093db",
        "1795859000",
        "www.initrode.example",
        "/checkout/done",
        T0,
    )


def test_segment_identify_numeric_user_id_and_original_timestamp() -> None:
    assert parse_click(seg(SEG_IDENTIFY)) == Click(
        "segment", "identify-7d2e", "identify", "identify", "97980", None, None, None, T0
    )


@pytest.mark.parametrize(
    ("properties", "context_page", "site", "page"),
    [
        ({"url": "https://Shop.Example.com:8443/a/b?x=1#y"}, None, "shop.example.com", "/a/b"),
        ({"url": "https://shop.example.com"}, None, "shop.example.com", "/"),
        ({"path": "/deals?utm_source=x"}, None, None, "/deals"),
        ({}, {"path": "/from-context#top"}, None, "/from-context"),
        ({}, {"url": "http://blog.example.com/posts/1"}, "blog.example.com", "/posts/1"),
        ({"path": ""}, {"path": "/ctx"}, None, "/ctx"),
        ({"path": "/p"}, {"url": "https://ctx.example.com/other"}, "ctx.example.com", "/p"),
    ],
)
def test_segment_page_sources_and_normalization(
    properties: dict[str, Any], context_page: dict[str, Any] | None, site: str, page: str
) -> None:
    context = {} if context_page is None else {"page": context_page}
    click = parse_click(seg(SEG_PAGE, properties=properties, context=context))
    assert (click.site, click.page) == (site, page)


def test_segment_timestamp_fallbacks() -> None:
    # timestamp wins; then originalTimestamp; sentAt/receivedAt are never event times
    assert parse_click(seg(SEG_PAGE)).ts == T0
    assert parse_click(seg(SEG_PAGE, timestamp=...)).ts == at(2026, 11, 28, 9, 59, 58)
    no_time = seg(SEG_PAGE, timestamp=..., originalTimestamp=...)
    assert parse_click(no_time).ts is None


@pytest.mark.parametrize(
    ("base", "changes", "message"),
    [
        (
            SEG_PAGE,
            {"properties": {"title": "x"}, "context": {}},
            "segment: properties.path or context.page.path is required for a page call",
        ),
        (SEG_PAGE, {"messageId": ...}, "segment: messageId is required"),
        (
            SEG_PAGE,
            {"userId": ..., "anonymousId": ...},
            "segment: userId or anonymousId is required",
        ),
        (
            SEG_PAGE,
            {"userId": None, "anonymousId": ""},
            "segment: userId or anonymousId is required",
        ),
        (SEG_TRACK, {"event": ...}, "segment: event is required for a track call"),
        (
            SEG_PAGE,
            {"type": "screen"},
            "segment: type 'screen' is not a clickstream call (page, track, identify)",
        ),
        (
            SEG_PAGE,
            {"timestamp": "Sat Nov 28 2026"},
            "segment: timestamp is not an ISO 8601 time: 'Sat Nov 28 2026'",
        ),
        (
            SEG_IDENTIFY,
            {"originalTimestamp": 1795860000},
            "segment: originalTimestamp is not an ISO 8601 time: 1795860000",
        ),
        (SEG_PAGE, {"properties": ["x"]}, "segment: properties must be an object, got ['x']"),
        (
            SEG_PAGE,
            {"properties": {"url": "/pricing"}, "context": {}},
            "segment: properties.url is not an absolute URL: '/pricing'",
        ),
        (
            SEG_TRACK,
            {"context": {"page": "home"}},
            "segment: context.page must be an object, got 'home'",
        ),
        (SEG_PAGE, {"messageId": 12}, "segment: messageId must be a non-empty string, got 12"),
    ],
)
def test_segment_validation_names_the_field(
    base: dict[str, Any], changes: dict[str, Any], message: str
) -> None:
    assert rejects(seg(base, **changes)) == message


# --- Snowplow --------------------------------------------------------------------------

SP_PAGE_VIEW: dict[str, str] = {
    "app_id": "initrode-web",
    "platform": "web",
    "etl_tstamp": "2026-11-28 10:00:02.001",
    "collector_tstamp": "2026-11-28 10:00:01.250",
    "dvce_created_tstamp": "2026-11-28 10:00:00.900",
    "event": "page_view",
    "event_id": "c6ef3124-b53a-4b13-a233-0088f79dcbcb",
    "name_tracker": "sp",
    "v_tracker": "js-3.24.2",
    "v_collector": "ssc-3.2.0-kinesis",
    "v_etl": "snowplow-enrich-kinesis-4.2.0",
    "user_ipaddress": "198.51.100.23",
    "domain_userid": "bc2e92ec-6c20-4b5e-9c1f-3b2a1d0e9f88",
    "domain_sessionidx": "3",
    "network_userid": "ecdff4d0-9175-40ac-a8bb-325c49733607",
    "geo_country": "DE",
    "page_url": "https://www.initrode.example/blog/streams?utm_source=feed#part-2",
    "page_title": "Streams | Initrode",
    "page_urlscheme": "https",
    "page_urlhost": "www.initrode.example",
    "page_urlport": "443",
    "page_urlpath": "/blog/streams",
    "page_urlquery": "utm_source=feed",
    "page_urlfragment": "part-2",
    "useragent": "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "br_cookies": "1",
    "domain_sessionid": "2b15e5c8-d3b1-11e4-b9d6-1681e6b88ec1",
    "derived_tstamp": "2026-11-28 10:00:00.123",
    "event_vendor": "com.snowplowanalytics.snowplow",
    "event_name": "page_view",
    "event_format": "jsonschema",
    "event_version": "1-0-0",
}


def tsv(fields: dict[str, str], **changes: str) -> bytes:
    merged = {**fields, **changes}
    assert set(merged) <= set(SNOWPLOW_FIELDS)
    return "\t".join(merged.get(name, "") for name in SNOWPLOW_FIELDS).encode()


def sp_json(fields: dict[str, str], **changes: Any) -> bytes:
    """The analytics SDK's JSON shape: non-empty fields, ISO timestamps, typed numbers."""
    doc: dict[str, Any] = {}
    for name, value in {**fields, **changes}.items():
        if value is ... or value == "":
            continue
        if name.endswith("_tstamp") and isinstance(value, str) and " " in value:
            value = value.replace(" ", "T") + "Z"
        elif name in ("domain_sessionidx", "page_urlport"):
            value = int(value)
        elif name == "br_cookies":
            value = value == "1"
        doc[name] = value
    doc["contexts_com_snowplowanalytics_snowplow_web_page_1"] = [{"id": "5c8b7e6d"}]
    doc["geo_location"] = "52.52,13.40"
    return dumps(doc)


PAGE_VIEW_CLICK = Click(
    "snowplow-tsv",
    "c6ef3124-b53a-4b13-a233-0088f79dcbcb",
    "page_view",
    "page_view",
    "bc2e92ec-6c20-4b5e-9c1f-3b2a1d0e9f88",
    "2b15e5c8-d3b1-11e4-b9d6-1681e6b88ec1",
    "www.initrode.example",
    "/blog/streams",
    T0,
)


def test_snowplow_field_list_is_the_131_field_enriched_event() -> None:
    assert len(SNOWPLOW_FIELDS) == 131 == len(set(SNOWPLOW_FIELDS))
    assert SNOWPLOW_FIELDS[:7] == (
        "app_id",
        "platform",
        "etl_tstamp",
        "collector_tstamp",
        "dvce_created_tstamp",
        "event",
        "event_id",
    )
    assert SNOWPLOW_FIELDS.index("page_urlpath") == 35
    assert SNOWPLOW_FIELDS.index("se_action") == 54
    assert SNOWPLOW_FIELDS[-9:-6] == ("derived_contexts", "domain_sessionid", "derived_tstamp")
    assert SNOWPLOW_FIELDS[-1] == "true_tstamp"


def test_snowplow_tsv_page_view() -> None:
    assert parse_click(tsv(SP_PAGE_VIEW)) == PAGE_VIEW_CLICK
    assert parse_click(tsv(SP_PAGE_VIEW) + b"\n") == PAGE_VIEW_CLICK
    assert parse_click(tsv(SP_PAGE_VIEW) + b"\r\n") == PAGE_VIEW_CLICK
    logged_in = parse_click(tsv(SP_PAGE_VIEW, user_id="peter@initrode.example"))
    assert logged_in.user_id == "peter@initrode.example"


def test_snowplow_tsv_struct_and_unstruct() -> None:
    struct = tsv(
        SP_PAGE_VIEW,
        event="struct",
        event_name="event",
        se_category="ecommerce",
        se_action="add-to-basket",
        se_label="sku-1234",
    )
    assert parse_click(struct) == Click(
        "snowplow-tsv",
        "c6ef3124-b53a-4b13-a233-0088f79dcbcb",
        "struct",
        "add-to-basket",
        "bc2e92ec-6c20-4b5e-9c1f-3b2a1d0e9f88",
        "2b15e5c8-d3b1-11e4-b9d6-1681e6b88ec1",
        "www.initrode.example",
        "/blog/streams",
        T0,
    )
    unstruct = tsv(
        SP_PAGE_VIEW,
        event="unstruct",
        event_name="link_click",
        unstruct_event=orjson.dumps(
            {
                "schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
                "data": {
                    "schema": "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1",
                    "data": {"targetUrl": "https://github.com/"},
                },
            }
        ).decode(),
    )
    click = parse_click(unstruct)
    assert (click.kind, click.event) == ("unstruct", "link_click")
    ping = parse_click(tsv(SP_PAGE_VIEW, event="page_ping", event_name="page_ping"))
    assert (ping.kind, ping.event, ping.page) == ("page_ping", "page_ping", "/blog/streams")


def test_snowplow_page_from_page_url_when_components_are_missing() -> None:
    click = parse_click(tsv(SP_PAGE_VIEW, page_urlpath="", page_urlhost=""))
    assert (click.site, click.page) == ("www.initrode.example", "/blog/streams")
    root = parse_click(
        tsv(SP_PAGE_VIEW, page_urlpath="", page_urlhost="", page_url="https://x.example")
    )
    assert (root.site, root.page) == ("x.example", "/")


def test_snowplow_timestamp_fallbacks() -> None:
    # derived_tstamp, else dvce_created_tstamp, else collector_tstamp; none: arrival time
    assert parse_click(tsv(SP_PAGE_VIEW)).ts == pytest.approx(T0)
    no_derived = tsv(SP_PAGE_VIEW, derived_tstamp="")
    assert parse_click(no_derived).ts == pytest.approx(at(2026, 11, 28, 10, 0, 0) + 0.9)
    only_collector = tsv(SP_PAGE_VIEW, derived_tstamp="", dvce_created_tstamp="")
    assert parse_click(only_collector).ts == pytest.approx(at(2026, 11, 28, 10, 0, 1) + 0.25)
    none = tsv(SP_PAGE_VIEW, derived_tstamp="", dvce_created_tstamp="", collector_tstamp="")
    assert parse_click(none).ts is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"event_id": ""}, "snowplow-tsv: event_id is required"),
        ({"event": ""}, "snowplow-tsv: event is required (the event type, e.g. page_view)"),
        (
            {"page_urlpath": "", "page_url": ""},
            "snowplow-tsv: page_urlpath or page_url is required for a page_view event",
        ),
        ({"event": "struct"}, "snowplow-tsv: se_action is required for a struct event"),
        (
            {"event": "unstruct", "event_name": ""},
            "snowplow-tsv: event_name is required for an unstruct event",
        ),
        (
            {"derived_tstamp": "2026-13-45 25:61:00"},
            "snowplow-tsv: derived_tstamp is not a timestamp: '2026-13-45 25:61:00'",
        ),
        (
            {"derived_tstamp": "", "dvce_created_tstamp": "yesterday"},
            "snowplow-tsv: dvce_created_tstamp is not a timestamp: 'yesterday'",
        ),
        (
            {"page_url": "www.initrode.example/x", "page_urlpath": ""},
            "snowplow-tsv: page_url is not an absolute URL: 'www.initrode.example/x'",
        ),
    ],
)
def test_snowplow_tsv_validation_names_the_field(changes: dict[str, str], message: str) -> None:
    assert rejects(tsv(SP_PAGE_VIEW, **changes)) == message


def test_snowplow_tsv_field_count() -> None:
    line = "\t".join(["initrode-web", "web", *[""] * 10]).encode()
    assert rejects(line) == "snowplow-tsv: expected 131 tab-separated fields, got 12"
    too_many = tsv(SP_PAGE_VIEW) + b"\textra"
    assert rejects(too_many) == "snowplow-tsv: expected 131 tab-separated fields, got 132"


def test_snowplow_tsv_not_utf8() -> None:
    with pytest.raises(DecodeError) as info:
        parse_click(tsv(SP_PAGE_VIEW).replace(b"Streams", b"Str\xffams"))
    assert info.value.reason == "not_utf8"


def test_snowplow_json_page_view() -> None:
    click = parse_click(sp_json(SP_PAGE_VIEW))
    assert click == Click(
        "snowplow-json",
        "c6ef3124-b53a-4b13-a233-0088f79dcbcb",
        "page_view",
        "page_view",
        "bc2e92ec-6c20-4b5e-9c1f-3b2a1d0e9f88",
        "2b15e5c8-d3b1-11e4-b9d6-1681e6b88ec1",
        "www.initrode.example",
        "/blog/streams",
        T0,
    )
    no_derived = parse_click(sp_json(SP_PAGE_VIEW, derived_tstamp=...))
    assert no_derived.ts == pytest.approx(at(2026, 11, 28, 10, 0, 0) + 0.9)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"event": ...}, "snowplow-json: event is required (the event type, e.g. page_view)"),
        ({"event_id": 7}, "snowplow-json: event_id must be a string, got 7"),
        ({"page_urlpath": ["/"]}, "snowplow-json: page_urlpath must be a string, got ['/']"),
        (
            {"derived_tstamp": "not-a-time"},
            "snowplow-json: derived_tstamp is not a timestamp: 'not-a-time'",
        ),
    ],
)
def test_snowplow_json_validation_names_the_field(changes: dict[str, Any], message: str) -> None:
    assert rejects(sp_json(SP_PAGE_VIEW, **changes)) == message


# --- detection -------------------------------------------------------------------------


def test_detection_is_per_record() -> None:
    records = [
        tsv(SP_PAGE_VIEW),
        dumps(ours()),
        seg(SEG_TRACK),
        sp_json(SP_PAGE_VIEW),
        seg(SEG_PAGE),
        dumps(ours(type="identify", page=...)),
    ]
    assert [parse_click(r).format for r in records] == [
        "snowplow-tsv",
        "streamkit",
        "segment",
        "snowplow-json",
        "segment",
        "streamkit",
    ]


def test_detection_order_on_ambiguous_objects() -> None:
    # our schema wins over everything; Snowplow's pair of keys wins over Segment's
    both = {**orjson.loads(seg(SEG_PAGE)), **ours()}
    assert parse_click(dumps(both)).format == "streamkit"
    sp_and_seg = {**orjson.loads(sp_json(SP_PAGE_VIEW)), "type": "page", "userId": "u1"}
    assert parse_click(dumps(sp_and_seg)).format == "snowplow-json"
    # a Snowplow self-describing JSON is not our schema
    iglu = {"schema": "iglu:com.acme/click/jsonschema/1-0-0", "data": {"page": "/"}}
    assert "matches no click format" in rejects(dumps(iglu), "unknown_format")


def test_whitespace_and_compression_are_accepted() -> None:
    assert parse_click(b"  \n" + dumps(ours())).format == "streamkit"
    assert parse_click(gzip.compress(seg(SEG_PAGE))).format == "segment"
    assert parse_click(gzip.compress(tsv(SP_PAGE_VIEW))) == PAGE_VIEW_CLICK


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"<event><page>/</page></event>",
        b'203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 512',
        b"u1,shop.example.com,/cart,2026-11-28T10:00:00Z",
        b'"a JSON string"',
        b"42",
        b'[{"type": "page"}]',
        b'{"device": "thermostat-7", "temperature": 21.5}',
        b"{}",
    ],
)
def test_unknown_formats(data: bytes) -> None:
    rejects(data, "unknown_format")


@pytest.mark.parametrize(
    "data", [b"{bad", b'{"schema": "streamkit.click/1"', b"[1, 2", b"{'a': 1}"]
)
def test_bad_json(data: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        parse_click(data)
    assert info.value.reason == "bad_json"


def test_every_error_is_permanent_and_names_its_format_or_cause() -> None:
    cases = [
        dumps(ours(site=...)),
        seg(SEG_PAGE, messageId=...),
        tsv(SP_PAGE_VIEW, event_id=""),
        sp_json(SP_PAGE_VIEW, event=...),
    ]
    prefixes = ["streamkit.click/1: site", "segment: messageId", "snowplow-tsv: event_id"]
    prefixes.append("snowplow-json: event")
    for data, prefix in zip(cases, prefixes, strict=True):
        assert rejects(data).startswith(prefix)
