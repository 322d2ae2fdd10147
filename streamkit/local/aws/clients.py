"""The one boto3 client factory of the local tooling: :func:`aws_clients`.

Every client streamkit's local tooling and test helpers use is built here, for any
endpoint: a real account, LocalStack, kinesis-local or the embedded moto server.
The Lambda path keeps its own small factory (``streamkit.sinks.clients``).

Example::

    clients = aws_clients(endpoint_url="http://127.0.0.1:4566", region="us-east-1")
    clients("kinesis").list_streams()
    fast = aws_clients(region="us-east-1", numeric_timestamps=True)("kinesis")
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, Final

import boto3
from botocore.config import Config

from streamkit.local.shards import epoch_seconds

__all__ = [
    "DEFAULT_REGION",
    "TEST_CREDENTIALS",
    "AwsClients",
    "ClientFactory",
    "aws_clients",
    "client_config",
    "endpoint_from_env",
    "session_clients",
]

DEFAULT_REGION: Final = "us-east-1"
#: Credentials for local endpoints; neither moto nor kinesis-local checks them.
TEST_CREDENTIALS: Final = "testing"

#: A boto3 client factory: service name -> client. ``LocalAWS.client``,
#: ``AwsClients`` instances and ``lambda name: boto3.client(name)`` all qualify.
ClientFactory = Callable[[str], Any]


def client_config(**overrides: Any) -> Any:
    """The botocore ``Config`` every streamkit client uses (``overrides`` win).

    Standard retry mode (exponential backoff with jitter, throttling and transient
    errors retried), bounded connect/read timeouts, and a connection pool large
    enough for one poller per shard.
    """
    settings: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": 5},
        "connect_timeout": 5,
        "read_timeout": 30,
        "max_pool_connections": 50,
        "tcp_keepalive": True,
    }
    settings.update(overrides)
    return Config(**settings)


def endpoint_from_env(service_name: str | None = None) -> str | None:
    """The endpoint boto3 will use from the environment, or None for AWS itself.

    ``AWS_ENDPOINT_URL_<SERVICE>`` (e.g. ``AWS_ENDPOINT_URL_KINESIS``) wins over
    ``AWS_ENDPOINT_URL`` for ``service_name``, as in boto3.
    """
    if service_name is not None:
        key = "AWS_ENDPOINT_URL_" + service_name.upper().replace("-", "_").replace(" ", "_")
        specific = os.environ.get(key)
        if specific:
            return specific
    return os.environ.get("AWS_ENDPOINT_URL") or None


class AwsClients:
    """Callable client factory over one boto3 session: ``clients("kinesis")``.

    Clients are created once per service and cached; creation is serialised
    (boto3 sessions are not thread-safe, the clients they make are). Build one
    with :func:`aws_clients`.
    """

    def __init__(
        self,
        session: Any,
        *,
        endpoint_url: str | None = None,
        config: Any = None,
    ) -> None:
        self.session = session
        #: The explicit endpoint, or None when boto3 resolves it (AWS_ENDPOINT_URL...).
        self.endpoint_url = endpoint_url
        self.config = client_config() if config is None else config
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def __call__(self, service_name: str) -> Any:
        with self._lock:
            client = self._clients.get(service_name)
            if client is None:
                kwargs: dict[str, Any] = {"config": self.config}
                if self.endpoint_url is not None:
                    kwargs["endpoint_url"] = self.endpoint_url
                client = self.session.client(service_name, **kwargs)
                self._clients[service_name] = client
            return client

    def __repr__(self) -> str:
        where = self.endpoint_url or endpoint_from_env() or "AWS"
        return f"AwsClients(region={self.region!r}, endpoint={where!r})"


def _numeric_timestamp_session() -> Any:
    """A botocore session whose responses keep timestamps as epoch numbers.

    botocore turns every ApproximateArrivalTimestamp into a ``tzlocal`` datetime,
    and converting that back costs more than the rest of a GetRecords record put
    together; the ESM simulator only needs the number.
    """
    import botocore.session

    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=epoch_seconds
    )
    return core


def aws_clients(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
    config: Any = None,
    numeric_timestamps: bool = False,
) -> AwsClients:
    """Clients for an explicit endpoint / region / credentials.

    Anything left as None comes from boto3's usual resolution (environment,
    including ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>``, shared config
    files, instance roles). ``region`` also falls back to ``AWS_REGION``, which
    botocore itself does not read. ``config`` defaults to :func:`client_config`.
    With ``numeric_timestamps`` every timestamp in a response stays an epoch
    number (float) instead of a datetime: the fast path for reading shards.
    Raises ValueError when no region is configured anywhere.
    """
    session = boto3.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        region_name=region or os.environ.get("AWS_REGION") or None,
        profile_name=profile,
        botocore_session=_numeric_timestamp_session() if numeric_timestamps else None,
    )
    if not session.region_name:
        raise ValueError(
            "no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION, or a "
            "profile region) or pass region="
        )
    return AwsClients(session, endpoint_url=endpoint_url, config=config)


def session_clients(region: str | None = None, *, config: Any = None) -> AwsClients:
    """``aws_clients(region=region)``: clients from the usual AWS environment only.

    Honours ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``) through boto3
    itself, ``AWS_PROFILE``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` and the usual
    credential chain: the same call targets a real account, LocalStack,
    kinesis-local or ``LocalAWS`` after ``apply_env()``.
    """
    return aws_clients(region=region, config=config)
