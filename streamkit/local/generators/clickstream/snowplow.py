"""Writes an event as a Snowplow enriched event: the TSV line or the analytics SDKs' JSON."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, Final

import orjson

from streamkit.local.generators.clickstream.timestamps import snowplow_time
from streamkit.local.generators.clickstream.world import Event, uuid4

# The Snowplow enriched TSV column order, written out independently of the parser's
# copy (a test checks they agree).
_SNOWPLOW_FIELD_NAMES: Final = """
    app_id platform etl_tstamp collector_tstamp dvce_created_tstamp event event_id txn_id
    name_tracker v_tracker v_collector v_etl user_id user_ipaddress user_fingerprint
    domain_userid domain_sessionidx network_userid geo_country geo_region geo_city
    geo_zipcode geo_latitude geo_longitude geo_region_name ip_isp ip_organization ip_domain
    ip_netspeed page_url page_title page_referrer page_urlscheme page_urlhost page_urlport
    page_urlpath page_urlquery page_urlfragment refr_urlscheme refr_urlhost refr_urlport
    refr_urlpath refr_urlquery refr_urlfragment refr_medium refr_source refr_term mkt_medium
    mkt_source mkt_term mkt_content mkt_campaign contexts se_category se_action se_label
    se_property se_value unstruct_event tr_orderid tr_affiliation tr_total tr_tax
    tr_shipping tr_city tr_state tr_country ti_orderid ti_sku ti_name ti_category ti_price
    ti_quantity pp_xoffset_min pp_xoffset_max pp_yoffset_min pp_yoffset_max useragent
    br_name br_family br_version br_type br_renderengine br_lang br_features_pdf
    br_features_flash br_features_java br_features_director br_features_quicktime
    br_features_realplayer br_features_windowsmedia br_features_gears
    br_features_silverlight br_cookies br_colordepth br_viewwidth br_viewheight os_name
    os_family os_manufacturer os_timezone dvce_type dvce_ismobile dvce_screenwidth
    dvce_screenheight doc_charset doc_width doc_height tr_currency tr_total_base
    tr_tax_base tr_shipping_base ti_currency ti_price_base base_currency geo_timezone
    mkt_clickid mkt_network etl_tags dvce_sent_tstamp refr_domain_userid refr_device_tstamp
    derived_contexts domain_sessionid derived_tstamp event_vendor event_name event_format
    event_version event_fingerprint true_tstamp
"""
SNOWPLOW_FIELDS: Final = tuple(_SNOWPLOW_FIELD_NAMES.split())


def snowplow_fields(event: Event, rng: random.Random) -> dict[str, str]:
    """The enriched event's non-empty fields by name (timestamps in Snowplow's format)."""
    s = event.session
    arrival_ms = int(event.arrival * 1000)
    page_url = event.url
    query = page_url.partition("#")[0].partition("?")[2]
    fragment = page_url.partition("#")[2]
    # device created <= device sent <= collector <= enrich <= arrival on the stream
    collector_ms = max(event.ts_ms, arrival_ms - 400)
    f: dict[str, str] = {
        "app_id": s.site.app_id,
        "platform": "web",
        "etl_tstamp": snowplow_time(max(collector_ms, arrival_ms - 150)),
        "collector_tstamp": snowplow_time(collector_ms),
        "dvce_created_tstamp": snowplow_time(event.ts_ms),
        "event_id": uuid4(rng),
        "name_tracker": "sp",
        "v_tracker": "js-3.24.2",
        "v_collector": "ssc-3.2.0-kinesis",
        "v_etl": "snowplow-enrich-kinesis-4.2.0",
        "user_ipaddress": s.user.ip,
        "domain_userid": s.user.anonymous_id,
        "domain_sessionidx": str(s.index),
        "network_userid": s.user.network_userid,
        "geo_country": s.user.country,
        "page_url": page_url,
        "page_title": event.page.title,
        "page_urlscheme": "https",
        "page_urlhost": s.site.host,
        "page_urlport": "443",
        "page_urlpath": event.page.path,
        "page_urlquery": query,
        "page_urlfragment": fragment,
        "useragent": s.user.user_agent,
        "br_lang": "en-US",
        "dvce_sent_tstamp": snowplow_time(max(event.ts_ms, collector_ms - 80)),
        "domain_sessionid": s.session_id,
        "event_vendor": "com.snowplowanalytics.snowplow",
    }
    if s.logged_in and s.user.user_id is not None:
        f["user_id"] = s.user.user_id
    if rng.random() >= 0.05:  # sometimes only the device time is there
        f["derived_tstamp"] = snowplow_time(event.ts_ms)
    if event.kind == "page":
        f["event"] = "page_view"
        f["event_name"] = "page_view"
        if event.referrer:
            f["page_referrer"] = event.referrer
    elif event.name == "Link Clicked":
        target = f"https://{rng.choice(('github.com', 'docs.python.org', 'aws.amazon.com'))}/"
        f["event"] = "unstruct"
        f["event_name"] = "link_click"
        f["unstruct_event"] = orjson.dumps(
            {
                "schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
                "data": {
                    "schema": "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1",
                    "data": {"targetUrl": target},
                },
            }
        ).decode()
    else:
        f["event"] = "struct"
        f["event_name"] = "event"
        f["se_category"] = s.site.kind
        f["se_action"] = event.name.lower().replace(" ", "_")
        label = event.properties.get("product_id") or event.properties.get("query")
        if label:
            f["se_label"] = str(label)
    return f


_SNOWPLOW_INTS: Final = ("domain_sessionidx", "page_urlport")


def snowplow_json(f: Mapping[str, str]) -> dict[str, Any]:
    """The analytics SDKs' JSON shape: non-empty fields, typed, ISO timestamps."""
    doc: dict[str, Any] = {}
    for name in SNOWPLOW_FIELDS:
        value = f.get(name, "")
        if not value:
            continue
        if name.endswith("_tstamp"):
            doc[name] = value.replace(" ", "T") + "Z"
        elif name in _SNOWPLOW_INTS:
            doc[name] = int(value)
        elif name == "unstruct_event":
            inner = orjson.loads(value)["data"]
            doc["unstruct_event_com_snowplowanalytics_snowplow_link_click_1"] = inner["data"]
        else:
            doc[name] = value
    return doc


def tsv_line(f: Mapping[str, str]) -> bytes:
    """The enriched TSV line of the fields ``f`` (absent fields empty)."""
    return "\t".join(f.get(name, "") for name in SNOWPLOW_FIELDS).encode()
