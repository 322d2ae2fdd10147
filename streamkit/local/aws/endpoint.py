"""The embedded AWS endpoint: moto's server on ``127.0.0.1``, in a thread or a process.

Local tooling: never imported by a Lambda handler. Everything talks to the
endpoint over HTTP through boto3, exactly as it would talk to AWS.

Example::

    with LocalAWS() as aws:
        aws.apply_env()  # later aws_clients() / boto3.client(...) use it too
        aws.client("kinesis").create_stream(StreamName="clicks", ShardCount=1)
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, Self

from streamkit.local.aws.clients import (
    DEFAULT_REGION,
    TEST_CREDENTIALS,
    AwsClients,
    aws_clients,
)
from streamkit.local.aws.process import LOOPBACK, ServerProcess, free_port

__all__ = ["MOTO_ACCOUNT_ID", "LocalAWS"]

#: moto's default account (``MOTO_ACCOUNT_ID`` is not set by this module).
MOTO_ACCOUNT_ID: Final = "123456789012"

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
_START_ATTEMPTS: Final = 3


def _http_post(url: str, timeout: float = 10.0) -> None:
    # Loopback only: never through a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=b"", method="POST")
    with opener.open(request, timeout=timeout) as response:
        response.read()


def _moto_command(speedups: bool) -> list[str]:
    if speedups:
        # moto's server without per-request access logs, with cheaper hot paths.
        return [sys.executable, "-m", "streamkit.local.aws.moto_main"]
    script = Path(sys.executable).with_name("moto_server")
    if script.is_file():
        return [str(script)]
    found = shutil.which("moto_server")
    if found:
        return [found]
    return [sys.executable, "-m", "moto.server"]


class LocalAWS:
    """moto's server on ``127.0.0.1`` on a free port; a context manager.

    ``mode="thread"`` (default) runs ``moto.server.ThreadedMotoServer`` in this
    process; ``mode="process"`` runs the ``moto_server`` console script as a child
    (no GIL contention with the caller). Either way clients reach it over HTTP.
    ``speedups`` (default) installs :mod:`~streamkit.local.aws.moto_speedups`
    (cheaper Kinesis and SQS hot paths, same answers) in the server: in this
    process with ``mode="thread"``, in the child (``moto_main``) otherwise, where
    requests are not access-logged either.

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
        speedups: bool = True,
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
        self.speedups = speedups
        self._server: Any = None
        self._child: ServerProcess | None = None
        self._saved_env: dict[str, str | None] | None = None
        self._saved_log_level: int | None = None
        self._clients: AwsClients | None = None

    # lifecycle ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        if self.mode == "thread":
            return self._server is not None
        return self._child is not None and self._child.running

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

        if self.speedups:
            from streamkit.local.aws import moto_speedups

            moto_speedups.apply()
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

    def _start_process(self) -> None:
        child = ServerProcess("moto_server", startup_timeout=self.startup_timeout)
        env = {k: v for k, v in os.environ.items() if k != "MOTO_ACCOUNT_ID"}
        # The port is picked here and bound by the child: another process could
        # take it in between, so a failed start is retried with a new port.
        for _ in range(_START_ATTEMPTS):
            port = free_port()
            command = [*_moto_command(self.speedups), "-H", LOOPBACK, "-p", str(port)]
            if child.launch(command, env=env, port=port):
                self._child, self.port = child, port
                return
        last_error = child.output()
        child.stop()
        raise RuntimeError(f"moto_server did not start on {LOOPBACK}: {last_error or 'no output'}")

    def stop(self) -> None:
        """Stop the server and restore the environment; safe to call twice."""
        self.restore_env()
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._child is not None:
            self._child.stop()
            self._child = None
        if self._saved_log_level is not None:
            logging.getLogger("werkzeug").setLevel(self._saved_log_level)
            self._saved_log_level = None
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
            self._clients = aws_clients(
                endpoint_url=self.endpoint_url,
                region=self.region,
                access_key_id=TEST_CREDENTIALS,
                secret_access_key=TEST_CREDENTIALS,
            )
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
