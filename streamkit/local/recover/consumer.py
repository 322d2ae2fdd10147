"""A consumer as ``streamkit recover`` and ``streamkit intents`` see it: config, pipeline, clients.

The pipeline is the consumer's own, built by its handler module's ``build_pipeline(env)``
from the environment its function gets (``resources`` and ``function.environment`` in
``infra/consumers.json``), so recovery writes exactly what the Lambda would have.
AWS settings come from the usual environment; ``endpoint_url`` / ``region`` override it
for the whole process (the pipeline's clients read ``AWS_ENDPOINT_URL`` as on Lambda).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streamkit.errors import StreamkitError
from streamkit.local.config import ConfigError, ConsumerConfig, load_consumers
from streamkit.pipeline import Pipeline


class RecoverError(StreamkitError, ValueError):
    """A recover or intents command that cannot run: the message says what to pass instead."""


@dataclass(frozen=True)
class Consumer:
    """One consumer, ready to read its ledger and stream and to run its pipeline."""

    name: str
    config: ConsumerConfig
    env: Mapping[str, str]
    pipeline: Pipeline
    #: boto3 client factory (``clients("sqs")``) on the same endpoint as the pipeline's.
    clients: Any
    #: Kinesis client whose timestamps stay epoch numbers (the shard reader's).
    kinesis: Any
    stream_arn: str

    @property
    def stream(self) -> str:
        return self.config.stream.name

    @property
    def ledger_table(self) -> str:
        assert self.config.resources is not None  # open_consumer checked it
        return self.config.resources.ledger_table


def open_consumer(
    name: str,
    config_path: str | None = None,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> Consumer:
    """The consumer ``name`` of the config, its pipeline built as its Lambda builds it.

    Raises :class:`RecoverError` naming what is wrong (unknown consumer, no resources,
    no region, a handler module without ``build_pipeline``).
    """
    from streamkit.local.aws import aws_clients

    try:
        consumers = load_consumers(config_path)
    except ConfigError as e:
        raise RecoverError(f"invalid consumer config {e.source or ''}:\n{e}") from None
    except OSError as e:
        raise RecoverError(f"cannot read the consumer config: {e}") from None
    config = consumers.get(name)
    if config is None:
        raise RecoverError(
            f"--consumer {name!r} is not in the config (known: {', '.join(sorted(consumers))})"
        )
    if config.resources is None:
        raise RecoverError(f"consumer {name!r} has no resources (ledger_table) in the config")
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    if region:
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region
    try:
        clients = aws_clients()
    except ValueError as e:  # no region anywhere
        raise RecoverError(f"{e} (or pass --region)") from None
    try:  # boto3 checks the endpoint when it builds a client
        kinesis = aws_clients(numeric_timestamps=True)("kinesis")
    except ValueError as e:
        raise RecoverError(f"{e} (check --endpoint-url / AWS_ENDPOINT_URL)") from None
    queue_url = None
    if config.resources.alerts_queue:
        queue_url = clients("sqs").get_queue_url(QueueName=config.resources.alerts_queue)[
            "QueueUrl"
        ]
    env = {
        **dict(config.function.environment),
        **config.resources.environment(name, queue_url),
    }
    pipeline = _build_pipeline(config.handler, env)
    arn = kinesis.describe_stream_summary(StreamName=config.stream.name)[
        "StreamDescriptionSummary"
    ]["StreamARN"]
    return Consumer(name, config, env, pipeline, clients, kinesis, str(arn))


def _build_pipeline(handler: str, env: Mapping[str, str]) -> Pipeline:
    """``handler``'s module's ``build_pipeline(env)``: the consumer's own pipeline."""
    module_name, _, _ = handler.rpartition(".")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # handlers/ of the project in the current directory
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise RecoverError(f"cannot import the handler module {module_name!r}: {e}") from None
    build = getattr(module, "build_pipeline", None)
    if build is None:
        raise RecoverError(
            f"handler module {module_name!r} has no build_pipeline(env): recovery needs the "
            "consumer's streamkit Pipeline"
        )
    try:
        pipeline = build(env)
    except KeyError as e:
        raise RecoverError(
            f"the consumer's environment lacks {e} (resources in the config)"
        ) from None
    if not isinstance(pipeline, Pipeline):
        raise RecoverError(f"{module_name}.build_pipeline returned {type(pipeline).__name__}")
    return pipeline
