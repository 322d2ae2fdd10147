"""Several event source mappings running at the same time on one virtual clock.

On AWS every mapping of a stream polls its shards concurrently; with
``read_limits=True`` they share each shard's 5 GetRecords calls/s and 2 MB/s
(spec 7.2, :mod:`~streamkit.local.esm.read_limits`). One mapping's
:meth:`~streamkit.local.esm.EventSourceMapping.run` drives only itself, so two
mappings run one after the other never meet in time. :func:`run_together`
interleaves them: at each step the mapping whose next action is due soonest acts,
on the clock they share.

Example::

    clock = VirtualClock()
    a = EventSourceMapping(h1, settings, kinesis, "clicks", clock=clock, read_limits=True)
    b = EventSourceMapping(h2, settings, kinesis, "clicks", clock=clock, read_limits=True)
    stats_a, stats_b = run_together([a, b])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from streamkit.local.clock import VirtualClock
from streamkit.local.esm.mapping import EventSourceMapping
from streamkit.local.esm.state import Lane
from streamkit.local.esm.stats import EsmStats


def run_together(
    mappings: Sequence[EventSourceMapping], *, max_seconds: float | None = None
) -> list[EsmStats]:
    """Run ``mappings`` concurrently until each is idle (or ``max_seconds`` of clock
    time have passed); their stats, in order.

    Every mapping must use the same :class:`~streamkit.local.clock.VirtualClock`
    object (``clock=`` when building them): ValueError otherwise.
    """
    if not mappings:
        return []
    clock = mappings[0].clock
    if not isinstance(clock, VirtualClock) or any(m.clock is not clock for m in mappings):
        raise ValueError(
            "run_together: every mapping must be built with the same VirtualClock "
            "(clock=VirtualClock(...) passed to each)"
        )
    for m in mappings:
        m._begin_run()
    deadline = None if max_seconds is None else clock.now() + max_seconds
    while True:
        chosen: tuple[EventSourceMapping, Lane | None] | None = None
        chosen_at = math.inf
        for m in mappings:
            if not m.enabled:
                # Spec 0.7: a paused mapping acts again only when it is re-enabled.
                resume = m._enable_at
                if resume is not None and resume < chosen_at:
                    chosen, chosen_at = (m, None), resume
                continue
            lane, at = m._plan()
            if lane is None and m._idle():
                continue  # this one has nothing left to do in this run
            if at < chosen_at:
                chosen, chosen_at = (m, lane), at
        if chosen is None:
            clock.wait_until(max(m.busy_until() for m in mappings))  # S4.13
            if deadline is not None:
                clock.wait_until(deadline)
            break
        if deadline is not None and chosen_at > deadline:
            clock.wait_until(deadline)
            break
        clock.wait_until(chosen_at)
        mapping, lane = chosen
        if not mapping.enabled:
            mapping.enable()
        elif lane is not None:
            mapping._step(lane)
    return [m.stats for m in mappings]
