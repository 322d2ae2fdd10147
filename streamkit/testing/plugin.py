"""pytest fixtures for code that talks to AWS through boto3 over HTTP.

Registered as the ``streamkit`` pytest plugin (entry point ``pytest11``), so a
project that installs streamkit gets these fixtures without a conftest:

* ``local_aws`` (session): a :class:`~streamkit.local.aws.LocalAWS` (moto's server
  on ``127.0.0.1``, free port) with its environment applied, so plain
  ``boto3.client("kinesis")`` reaches it too.
* ``aws``: the same endpoint, reset before the test: every test starts clean.
* ``kinesis``: a boto3 Kinesis client for ``aws``.
* ``kinesis_stream``: factory, ``kinesis_stream(name="s", shards=1) -> stream ARN``;
  the stream is ACTIVE when it returns.
* ``kinesis_local`` (session): the npm ``kinesis-local`` emulator on ``127.0.0.1``,
  yielding its endpoint URL. Skipped only when ``node`` is not on PATH; an error
  when node is there but the emulator is not installed (run ``./dev setup``).
* ``replay``: run captures (or :class:`~streamkit.local.capture.ShardCapture` objects)
  through a handler with Lambda's ESM rules on the clean endpoint:
  ``replay(files, handler, consumer="clickstream", faults=FaultPlan(...))`` returns
  a :class:`~streamkit.local.replay.ReplayReport`. ``consumer`` is a name from
  ``infra/consumers.json`` or a ``ConsumerConfig``. The handler sees each record's
  captured sequence number, partition key and arrival time, and the report's
  ``stats.outcomes`` and on-failure documents name the captured sequence numbers.

Example::

    def test_put(kinesis, kinesis_stream):
        arn = kinesis_stream("clicks", shards=2)
        kinesis.put_record(StreamARN=arn, Data=b"{}", PartitionKey="k")
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from streamkit.local.aws import TEST_CREDENTIALS, KinesisLocal, LocalAWS, aws_clients

__all__ = ["aws", "kinesis", "kinesis_local", "kinesis_stream", "local_aws", "replay"]

_WAITER_CONFIG = {"Delay": 1, "MaxAttempts": 60}


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAWS]:
    """The session's embedded AWS endpoint, with ``LocalAWS.env()`` applied."""
    with LocalAWS() as endpoint:
        endpoint.apply_env()
        yield endpoint


@pytest.fixture
def aws(local_aws: LocalAWS) -> LocalAWS:
    """The embedded endpoint, reset: no resources left over from earlier tests."""
    local_aws.reset()
    return local_aws


@pytest.fixture
def kinesis(aws: LocalAWS) -> Any:
    """A boto3 Kinesis client bound to the (reset) embedded endpoint."""
    return aws.client("kinesis")


@pytest.fixture
def kinesis_stream(kinesis: Any) -> Callable[..., str]:
    """Factory: create a stream, wait until it is ACTIVE, return its ARN."""

    def create(name: str = "s", shards: int = 1) -> str:
        kinesis.create_stream(StreamName=name, ShardCount=shards)
        kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig=_WAITER_CONFIG)
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        return str(summary["StreamARN"])

    return create


@pytest.fixture(scope="session")
def kinesis_local() -> Iterator[str]:
    """The npm kinesis-local emulator on 127.0.0.1 (free port): its endpoint URL."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("kinesis-local needs Node.js: `node` is not on PATH")
    emulator = KinesisLocal(node=node)
    if not emulator.main_js.is_file():
        pytest.fail(
            f"kinesis-local is not installed (no {emulator.main_js}): run `./dev setup`",
            pytrace=False,
        )
    with emulator:
        yield emulator.endpoint_url


@pytest.fixture
def replay(aws: LocalAWS) -> Callable[..., Any]:
    """Factory: replay captures through a handler on the clean endpoint.

    Example::

        def test_incident_42(replay):
            report = replay(["tests/data/incident-42.jsonl.gz"], handler, consumer="clickstream")
            assert report.ok and report.stats.records_discarded == 0

        def test_the_poison_record_is_dead_lettered(replay):
            report = replay(["incident-43.jsonl"], handler, consumer="clickstream")
            shard = "shardId-000000000000"  # the local shard of the capture's first shard
            assert report.stats.outcomes[(shard, "4959033827...")] == "discarded"
    """
    from streamkit.local.config import ConsumerConfig, load_consumers
    from streamkit.local.replay import replay as run_replay

    kinesis = aws_clients(
        endpoint_url=aws.endpoint_url,
        region=aws.region,
        access_key_id=TEST_CREDENTIALS,
        secret_access_key=TEST_CREDENTIALS,
        numeric_timestamps=True,
    )("kinesis")

    def run(
        sources: Any, handler: Any, *, consumer: str | ConsumerConfig | None = None, **options: Any
    ) -> Any:
        if isinstance(sources, str | bytes) or not hasattr(sources, "__iter__"):
            sources = [sources]
        if isinstance(consumer, str):
            consumer = load_consumers()[consumer]
        return run_replay(
            list(sources),
            handler,
            kinesis_client=kinesis,
            clients=aws.clients,
            consumer=consumer,
            **options,
        )

    return run
