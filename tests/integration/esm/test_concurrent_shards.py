"""S4.13 (docs/simulator.md): shards are processed concurrently, each lane on its own
timeline of the virtual clock, so a slow handler on one shard ages only that
shard's records (spec 4.6-4.8: one in-flight batch per lane, lanes concurrent)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from streamkit.local.clock import VirtualClock
from streamkit.local.destinations import RECORD_AGE_EXCEEDED

pytestmark = pytest.mark.integration

SLOW_S = 100.0  # each invocation on shard 0 takes this long on the virtual clock


def test_s4_13_a_slow_handler_on_one_shard_does_not_age_the_other_shards_records(
    esm_env: Any,
) -> None:
    """Shard 0's handler takes 100 s per invocation; MaximumRecordAgeInSeconds is 60.
    Shard 1's five records are all processed within a second of their arrival; shard
    0's own records after its first invocation are older than 60 s and discarded."""
    esm_env.stream("s", shards=2)
    esm_env.put([b"a"] * 5, shard=esm_env.SHARD_0)
    esm_env.put([b"b"] * 5, shard=esm_env.SHARD_1)
    clock = VirtualClock(esm_env.T0)
    invoked_at: dict[str, list[float]] = {esm_env.SHARD_0: [], esm_env.SHARD_1: []}

    def handler(event: dict[str, Any], context: Any) -> None:
        shard = event["Records"][0]["eventID"].split(":")[0]
        invoked_at[shard].append(clock.now())
        if shard == esm_env.SHARD_0:
            clock.spend(SLOW_S)  # a long invocation (virtual time)

    stats = esm_env.esm(handler, clock=clock, batch_size=1, maximum_record_age_in_seconds=60).run()
    by_shard = stats.by_shard()
    fast, slow = by_shard[esm_env.SHARD_1], by_shard[esm_env.SHARD_0]
    assert fast.records_processed == 5 and fast.records_discarded == 0
    assert all(t - esm_env.T0 < 1.0 for t in invoked_at[esm_env.SHARD_1])
    assert slow.records_processed == 1 and slow.records_discarded == 4
    assert {d["requestContext"]["condition"] for d in stats.failure_documents} == {
        RECORD_AGE_EXCEEDED
    }
    # The run ends when the slow shard's invocation has ended on its timeline.
    assert clock.now() >= esm_env.T0 + SLOW_S


def test_s4_13_one_shards_invocations_stay_sequential_on_its_timeline(esm_env: Any) -> None:
    """Concurrency is across lanes only: a lane's next invocation starts when its
    previous one ended (spec 4.6)."""
    esm_env.stream("s", shards=2)
    esm_env.put([b"a"] * 3, shard=esm_env.SHARD_0)
    esm_env.put([b"b"] * 3, shard=esm_env.SHARD_1)
    clock = VirtualClock(esm_env.T0)
    spans: dict[str, list[tuple[float, float]]] = {esm_env.SHARD_0: [], esm_env.SHARD_1: []}

    def handler(event: dict[str, Any], context: Any) -> None:
        shard = event["Records"][0]["eventID"].split(":")[0]
        start = clock.now()
        clock.spend(10.0 if shard == esm_env.SHARD_0 else 3.0)
        spans[shard].append((start, clock.now()))

    stats = esm_env.esm(handler, clock=clock, batch_size=1).run()
    assert stats.records_processed == 6
    for shard, lane_spans in spans.items():
        assert len(lane_spans) == 3, shard
        for (_, end), (start, _) in itertools.pairwise(lane_spans):
            assert start >= end
    # Both lanes started at once: neither waited for the other's invocations.
    assert spans[esm_env.SHARD_0][0][0] == spans[esm_env.SHARD_1][0][0] == esm_env.T0
    assert spans[esm_env.SHARD_1][-1][1] < esm_env.T0 + 10.0


def test_s4_13_a_child_shard_waits_for_the_end_of_its_parents_last_invocation(
    kinesis_local: str,
) -> None:
    """Spec 4.10 with S4.13: every invocation takes 30 s on its shard's timeline; a
    child's first invocation starts only when its parents' last one has ended, not
    when it started (kinesis-local routes post-split records to the children)."""
    from streamkit.local.aws import aws_clients
    from streamkit.local.config import EsmSettings
    from streamkit.local.esm import EventSourceMapping
    from tests.integration.test_resharding import CREDS, _reshard_scenario

    kinesis = aws_clients(
        endpoint_url=kinesis_local, region="us-east-1", numeric_timestamps=True, **CREDS
    )("kinesis")
    lineage = _reshard_scenario(kinesis, "slow-lineage")
    clock = VirtualClock()  # now: the records were just written (retention, S7.11)
    spans: dict[str, list[tuple[float, float]]] = {}

    def handler(event: dict[str, Any], context: Any) -> None:
        shard = event["Records"][0]["eventID"].split(":")[0]
        start = clock.now()
        clock.spend(30.0)
        spans.setdefault(shard, []).append((start, clock.now()))

    settings = EsmSettings("TRIM_HORIZON", batch_size=5)
    stats = EventSourceMapping(handler, settings, kinesis, "slow-lineage", clock=clock).run()
    assert stats.unresolved == 0
    checked = 0
    for child, parents in lineage.items():
        for parent in parents:
            if child in spans and parent in spans:
                assert min(s for s, _ in spans[child]) >= max(e for _, e in spans[parent])
                checked += 1
    # Both split children after the root, the merged shard after both children.
    assert checked == 4, (lineage, sorted(spans))
