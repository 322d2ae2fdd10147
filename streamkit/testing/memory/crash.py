"""A Lambda that dies between two DynamoDB writes, on any ``clients(service)`` factory.

:class:`CrashAfterPuts` wraps a clients factory (the in-memory stores' or boto3's):
its DynamoDB client lets ``puts`` ``PutItem`` calls through and raises
``ConnectionError`` at the next one, as an invocation that is killed between two
parts of an item would leave the table. Used by the property tests of multi-field
and ``layout="window"`` items, whose overflow parts are separate writes.

Example::

    with contextlib.suppress(ConnectionError):
        AggregateTable("aggs", CrashAfterPuts(aws.clients, 2)).apply(...)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CrashAfterPuts:
    """``clients`` whose DynamoDB ``PutItem`` fails after ``puts`` successful ones."""

    def __init__(self, clients: Callable[[str], Any], puts: int) -> None:
        self.clients, self.left = clients, puts

    def __call__(self, service: str) -> Any:
        client = self.clients(service)
        return _CrashingDynamoDB(client, self) if service == "dynamodb" else client


class _CrashingDynamoDB:
    def __init__(self, client: Any, budget: CrashAfterPuts) -> None:
        self._client, self._budget = client, budget
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **kwargs: Any) -> Any:
        if self._budget.left <= 0:
            raise ConnectionError("crashed between writes")
        self._budget.left -= 1
        return self._client.put_item(**kwargs)
