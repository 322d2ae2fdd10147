"""A local server in a child process: start it, wait until it listens, stop it.

The one lifecycle behind every server the local tooling runs as a child
(``moto_server``, the npm kinesis-local emulator): a private temporary directory,
the child's output in a log file there, a wait for its port on ``127.0.0.1``, a
short grace period on stop, and the end of the log in error messages.

Example::

    server = ServerProcess("moto_server", startup_timeout=30)
    port = free_port()
    if not server.launch(["moto_server", "-p", str(port)], env=dict(os.environ), port=port):
        raise RuntimeError(server.output())
    ...
    server.stop()
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

__all__ = ["LOOPBACK", "PortSource", "ServerProcess", "free_port", "port_open"]

LOOPBACK: Final = "127.0.0.1"
_POLL_INTERVAL: Final = 0.05

#: Where a server's port comes from: a number chosen before it starts, or a function
#: of its log so far that returns the port once the server has reported it.
PortSource = int | Callable[[str], int | None]


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (another process may take it later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class ServerProcess:
    """One server child process on ``127.0.0.1`` and its working directory."""

    def __init__(self, name: str, *, startup_timeout: float) -> None:
        self.name = name
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def workdir(self) -> Path:
        """A private temporary directory (made on first use, removed by :meth:`stop`)."""
        if self._workdir is None:
            self._workdir = tempfile.TemporaryDirectory(prefix=f"streamkit-{self.name}-")
        return Path(self._workdir.name)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def launch(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        port: PortSource,
        cwd: Path | None = None,
    ) -> bool:
        """Run ``command``; True once it listens on ``port``, within the timeout.

        False when the child exits or the timeout passes first: the child is then
        stopped, its output kept in the log (:meth:`output`) so that a caller may
        retry, or report it and :meth:`stop`.
        """
        with self.log_path.open("ab") as log:
            proc = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._proc = proc
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            found = port if isinstance(port, int) else port(self.output(limit=1 << 16))
            if found is not None and port_open(LOOPBACK, found):
                self.port = found
                return True
            try:
                proc.wait(timeout=_POLL_INTERVAL)
            except subprocess.TimeoutExpired:
                continue
            break  # exited before listening
        self._stop_child()
        return False

    def output(self, limit: int = 2000) -> str:
        """The end of the child's log (empty when there is none)."""
        if self._workdir is None:
            return ""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return text[-limit:].strip()

    def _stop_child(self, timeout: float = 3.0) -> None:
        # Servers such as moto_server keep serving keep-alive connections after
        # SIGTERM for a while; their state is throwaway, so a short grace period
        # then SIGKILL is fine.
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)

    def stop(self) -> None:
        """Stop the child and remove the working directory; safe to call twice."""
        self._stop_child()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
        self.port = None
