"""The embedded AWS endpoint, the emulators, boto3 clients for any endpoint, provisioning.

Local tooling: never imported by a Lambda handler.

* :mod:`~streamkit.local.aws.clients`: :func:`aws_clients`, the one boto3 client
  factory of the local tooling, for a real account, LocalStack, kinesis-local or
  the embedded endpoint (``numeric_timestamps=True`` for fast shard reads).
* :mod:`~streamkit.local.aws.endpoint`: :class:`LocalAWS`, moto's server on
  ``127.0.0.1`` on a free port, in a thread or a ``moto_server`` child process.
* :mod:`~streamkit.local.aws.emulators`: :class:`KinesisLocal`, the npm
  ``kinesis-local`` emulator (installed by ``./dev setup`` under ``tools/emulators``).
* :mod:`~streamkit.local.aws.process`: the child-process lifecycle both share.
* :mod:`~streamkit.local.aws.provision`: :func:`provision`, what
  ``infra/consumers.json`` needs, idempotently.

Example::

    from streamkit.local.aws import LocalAWS, provision
    from streamkit.local.config import load_consumers

    with LocalAWS() as aws:
        aws.apply_env()  # later aws_clients() / boto3.client(...) use it too
        result = provision(load_consumers(), aws.client)
        result.stream_arn("clickstream")  # arn:aws:kinesis:us-east-1:123456789012:...
"""

from streamkit.local.aws.clients import (
    DEFAULT_REGION,
    TEST_CREDENTIALS,
    AwsClients,
    ClientFactory,
    aws_clients,
    client_config,
    endpoint_from_env,
    session_clients,
)
from streamkit.local.aws.emulators import KinesisLocal, emulators_dir
from streamkit.local.aws.endpoint import MOTO_ACCOUNT_ID, LocalAWS
from streamkit.local.aws.process import LOOPBACK
from streamkit.local.aws.provision import (
    DynamoDbTable,
    KinesisStream,
    ProvisionedConsumer,
    ProvisionedResource,
    ProvisionError,
    ProvisionResult,
    Resource,
    S3Bucket,
    SnsTopic,
    SqsQueue,
    destination_resource,
    provision,
    resources_for,
)

__all__ = [
    "DEFAULT_REGION",
    "LOOPBACK",
    "MOTO_ACCOUNT_ID",
    "TEST_CREDENTIALS",
    "AwsClients",
    "ClientFactory",
    "DynamoDbTable",
    "KinesisLocal",
    "KinesisStream",
    "LocalAWS",
    "ProvisionError",
    "ProvisionResult",
    "ProvisionedConsumer",
    "ProvisionedResource",
    "Resource",
    "S3Bucket",
    "SnsTopic",
    "SqsQueue",
    "aws_clients",
    "client_config",
    "destination_resource",
    "emulators_dir",
    "endpoint_from_env",
    "provision",
    "resources_for",
    "session_clients",
]
