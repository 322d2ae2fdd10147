"""The embedded endpoint's HTTP server: moto's WSGI app on waitress, with keep-alive.

Local tooling: never imported by a Lambda handler.

werkzeug's development server (what ``moto_server`` runs) answers every request with
``Connection: close`` and starts a thread per connection, so each boto3 call paid a
TCP connect, a new server thread and werkzeug's request parsing: about a millisecond
of server CPU per request on top of moto's own work, and as much again in the client.
waitress (pure Python) keeps HTTP/1.1 connections open, so botocore's connection pool
is reused, and serves them from a fixed pool of threads.

moto's app sees what werkzeug's server gave it:

* ``RAW_URI``, the request target as sent (moto matches S3 keys against the encoded
  path; waitress sets only ``REQUEST_URI``);
* response header names as the app spelt them (waitress capitalizes them, and
  botocore returns S3 user metadata names as the headers spell them);
* ``x-amz-meta-*`` headers whose names contain underscores (S3 user metadata):
  waitress drops every such header, as werkzeug does; moto's own request handler
  (``MotoRequestHandler.make_environ``) puts them back under their own spelling, and
  so does :class:`_Task` here, with the same rules (an underscored name never
  replaces a dashed one; repeated names are joined with commas).

Example::

    from streamkit.local.aws import keepalive

    if keepalive.available():
        keepalive.serve(app, "127.0.0.1", 4566)  # blocks
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any, Final

__all__ = ["THREADS", "available", "make_server", "serve"]

#: Request threads. moto runs under one interpreter lock, so more threads add no
#: throughput; enough that a few blocking calls (an SQS long poll) do not stall the
#: others. Unlike werkzeug's thread per connection it is a limit: past 32 requests
#: blocked at once (long polls of user code; streamkit's own never wait) the next
#: requests queue until one ends.
THREADS: Final = 32
#: Open connections at most (waitress's default is 100; every worker process keeps
#: a pool of its own, and connections past the limit would wait unaccepted).
CONNECTION_LIMIT: Final = 1000


def _capitalized(name: str) -> str:
    """A header name as waitress writes it."""
    return "-".join(part.capitalize() for part in name.split("-"))


def available() -> bool:
    """True when waitress is installed."""
    return importlib.util.find_spec("waitress") is not None


def make_server(app: Any, host: str, port: int, *, threads: int = THREADS) -> Any:
    """A waitress server for ``app`` listening on ``host:port`` (``run()`` serves)."""
    from moto.core.request import (
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        environ_key_for_header,
        should_preserve_original_header_name,
    )
    from waitress.adjustments import Adjustments  # type: ignore[import-untyped]
    from waitress.channel import HTTPChannel  # type: ignore[import-untyped]
    from waitress.parser import HEADER_FIELD_RE, HTTPRequestParser, get_header_lines  # type: ignore[import-untyped]
    from waitress.server import TcpWSGIServer  # type: ignore[import-untyped]
    from waitress.task import ThreadedTaskDispatcher, WSGITask  # type: ignore[import-untyped]

    class _Parser(HTTPRequestParser):  # type: ignore[misc]
        """Keeps the ``x-amz-meta-*`` headers with underscores that waitress drops."""

        preserved: tuple[tuple[str, str], ...] = ()
        expect_continue: bool
        content_length: int
        chunked: bool

        def parse_header(self, header_plus: bytes) -> None:
            super().parse_header(header_plus)
            if self.expect_continue and self.content_length == 0 and not self.chunked:
                # botocore sends "Expect: 100-continue" with any file-like body, empty
                # ones too; waitress 3.0 then answers 100 and waits for a body that
                # never comes (the request was complete): an empty PutObject hung.
                self.expect_continue = False
            _, _, rest = header_plus.partition(b"\r\n")
            if b"_" not in rest:
                return
            found: list[tuple[str, str]] = []
            for line in get_header_lines(rest):
                match = HEADER_FIELD_RE.match(line)
                if match is None or b"_" not in match.group("name"):
                    continue
                name = match.group("name").decode("latin-1")
                if should_preserve_original_header_name(name):
                    value = match.group("value").strip(b" \t").decode("latin-1")
                    found.append((name, value))
            self.preserved = tuple(found)

    class _Task(WSGITask):  # type: ignore[misc]
        response_headers: list[tuple[str, str]]

        def get_environment(self) -> dict[str, Any]:
            if self.environ is not None:
                return self.environ  # type: ignore[no-any-return]
            environ: dict[str, Any] = super().get_environment()
            environ["RAW_URI"] = environ["REQUEST_URI"]
            names: dict[str, str] = {}
            values: dict[str, list[str]] = {}
            for name, value in self.request.preserved:
                key = environ_key_for_header(name)
                if key in environ:  # never let an underscored header stand in for a dashed one
                    continue
                names.setdefault(key, name)
                values.setdefault(key, []).append(value)
            for key, key_values in values.items():
                environ[key] = ",".join(key_values)
            environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
            return environ

        def build_response_header(self) -> bytes:
            # waitress capitalizes every response header name; werkzeug writes them as
            # the app spelt them, and botocore returns S3 user metadata names as spelt.
            spelt: dict[str, list[str]] = {}
            for name, _ in self.response_headers:
                spelt.setdefault(_capitalized(name), []).append(name)
            super().build_response_header()  # normalizes and completes response_headers
            restored = []
            for name, value in self.response_headers:
                originals = spelt.get(name)
                restored.append((originals.pop(0) if originals else name, value))
            self.response_headers = restored
            lines = [f"HTTP/{self.version} {self.status}", *(f"{n}: {v}" for n, v in restored)]
            return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    class _Channel(HTTPChannel):  # type: ignore[misc]
        parser_class = _Parser
        task_class = _Task

    class _Server(TcpWSGIServer):  # type: ignore[misc]
        channel_class = _Channel

    # Queue-depth warnings are expected under load (requests wait for a thread).
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    adj = Adjustments(
        host=host,
        port=port,
        threads=threads,
        connection_limit=CONNECTION_LIMIT,
        asyncore_use_poll=True,  # select() fails past 1024 descriptors
        clear_untrusted_proxy_headers=False,  # moto sees every header werkzeug passed
        ident="moto",
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    return _Server(app, map={}, dispatcher=dispatcher, adj=adj)


def serve(app: Any, host: str, port: int, *, threads: int = THREADS) -> None:
    """Serve ``app`` on ``host:port`` until the process ends."""
    make_server(app, host, port, threads=threads).run()
