"""Faults at single AWS writes for handlers in worker processes: an HTTP proxy.

:class:`~streamkit.local.writefaults.WriteFaults` hooks boto3 clients of this
process; a handler in an execution environment has its own clients. So each
environment's AWS endpoint (``AWS_ENDPOINT_URL``) is a :class:`WriteFaultProxy` on
127.0.0.1 that forwards every request to the real endpoint and, at the scheduled
write numbers (counted across all environments, as WriteFaults counts across
clients), kills the environment before forwarding the write (``crash_before``),
kills it after the write landed and before the answer reaches the handler
(``crash_after``), or answers with a throttling error without forwarding it
(``throttle``; the SDK's retry sends it again). It works whatever client library
the handler uses.

Example::

    faults = WriteFaults({3: "crash_after", 7: "throttle"})
    proxy = WriteFaultProxy("http://127.0.0.1:5000", ProxyFaults(faults), on_crash).start()
    env["AWS_ENDPOINT_URL"] = proxy.url
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from streamkit.local.httpfwd import QuietServer, forward, send_reply
from streamkit.local.writefaults import WRITE_OPERATIONS, WriteFaults


#: Headers that belong to one connection, not to the request forwarded.
class ProxyFaults:
    """A WriteFaults schedule shared by the proxies of every environment of a run."""

    def __init__(self, faults: WriteFaults) -> None:
        self.faults = faults
        self._lock = threading.Lock()

    def draw(self, operation: str) -> str | None:
        """Count a write; the fault scheduled for it, if any (recorded as fired)."""
        with self._lock:
            self.faults.writes += 1
            n = self.faults.writes
            kind = self.faults.schedule.get(n)
            if kind is not None:
                self.faults.fired.append((n, kind, operation))
            return kind


def write_operation(method: str, path: str, headers: dict[str, str], body: bytes) -> str | None:
    """The AWS write operation a request makes (the names of WRITE_OPERATIONS), or None.

    JSON protocols (DynamoDB, Kinesis, SQS) name it in ``X-Amz-Target``; SQS's query
    protocol in ``Action=``; S3 (path-style on a local endpoint) by method and path.
    """
    target = headers.get("x-amz-target", "")
    if target:
        op = target.rsplit(".", 1)[-1]
        return op if op in WRITE_OPERATIONS else None
    if body.startswith(b"Action=") or b"&Action=" in body:
        action = body.split(b"Action=", 1)[1].split(b"&", 1)[0].decode("ascii", "replace")
        return action if action in WRITE_OPERATIONS else None
    parts = urlsplit(path)
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2 or "uploadId" in parts.query:
        return None  # bucket-level calls, multipart parts: not single writes
    if method == "PUT":
        return "CopyObject" if "x-amz-copy-source" in headers else "PutObject"
    if method == "DELETE":
        return "DeleteObject"
    return None


class WriteFaultProxy:
    """Forwards requests to ``upstream``; injects the scheduled write faults.

    ``crash()`` is called to kill the environment whose requests come through this
    proxy (one proxy per environment).
    """

    def __init__(self, upstream: str, faults: ProxyFaults, crash: Callable[[], None]) -> None:
        split = urlsplit(upstream)
        self.upstream_host = split.hostname or "127.0.0.1"
        self.upstream_port = split.port or (443 if split.scheme == "https" else 80)
        self.https = split.scheme == "https"
        self.faults = faults
        self.crash = crash
        self._server = QuietServer(("127.0.0.1", 0), _handler_class(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="write-fault-proxy", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> WriteFaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        return forward(
            self.upstream_host,
            self.upstream_port,
            method,
            path,
            headers,
            body,
            https=self.https,
        )


def _throttle(operation: str, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
    if "x-amz-target" in headers or operation == "SendMessage":
        body = (
            b'{"__type": "ThrottlingException", "message": "Rate exceeded (injected)"}'
            if "x-amz-target" in headers
            else b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            b"<Message>Rate exceeded (injected)</Message></Error></ErrorResponse>"
        )
        ctype = "application/x-amz-json-1.0" if "x-amz-target" in headers else "text/xml"
        return 400, [("Content-Type", ctype)], body
    body = (
        b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate "
        b"(injected)</Message></Error>"
    )
    return 503, [("Content-Type", "application/xml")], body


def _handler_class(proxy: WriteFaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            operation = write_operation(self.command, self.path, headers, body)
            kind = proxy.faults.draw(operation) if operation else None
            if kind == "crash_before":
                proxy.crash()  # the environment dies; the write never leaves
                self.close_connection = True
                return
            if kind == "throttle":
                status, out_headers, data = _throttle(operation or "", headers)
            else:
                status, out_headers, data = proxy.forward(
                    self.command, self.path, dict(self.headers.items()), body
                )
            if kind == "crash_after":
                proxy.crash()  # the write landed; the handler never learns
                self.close_connection = True
                return
            send_reply(self, (status, out_headers, data))

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Handler
