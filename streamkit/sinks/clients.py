"""boto3 clients for the sinks: created once per container, retries by botocore.

Throttling (ProvisionedThroughputExceeded, ThrottlingException, SlowDown) is
retried by botocore's own *standard* retry mode with exponential back-off and
jitter; what still fails after that is reported to Lambda as a transient failure
of the batch. Timeouts are short so a retry never outlives the deadline margin.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

#: botocore retry attempts (the first call included) for sink writes.
MAX_ATTEMPTS = 6

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
    connect_timeout=3,
    read_timeout=10,
    tcp_keepalive=True,
    # As many pooled connections as the aggregate sink writes at once (its 16
    # threads): with botocore's default of 10 every write past the tenth opened a
    # new connection ("Connection pool is full, discarding connection").
    max_pool_connections=16,
    # No client-side parameter validation: the sinks build every request from typed
    # writes (write_checks.attribute_values, the ledger's own forms), and botocore's
    # validator walks every attribute of every item in Python: about a quarter of a
    # conditional PutItem's CPU on a 12 KB aggregate item (1.43 -> 1.04 ms, issue 13's
    # cost_cpu). The services validate anyway: a malformed request still fails, as a
    # ValidationException or SerializationException (tests/integration/test_sink_clients.py).
    parameter_validation=False,
)


class Clients:
    """Callable factory: ``clients("dynamodb")``; one client per service, cached.

    Honours the usual environment (AWS_REGION, AWS_ENDPOINT_URL, credentials), so
    the same handler runs on Lambda, against LocalStack or the embedded endpoint.
    """

    def __init__(self, config: Config | None = None, **client_kwargs: Any) -> None:
        self.config = config or _CONFIG
        self.client_kwargs = client_kwargs
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._session: Any = None

    def __call__(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    if self._session is None:
                        self._session = boto3.session.Session()
                    client = self._session.client(service, config=self.config, **self.client_kwargs)
                    self._clients[service] = client
        return client
