"""The npm emulators of ``tools/emulators`` (installed by ``./dev setup``), on loopback.

:class:`KinesisLocal` runs the ``kinesis-local`` emulator (kinesis-mock) on
``127.0.0.1`` on a free port, through the same child-process lifecycle as
``LocalAWS(mode="process")`` (:class:`~streamkit.local.aws.process.ServerProcess`).

Example::

    with KinesisLocal() as emulator:
        emulator.client("kinesis").create_stream(StreamName="s", ShardCount=1)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from streamkit.local.aws.clients import (
    DEFAULT_REGION,
    TEST_CREDENTIALS,
    AwsClients,
    aws_clients,
)
from streamkit.local.aws.endpoint import MOTO_ACCOUNT_ID
from streamkit.local.aws.process import LOOPBACK, ServerProcess

__all__ = ["KinesisLocal", "emulators_dir"]


def emulators_dir() -> Path:
    """``tools/emulators`` of this checkout (``STREAMKIT_EMULATORS_DIR`` overrides)."""
    override = os.environ.get("STREAMKIT_EMULATORS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "tools" / "emulators"


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


def _reported_port(log: str) -> int | None:
    """The plain HTTP port the loopback preload reported in the emulator's log."""
    for line in log.splitlines():
        parts = line.split()
        if parts[:2] == ["streamkit-listening", "plain"] and len(parts) == 4:
            return int(parts[3])
    return None


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
        self._child: ServerProcess | None = None
        self._clients: AwsClients | None = None

    @property
    def main_js(self) -> Path:
        return self.package_dir / "main.js"

    @property
    def port(self) -> int | None:
        return None if self._child is None else self._child.port

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
        if self._child is not None:
            return self
        if not self.main_js.is_file():
            raise FileNotFoundError(
                f"kinesis-local is not installed ({self.main_js} is missing): run `./dev setup`"
            )
        child = ServerProcess("kinesis-local", startup_timeout=self.startup_timeout)
        try:
            preload = child.workdir / "loopback.cjs"
            preload.write_text(_LOOPBACK_PRELOAD, encoding="utf-8")
            command = self.command(preload)
            started = child.launch(
                command, env=self.environment(), port=_reported_port, cwd=child.workdir
            )
        except BaseException:
            child.stop()
            raise
        if not started:
            output = child.output()
            child.stop()
            raise RuntimeError(
                f"kinesis-local did not start on {LOOPBACK}: {output or 'no output'}"
            )
        self._child = child
        return self

    def stop(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None
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
            self._clients = aws_clients(
                endpoint_url=self.endpoint_url,
                region=self.region,
                access_key_id=TEST_CREDENTIALS,
                secret_access_key=TEST_CREDENTIALS,
            )
        return self._clients(service_name)
