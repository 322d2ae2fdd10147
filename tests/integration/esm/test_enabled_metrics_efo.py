"""Enabled (spec 0.7), per-shard ESM metrics on the simulator's clock (spec 4.11,
MetricsConfig EventCount) and enhanced fan-out (spec 0.5, 4.2, 7.6)."""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.local.config import EsmSettings
from streamkit.local.esm import PROCESSED, EventSourceMapping
from streamkit.local.shards import KinesisShardReader
from tests.integration.esm.conftest import T0, GuardedClock

pytestmark = pytest.mark.integration


class Holder:
    esm: EventSourceMapping | None = None


# ---------------------------------------------------------------- Enabled (0.7)


def test_0_7_a_disabled_mapping_neither_reads_nor_invokes(esm_env: Any) -> None:
    """Enabled: false: no GetRecords, no invocation; enabled, it delivers every record."""
    esm_env.put_n(10)
    rec = esm_env.recorder()
    esm = esm_env.esm(rec, batch_size=4, enabled=False)
    assert esm.enabled is False
    stats = esm.run()
    assert (rec.calls, stats.get_records_calls, stats.records_in) == (0, 0, 0)
    esm.enable()
    esm.run()
    assert rec.delivered() == list(range(1, 11))


def test_0_7_paused_during_a_run_it_resumes_from_its_checkpoint(esm_env: Any) -> None:
    """Disabled by the handler during its 2nd invocation: that invocation finishes and
    is checkpointed, nothing more happens; re-enabled, the mapping goes on after the
    checkpoint: every record delivered exactly once, in order."""
    esm_env.put_n(20)
    holder = Holder()

    def respond(event: dict[str, Any], n: int) -> None:
        if n == 1:
            assert holder.esm is not None
            holder.esm.disable()

    rec = esm_env.recorder(respond)
    holder.esm = esm = esm_env.esm(rec, batch_size=5)
    stats = esm.run()
    assert rec.batches == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    assert stats.records_processed == 10 and not esm.enabled
    assert esm.run().records_processed == 10  # still paused: nothing happens
    assert rec.calls == 2
    esm.enable()
    stats = esm.run()
    assert rec.delivered() == list(range(1, 21))  # nothing lost, nothing repeated
    assert stats.unresolved == 0
    assert set(stats.outcomes.values()) == {PROCESSED}


def test_0_7_disable_until_a_time_resumes_then_within_the_run(esm_env: Any) -> None:
    """disable(until=t): the pause lasts until t on the mapping's clock, then it goes on."""
    esm_env.put_n(6)
    holder = Holder()

    def respond(event: dict[str, Any], n: int) -> None:
        if n == 0:
            assert holder.esm is not None
            holder.esm.disable(until=holder.esm.clock.now() + 120)

    rec = esm_env.recorder(respond)
    holder.esm = esm = esm_env.esm(rec, batch_size=3)
    stats = esm.run()
    assert rec.delivered() == [1, 2, 3, 4, 5, 6] and esm.enabled
    first, second = stats.log
    assert second.time - first.time >= 120


def test_0_7_a_pause_past_max_seconds_ends_the_run_at_its_deadline(esm_env: Any) -> None:
    esm_env.put_n(4)
    rec = esm_env.recorder()
    esm = esm_env.esm(rec, batch_size=2)
    esm.disable(until=T0 + 1_000)
    esm.run(max_seconds=100)
    assert rec.calls == 0 and esm.clock.now() == pytest.approx(T0 + 100)
    esm.run(max_seconds=2_000)
    assert rec.delivered() == [1, 2, 3, 4]


# ------------------------------------------------------- per-shard metrics (4.11)


def test_4_11_per_shard_metrics_on_the_virtual_clock(esm_env: Any) -> None:
    """Records arrived at T0; the mapping starts 600 s later on its virtual clock: each
    shard's IteratorAge is about 600 s (virtual), whatever the wall clock says. Counts
    per shard: records in, processed, filtered, discarded, invocations, invoked and
    failed-invoke events (MetricsConfig EventCount)."""
    esm_env.stream(shards=2)
    esm_env.put(['{"k": "a"}', '{"k": "a"}', '{"k": "skip"}'], shard=esm_env.SHARD_0)
    esm_env.put(['{"k": "b"}', '{"k": "b"}'], shard=esm_env.SHARD_1)

    def respond(event: dict[str, Any], n: int) -> None:
        if event["Records"][0]["eventID"].startswith(esm_env.SHARD_1):
            raise RuntimeError("shard 1 always fails")

    esm = esm_env.esm(
        esm_env.recorder(respond),
        start=T0 + 600,
        batch_size=10,
        maximum_retry_attempts=1,
        filter_patterns=('{"data": {"k": ["a", "b"]}}',),
    )
    stats = esm.run()
    shards = stats.by_shard()
    assert list(shards) == [esm_env.SHARD_0, esm_env.SHARD_1]
    s0, s1 = shards[esm_env.SHARD_0], shards[esm_env.SHARD_1]
    assert (s0.records_in, s0.records_processed, s0.records_filtered) == (3, 2, 1)
    assert (s0.invocations, s0.invoked_events, s0.failed_invoke_events) == (1, 2, 0)
    assert (s1.records_in, s1.records_discarded, s1.records_processed) == (2, 2, 0)
    assert (s1.invocations, s1.invoked_events, s1.failed_invoke_events) == (2, 4, 4)
    for m in (s0, s1):
        assert m.iterator_age_ms_max is not None and m.iterator_age_ms_last is not None
        # 600 s of virtual age plus the (real) time the handlers took on that clock.
        assert 600_000 <= m.iterator_age_ms_last <= m.iterator_age_ms_max < 660_000
    as_json = stats.to_dict()["by_shard"]
    assert as_json[esm_env.SHARD_1]["records_discarded"] == 2
    assert as_json[esm_env.SHARD_0]["iterator_age_ms_max"] == s0.iterator_age_ms_max


def test_4_11_iterator_age_follows_the_virtual_clock_across_batches(esm_env: Any) -> None:
    """Batches of records that arrived 0, 10, 20 s after T0, on a clock that starts at
    T0 + 100: the age of each batch's last record shrinks as the backlog is read."""
    esm_env.put_n(3)
    esm = esm_env.esm(
        esm_env.recorder(),
        arrival=lambda shard, seq: 10.0 * (seq - 1),
        start=T0 + 100,
        batch_size=1,
    )
    stats = esm.run()
    ages = [entry.iterator_age_ms for entry in stats.log]
    assert ages[0] is not None and ages[0] >= 100_000
    assert ages[0] > ages[1] > ages[2] >= 80_000
    assert stats.by_shard()[esm_env.SHARD_0].iterator_age_ms_last == ages[2]


# ------------------------------------------------------- enhanced fan-out (4.2)


def limited_mapping(
    env: Any, handler: Any, clock: GuardedClock, *, efo: bool = True, **settings: Any
) -> Any:
    """A mapping with read limits (spec 7.2), through enhanced fan-out unless ``efo``
    is False; ``read_limit``: records per GetRecords."""
    reader = KinesisShardReader(
        env.kinesis,
        env.stream_name,
        arrival_override=lambda shard_id, seq, real: T0,
        read_limit=settings.pop("read_limit", 10_000),
    )
    return EventSourceMapping(
        handler,
        EsmSettings("TRIM_HORIZON", **settings),
        env.kinesis,
        env.stream_name,
        region=env.aws.region,
        account_id=env.aws.account_id,
        function_name="efo-consumer" if efo else "standard-consumer",
        clock=clock,
        reader=reader,
        read_limits=True,
        enhanced_fan_out=efo,
    )


def test_4_2_an_efo_mapping_is_not_counted_against_the_shared_reads(esm_env: Any) -> None:
    """Spec 4.2/7.6: an enhanced fan-out mapping has its own 2 MB/s per shard: its reads
    never appear in the stream's shared limits, which the standard mapping alone uses."""
    esm_env.put_n(40)
    efo_rec = esm_env.recorder()
    efo = limited_mapping(esm_env, efo_rec, GuardedClock(T0), batch_size=5, read_limit=5)
    efo.run()
    assert efo_rec.delivered() == list(range(1, 41))
    # Pushed, not polled: no 5-calls-a-second throttling of its own.
    assert efo.stats.read_throttles == 0
    standard = limited_mapping(
        esm_env, esm_env.recorder(), GuardedClock(T0), efo=False, batch_size=5, read_limit=5
    )
    standard.run()
    shared = standard.stream_read_limits
    assert shared is not None and efo.stream_read_limits is not shared
    assert len(shared.calls(esm_env.SHARD_0)) == standard.stats.get_records_calls
    own = efo.stream_read_limits
    assert own is not None and len(own.calls(esm_env.SHARD_0)) == efo.stats.get_records_calls


def test_4_2_an_efo_mapping_gets_its_own_2_mb_a_second(esm_env: Any) -> None:
    """Records of 512 KiB, 4 per read: the EFO mapping's own bytes budget throttles it
    (2 MiB/s of its own), without touching the shared limits."""
    esm_env.put([b"x" * (512 * 1024)] * 12, key=lambda i: f"k{i}")
    rec = esm_env.recorder()
    clock = GuardedClock(T0)
    efo = limited_mapping(esm_env, rec, clock, batch_size=4, read_limit=4)
    efo.run()
    assert len(rec.delivered()) == 12
    assert efo.stats.read_throttles > 0
    # 12 x 512 KiB = 6 MiB at 2 MiB/s: at least 2 s on the virtual clock.
    assert clock.now() - T0 >= 2.0


def test_9_9_efo_events_name_the_stream_and_the_mapping_its_consumer(esm_env: Any) -> None:
    """Spec 9.9 is unconfirmed; the simulator's choice: the event's eventSourceARN is the
    stream ARN, the mapping's EventSourceArn the registered consumer's."""
    esm_env.put_n(2)
    rec = esm_env.recorder()
    efo = limited_mapping(esm_env, rec, GuardedClock(T0), batch_size=2)
    efo.run()
    assert {r["eventSourceARN"] for r in rec.events[0]["Records"]} == {esm_env.stream_arn}
    assert efo.event_source_arn.startswith(f"{esm_env.stream_arn}/consumer/efo-consumer:")
