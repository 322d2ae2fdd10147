"""Fault injection on real boto3 clients, through botocore's event hooks.

Nothing is patched or stubbed: requests still go over HTTP to the endpoint. A
:class:`WriteFaults` schedule registers ``before-call`` / ``after-call`` handlers
on the clients a consumer uses and, at the chosen AWS *write* calls, either
crashes the invocation before the write is sent, crashes it after the write
succeeded (the write happened, the caller never learns), or answers with a
throttling error without sending it. (Faults around a whole invocation, drawn by
the ESM simulator, are :mod:`streamkit.local.faults`.)

Example::

    faults = WriteFaults({3: "crash_after", 7: "throttle"})
    faults.attach(clients("dynamodb"), clients("s3"))
    ...                          # the 3rd write of the run crashes after it landed
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from streamkit.local.faults import SimulatedCrash

#: The operations that change state (what "any single AWS write" means).
WRITE_OPERATIONS = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "PutObject",
        "CopyObject",
        "DeleteObject",
        "SendMessage",
        "PutRecord",
        "PutRecords",
    }
)
KINDS = ("crash_before", "crash_after", "throttle")


class WriteFaults:
    """Inject faults at given write numbers (1-based, counted across all clients)."""

    def __init__(self, schedule: Mapping[int, str]) -> None:
        for n, kind in schedule.items():
            if kind not in KINDS:
                raise ValueError(f"fault at write {n}: {kind!r} is not one of {', '.join(KINDS)}")
        self.schedule = dict(schedule)
        self.writes = 0
        self.fired: list[tuple[int, str, str]] = []
        self._lock = threading.Lock()
        self._attached: list[Any] = []

    def attach(self, *clients: Any) -> None:
        for client in clients:
            client.meta.events.register("before-call.*.*", self._before)
            client.meta.events.register("after-call.*.*", self._after)
            self._attached.append(client)

    def detach(self) -> None:
        """Remove the hooks from every client :meth:`attach` put them on."""
        for client in self._attached:
            client.meta.events.unregister("before-call.*.*", self._before)
            client.meta.events.unregister("after-call.*.*", self._after)
        self._attached.clear()

    def _before(self, model: Any, context: Any = None, **_: Any) -> Any:
        if model.name not in WRITE_OPERATIONS:
            return None
        with self._lock:
            self.writes += 1
            n = self.writes
            kind = self.schedule.get(n)
        if kind == "crash_after" and isinstance(context, dict):
            context["streamkit_crash_after"] = n
        if kind == "crash_before":
            self.fired.append((n, kind, model.name))
            raise SimulatedCrash(f"crash before write {n} ({model.name})")
        if kind == "throttle":
            self.fired.append((n, kind, model.name))
            # Returning a response from before-call short-circuits the request:
            # botocore treats it as the service's answer (and may retry it).
            return (
                _HttpResponse(400),
                {
                    "Error": {"Code": "ThrottlingException", "Message": "injected throttle"},
                    "ResponseMetadata": {"HTTPStatusCode": 400, "MaxAttemptsReached": True},
                },
            )
        return None

    def _after(self, model: Any, context: Any = None, **_: Any) -> None:
        n = context.pop("streamkit_crash_after", None) if isinstance(context, dict) else None
        if n is not None:
            self.fired.append((n, "crash_after", model.name))
            raise SimulatedCrash(f"crash after write {n} ({model.name})")


class _HttpResponse:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""
        self.text = ""
        self.raw = None


__all__ = ["KINDS", "WRITE_OPERATIONS", "ClientError", "WriteFaults"]
