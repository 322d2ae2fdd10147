"""The traffic schedule: Poisson arrivals handed to sessions, some records late or broken.

See :mod:`streamkit.local.generators.clickstream` for the whole model.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

from streamkit.local.generators.clickstream.malformed import malformed_record
from streamkit.local.generators.clickstream.render import render
from streamkit.local.generators.clickstream.sessions import idle_user, next_event, start_session
from streamkit.local.generators.clickstream.world import Session, make_site, make_user
from streamkit.local.generators.records import GeneratedRecord

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
    sites = [make_site(host, rng) for host in site_hosts]
    site_weights = [1.0 / (i + 1) for i in range(len(sites))]  # the first site is busiest
    people = [make_user(i, rng) for i in range(n_users)]
    fmt_names = [name for name, w in mix.items() if w > 0]
    fmt_weights = [mix[name] for name in fmt_names]

    due: list[tuple[float, int, Session]] = []  # (next event time, tie-break, session)
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
            user = idle_user(people, rng)
            if user is not None:
                site = rng.choices(sites, site_weights)[0]
                fmt = rng.choices(fmt_names, fmt_weights)[0]
                session = start_session(user, site, fmt, rng)
            elif due:
                session = heapq.heappop(due)[2]  # everyone is busy: the next one is early
            else:  # pragma: no cover - no idle user means some session is active
                raise AssertionError("no session to continue")

        event = next_event(session, t, rng)
        if session.pages_left > 0 or session.identify_pending:
            think = min(max(rng.lognormvariate(2.4, 0.7), 1.0), 300.0)
            counter += 1
            heapq.heappush(due, (t + think, counter, session))
        else:
            session.user.active = False

        u = rng.random()
        if u < malformed:
            data = malformed_record(event, rng)
            kind = "malformed"
        else:
            kind = "ok"
            if u < malformed + late:
                kind = "late"
                event.ts_ms = int((t - rng.uniform(600.0, 1800.0)) * 1000)
            data = render(event, rng, allow_no_time=kind == "ok")
        yield GeneratedRecord(event.partition_key, data, t, kind)
