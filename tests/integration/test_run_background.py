"""streamkit run's exactly-once reference computed in a child process equals the in-process one."""

from __future__ import annotations

import os
import sys

import pytest

from streamkit.local.config import load_consumers
from streamkit.local.generators.clickstream import clickstream
from streamkit.local.run.background import BackgroundReference
from streamkit.local.run.reference import comparable, expected_aggregates


def _env(name: str) -> dict[str, str]:
    consumer = load_consumers()[name]
    resources = consumer.resources
    return {
        **dict(consumer.function.environment),
        **(resources.environment(name, None) if resources else {}),
        "POWERTOOLS_SERVICE_NAME": name,
    }


def test_the_child_computes_the_same_reference() -> None:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    consumer = load_consumers()["clickstream"]
    records = list(clickstream(seed=3, rate=40, duration=20, start=1_780_000_000.0))
    placed: dict[str, list[tuple[int, str, bytes, float]]] = {}
    for i, r in enumerate(records):
        shard = f"shardId-00000000000{i % 2}"
        placed.setdefault(shard, []).append((i + 1, r.partition_key, r.data, r.arrival))
    env = _env("clickstream")
    here = expected_aggregates(consumer.handler, env, consumer.stream.name, placed)
    there = BackgroundReference(consumer.handler, env, consumer.stream.name, placed).result()
    assert len(here) > 50
    assert set(there) == set(here)
    assert all(comparable(there[k]) == comparable(v) for k, v in here.items())


def test_a_failing_child_is_an_error_naming_why() -> None:
    reference = BackgroundReference("no_such_module.handler", {}, "s", {})
    with pytest.raises(RuntimeError, match="no_such_module"):
        reference.result()
    reference.close()  # after the end: nothing to stop
