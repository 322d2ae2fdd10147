"""Realistic clickstream traffic: users in sessions, skewed pages, mixed formats, bad records.

:func:`clickstream` yields :class:`~streamkit.local.generators.records.GeneratedRecord` objects
in arrival order, deterministic for a seed. Local tooling, never on a Lambda path.

The model:

- **Arrivals** form a Poisson process at ``rate`` records per second over ``duration``
  seconds from ``start``.
- **Users** (``users`` of them) each have an anonymous id (a first-party cookie); 40%
  are registered and log in during 60% of their sessions, from then on sending their
  user id. The partition key is the id the record's user resolves to (the user id once
  logged in, else the anonymous id), so it equals ``parse_click(data).user_id``.
- **Sessions**: each arrival goes to the active session whose next event is due, or
  starts a new session for an idle user. A session lands on a site, views 5-15 pages
  with a think time of about 15 s (log-normal) between events, then ends. Track events
  (about 12% of events) and an identify call at login are sprinkled in.
- **Pages** per site follow a Zipf law (exponent 1.1, the home page most popular): the
  top 10% of pages get about three quarters of the views.
- **Formats** are chosen per session (a session comes from one tracker) with the
  ``formats`` weights, by default 50% ``streamkit``, 30% ``segment``, 15%
  ``snowplow-tsv``, 5% ``snowplow-json``.
- **Sizes**: about 500 bytes (``streamkit``), 800 (Segment, Snowplow TSV) and 1.2 KB
  (Snowplow JSON) per record, user agents and URLs included.
- **Event time** is the arrival minus a client delay of 0-3 s, at millisecond
  precision. A few records carry no event time at all (the consumer then uses the
  arrival time), and some carry only a fallback timestamp (Segment
  ``originalTimestamp``, Snowplow ``dvce_created_tstamp``).
- A ``late`` fraction of records have an event time 10-30 minutes before arrival
  (a device that was offline) and are valid otherwise: kind ``"late"``.
- A ``malformed`` fraction are broken on purpose, each in a way
  :func:`handlers.clickstream_formats.parse_click` rejects: invalid JSON, a missing
  required field, an unreadable timestamp, a wrong type, a truncated Snowplow line, or
  a payload of no known format: kind ``"malformed"``.

Example::

    from streamkit.local.generators.clickstream import clickstream

    for rec in clickstream(seed=7, rate=50, duration=60, start=1_795_860_000):
        put_record(rec.partition_key, rec.data)
"""

from __future__ import annotations

import heapq
import math
import random
import uuid
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any, Final

import orjson

from streamkit.local.generators.records import GeneratedRecord

__all__ = ["DEFAULT_FORMATS", "FORMATS", "GeneratedRecord", "clickstream"]

#: The formats the generator writes (the names ``parse_click`` reports).
FORMATS: Final = ("streamkit", "segment", "snowplow-tsv", "snowplow-json")

#: The default mix of formats.
DEFAULT_FORMATS: Final[Mapping[str, float]] = {
    "streamkit": 0.50,
    "segment": 0.30,
    "snowplow-tsv": 0.15,
    "snowplow-json": 0.05,
}

#: Earliest accepted ``start``: event times must be plausible epoch times (2001 on).
MIN_START: Final = 1_000_000_000.0

_ZIPF_EXPONENT: Final = 1.1
_TRACK_SHARE: Final = 0.12
_REGISTERED_SHARE: Final = 0.4
_LOGIN_SHARE: Final = 0.6

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
_SNOWPLOW_FIELDS: Final = tuple(_SNOWPLOW_FIELD_NAMES.split())

_USER_AGENTS: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36",
)
_COUNTRIES: Final = ("US", "US", "US", "GB", "DE", "FR", "IN", "BR", "CA", "JP")
_EXTERNAL_REFERRERS: Final = (
    "",
    "",
    "https://www.google.com/",
    "https://www.google.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
    "https://t.co/",
    "https://www.reddit.com/",
)
_CAMPAIGNS: Final = (
    "utm_source=newsletter&utm_medium=email&utm_campaign=black-friday",
    "utm_source=google&utm_medium=cpc&utm_campaign=brand",
    "ref=producthunt",
)
_WORDS: Final = (
    "alpine",
    "amber",
    "bold",
    "cedar",
    "coastal",
    "daily",
    "electric",
    "field",
    "granite",
    "harbor",
    "indigo",
    "juniper",
    "lunar",
    "maple",
    "north",
    "orbit",
    "prairie",
    "quiet",
    "river",
    "summit",
)
_NOUNS: Final = (
    "backpack",
    "boots",
    "jacket",
    "lamp",
    "mug",
    "notebook",
    "scarf",
    "sneakers",
    "tent",
    "watch",
)
_TOPICS: Final = (
    "kinesis",
    "lambda",
    "python",
    "streaming",
    "exactly-once",
    "dynamodb",
    "observability",
    "testing",
    "performance",
    "design",
    "career",
    "databases",
    "networking",
    "security",
    "rust",
)
_TRACK_EVENTS: Final[Mapping[str, tuple[str, ...]]] = {
    "shop": (
        "Product Viewed",
        "Product Added",
        "Products Searched",
        "Checkout Started",
        "Order Completed",
    ),
    "blog": ("Article Shared", "Newsletter Subscribed", "Comment Posted", "Link Clicked"),
    "other": ("Button Clicked", "Form Submitted", "Link Clicked"),
}


@dataclass(frozen=True, slots=True)
class _Page:
    path: str
    title: str


@dataclass(slots=True)
class _Site:
    host: str
    kind: str  # "shop" | "blog" | "other"
    app_id: str
    pages: list[_Page]
    cum_weights: list[float]

    def pick(self, rng: random.Random) -> _Page:
        x = rng.random() * self.cum_weights[-1]
        return self.pages[min(bisect_right(self.cum_weights, x), len(self.pages) - 1)]


@dataclass(slots=True)
class _User:
    anonymous_id: str
    user_id: str | None  # None: never registered
    network_userid: str
    user_agent: str
    ip: str
    country: str
    sessions: int = 0
    active: bool = False


@dataclass(slots=True)
class _Session:
    user: _User
    session_id: str
    index: int
    site: _Site
    fmt: str
    pages_left: int
    logged_in: bool
    identify_pending: bool
    current: _Page | None = None
    current_url: str = ""
    referrer: str = ""


@dataclass(slots=True)
class _Event:
    """One valid event, before it is written in a format."""

    kind: str  # "page" | "track" | "identify"
    name: str  # the track event name ("" otherwise)
    session: _Session
    page: _Page
    url: str  # full page URL, possibly with a query string or fragment
    referrer: str
    ts_ms: int  # event time, epoch milliseconds
    arrival: float
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def partition_key(self) -> str:
        return _identity(self.session)


def clickstream(
    *,
    seed: int,
    rate: float,
    duration: float,
    start: float,
    users: int = 2000,
    sites: Sequence[str] = ("shop.example.com", "blog.example.com"),
    malformed: float = 0.01,
    late: float = 0.005,
    formats: Mapping[str, float] | None = None,
) -> Iterator[GeneratedRecord]:
    """Clickstream records in arrival order; the same arguments give the same records.

    ``rate``: mean records per second; ``duration``: seconds of traffic from ``start``
    (epoch seconds, at least :data:`MIN_START`); ``malformed`` / ``late``: fractions of
    records broken on purpose / with an event time 10-30 minutes before arrival;
    ``formats``: weights by format name (see :data:`FORMATS`), default
    :data:`DEFAULT_FORMATS`. Raises ValueError for arguments out of range.
    """
    mix = dict(DEFAULT_FORMATS if formats is None else formats)
    _check(rate, duration, start, users, sites, malformed, late, mix)
    return _generate(seed, rate, duration, start, users, tuple(sites), malformed, late, mix)


def _check(
    rate: float,
    duration: float,
    start: float,
    users: int,
    sites: Sequence[str],
    malformed: float,
    late: float,
    mix: Mapping[str, float],
) -> None:
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate must be a positive number of records per second, got {rate!r}")
    if not (duration >= 0 and math.isfinite(duration)):
        raise ValueError(f"duration must be >= 0 seconds, got {duration!r}")
    if not (MIN_START <= start <= 253_402_300_799.0 - duration):
        raise ValueError(f"start must be epoch seconds from {MIN_START:.0f} on, got {start!r}")
    if users < 1:
        raise ValueError(f"users must be >= 1, got {users!r}")
    if not sites or any(not s or "/" in s for s in sites):
        raise ValueError(f"sites must be non-empty host names, got {list(sites)!r}")
    if not (0 <= malformed <= 1 and 0 <= late <= 1 and malformed + late <= 1):
        raise ValueError(
            f"malformed and late must be fractions summing to at most 1, got {malformed}, {late}"
        )
    unknown = sorted(set(mix) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown formats {unknown}; known: {', '.join(FORMATS)}")
    if any(not (w >= 0 and math.isfinite(w)) for w in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"format weights must be >= 0 with a positive sum, got {mix!r}")


def _generate(
    seed: int,
    rate: float,
    duration: float,
    start: float,
    n_users: int,
    site_hosts: tuple[str, ...],
    malformed: float,
    late: float,
    mix: Mapping[str, float],
) -> Iterator[GeneratedRecord]:
    rng = random.Random(seed)
    sites = [_make_site(host, rng) for host in site_hosts]
    site_weights = [1.0 / (i + 1) for i in range(len(sites))]  # the first site is busiest
    people = [_make_user(i, rng) for i in range(n_users)]
    fmt_names = [name for name, w in mix.items() if w > 0]
    fmt_weights = [mix[name] for name in fmt_names]

    due: list[tuple[float, int, _Session]] = []  # (next event time, tie-break, session)
    counter = 0
    end = start + duration
    t = start
    while True:
        t += rng.expovariate(rate)
        if t > end:
            return
        if due and due[0][0] <= t:
            session = heapq.heappop(due)[2]
        else:
            user = _idle_user(people, rng)
            if user is not None:
                site = rng.choices(sites, site_weights)[0]
                fmt = rng.choices(fmt_names, fmt_weights)[0]
                session = _start_session(user, site, fmt, rng)
            elif due:
                session = heapq.heappop(due)[2]  # everyone is busy: the next one is early
            else:  # pragma: no cover - no idle user means some session is active
                raise AssertionError("no session to continue")

        event = _next_event(session, t, rng)
        if session.pages_left > 0 or session.identify_pending:
            think = min(max(rng.lognormvariate(2.4, 0.7), 1.0), 300.0)
            counter += 1
            heapq.heappush(due, (t + think, counter, session))
        else:
            session.user.active = False

        u = rng.random()
        if u < malformed:
            data = _malformed(event, rng)
            kind = "malformed"
        else:
            kind = "ok"
            if u < malformed + late:
                kind = "late"
                event.ts_ms = int((t - rng.uniform(600.0, 1800.0)) * 1000)
            data = _render(event, rng, allow_no_time=kind == "ok")
        yield GeneratedRecord(event.partition_key, data, t, kind)


# --- world -----------------------------------------------------------------------------


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _make_user(i: int, rng: random.Random) -> _User:
    registered = rng.random() < _REGISTERED_SHARE
    return _User(
        anonymous_id=_uuid(rng),
        user_id=f"user-{i:06d}" if registered else None,
        network_userid=_uuid(rng),
        user_agent=rng.choice(_USER_AGENTS),
        ip=".".join(
            str(rng.randint(lo, hi)) for lo, hi in ((11, 223), (0, 255), (0, 255), (1, 254))
        ),
        country=rng.choice(_COUNTRIES),
    )


def _make_site(host: str, rng: random.Random) -> _Site:
    label = host.split(".")[0]
    if label in ("shop", "store"):
        kind = "shop"
        pages = [
            _Page("/", "Example Shop"),
            *(_Page(p, f"{p[1:].title()} | Example Shop") for p in _SHOP_FIXED),
            *(_Page(f"/c/{n}", f"{n.title()} | Example Shop") for n in _NOUNS),
            *(
                _Page(f"/p/{w}-{n}-{i}", f"{w.title()} {n.title()} | Example Shop")
                for i, (w, n) in enumerate((w, n) for w in _WORDS for n in _NOUNS)
            ),
        ]
    elif label == "blog":
        kind = "blog"
        pages = [
            _Page("/", "The Example Blog"),
            *(_Page(p, f"{p[1:].title()} | The Example Blog") for p in _BLOG_FIXED),
            *(_Page(f"/tags/{t}", f"#{t} | The Example Blog") for t in _TOPICS),
            *(
                _Page(f"/posts/{2020 + i % 7}/{w}-{t}", f"{w.title()} {t} | The Example Blog")
                for i, (w, t) in enumerate((w, t) for w in _WORDS for t in _TOPICS[:8])
            ),
        ]
    else:
        kind = "other"
        pages = [_Page("/", host), *(_Page(f"/pages/{i}", f"Page {i} | {host}") for i in range(99))]
    rest = pages[1:]
    rng.shuffle(rest)  # which page is popular differs per seed; the home page leads
    pages = [pages[0], *rest]
    weights = [1.0 / (r + 1) ** _ZIPF_EXPONENT for r in range(len(pages))]
    return _Site(host, kind, label or "web", pages, list(accumulate(weights)))


_SHOP_FIXED: Final = ("/cart", "/checkout", "/search", "/account", "/login", "/help")
_BLOG_FIXED: Final = ("/about", "/archive", "/newsletter", "/search")


def _idle_user(people: list[_User], rng: random.Random) -> _User | None:
    for _ in range(8):
        user = people[rng.randrange(len(people))]
        if not user.active:
            return user
    return None


def _identity(session: _Session) -> str:
    user = session.user
    if session.logged_in and user.user_id is not None:
        return user.user_id
    return user.anonymous_id


def _start_session(user: _User, site: _Site, fmt: str, rng: random.Random) -> _Session:
    user.active = True
    user.sessions += 1
    login = user.user_id is not None and rng.random() < _LOGIN_SHARE
    return _Session(
        user=user,
        session_id=_uuid(rng),
        index=user.sessions,
        site=site,
        fmt=fmt,
        pages_left=rng.randint(5, 15),
        logged_in=False,
        # Snowplow has no identify call: a login just sets user_id from then on.
        identify_pending=login,
        referrer=rng.choice(_EXTERNAL_REFERRERS),
    )


def _next_event(session: _Session, t: float, rng: random.Random) -> _Event:
    ts_ms = int((t - rng.uniform(0.0, 3.0)) * 1000)
    site = session.site
    if session.current is not None and session.identify_pending and rng.random() < 0.5:
        session.identify_pending = False
        session.logged_in = True
        if not session.fmt.startswith("snowplow"):
            return _Event(
                "identify", "", session, session.current, session.current_url, "", ts_ms, t
            )
    if session.current is not None and rng.random() < _TRACK_SHARE:
        name = rng.choice(_TRACK_EVENTS[site.kind])
        props = _track_properties(name, session.current, rng)
        return _Event(
            "track", name, session, session.current, session.current_url, "", ts_ms, t, props
        )
    page = site.pick(rng)
    url = f"https://{site.host}{page.path}"
    x = rng.random()
    if session.current is None and x < 0.3:
        url += "?" + rng.choice(_CAMPAIGNS)
    elif page.path == "/search":
        url += f"?q={rng.choice(_NOUNS)}"
    elif x < 0.05:
        url += "#reviews" if site.kind == "shop" else "#comments"
    referrer = session.current_url if session.current is not None else session.referrer
    session.current, session.current_url = page, url
    session.pages_left -= 1
    if session.pages_left == 0 and session.identify_pending:
        session.identify_pending = False  # left before logging in
    return _Event("page", "", session, page, url, referrer, ts_ms, t)


def _track_properties(name: str, page: _Page, rng: random.Random) -> dict[str, Any]:
    if name.startswith(("Product", "Checkout", "Order")):
        return {
            "product_id": f"sku-{rng.randint(1000, 9999)}",
            "price": round(rng.uniform(5, 250), 2),
            "currency": "USD",
            "quantity": rng.randint(1, 3),
        }
    if name == "Products Searched":
        return {"query": rng.choice(_NOUNS)}
    return {"label": page.title[:40], "position": rng.randint(1, 12)}


# --- formats ---------------------------------------------------------------------------


def _iso(ms: int) -> str:
    secs, frac = divmod(ms, 1000)
    return f"{datetime.fromtimestamp(secs, UTC):%Y-%m-%dT%H:%M:%S}.{frac:03d}Z"


def _sp_time(ms: int) -> str:
    secs, frac = divmod(ms, 1000)
    return f"{datetime.fromtimestamp(secs, UTC):%Y-%m-%d %H:%M:%S}.{frac:03d}"


def _render(event: _Event, rng: random.Random, *, allow_no_time: bool) -> bytes:
    fmt = event.session.fmt
    if fmt == "streamkit":
        return orjson.dumps(_streamkit_doc(event, rng, allow_no_time))
    if fmt == "segment":
        return orjson.dumps(_segment_doc(event, rng, allow_no_time))
    fields = _snowplow_fields(event, rng)
    if fmt == "snowplow-tsv":
        return "\t".join(fields.get(name, "") for name in _SNOWPLOW_FIELDS).encode()
    return orjson.dumps(_snowplow_json(fields))


def _streamkit_doc(event: _Event, rng: random.Random, allow_no_time: bool) -> dict[str, Any]:
    s = event.session
    doc: dict[str, Any] = {
        "schema": "streamkit.click/1",
        "event_id": _uuid(rng),
        "type": event.kind,
    }
    if event.kind == "track":
        doc["event"] = event.name
    doc["user_id"] = _identity(s)
    doc["session_id"] = s.session_id
    doc["site"] = s.site.host
    if event.kind != "identify":
        path = event.url.partition(s.site.host)[2]
        doc["page"] = path if rng.random() < 0.3 else event.page.path
    x = rng.random()
    if not (allow_no_time and x < 0.03):
        doc["ts"] = event.ts_ms if x < 0.5 else _iso(event.ts_ms)
    if event.kind == "page":
        doc["properties"] = {"title": event.page.title, "referrer": event.referrer or None}
    elif event.properties:
        doc["properties"] = event.properties
    doc["user_agent"] = s.user.user_agent
    return doc


def _segment_doc(event: _Event, rng: random.Random, allow_no_time: bool) -> dict[str, Any]:
    s = event.session
    page_ctx = {
        "path": event.page.path,
        "referrer": event.referrer,
        "title": event.page.title,
        "url": event.url,
    }
    doc: dict[str, Any] = {"type": event.kind, "messageId": f"ajs-next-{_hex(rng, 32)}"}
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
    when = _iso(event.ts_ms)
    x = rng.random()
    if allow_no_time and x < 0.02:
        pass  # no timestamp at all: the consumer uses the arrival time
    elif allow_no_time and x < 0.07:
        doc["originalTimestamp"] = when
    else:
        doc["originalTimestamp"] = when
        doc["timestamp"] = when
    doc["sentAt"] = _iso(int(event.arrival * 1000) - 200)
    return doc


def _snowplow_fields(event: _Event, rng: random.Random) -> dict[str, str]:
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
        "etl_tstamp": _sp_time(max(collector_ms, arrival_ms - 150)),
        "collector_tstamp": _sp_time(collector_ms),
        "dvce_created_tstamp": _sp_time(event.ts_ms),
        "event_id": _uuid(rng),
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
        "dvce_sent_tstamp": _sp_time(max(event.ts_ms, collector_ms - 80)),
        "domain_sessionid": s.session_id,
        "event_vendor": "com.snowplowanalytics.snowplow",
    }
    if s.logged_in and s.user.user_id is not None:
        f["user_id"] = s.user.user_id
    if rng.random() >= 0.05:  # sometimes only the device time is there
        f["derived_tstamp"] = _sp_time(event.ts_ms)
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


def _snowplow_json(f: Mapping[str, str]) -> dict[str, Any]:
    """The analytics SDKs' JSON shape: non-empty fields, typed, ISO timestamps."""
    doc: dict[str, Any] = {}
    for name in _SNOWPLOW_FIELDS:
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


# --- malformed records -----------------------------------------------------------------


def _malformed(event: _Event, rng: random.Random) -> bytes:
    """A record of the event broken in one of several ways ``parse_click`` rejects."""
    fmt = event.session.fmt
    breakers = _BREAKERS[fmt]
    return rng.choice(breakers)(event, rng)


def _bad_json(event: _Event, rng: random.Random) -> bytes:
    doc = _json_doc(event, rng)
    if rng.random() < 0.5:
        raw = orjson.dumps(doc)
        return raw[: rng.randint(1, len(raw) - 1)]  # a truncated object is never valid
    return repr(doc).encode()  # a Python dict repr: single quotes


def _json_doc(event: _Event, rng: random.Random) -> dict[str, Any]:
    fmt = event.session.fmt
    if fmt == "streamkit":
        return _streamkit_doc(event, rng, False)
    if fmt == "segment":
        return _segment_doc(event, rng, False)
    return _snowplow_json(_snowplow_fields(event, rng))


def _missing_field(event: _Event, rng: random.Random) -> bytes:
    fmt = event.session.fmt
    if fmt == "streamkit":
        doc = _streamkit_doc(event, rng, False)
        choices = ["event_id", "type", "user_id", "site"]
        choices.append("event" if event.kind == "track" else "page" if "page" in doc else "site")
        doc.pop(rng.choice(choices))
        return orjson.dumps(doc)
    if fmt == "segment":
        doc = _segment_doc(event, rng, False)
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
    f = _snowplow_fields(event, rng)
    if fmt == "snowplow-tsv":
        f[rng.choice(("event_id", "event"))] = ""
        return "\t".join(f.get(name, "") for name in _SNOWPLOW_FIELDS).encode()
    doc = _snowplow_json(f)
    del doc["event"]  # without event_id it would not even be detected as Snowplow
    return orjson.dumps(doc)


_BAD_TIMES: Final = (
    "yesterday",
    "2026-13-45T25:61:00Z",
    "Sat Nov 28 2026 10:00:00 GMT+0000",
    "28/11/2026 10:00",
    "",
)


def _bad_timestamp(event: _Event, rng: random.Random) -> bytes:
    fmt = event.session.fmt
    bad = rng.choice(_BAD_TIMES[:-1])
    if fmt == "streamkit":
        doc = _streamkit_doc(event, rng, False)
        # epoch seconds where milliseconds are documented is a classic
        doc["ts"] = rng.choice((bad, event.ts_ms // 1000, True))
        return orjson.dumps(doc)
    if fmt == "segment":
        doc = _segment_doc(event, rng, False)
        doc["timestamp"] = rng.choice((bad, event.ts_ms))
        return orjson.dumps(doc)
    f = _snowplow_fields(event, rng)
    f["derived_tstamp"] = bad
    if fmt == "snowplow-tsv":
        return "\t".join(f.get(name, "") for name in _SNOWPLOW_FIELDS).encode()
    doc = _snowplow_json(f)
    doc["derived_tstamp"] = bad  # not converted: it is not a timestamp
    return orjson.dumps(doc)


def _wrong_type(event: _Event, rng: random.Random) -> bytes:
    fmt = event.session.fmt
    if fmt == "streamkit":
        doc = _streamkit_doc(event, rng, False)
        key, value = rng.choice((("type", "click"), ("user_id", 42), ("page", "products")))
        doc[key] = value
        return orjson.dumps(doc)
    if fmt == "segment":
        doc = _segment_doc(event, rng, False)
        if rng.random() < 0.5:
            doc["type"] = "screen"  # a mobile screen call: not a clickstream call here
        else:
            doc["context"]["page"]["url"] = "not a url"
            doc["properties"] = {}
        return orjson.dumps(doc)
    f = _snowplow_fields(event, rng)
    if fmt == "snowplow-tsv":  # a truncated line (cut at a tab)
        cells = [f.get(name, "") for name in _SNOWPLOW_FIELDS]
        return "\t".join(cells[: rng.randint(2, len(cells) - 1)]).encode()
    doc = _snowplow_json(f)
    doc["event_id"] = rng.randint(1, 10**6)
    return orjson.dumps(doc)


def _unknown_format(event: _Event, rng: random.Random) -> bytes:
    s = event.session
    when = _iso(event.ts_ms)
    choices = (
        f'{s.user.ip} - - [{when}] "GET {event.page.path} HTTP/1.1" 200 5120',
        f"<event><user>{_identity(s)}</user><page>{event.page.path}</page></event>",
        f"{_identity(s)},{s.site.host},{event.page.path},{when}",
        orjson.dumps({"device": "thermostat-7", "temperature": 21.5, "at": when}).decode(),
        orjson.dumps([{"type": "page", "path": event.page.path}]).decode(),
        "",
    )
    return rng.choice(choices).encode()


_Breaker = Callable[[_Event, random.Random], bytes]
_BREAKERS: Final[Mapping[str, tuple[_Breaker, ...]]] = {
    "streamkit": (_bad_json, _missing_field, _bad_timestamp, _wrong_type, _unknown_format),
    "segment": (_bad_json, _missing_field, _bad_timestamp, _wrong_type, _unknown_format),
    "snowplow-tsv": (_missing_field, _bad_timestamp, _wrong_type, _unknown_format),
    "snowplow-json": (_bad_json, _missing_field, _bad_timestamp, _wrong_type, _unknown_format),
}
