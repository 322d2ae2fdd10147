"""What users do: start sessions, view pages, send track and identify events.

A session views 5-15 pages; about 12% of events are track events and a registered
user logs in (an identify call) during 60% of sessions.
"""

from __future__ import annotations

import random
from typing import Any, Final

from streamkit.local.generators.clickstream.vocabulary import (
    CAMPAIGNS,
    EXTERNAL_REFERRERS,
    NOUNS,
    TRACK_EVENTS,
)
from streamkit.local.generators.clickstream.world import Event, Page, Session, Site, User, uuid4

TRACK_SHARE: Final = 0.12
LOGIN_SHARE: Final = 0.6


def idle_user(people: list[User], rng: random.Random) -> User | None:
    """A user with no active session, or None when eight random picks were all busy."""
    for _ in range(8):
        user = people[rng.randrange(len(people))]
        if not user.active:
            return user
    return None


def start_session(user: User, site: Site, fmt: str, rng: random.Random) -> Session:
    """A new session of ``user`` on ``site``, written in format ``fmt``."""
    user.active = True
    user.sessions += 1
    login = user.user_id is not None and rng.random() < LOGIN_SHARE
    return Session(
        user=user,
        session_id=uuid4(rng),
        index=user.sessions,
        site=site,
        fmt=fmt,
        pages_left=rng.randint(5, 15),
        logged_in=False,
        # Snowplow has no identify call: a login just sets user_id from then on.
        identify_pending=login,
        referrer=rng.choice(EXTERNAL_REFERRERS),
    )


def next_event(session: Session, t: float, rng: random.Random) -> Event:
    """The session's next event at arrival ``t``: an identify, a track or a page view."""
    ts_ms = int((t - rng.uniform(0.0, 3.0)) * 1000)
    site = session.site
    if session.current is not None and session.identify_pending and rng.random() < 0.5:
        session.identify_pending = False
        session.logged_in = True
        if not session.fmt.startswith("snowplow"):
            return Event(
                "identify", "", session, session.current, session.current_url, "", ts_ms, t
            )
    if session.current is not None and rng.random() < TRACK_SHARE:
        name = rng.choice(TRACK_EVENTS[site.kind])
        props = _track_properties(name, session.current, rng)
        return Event(
            "track", name, session, session.current, session.current_url, "", ts_ms, t, props
        )
    page = site.pick(rng)
    url = f"https://{site.host}{page.path}"
    x = rng.random()
    if session.current is None and x < 0.3:
        url += "?" + rng.choice(CAMPAIGNS)
    elif page.path == "/search":
        url += f"?q={rng.choice(NOUNS)}"
    elif x < 0.05:
        url += "#reviews" if site.kind == "shop" else "#comments"
    referrer = session.current_url if session.current is not None else session.referrer
    session.current, session.current_url = page, url
    session.pages_left -= 1
    if session.pages_left == 0 and session.identify_pending:
        session.identify_pending = False  # left before logging in
    return Event("page", "", session, page, url, referrer, ts_ms, t)


def _track_properties(name: str, page: Page, rng: random.Random) -> dict[str, Any]:
    if name.startswith(("Product", "Checkout", "Order")):
        return {
            "product_id": f"sku-{rng.randint(1000, 9999)}",
            "price": round(rng.uniform(5, 250), 2),
            "currency": "USD",
            "quantity": rng.randint(1, 3),
        }
    if name == "Products Searched":
        return {"query": rng.choice(NOUNS)}
    return {"label": page.title[:40], "position": rng.randint(1, 12)}
