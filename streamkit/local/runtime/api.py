"""The Lambda Runtime API, served on 127.0.0.1 for one execution environment.

The runtime interface client inside the environment (``awslambdaric``) long-polls
``GET /2018-06-01/runtime/invocation/next`` for the next event and answers with
``POST .../invocation/{id}/response`` or ``POST .../invocation/{id}/error``; an
import failure is ``POST .../init/error``. The headers of ``next`` are the ones
Lambda sends (``Lambda-Runtime-Aws-Request-Id``, ``Lambda-Runtime-Deadline-Ms``,
``Lambda-Runtime-Invoked-Function-Arn``, ``Lambda-Runtime-Trace-Id``), from which
the client builds the handler's context object (spec 10.4).

Everything the runtime reports lands on one queue of :class:`RuntimeMessage`;
:class:`~streamkit.local.runtime.environment.ExecutionEnvironment` waits on it.
"""

from __future__ import annotations

import queue
import re
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

PREFIX = "/2018-06-01/runtime"
_RESULT_PATH = re.compile(rf"^{PREFIX}/invocation/([^/]+)/(response|error)$")

#: ``ready``: the runtime asked for its first event (init is over); ``response`` /
#: ``error``: the outcome of an invocation; ``init_error``: the handler could not be
#: loaded; ``exited``: the process ended (posted by the environment, not the API).
MessageKind = Literal["ready", "response", "error", "init_error", "exited"]


@dataclass(frozen=True, slots=True)
class RuntimeMessage:
    kind: MessageKind
    request_id: str = ""
    body: bytes = b""
    #: ``Content-Type`` of a response, ``Lambda-Runtime-Function-Error-Type`` of an error.
    content_type: str = ""


@dataclass(frozen=True, slots=True)
class PendingInvocation:
    """One event handed to the runtime by ``next``."""

    request_id: str
    event: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    #: ``Lambda-Runtime-Client-Context`` (JSON), e.g. the simulator's clock; "": none.
    client_context: str = ""


class RuntimeApi:
    """A Runtime API endpoint for one environment (``host:port`` in :attr:`address`).

    Example::

        api = RuntimeApi().start()
        env["AWS_LAMBDA_RUNTIME_API"] = api.address
        api.submit(PendingInvocation(request_id, event_bytes, deadline_ms, arn, trace))
        message = api.messages.get()      # the runtime's response or error
        api.stop()
    """

    def __init__(self) -> None:
        self.messages: queue.Queue[RuntimeMessage] = queue.Queue()
        self._pending: queue.Queue[PendingInvocation | None] = queue.Queue()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_class(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="lambda-runtime-api", daemon=True
        )
        self._nexts = 0
        self._stopped = False

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> RuntimeApi:
        self._thread.start()
        return self

    def submit(self, invocation: PendingInvocation) -> None:
        """Queue an event for the runtime's next ``GET .../invocation/next``."""
        self._pending.put(invocation)

    def stop(self) -> None:
        """Stop serving; a ``next`` still waiting is released with an error."""
        if self._stopped:
            return
        self._stopped = True
        self._pending.put(None)
        self._server.shutdown()
        self._server.server_close()

    # Called from the request threads.

    def _next(self) -> PendingInvocation | None:
        self._nexts += 1
        if self._nexts == 1:
            self.messages.put(RuntimeMessage("ready"))
        item = self._pending.get()
        if item is None:
            self._pending.put(None)  # release every other waiter too
        return item

    def _post(self, message: RuntimeMessage) -> None:
        self.messages.put(message)


class _QuietServer(ThreadingHTTPServer):
    """A killed environment leaves sockets half-closed: not worth a traceback."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


def _handler_class(api: RuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are separate writes: without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every invocation.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            if self.path != f"{PREFIX}/invocation/next":
                self._reply(HTTPStatus.NOT_FOUND, b'{"errorType":"InvalidRequest"}')
                return
            item = api._next()
            if item is None:
                self._reply(HTTPStatus.GONE, b'{"errorType":"EnvironmentShutdown"}')
                return
            headers = {
                "Lambda-Runtime-Aws-Request-Id": item.request_id,
                "Lambda-Runtime-Deadline-Ms": str(item.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": item.function_arn,
                "Lambda-Runtime-Trace-Id": item.trace_id,
            }
            if item.client_context:
                headers["Lambda-Runtime-Client-Context"] = item.client_context
            self._reply(HTTPStatus.OK, item.event, headers)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path == f"{PREFIX}/init/error":
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type", "")
                api._post(RuntimeMessage("init_error", "", body, error_type))
                self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
                return
            match = _RESULT_PATH.match(self.path)
            if match is None:
                self._reply(HTTPStatus.NOT_FOUND, b'{"errorType":"InvalidRequest"}')
                return
            request_id, what = match.groups()
            if what == "response":
                content_type = self.headers.get("Content-Type", "application/json")
                api._post(RuntimeMessage("response", request_id, body, content_type))
            else:
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type", "")
                api._post(RuntimeMessage("error", request_id, body, error_type))
            self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')

        def _reply(
            self, status: HTTPStatus, body: bytes, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the runtime's requests are not the user's business."""

    return Handler
