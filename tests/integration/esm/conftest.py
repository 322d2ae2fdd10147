"""Helpers for the spec-driven ESM simulator tests (``shared/spec/lambda-kinesis-esm.md``).

The AWS endpoint fixtures (``aws``, ``kinesis``, ``kinesis_stream``) come from
``streamkit.testing.plugin`` (registered in ``tests/conftest.py``): a real moto
server on 127.0.0.1, reset before every test. This file only adds the ``esm``
fixture: put records, give them deterministic arrival times, build an
:class:`EventSourceMapping` on a :class:`VirtualClock`, and record what the
handler saw.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from streamkit.local.clock import VirtualClock
from streamkit.local.config import EsmSettings
from streamkit.local.destinations import DestinationSender
from streamkit.local.esm import EventSourceMapping
from streamkit.local.faults import FaultPlan
from streamkit.local.shards import KinesisShardReader

#: A fixed epoch for arrival times, divisible by 60 and 120 (tumbling windows).
T0 = 1_700_000_040.0
SHARD_0 = "shardId-000000000000"
SHARD_1 = "shardId-000000000001"
#: ExplicitHashKeys that land in the first / second half of a 2-shard stream.
HASH_KEY = {SHARD_0: "1", SHARD_1: str(2**127 + 1)}

Respond = Callable[[dict[str, Any], int], Any]


class GuardedClock(VirtualClock):
    """A VirtualClock that fails the test instead of hanging when the simulator's
    run loop spins: ``limit`` waits in a row that do not move time, with no
    handler invocation in between (a livelock), raise AssertionError."""

    def __init__(self, start: float, limit: int = 100_000, work_s: float | None = 0.0) -> None:
        # Handler work takes no simulated time unless a test asks (work_s=None: the
        # measured time): the timelines tests compare must not depend on the load.
        super().__init__(start=start, work_s=work_s)
        self.limit = limit
        self._stalls = 0

    def wait_until(self, t: float) -> None:
        if t <= self.now():
            self._stalls += 1
            if self._stalls > self.limit:
                raise AssertionError(
                    f"ESM run loop spins without advancing its clock (stuck at {self.now()})"
                )
        else:
            self._stalls = 0
        super().wait_until(t)

    def spend(self, seconds: float) -> None:
        self._stalls = 0
        super().spend(seconds)


def seqs(event: dict[str, Any]) -> list[int]:
    """Sequence numbers of an invocation event, as ints, in delivery order."""
    return [int(r["kinesis"]["sequenceNumber"]) for r in event["Records"]]


@dataclass
class Recorder:
    """A Lambda handler that records every event (deep copy) and context.

    ``respond(event, n)`` (n = 0-based call number) returns the response or
    raises; by default the handler returns None (complete success).
    """

    respond: Respond | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        n = len(self.events)
        self.events.append(copy.deepcopy(event))
        self.contexts.append(context)
        if self.respond is None:
            return None
        return self.respond(event, n)

    @property
    def batches(self) -> list[list[int]]:
        return [seqs(e) for e in self.events]

    @property
    def calls(self) -> int:
        return len(self.events)

    def delivered(self) -> list[int]:
        return [s for batch in self.batches for s in batch]


@dataclass(frozen=True)
class Put:
    shard_id: str
    sequence_number: str
    data: bytes
    partition_key: str

    @property
    def seq(self) -> int:
        return int(self.sequence_number)


class EsmEnv:
    """One test's stream(s) and simulator runs against the moto server."""

    T0 = T0
    SHARD_0 = SHARD_0
    SHARD_1 = SHARD_1

    def __init__(self, aws: Any, kinesis: Any, kinesis_stream: Callable[..., str]) -> None:
        self.aws = aws
        self.kinesis = kinesis
        self._create = kinesis_stream
        self.stream_name = "s"
        self.stream_arn = ""
        self.puts: list[Put] = []

    def stream(self, name: str = "s", shards: int = 1) -> str:
        self.stream_name = name
        self.stream_arn = self._create(name=name, shards=shards)
        return self.stream_arn

    def put(
        self,
        items: Iterable[bytes | str],
        *,
        key: str | Callable[[int], str] = "pk",
        shard: str | None = None,
    ) -> list[Put]:
        """Put records one by one (in order); ``shard`` pins them with an ExplicitHashKey."""
        if not self.stream_arn:
            self.stream()
        out = []
        for i, item in enumerate(items):
            data = item.encode() if isinstance(item, str) else item
            pk = key(i) if callable(key) else key
            kwargs: dict[str, Any] = {"StreamName": self.stream_name, "Data": data}
            kwargs["PartitionKey"] = pk
            if shard is not None:
                kwargs["ExplicitHashKey"] = HASH_KEY[shard]
            resp = self.kinesis.put_record(**kwargs)
            out.append(Put(resp["ShardId"], resp["SequenceNumber"], data, pk))
        self.puts.extend(out)
        return out

    def put_n(self, n: int, **kwargs: Any) -> list[Put]:
        return self.put([f'{{"i": {i}}}' for i in range(n)], **kwargs)

    def recorder(self, respond: Respond | None = None) -> Recorder:
        """A recording handler; ``respond(event, n)`` returns the response or raises."""
        return Recorder(respond)

    def esm(
        self,
        handler: Callable[[dict[str, Any], Any], Any],
        *,
        arrival: Callable[[str, int], float] | str | None = "T0",
        start: float = T0,
        faults: FaultPlan | None = None,
        destination: DestinationSender | None = None,
        stuck_after: int = 200,
        function_timeout_s: float = 60.0,
        starting_position: str = "TRIM_HORIZON",
        seed: int = 0,
        clock: VirtualClock | None = None,
        read_limit: int = 10_000,
        read_limits: bool = False,
        **settings: Any,
    ) -> EventSourceMapping:
        """An ESM on a VirtualClock starting at ``start`` (or on ``clock``).

        ``arrival(shard_id, seq) -> seconds after T0`` overrides the records' arrival
        times; the default puts every record at exactly T0; ``None`` keeps Kinesis's
        own ApproximateArrivalTimestamp.
        """
        if arrival == "T0":
            override: Any = lambda shard_id, seq, real: T0  # noqa: E731
        elif arrival is None:
            override = None
        else:
            fn = arrival
            assert callable(fn)
            override = lambda shard_id, seq, real: T0 + fn(shard_id, int(seq))  # noqa: E731
        reader = KinesisShardReader(
            self.kinesis, self.stream_name, arrival_override=override, read_limit=read_limit
        )
        return EventSourceMapping(
            handler,
            EsmSettings(starting_position, **settings),
            self.kinesis,
            self.stream_name,
            function_timeout_s=function_timeout_s,
            region=self.aws.region,
            account_id=self.aws.account_id,
            clock=clock or GuardedClock(start),
            faults=faults,
            destination=destination,
            reader=reader,
            stuck_after=stuck_after,
            seed=seed,
            read_limits=read_limits,
        )


class ReadFaults:
    """Errors answered instead of chosen Kinesis read calls, through botocore's
    ``before-call`` hook on the real client (the request is never sent; nothing is
    patched). ``schedule`` maps the 1-based number of a GetRecords call to the error
    code it gets; ``calls`` lists every read call made, with its parameters."""

    def __init__(self, client: Any, schedule: dict[int, str]) -> None:
        self.client = client
        self.schedule = dict(schedule)
        self.get_records = 0
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fired: list[tuple[int, str]] = []
        client.meta.events.register("before-parameter-build.kinesis.*", self._record)
        client.meta.events.register("before-call.kinesis.GetRecords", self._before)

    def detach(self) -> None:
        self.client.meta.events.unregister("before-parameter-build.kinesis.*", self._record)
        self.client.meta.events.unregister("before-call.kinesis.GetRecords", self._before)

    def _record(self, model: Any, params: Any = None, **_: Any) -> None:
        if model.name in ("GetRecords", "GetShardIterator"):
            self.calls.append((model.name, dict(params or {})))

    def _before(self, model: Any, **_: Any) -> Any:
        self.get_records += 1
        code = self.schedule.get(self.get_records)
        if code is None:
            return None
        self.fired.append((self.get_records, code))
        return (
            _HttpResponse(400),
            {
                "Error": {"Code": code, "Message": "injected read fault"},
                "ResponseMetadata": {"HTTPStatusCode": 400, "MaxAttemptsReached": True},
            },
        )


class _HttpResponse:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""
        self.text = ""
        self.raw = None


@pytest.fixture
def read_faults(kinesis: Any) -> Iterator[Callable[[dict[int, str]], ReadFaults]]:
    """Factory: ``read_faults({2: "ProvisionedThroughputExceededException"})`` on the
    test's Kinesis client; detached at the end of the test."""
    made: list[ReadFaults] = []

    def make(schedule: dict[int, str]) -> ReadFaults:
        made.append(ReadFaults(kinesis, schedule))
        return made[-1]

    yield make
    for faults in made:
        faults.detach()


@pytest.fixture
def esm_env(aws: Any, kinesis: Any, kinesis_stream: Callable[..., str]) -> EsmEnv:
    return EsmEnv(aws, kinesis, kinesis_stream)
