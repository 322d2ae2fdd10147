"""The embedded AWS endpoint, boto3 clients for any endpoint, and provisioning.

Local tooling: never imported by a Lambda handler.

* :class:`LocalAWS` runs moto's server on ``127.0.0.1`` on a free port, in a thread
  (default) or in a ``moto_server`` subprocess (``mode="process"``, when in-process
  threads would cost the caller throughput). Everything talks to it over HTTP
  through boto3, exactly as it would talk to AWS.
* :func:`session_clients` builds clients from the usual AWS environment only
  (``AWS_ENDPOINT_URL``, ``AWS_PROFILE``, ``AWS_REGION``), so the same code runs
  against a real account, LocalStack, kinesis-local or the embedded endpoint.
  :func:`aws_clients` takes the same settings explicitly.
* :func:`provision` creates what ``infra/consumers.json`` needs: each consumer's
  Kinesis stream and its on-failure destination (SQS queue, SNS topic, S3 bucket),
  idempotently. More resources (DynamoDB tables, archive buckets) plug in through
  the :class:`Resource` protocol and ``provision(..., extra=[...])``.
* :class:`KinesisLocal` runs the npm ``kinesis-local`` emulator (installed by
  ``./dev setup`` under ``tools/emulators``) on ``127.0.0.1`` on a free port.

Example::

    from streamkit.local.aws import LocalAWS, provision
    from streamkit.local.config import load_consumers

    with LocalAWS() as aws:
        aws.apply_env()  # later session_clients() / boto3.client(...) use it too
        result = provision(load_consumers(), aws.client)
        result.stream_arn("clickstream")  # arn:aws:kinesis:us-east-1:123456789012:...
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal, Protocol, Self

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from streamkit.local.config import ConsumerConfig, DestinationRef

__all__ = [
    "DEFAULT_REGION",
    "LOOPBACK",
    "MOTO_ACCOUNT_ID",
    "AwsClients",
    "ClientFactory",
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

DEFAULT_REGION: Final = "us-east-1"
#: moto's default account (``MOTO_ACCOUNT_ID`` is not set by this module).
MOTO_ACCOUNT_ID: Final = "123456789012"
LOOPBACK: Final = "127.0.0.1"
#: Credentials for local endpoints; neither moto nor kinesis-local checks them.
TEST_CREDENTIALS: Final = "testing"

#: A boto3 client factory: service name -> client. ``LocalAWS.client``,
#: ``AwsClients`` instances and ``lambda name: boto3.client(name)`` all qualify.
ClientFactory = Callable[[str], Any]

# Variables that would make boto3 ignore or second-guess AWS_ENDPOINT_URL and the
# test credentials while LocalAWS's environment is applied.
_CONFLICTING_ENV: Final = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
_STARTUP_TIMEOUT: Final = 30.0
_POLL_INTERVAL: Final = 0.05
_WAITER_DELAY: Final = 1  # seconds between waiter polls (botocore's default is 10)
_WAITER_MAX_ATTEMPTS: Final = 300


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


# ------------------------------------------------------------------------ clients


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
    (boto3 sessions are not thread-safe, the clients they make are).
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


def aws_clients(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
    config: Any = None,
) -> AwsClients:
    """Clients for an explicit endpoint / region / credentials.

    Anything left as None comes from boto3's usual resolution (environment, shared
    config files, instance roles). ``region`` also falls back to ``AWS_REGION``,
    which botocore itself does not read. Raises ValueError when no region is
    configured anywhere.
    """
    session = boto3.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        region_name=region or os.environ.get("AWS_REGION") or None,
        profile_name=profile,
    )
    if not session.region_name:
        raise ValueError(
            "no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION, or a "
            "profile region) or pass region="
        )
    return AwsClients(session, endpoint_url=endpoint_url, config=config)


def session_clients(region: str | None = None, *, config: Any = None) -> AwsClients:
    """Clients from the usual AWS environment only.

    Honours ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``) through boto3
    itself, ``AWS_PROFILE``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` and the usual
    credential chain: the same call targets a real account, LocalStack,
    kinesis-local or :class:`LocalAWS` after ``apply_env()``.
    """
    return aws_clients(region=region, config=config)


# --------------------------------------------------------------------- processes


def _free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop_process(proc: subprocess.Popen[bytes], timeout: float = 3.0) -> None:
    # moto_server keeps serving keep-alive connections after SIGTERM for a while;
    # its state is throwaway, so a short grace period then SIGKILL is fine.
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text[-limit:].strip()


def _http_post(url: str, timeout: float = 10.0) -> None:
    # Loopback only: never through a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=b"", method="POST")
    with opener.open(request, timeout=timeout) as response:
        response.read()


# ---------------------------------------------------------------------- LocalAWS


class LocalAWS:
    """moto's server on ``127.0.0.1`` on a free port; a context manager.

    ``mode="thread"`` (default) runs ``moto.server.ThreadedMotoServer`` in this
    process; ``mode="process"`` runs the ``moto_server`` console script as a child
    (no GIL contention with the caller). Either way clients reach it over HTTP.

    ``apply_env()`` points boto3 in this process (and children started later) at
    it; the previous environment is restored by ``stop()`` / on exit.
    """

    def __init__(
        self,
        *,
        mode: Literal["thread", "process"] = "thread",
        region: str = DEFAULT_REGION,
        startup_timeout: float = _STARTUP_TIMEOUT,
        quiet: bool = True,
    ) -> None:
        if mode not in ("thread", "process"):
            raise ValueError(f"mode must be 'thread' or 'process', got {mode!r}")
        self.mode: Literal["thread", "process"] = mode
        self.region = region
        self.account_id: str = MOTO_ACCOUNT_ID
        self.host = LOOPBACK
        self.port: int | None = None
        self.startup_timeout = startup_timeout
        self.quiet = quiet
        self._server: Any = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._logdir: tempfile.TemporaryDirectory[str] | None = None
        self._saved_env: dict[str, str | None] | None = None
        self._saved_log_level: int | None = None
        self._clients: AwsClients | None = None

    # lifecycle ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        if self.mode == "thread":
            return self._server is not None
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        if self.port is not None:
            return self
        if self.mode == "thread":
            self._start_thread()
        else:
            self._start_process()
        return self

    def _start_thread(self) -> None:
        from moto.server import ThreadedMotoServer

        if self.quiet:
            # werkzeug logs every request at INFO; keep it quiet unless configured.
            werkzeug_log = logging.getLogger("werkzeug")
            if werkzeug_log.level == logging.NOTSET:
                self._saved_log_level = werkzeug_log.level
                werkzeug_log.setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self.host, self.port = host, int(port)

    def _moto_command(self) -> list[str]:
        script = Path(sys.executable).with_name("moto_server")
        if script.is_file():
            return [str(script)]
        found = shutil.which("moto_server")
        if found:
            return [found]
        return [sys.executable, "-m", "moto.server"]

    def _start_process(self) -> None:
        self._logdir = tempfile.TemporaryDirectory(prefix="streamkit-moto-")
        log_path = Path(self._logdir.name) / "moto_server.log"
        env = {k: v for k, v in os.environ.items() if k != "MOTO_ACCOUNT_ID"}
        last_error = ""
        # The port is picked here and bound by the child: another process could
        # take it in between, so an early exit is retried with a new port.
        for _ in range(3):
            port = _free_port()
            with log_path.open("ab") as log:
                proc = subprocess.Popen(
                    [*self._moto_command(), "-H", LOOPBACK, "-p", str(port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            deadline = time.monotonic() + self.startup_timeout
            while time.monotonic() < deadline:
                if _port_open(LOOPBACK, port):
                    self._proc, self.port = proc, port
                    return
                try:
                    proc.wait(timeout=_POLL_INTERVAL)
                except subprocess.TimeoutExpired:
                    continue
                break  # exited: try again on another port
            _stop_process(proc)
            last_error = _tail(log_path)
        self._cleanup_logdir()
        raise RuntimeError(f"moto_server did not start on {LOOPBACK}: {last_error or 'no output'}")

    def stop(self) -> None:
        """Stop the server and restore the environment; safe to call twice."""
        self.restore_env()
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._proc is not None:
            _stop_process(self._proc)
            self._proc = None
        self._cleanup_logdir()
        if self._saved_log_level is not None:
            logging.getLogger("werkzeug").setLevel(self._saved_log_level)
            self._saved_log_level = None
        self.port = None
        self._clients = None

    def _cleanup_logdir(self) -> None:
        if self._logdir is not None:
            self._logdir.cleanup()
            self._logdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # endpoint -------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("LocalAWS is not started (use `with LocalAWS() as aws:`)")
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment that points boto3 (and the AWS CLI) at this endpoint."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": TEST_CREDENTIALS,
            "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    def apply_env(self) -> None:
        """Set :meth:`env` in ``os.environ``; unset what would override it.

        Profiles, session tokens and per-service ``AWS_ENDPOINT_URL_*`` variables
        are removed while applied. ``restore_env()`` (also run by ``stop()``) puts
        the previous values back.
        """
        values = self.env()
        names = {
            *values,
            *_CONFLICTING_ENV,
            *(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")),
        }
        if self._saved_env is None:
            self._saved_env = {name: os.environ.get(name) for name in names}
        else:
            for name in names:
                self._saved_env.setdefault(name, os.environ.get(name))
        for name in names - values.keys():
            os.environ.pop(name, None)
        os.environ.update(values)

    def restore_env(self) -> None:
        if self._saved_env is None:
            return
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = None

    @property
    def clients(self) -> AwsClients:
        """Cached clients bound to this endpoint (independent of ``os.environ``)."""
        if self._clients is None:
            session = boto3.Session(
                aws_access_key_id=TEST_CREDENTIALS,
                aws_secret_access_key=TEST_CREDENTIALS,
                region_name=self.region,
            )
            self._clients = AwsClients(session, endpoint_url=self.endpoint_url)
        return self._clients

    def client(self, service_name: str) -> Any:
        """A boto3 client for ``service_name`` on this endpoint (cached)."""
        return self.clients(service_name)

    def reset(self) -> None:
        """Delete every resource: ``POST /moto-api/reset``."""
        _http_post(f"{self.endpoint_url}/moto-api/reset")

    def __repr__(self) -> str:
        where = self.endpoint_url if self.port is not None else "stopped"
        return f"LocalAWS(mode={self.mode!r}, {where})"


# --------------------------------------------------------------------- resources


class ProvisionError(RuntimeError):
    """A resource could not be created (e.g. a bucket name owned by someone else)."""


@dataclass(frozen=True, slots=True)
class ProvisionedResource:
    """One resource that exists after :func:`provision`."""

    kind: str  # "kinesis", "sqs", "sns", "s3"; later issues add e.g. "dynamodb"
    name: str
    arn: str
    #: What API calls take: stream name, queue URL, topic ARN, bucket name.
    target: str
    #: False when it already existed (provisioning is idempotent).
    created: bool


class Resource(Protocol):
    """Something :func:`provision` creates: the extension point for new resources.

    Provisioning runs in two phases so that slow resources are created in
    parallel: ``create`` on every resource first, then ``ready`` on each.
    ``create`` must be idempotent (an existing resource is fine: return False).
    """

    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...

    def create(self, clients: ClientFactory) -> bool:
        """Start creating; True if created now, False if it already existed."""
        ...

    def ready(self, clients: ClientFactory, *, wait: bool, created: bool) -> ProvisionedResource:
        """Wait until usable (when ``wait``), converge settings, describe it."""
        ...


def _error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True, slots=True)
class KinesisStream:
    """A provisioned-mode Kinesis stream."""

    name: str
    shard_count: int
    retention_hours: int = 24
    kind: str = field(default="kinesis", init=False)

    def create(self, clients: ClientFactory) -> bool:
        try:
            clients("kinesis").create_stream(StreamName=self.name, ShardCount=self.shard_count)
        except ClientError as exc:
            if _error_code(exc) == "ResourceInUseException":
                return False  # exists (or is being created/deleted: ready() tells)
            raise
        return True

    def _wait_active(self, clients: ClientFactory) -> None:
        clients("kinesis").get_waiter("stream_exists").wait(
            StreamName=self.name,
            WaiterConfig={"Delay": _WAITER_DELAY, "MaxAttempts": _WAITER_MAX_ATTEMPTS},
        )

    def ready(self, clients: ClientFactory, *, wait: bool, created: bool) -> ProvisionedResource:
        kinesis = clients("kinesis")
        summary = kinesis.describe_stream_summary(StreamName=self.name)["StreamDescriptionSummary"]
        current = int(summary["RetentionPeriodHours"])
        if current != self.retention_hours:
            # Retention changes need an ACTIVE stream, so wait even when wait=False.
            self._wait_active(clients)
            if current < self.retention_hours:
                kinesis.increase_stream_retention_period(
                    StreamName=self.name, RetentionPeriodHours=self.retention_hours
                )
            else:
                kinesis.decrease_stream_retention_period(
                    StreamName=self.name, RetentionPeriodHours=self.retention_hours
                )
        if wait:
            self._wait_active(clients)
        return ProvisionedResource(
            kind=self.kind,
            name=self.name,
            arn=str(summary["StreamARN"]),
            target=self.name,
            created=created,
        )


@dataclass(frozen=True, slots=True)
class SqsQueue:
    """A standard SQS queue with default attributes."""

    name: str
    kind: str = field(default="sqs", init=False)

    def create(self, clients: ClientFactory) -> bool:
        sqs = clients("sqs")
        try:
            sqs.get_queue_url(QueueName=self.name)
        except ClientError as exc:
            if _error_code(exc) not in (
                "AWS.SimpleQueueService.NonExistentQueue",
                "QueueDoesNotExist",
            ):
                raise
        else:
            return False
        attributes = {}
        if self.name.endswith(".fifo"):
            attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
        sqs.create_queue(QueueName=self.name, Attributes=attributes)  # idempotent
        return True

    def ready(self, clients: ClientFactory, *, wait: bool, created: bool) -> ProvisionedResource:
        sqs = clients("sqs")
        url = str(sqs.get_queue_url(QueueName=self.name)["QueueUrl"])
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        arn = str(attributes["Attributes"]["QueueArn"])
        return ProvisionedResource(self.kind, self.name, arn, url, created)


@dataclass(frozen=True, slots=True)
class SnsTopic:
    """A standard SNS topic (CreateTopic is idempotent)."""

    name: str
    kind: str = field(default="sns", init=False)

    def _find(self, clients: ClientFactory) -> str | None:
        suffix = f":{self.name}"
        for page in clients("sns").get_paginator("list_topics").paginate():
            for topic in page.get("Topics", []):
                if str(topic["TopicArn"]).endswith(suffix):
                    return str(topic["TopicArn"])
        return None

    def create(self, clients: ClientFactory) -> bool:
        if self._find(clients) is not None:
            return False
        clients("sns").create_topic(Name=self.name)
        return True

    def ready(self, clients: ClientFactory, *, wait: bool, created: bool) -> ProvisionedResource:
        arn = str(clients("sns").create_topic(Name=self.name)["TopicArn"])  # returns existing
        return ProvisionedResource(self.kind, self.name, arn, arn, created)


@dataclass(frozen=True, slots=True)
class S3Bucket:
    """An S3 bucket in the clients' region."""

    name: str
    kind: str = field(default="s3", init=False)

    def create(self, clients: ClientFactory) -> bool:
        s3 = clients("s3")
        # CreateBucket in us-east-1 succeeds again for the owner, so look first.
        try:
            s3.head_bucket(Bucket=self.name)
        except ClientError as exc:
            if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound", "403"):
                raise
        else:
            return False
        region = s3.meta.region_name
        kwargs: dict[str, Any] = {"Bucket": self.name}
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**kwargs)
        except ClientError as exc:
            code = _error_code(exc)
            if code == "BucketAlreadyOwnedByYou":
                return False
            if code == "BucketAlreadyExists":
                raise ProvisionError(
                    f"S3 bucket {self.name!r} exists and belongs to another account; "
                    "bucket names are global, pick another name in infra/consumers.json"
                ) from exc
            raise
        return True

    def ready(self, clients: ClientFactory, *, wait: bool, created: bool) -> ProvisionedResource:
        s3 = clients("s3")
        if wait:
            s3.get_waiter("bucket_exists").wait(
                Bucket=self.name,
                WaiterConfig={"Delay": _WAITER_DELAY, "MaxAttempts": _WAITER_MAX_ATTEMPTS},
            )
        arn = f"arn:{s3.meta.partition}:s3:::{self.name}"
        return ProvisionedResource(self.kind, self.name, arn, self.name, created)


@dataclass(frozen=True, slots=True)
class DynamoDbTable:
    """An on-demand DynamoDB table with a string hash key and optional range key.

    :meth:`ledger` and :meth:`aggregates` give the two schemas streamkit's sinks use.
    """

    name: str
    hash_key: str
    range_key: str | None = None
    ttl_attribute: str | None = None
    kind: str = field(default="dynamodb", init=False)

    @classmethod
    def ledger(cls, name: str) -> DynamoDbTable:
        return cls(name, "id")

    @classmethod
    def aggregates(cls, name: str) -> DynamoDbTable:
        return cls(name, "pk", "sk", ttl_attribute="ttl")

    def create(self, clients: ClientFactory) -> bool:
        keys = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        attrs = [{"AttributeName": self.hash_key, "AttributeType": "S"}]
        if self.range_key:
            keys.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
            attrs.append({"AttributeName": self.range_key, "AttributeType": "S"})
        try:
            clients("dynamodb").create_table(
                TableName=self.name,
                KeySchema=keys,
                AttributeDefinitions=attrs,
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as exc:
            if _error_code(exc) == "ResourceInUseException":
                return False
            raise
        return True

    def ready(self, clients: ClientFactory, *, wait: bool, created: bool) -> ProvisionedResource:
        ddb = clients("dynamodb")
        if wait:
            ddb.get_waiter("table_exists").wait(
                TableName=self.name,
                WaiterConfig={"Delay": _WAITER_DELAY, "MaxAttempts": _WAITER_MAX_ATTEMPTS},
            )
        if created and self.ttl_attribute:
            ddb.update_time_to_live(
                TableName=self.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": self.ttl_attribute},
            )
        arn = str(ddb.describe_table(TableName=self.name)["Table"]["TableArn"])
        return ProvisionedResource(self.kind, self.name, arn, self.name, created)


def destination_resource(ref: DestinationRef) -> Resource:
    """The resource behind an on-failure destination of the consumer config."""
    if ref.type == "sqs":
        return SqsQueue(ref.name)
    if ref.type == "sns":
        return SnsTopic(ref.name)
    return S3Bucket(ref.name)


def resources_for(consumers: Mapping[str, ConsumerConfig]) -> list[Resource]:
    """Every resource the consumers need, each once, streams first."""
    streams: dict[str, Resource] = {}
    destinations: dict[tuple[str, str], Resource] = {}
    for consumer in consumers.values():
        stream = consumer.stream
        streams.setdefault(
            stream.name, KinesisStream(stream.name, stream.shard_count, stream.retention_hours)
        )
        ref = consumer.event_source_mapping.on_failure
        if ref is not None:
            destinations.setdefault((ref.type, ref.name), destination_resource(ref))
        res = consumer.resources
        if res is not None:
            stores: list[Resource] = [
                DynamoDbTable.ledger(res.ledger_table),
                S3Bucket(res.dead_letter_bucket),
            ]
            if res.aggregate_table:
                stores.append(DynamoDbTable.aggregates(res.aggregate_table))
            if res.archive_bucket:
                stores.append(S3Bucket(res.archive_bucket))
            if res.alerts_queue:
                stores.append(SqsQueue(res.alerts_queue))
            for store in stores:
                destinations.setdefault((store.kind, store.name), store)
    return [*streams.values(), *destinations.values()]


@dataclass(frozen=True, slots=True)
class ProvisionedConsumer:
    name: str
    stream: ProvisionedResource
    on_failure: ProvisionedResource | None

    @property
    def stream_arn(self) -> str:
        return self.stream.arn

    @property
    def destination_arn(self) -> str | None:
        """The ARN for ``DestinationConfig.OnFailure.Destination``, or None."""
        return None if self.on_failure is None else self.on_failure.arn


@dataclass(frozen=True, slots=True)
class ProvisionResult:
    """What :func:`provision` made: per consumer, and every resource by (kind, name)."""

    consumers: Mapping[str, ProvisionedConsumer]
    resources: Mapping[tuple[str, str], ProvisionedResource]

    def stream_arn(self, consumer: str) -> str:
        return self.consumers[consumer].stream.arn

    def destination(self, consumer: str) -> ProvisionedResource | None:
        return self.consumers[consumer].on_failure

    def resource(self, kind: str, name: str) -> ProvisionedResource:
        return self.resources[(kind, name)]

    @property
    def created(self) -> list[ProvisionedResource]:
        """The resources this call created (empty on an idempotent re-run)."""
        return [r for r in self.resources.values() if r.created]


def provision(
    consumers: Mapping[str, ConsumerConfig],
    clients: ClientFactory,
    *,
    wait: bool = True,
    extra: Iterable[Resource] = (),
) -> ProvisionResult:
    """Create every consumer's stream and on-failure destination, idempotently.

    ``clients`` is any client factory: ``LocalAWS.client``, :func:`session_clients`
    for a real account or another endpoint. Streams are created first (all at once,
    then waited ACTIVE with boto3's ``stream_exists`` waiter when ``wait``), then
    the destinations; ``extra`` resources (tables, buckets of later features) are
    provisioned the same way. Existing resources are left as they are, except a
    stream's retention, which is set to the configured value.
    """
    planned: list[Resource] = []
    seen: set[tuple[str, str]] = set()
    for resource in [*resources_for(consumers), *extra]:
        key = (resource.kind, resource.name)
        if key not in seen:
            seen.add(key)
            planned.append(resource)
    created = [resource.create(clients) for resource in planned]
    provisioned: dict[tuple[str, str], ProvisionedResource] = {}
    for resource, was_created in zip(planned, created, strict=True):
        provisioned[(resource.kind, resource.name)] = resource.ready(
            clients, wait=wait, created=was_created
        )
    per_consumer: dict[str, ProvisionedConsumer] = {}
    for name, consumer in consumers.items():
        ref = consumer.event_source_mapping.on_failure
        per_consumer[name] = ProvisionedConsumer(
            name=name,
            stream=provisioned[("kinesis", consumer.stream.name)],
            on_failure=None if ref is None else provisioned[(ref.type, ref.name)],
        )
    return ProvisionResult(
        consumers=MappingProxyType(per_consumer), resources=MappingProxyType(provisioned)
    )


# ------------------------------------------------------------------ kinesis-local


def emulators_dir() -> Path:
    """``tools/emulators`` of this checkout (``STREAMKIT_EMULATORS_DIR`` overrides)."""
    override = os.environ.get("STREAMKIT_EMULATORS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "tools" / "emulators"


# Loaded with `node --require` before kinesis-local: its HTTP servers hard-code
# 0.0.0.0 and fixed ports, so bind them to 127.0.0.1 instead, on a free port each,
# and report the ports. Port 1 (the TLS port we configure) is a marker, never bound.
_LOOPBACK_PRELOAD: Final = r"""
"use strict";
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (typeof first === "string" && !/^[0-9]+$/.test(first)) return listen.apply(this, args);
  if (first && typeof first === "object" && first.path) return listen.apply(this, args);
  const callback = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
  const options =
    typeof args[0] === "object" && args[0] !== null ? { ...args[0] } : { port: args[0] };
  const role = Number(options.port) === 1 ? "tls" : "plain";
  options.port = 0;
  options.host = "127.0.0.1";
  this.once("listening", () => {
    const address = this.address();
    process.stderr.write(`streamkit-listening ${role} ${address.address} ${address.port}\n`);
  });
  return callback ? listen.call(this, options, callback) : listen.call(this, options);
};
"""


class KinesisLocal:
    """The npm ``kinesis-local`` emulator (kinesis-mock) on ``127.0.0.1``.

    Started as ``node --require <loopback preload> node_modules/kinesis-local/main.js``
    with its settings in environment variables (kinesis-local has no flags):
    ``KINESIS_MOCK_PLAIN_PORT`` / ``KINESIS_MOCK_TLS_PORT`` (ports), ``*_DURATION``
    (how long CREATING/UPDATING states last, e.g. ``CREATE_STREAM_DURATION``),
    ``SHOULD_PERSIST_DATA=false`` (in memory), ``AWS_ACCOUNT_ID``, ``AWS_REGION``.
    Only the plain HTTP port is used; ``endpoint_url`` is ``http://127.0.0.1:<port>``.
    """

    DURATION_SETTINGS: Final = (
        "CREATE_STREAM_DURATION",
        "DELETE_STREAM_DURATION",
        "REGISTER_STREAM_CONSUMER_DURATION",
        "DEREGISTER_STREAM_CONSUMER_DURATION",
        "START_STREAM_ENCRYPTION_DURATION",
        "STOP_STREAM_ENCRYPTION_DURATION",
        "MERGE_SHARDS_DURATION",
        "SPLIT_SHARD_DURATION",
        "UPDATE_SHARD_COUNT_DURATION",
        "UPDATE_STREAM_MODE_DURATION",
    )

    def __init__(
        self,
        *,
        package_dir: str | os.PathLike[str] | None = None,
        node: str | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = MOTO_ACCOUNT_ID,
        transition: str = "0ms",
        shard_limit: int = 500,
        log_level: str = "WARN",
        startup_timeout: float = 60.0,
    ) -> None:
        if package_dir is None:
            package_dir = emulators_dir() / "node_modules" / "kinesis-local"
        self.package_dir = Path(package_dir)
        self.node = node
        self.region = region
        self.account_id = account_id
        #: How long CREATING / UPDATING / DELETING states last ("500ms" is the default
        #: of kinesis-local itself; "0ms" makes every change immediate).
        self.transition = transition
        self.shard_limit = shard_limit
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._clients: AwsClients | None = None

    @property
    def main_js(self) -> Path:
        return self.package_dir / "main.js"

    def command(self, preload: Path) -> list[str]:
        node = self.node or shutil.which("node")
        if node is None:
            raise FileNotFoundError("kinesis-local needs `node` on PATH")
        return [node, "--require", str(preload), str(self.main_js)]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            KINESIS_MOCK_PLAIN_PORT="0",
            KINESIS_MOCK_TLS_PORT="1",  # the preload's marker for the TLS server
            KINESIS_MOCK_CERT_PATH=str(self.package_dir / "server.json"),
            SHOULD_PERSIST_DATA="false",
            LOAD_DATA_IF_EXISTS="false",
            AWS_ACCOUNT_ID=self.account_id,
            AWS_REGION=self.region,
            SHARD_LIMIT=str(self.shard_limit),
            LOG_LEVEL=self.log_level,
        )
        env.update(dict.fromkeys(self.DURATION_SETTINGS, self.transition))
        return env

    def start(self) -> Self:
        if self._proc is not None:
            return self
        if not self.main_js.is_file():
            raise FileNotFoundError(
                f"kinesis-local is not installed ({self.main_js} is missing): run `./dev setup`"
            )
        self._workdir = tempfile.TemporaryDirectory(prefix="streamkit-kinesis-local-")
        workdir = Path(self._workdir.name)
        preload = workdir / "loopback.cjs"
        preload.write_text(_LOOPBACK_PRELOAD, encoding="utf-8")
        log_path = workdir / "kinesis-local.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                self.command(preload),
                cwd=workdir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._proc = proc
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            port = self._reported_port(log_path)
            if port is not None and _port_open(LOOPBACK, port):
                self.port = port
                return self
            try:
                proc.wait(timeout=_POLL_INTERVAL)
            except subprocess.TimeoutExpired:
                continue
            break
        output = _tail(log_path)
        self.stop()
        raise RuntimeError(f"kinesis-local did not start on {LOOPBACK}: {output or 'no output'}")

    @staticmethod
    def _reported_port(log_path: Path) -> int | None:
        for line in _tail(log_path, limit=1 << 16).splitlines():
            parts = line.split()
            if parts[:2] == ["streamkit-listening", "plain"] and len(parts) == 4:
                return int(parts[3])
        return None

    def stop(self) -> None:
        if self._proc is not None:
            _stop_process(self._proc)
            self._proc = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
        self.port = None
        self._clients = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("kinesis-local is not started")
        return f"http://{LOOPBACK}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment pointing boto3's Kinesis client (only) at this emulator."""
        return {
            "AWS_ENDPOINT_URL_KINESIS": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": TEST_CREDENTIALS,
            "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self, service_name: str = "kinesis") -> Any:
        if self._clients is None:
            session = boto3.Session(
                aws_access_key_id=TEST_CREDENTIALS,
                aws_secret_access_key=TEST_CREDENTIALS,
                region_name=self.region,
            )
            self._clients = AwsClients(session, endpoint_url=self.endpoint_url)
        return self._clients(service_name)
