"""Fixtures for the execution-environment tests (spec section 10).

``runtime_env`` puts records on a stream of the moto server (the ``kinesis``
fixtures of streamkit.testing.plugin) and builds an EventSourceMapping on a
virtual clock whose handler is one of :mod:`runtime_handlers`, in either execution
mode; the handler's log file is the side effect the tests read back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streamkit.local.clock import VirtualClock
from streamkit.local.config import EsmSettings
from streamkit.local.esm import EventSourceMapping
from streamkit.local.faults import FaultPlan
from streamkit.local.shards import KinesisShardReader
from streamkit.local.writefaults import WriteFaults

T0 = 1_700_000_040.0
HANDLERS = "tests.integration.runtime.runtime_handlers"


class RuntimeEnv:
    def __init__(self, kinesis: Any, create: Callable[..., str], tmp_path: Path) -> None:
        self.kinesis = kinesis
        self.log_path = tmp_path / "handler.log"
        self.stream = "rt"
        create(name=self.stream, shards=1)
        self.mappings: list[EventSourceMapping] = []

    def put(self, *payloads: str) -> None:
        for p in payloads:
            self.kinesis.put_record(StreamName=self.stream, Data=p.encode(), PartitionKey="pk")

    def esm(
        self,
        handler: str,
        *,
        execution: str = "process",
        function_timeout_s: float = 30.0,
        faults: FaultPlan | None = None,
        write_faults: WriteFaults | None = None,
        environment: dict[str, str] | None = None,
        **settings: Any,
    ) -> EventSourceMapping:
        settings.setdefault("batch_size", 1)
        reader = KinesisShardReader(
            self.kinesis, self.stream, arrival_override=lambda shard, seq, real: T0
        )
        esm = EventSourceMapping(
            f"{HANDLERS}.{handler}",
            EsmSettings("TRIM_HORIZON", **settings),
            self.kinesis,
            self.stream,
            function_name="rt-consumer",
            function_timeout_s=function_timeout_s,
            memory_mb=256,
            clock=VirtualClock(start=T0),
            reader=reader,
            faults=faults,
            execution=execution,  # type: ignore[arg-type]
            environment={"RUNTIME_TEST_LOG": str(self.log_path), **(environment or {})},
            write_faults=write_faults,
        )
        self.mappings.append(esm)
        return esm

    def lines(self) -> list[dict[str, Any]]:
        """What the handler logged, one dict per invocation that got that far."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]


@pytest.fixture
def runtime_env(
    kinesis: Any, kinesis_stream: Callable[..., str], tmp_path: Path, monkeypatch: Any
) -> Iterator[RuntimeEnv]:
    # Inline handlers read the same variable from this process's environment.
    monkeypatch.setenv("RUNTIME_TEST_LOG", str(tmp_path / "handler.log"))
    env = RuntimeEnv(kinesis, kinesis_stream, tmp_path)
    yield env
    for esm in env.mappings:
        esm.close()
