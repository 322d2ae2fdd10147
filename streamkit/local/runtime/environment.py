"""One execution environment: a worker process running AWS's runtime interface client.

The process is ``python -m awslambdaric module.function`` (what Lambda's Python
images run) with the environment variables Lambda defines for a function, talking
to its own :class:`~streamkit.local.runtime.api.RuntimeApi` on 127.0.0.1. The first
invocation starts it (init, a cold start: the handler module is imported once);
later ones reuse it (warm starts, module state kept) one at a time (spec 10.1). At
the function timeout the process is killed, so nothing the handler would do after
the deadline happens, and a crashed or timed-out environment is never reused: the
next invocation starts a fresh one (spec 10.2).
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Literal

import orjson

from streamkit.local.runtime.api import PendingInvocation, RuntimeApi, RuntimeMessage
from streamkit.local.runtime.proxy import ProxyFaults, WriteFaultProxy

#: Lambda's limit on the init phase (import of the handler module), in seconds.
INIT_TIMEOUT_S = 10.0

#: ``response``: the runtime posted a result; ``error``: it posted an error document
#: (the handler raised, or the result could not be marshalled, spec 10.3);
#: ``timeout``: the function timeout passed (spec 10.2); ``crash``: the runtime
#: process died; ``init_error``: the handler module could not be loaded.
ResultKind = Literal["response", "error", "timeout", "crash", "init_error"]


@dataclass(frozen=True)
class FunctionSpec:
    """What an environment needs to know about its function.

    ``handler`` is Lambda's spelling, ``package.module.function``; ``task_root`` is
    the directory the code is imported from (``LAMBDA_TASK_ROOT``, also the working
    directory); ``environment`` holds the function's own variables.
    """

    handler: str
    function_name: str
    function_arn: str
    timeout_s: float
    memory_mb: int = 512
    region: str = "us-east-1"
    environment: Mapping[str, str] = field(default_factory=dict)
    task_root: str = field(default_factory=os.getcwd)
    init_timeout_s: float = INIT_TIMEOUT_S
    #: Faults at single AWS writes: the handler's AWS endpoint becomes a proxy that
    #: injects them (:mod:`~streamkit.local.runtime.proxy`).
    write_faults: ProxyFaults | None = None


@dataclass(frozen=True)
class InvocationResult:
    """What came of one invocation in an environment."""

    kind: ResultKind
    #: The response body (``response``) or Lambda's error document (``error``).
    body: bytes = b""
    #: ``Content-Type`` of a response; the error type of an error.
    content_type: str = ""
    #: ``errorType: errorMessage`` of a failed invocation, for logs and destinations.
    detail: str = ""
    #: Seconds the init phase took when this invocation started the environment.
    init_s: float | None = None


class ExecutionEnvironment:
    """A worker process serving one invocation at a time.

    Example::

        env = ExecutionEnvironment(FunctionSpec("handlers.iot.handler", "iot", arn, 60.0))
        result = env.invoke(request_id, b'{"Records": []}')
        env.kill()
    """

    def __init__(
        self, spec: FunctionSpec, *, log_sink: Callable[[str], None] | None = None
    ) -> None:
        self.spec = spec
        self.log_sink = log_sink
        self._proc: subprocess.Popen[bytes] | None = None
        self._api: RuntimeApi | None = None
        self._proxy: WriteFaultProxy | None = None
        self._pump: threading.Thread | None = None
        self.invocations = 0

    @property
    def alive(self) -> bool:
        return self._proc is not None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def invoke(
        self, request_id: str, event: bytes, trace_id: str = "", client_context: str = ""
    ) -> InvocationResult:
        """Run one invocation; starts the environment first if it is not running.

        ``client_context`` is the JSON the runtime passes as ``context.client_context``.
        """
        init_s = None
        if self._proc is None:
            started = time.perf_counter()
            failed = self._init()
            init_s = time.perf_counter() - started
            if failed is not None:
                return failed
        api = self._api
        assert api is not None
        timeout = self.spec.timeout_s
        # Spec 10.4: the deadline is counted from the start of the invoke phase.
        deadline_ms = int((time.time() + timeout) * 1000)
        trace = trace_id or f"Root=1-{int(time.time()):08x}-{request_id.replace('-', '')[:24]}"
        api.submit(
            PendingInvocation(
                request_id, event, deadline_ms, self.spec.function_arn, trace, client_context
            )
        )
        self.invocations += 1
        ends = time.monotonic() + timeout
        while True:
            remaining = ends - time.monotonic()
            if remaining <= 0:
                # Spec 10.2: Lambda stops the invocation at the timeout; killing the
                # process makes sure nothing after the deadline happens.
                self.kill()
                return InvocationResult(
                    "timeout", detail=f"Task timed out after {timeout:.2f} seconds", init_s=init_s
                )
            try:
                message = api.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if message.kind == "exited":
                self.kill()
                return InvocationResult(
                    "crash",
                    detail=f"Runtime.ExitError: RequestId: {request_id} Error: "
                    f"Runtime exited with error: {_exit_text(message)}",
                    init_s=init_s,
                )
            if message.request_id != request_id:
                continue  # not this invocation's (cannot happen with one at a time)
            if message.kind == "response":
                return InvocationResult(
                    "response", message.body, message.content_type, init_s=init_s
                )
            return InvocationResult(
                "error", message.body, message.content_type, _error_detail(message), init_s
            )

    def kill(self) -> None:
        """Stop the process (SIGKILL, like Lambda at a timeout) and its endpoint."""
        proc, api, proxy, pump = self._proc, self._api, self._proxy, self._pump
        self._proc = self._api = self._proxy = self._pump = None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if pump is not None:
            pump.join(timeout=5.0)  # every line printed reaches the sink
        if api is not None:
            api.stop()
        if proxy is not None:
            proxy.stop()

    def _crash(self, proc: subprocess.Popen[bytes]) -> None:
        """Kill the process now (an injected crash, from the proxy's thread); the
        waiting invocation sees it exit."""
        if proc.poll() is None:
            proc.kill()

    # ------------------------------------------------------------------ init

    def _init(self) -> InvocationResult | None:
        """Start the process and wait until the runtime asks for its first event.

        Returns the failed invocation's result when the init phase fails.
        """
        api = RuntimeApi().start()
        self._api = api
        variables = self._variables(api.address)
        procs: list[subprocess.Popen[bytes]] = []
        if self.spec.write_faults is not None:
            upstream = variables.get("AWS_ENDPOINT_URL")
            if not upstream:
                raise ValueError("write faults need a local AWS endpoint (AWS_ENDPOINT_URL)")
            self._proxy = WriteFaultProxy(
                upstream, self.spec.write_faults, lambda: self._crash(procs[0])
            ).start()
            variables["AWS_ENDPOINT_URL"] = self._proxy.url
        # The runtime's output (the handler's prints and logs) goes to log_sink line by
        # line, or to this process's stdout and stderr as an inline handler's would.
        piped = self.log_sink is not None
        proc = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", self.spec.handler],
            env=variables,
            cwd=self.spec.task_root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if piped else None,
            stderr=subprocess.STDOUT if piped else None,
        )
        self._proc = proc
        procs.append(proc)
        threading.Thread(
            target=_watch, args=(proc, api), name="lambda-env-watch", daemon=True
        ).start()
        if self.log_sink is not None and proc.stdout is not None:
            self._pump = threading.Thread(
                target=_pump, args=(proc.stdout, self.log_sink), name="lambda-env-log", daemon=True
            )
            self._pump.start()
        try:
            message = api.messages.get(timeout=self.spec.init_timeout_s)
        except queue.Empty:
            self.kill()
            return InvocationResult(
                "init_error",
                detail=f"Runtime.InitTimeout: init did not finish in "
                f"{self.spec.init_timeout_s:.2f} seconds",
            )
        if message.kind == "ready":
            return None
        self.kill()
        if message.kind == "init_error":
            return InvocationResult(
                "init_error", message.body, message.content_type, _error_detail(message)
            )
        return InvocationResult(
            "init_error",
            detail=f"Runtime.ExitError: Runtime exited with error: {_exit_text(message)}",
        )

    def _variables(self, runtime_api: str) -> dict[str, str]:
        """The process environment: this process's, then Lambda's reserved variables
        (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html),
        then the function's own."""
        spec = self.spec
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{os.urandom(16).hex()}"
        path = [spec.task_root, *(p for p in sys.path if p and p != spec.task_root)]
        return {
            **os.environ,
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "LAMBDA_TASK_ROOT": spec.task_root,
            "LAMBDA_RUNTIME_DIR": os.path.dirname(sys.executable),
            "PYTHONPATH": os.pathsep.join(path),
            "TZ": ":UTC",
            **spec.environment,
        }


def _watch(proc: subprocess.Popen[bytes], api: RuntimeApi) -> None:
    """Post ``exited`` when the process ends, whoever ended it."""
    code = proc.wait()
    api.messages.put(RuntimeMessage("exited", body=str(code).encode()))


def _pump(stream: IO[bytes], sink: Callable[[str], None]) -> None:
    for line in iter(stream.readline, b""):
        sink(line.decode("utf-8", "replace"))
    stream.close()


def _exit_text(message: RuntimeMessage) -> str:
    code = int(message.body or b"0")
    return f"signal: {_signal_name(-code)}" if code < 0 else f"exit status {code}"


def _signal_name(number: int) -> str:
    """As Lambda words it (Go's signal names): ``killed``, ``segmentation fault``."""
    import signal

    return (signal.strsignal(number) or str(number)).lower()


def _error_detail(message: RuntimeMessage) -> str:
    """``errorType: errorMessage`` of Lambda's error document."""
    try:
        doc = orjson.loads(message.body)
    except orjson.JSONDecodeError:
        return f"{message.content_type or 'Runtime.Unknown'}: {message.body[:200]!r}"
    if not isinstance(doc, dict):
        return f"{message.content_type or 'Runtime.Unknown'}: {doc!r:.200}"
    error_type = doc.get("errorType") or message.content_type or "Runtime.Unknown"
    return f"{error_type}: {doc.get('errorMessage', '')}"
