"""The HTTP plumbing the local proxies share: forward a request, write the reply.

Two proxies sit between a handler and the endpoint: the fault proxy of an execution
environment (:mod:`streamkit.local.runtime.proxy`) and the per-role IAM proxy of
``streamkit run --terraform`` (:mod:`streamkit.local.iam.proxy`). Both pass a request
upstream unchanged but for the hop-by-hop headers, and answer with the upstream's
status, headers and body (or their own refusal).
"""

from __future__ import annotations

import http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Headers that belong to one connection, not to the request (RFC 9110, 7.6.1).
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "expect", "upgrade", "proxy-connection"}
)

Reply = tuple[int, list[tuple[str, str]], bytes]


def forward(
    host: str,
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    *,
    https: bool = False,
) -> Reply:
    """Send the request to ``host:port``; the reply's status, end-to-end headers, body."""
    conn_class = http.client.HTTPSConnection if https else http.client.HTTPConnection
    conn = conn_class(host, port, timeout=60)
    try:
        sent = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
        conn.request(method, path, body=body or None, headers=sent)
        resp = conn.getresponse()
        data = resp.read()
        kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        return resp.status, kept, data
    finally:
        conn.close()


def send_reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    """Write ``reply`` on ``handler``'s connection (a HEAD reply keeps its length, no body)."""
    status, headers, data = reply
    handler.send_response(status)
    head = handler.command == "HEAD"
    for k, v in headers:
        if k.lower() != "content-length" or head:
            handler.send_header(k, v)
    if not head:
        handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if not head:
        handler.wfile.write(data)


class QuietServer(ThreadingHTTPServer):
    """A threading server whose dropped connections (a killed environment) are no
    tracebacks."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A killed environment drops its connections: not worth a traceback."""
