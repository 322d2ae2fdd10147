"""``streamkit run``'s embedded endpoints: one moto process per consumer.

Local tooling: never imported by a Lambda handler.

moto serves every request of its process under one interpreter lock, so with both
consumers on one embedded endpoint that process was the run's bottleneck (about
half of the run's CPU time at 1,000 records/s, on one core). The consumers share
no resource a run reads (each has its own stream, tables, buckets and queue; the
ledger table holds only its own consumer's items), so each gets its own endpoint:
its resources are provisioned there, its handler's ``AWS_ENDPOINT_URL`` names it,
and the summary reads it back from there. Only for the embedded endpoint: a given
``--endpoint-url`` and ``--terraform`` deployments keep one endpoint.

Example::

    endpoints = ConsumerEndpoints.start(["clickstream", "iot"], first=local, region=region)
    endpoints["iot"].clients("dynamodb")  # the iot endpoint's clients
    endpoints.stop()  # the ones it started (not ``first``)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streamkit.local.aws import AwsClients, LocalAWS, aws_clients
from streamkit.local.run.concurrent import run_concurrently
from streamkit.local.run.report import build_summary

if TYPE_CHECKING:
    from streamkit.local.run.engine import ConsumerRun

__all__ = ["ConsumerEndpoint", "ConsumerEndpoints", "read_back"]


@dataclass(frozen=True)
class ConsumerEndpoint:
    """One consumer's endpoint and the clients the run uses there."""

    local: LocalAWS
    clients: AwsClients
    #: Kinesis with numeric timestamps (the fast path for shard reads).
    kinesis: Any

    @property
    def url(self) -> str:
        return self.local.endpoint_url


class ConsumerEndpoints(dict[str, ConsumerEndpoint]):
    """Consumer name -> its :class:`ConsumerEndpoint`; :meth:`stop` ends those started."""

    def __init__(self, started: list[LocalAWS]) -> None:
        super().__init__()
        self._started = started

    @classmethod
    def start(cls, names: Iterable[str], *, first: LocalAWS, region: str) -> ConsumerEndpoints:
        """The first consumer on ``first``, every other one on a new endpoint process
        (started at the same time; all of them stopped again if one fails)."""
        names = list(names)
        others = [LocalAWS(mode="process", region=region) for _ in names[1:]]
        try:
            with ThreadPoolExecutor(max_workers=max(len(others), 1)) as pool:
                list(pool.map(LocalAWS.start, others))
        except BaseException:
            for local in others:
                local.stop()
            raise
        endpoints = cls(others)
        for name, local in zip(names, [first, *others], strict=True):
            clients = aws_clients(endpoint_url=local.endpoint_url, region=region)
            kinesis = aws_clients(
                endpoint_url=local.endpoint_url, region=region, numeric_timestamps=True
            )("kinesis")
            endpoints[name] = ConsumerEndpoint(local, clients, kinesis)
        return endpoints

    def stop(self) -> None:
        """Stop the endpoints :meth:`start` started; safe to call twice."""
        for local in self._started:
            local.stop()


def read_back(runs: list[ConsumerRun], clients: Any, *, faults: bool) -> dict[str, Any]:
    """The summary, each consumer read back from its own endpoint when it has one."""
    if not any(run.endpoint for run in runs):
        return build_summary(runs, clients, faults=faults)
    # Each consumer read back from its own endpoint, at the same time.
    by_name: dict[str, dict[str, Any]] = {}

    def one(run: ConsumerRun) -> None:
        own = run.endpoint.clients if run.endpoint else clients
        by_name[run.name] = build_summary([run], own, faults=faults)

    run_concurrently({run.name: functools.partial(one, run) for run in runs})
    parts = [by_name[run.name] for run in runs]
    summary = {**parts[0], "ok": all(p["ok"] for p in parts)}
    summary["consumers"] = {k: v for p in parts for k, v in p["consumers"].items()}
    return summary
