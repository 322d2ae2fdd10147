"""Who and where: users, sites with their page catalogs, sessions and events (the model).

Pages per site follow a Zipf law (the home page most popular); users are anonymous
cookies, some of them registered. :mod:`.sessions` moves this world forward.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Final

from streamkit.local.generators.clickstream.vocabulary import (
    BLOG_FIXED,
    COUNTRIES,
    NOUNS,
    SHOP_FIXED,
    TOPICS,
    USER_AGENTS,
    WORDS,
)

ZIPF_EXPONENT: Final = 1.1
REGISTERED_SHARE: Final = 0.4


@dataclass(frozen=True, slots=True)
class Page:
    """A page of a site's catalog."""

    path: str
    title: str


@dataclass(slots=True)
class Site:
    """A site and its pages, with cumulative Zipf weights to pick a page from."""

    host: str
    kind: str  # "shop" | "blog" | "other"
    app_id: str
    pages: list[Page]
    cum_weights: list[float]

    def pick(self, rng: random.Random) -> Page:
        x = rng.random() * self.cum_weights[-1]
        return self.pages[min(bisect_right(self.cum_weights, x), len(self.pages) - 1)]


@dataclass(slots=True)
class User:
    """A visitor: cookie, optional user id, browser, address; ``active`` while in a session."""

    anonymous_id: str
    user_id: str | None  # None: never registered
    network_userid: str
    user_agent: str
    ip: str
    country: str
    sessions: int = 0
    active: bool = False


@dataclass(slots=True)
class Session:
    """One visit: a user on a site, written by one tracker (``fmt``), a few pages long."""

    user: User
    session_id: str
    index: int
    site: Site
    fmt: str
    pages_left: int
    logged_in: bool
    identify_pending: bool
    current: Page | None = None
    current_url: str = ""
    referrer: str = ""


@dataclass(slots=True)
class Event:
    """One valid event, before it is written in a format."""

    kind: str  # "page" | "track" | "identify"
    name: str  # the track event name ("" otherwise)
    session: Session
    page: Page
    url: str  # full page URL, possibly with a query string or fragment
    referrer: str
    ts_ms: int  # event time, epoch milliseconds
    arrival: float
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def partition_key(self) -> str:
        return identity(self.session)


def identity(session: Session) -> str:
    """The id the session's user resolves to: the user id once logged in, else the cookie."""
    user = session.user
    if session.logged_in and user.user_id is not None:
        return user.user_id
    return user.anonymous_id


def uuid4(rng: random.Random) -> str:
    """A random UUID drawn from ``rng`` (so it is deterministic for a seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hex_id(rng: random.Random, n: int) -> str:
    """``n`` random hex digits drawn from ``rng``."""
    return f"{rng.getrandbits(4 * n):0{n}x}"


def make_user(i: int, rng: random.Random) -> User:
    """User number ``i``: a cookie, a browser, an address; registered with probability 0.4."""
    registered = rng.random() < REGISTERED_SHARE
    return User(
        anonymous_id=uuid4(rng),
        user_id=f"user-{i:06d}" if registered else None,
        network_userid=uuid4(rng),
        user_agent=rng.choice(USER_AGENTS),
        ip=".".join(
            str(rng.randint(lo, hi)) for lo, hi in ((11, 223), (0, 255), (0, 255), (1, 254))
        ),
        country=rng.choice(COUNTRIES),
    )


def make_site(host: str, rng: random.Random) -> Site:
    """The site at ``host`` with its page catalog (a shop, a blog or generic pages).

    The page order, hence which page is popular, is shuffled per seed.
    """
    label = host.split(".")[0]
    if label in ("shop", "store"):
        kind = "shop"
        pages = [
            Page("/", "Example Shop"),
            *(Page(p, f"{p[1:].title()} | Example Shop") for p in SHOP_FIXED),
            *(Page(f"/c/{n}", f"{n.title()} | Example Shop") for n in NOUNS),
            *(
                Page(f"/p/{w}-{n}-{i}", f"{w.title()} {n.title()} | Example Shop")
                for i, (w, n) in enumerate((w, n) for w in WORDS for n in NOUNS)
            ),
        ]
    elif label == "blog":
        kind = "blog"
        pages = [
            Page("/", "The Example Blog"),
            *(Page(p, f"{p[1:].title()} | The Example Blog") for p in BLOG_FIXED),
            *(Page(f"/tags/{t}", f"#{t} | The Example Blog") for t in TOPICS),
            *(
                Page(f"/posts/{2020 + i % 7}/{w}-{t}", f"{w.title()} {t} | The Example Blog")
                for i, (w, t) in enumerate((w, t) for w in WORDS for t in TOPICS[:8])
            ),
        ]
    else:
        kind = "other"
        pages = [Page("/", host), *(Page(f"/pages/{i}", f"Page {i} | {host}") for i in range(99))]
    rest = pages[1:]
    rng.shuffle(rest)  # which page is popular differs per seed; the home page leads
    pages = [pages[0], *rest]
    weights = [1.0 / (r + 1) ** ZIPF_EXPONENT for r in range(len(pages))]
    return Site(host, kind, label or "web", pages, list(accumulate(weights)))
