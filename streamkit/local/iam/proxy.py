"""An AWS endpoint that enforces one role's identity policies: a proxy on 127.0.0.1.

A deployed function's worker process gets its execution role's credentials (assumed
on the endpoint with ``sts:AssumeRole``) and this proxy as its ``AWS_ENDPOINT_URL``.
For every request the proxy checks that it is signed with that role's access key
(else ``InvalidClientTokenId``), works out the IAM calls it makes
(:func:`~streamkit.local.iam.calls.calls_of`), evaluates them against the role's
policy documents (:func:`~streamkit.local.iam.policy.evaluate`) and answers
``AccessDenied`` in the service's own error format when one is not allowed; allowed
requests go on to the endpoint unchanged. Every evaluation is recorded
(:attr:`RoleProxy.evaluations`), so a test can also check what the function did.

Example::

    proxy = RoleProxy(upstream, role, region="us-east-1", account="123456789012",
                      partition_key=lambda table: "id").start()
    env["AWS_ENDPOINT_URL"] = proxy.url
    ...
    proxy.stop()
    [e.call.action for e in proxy.evaluations if not e.allowed]   # []
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import orjson

from streamkit.errors import StreamkitError
from streamkit.local.httpfwd import QuietServer, forward, send_reply
from streamkit.local.iam.calls import calls_of, signing_key
from streamkit.local.iam.policy import Call, Evaluation, evaluate

__all__ = ["AssumedRole", "RoleProxy"]


@dataclass(frozen=True)
class AssumedRole:
    """A role's session credentials and the policy documents that bind them."""

    role_arn: str
    session_arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    policies: tuple[dict[str, Any], ...] = field(default=(), hash=False)

    def environment(self) -> dict[str, str]:
        """The variables Lambda gives a function for its role's credentials."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


class RoleProxy:
    """Forwards to ``upstream`` what ``role``'s policies allow; denies the rest."""

    def __init__(
        self,
        upstream: str,
        role: AssumedRole,
        *,
        region: str,
        account: str,
        partition_key: Callable[[str], str | None],
    ) -> None:
        split = urlsplit(upstream)
        self.host = split.hostname or "127.0.0.1"
        self.port = split.port or 80
        self.role = role
        self.region = region
        self.account = account
        self.partition_key = partition_key
        self.evaluations: list[Evaluation] = []
        #: Shard iterator -> the stream ARN it reads (from GetShardIterator/GetRecords
        #: answers): GetRecords names only its iterator, IAM authorises the stream.
        self._iterators: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = QuietServer(("127.0.0.1", 0), _handler_class(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="iam-role-proxy", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def denied(self) -> list[Evaluation]:
        """The evaluations that refused a call."""
        with self._lock:
            return [e for e in self.evaluations if not e.allowed]

    def start(self) -> RoleProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def authorise(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[str, str] | None:
        """None when the request may go on; else (error code, message)."""
        signed = signing_key(headers)
        if signed is None or signed[0] != self.role.access_key_id:
            return (
                "InvalidClientTokenId",
                "The security token included in the request is not the function role's",
            )
        try:
            calls = calls_of(
                method,
                path,
                headers,
                body,
                region=self.region,
                account=self.account,
                partition_key=self.partition_key,
                iterator_stream=self._iterators.get,
            )
            results = [evaluate(self.role.policies, c) for c in calls]
        except (StreamkitError, ValueError, KeyError, TypeError, AttributeError) as e:
            # A request this proxy cannot map, or a policy it cannot evaluate
            # (UnsupportedCondition): refused, visibly, rather than let through.
            service = signed[2]
            unmapped = Call(f"{service}:unmapped request ({type(e).__name__}: {e})", "*")
            results = [Evaluation(unmapped, "implicit_deny")]
        with self._lock:
            self.evaluations.extend(results)
        for result in results:
            if not result.allowed:
                why = (
                    "with an explicit deny in an identity-based policy"
                    if result.decision == "deny"
                    else f"because no identity-based policy allows the {result.call.action} action"
                )
                return (
                    "AccessDenied",
                    f"User: {self.role.session_arn} is not authorized to perform: "
                    f"{result.call.action} on resource: {result.call.resource} {why}",
                )
        return None

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        status, kept, data = forward(self.host, self.port, method, path, headers, body)
        if status == 200:
            self._note_iterator(headers, body, data)
        return status, kept, data

    def _note_iterator(self, headers: dict[str, str], body: bytes, answer: bytes) -> None:
        """Remember which stream the shard iterator in a Kinesis answer reads."""
        target = {k.lower(): v for k, v in headers.items()}.get("x-amz-target", "")
        operation = target.rsplit(".", 1)[-1]
        if not target.startswith("Kinesis_") or operation not in ("GetShardIterator", "GetRecords"):
            return
        request = orjson.loads(body)
        stream = request.get("StreamARN")
        if stream is None and "StreamName" in request:
            stream = f"arn:aws:kinesis:{self.region}:{self.account}:stream/{request['StreamName']}"
        if stream is None:
            stream = self._iterators.get(str(request.get("ShardIterator")))
        following = orjson.loads(answer).get(
            "ShardIterator" if operation == "GetShardIterator" else "NextShardIterator"
        )
        if stream is not None and following:
            with self._lock:
                self._iterators[str(following)] = str(stream)


def _refusal(code: str, message: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
    """(status, content type, body) of an error in the request's protocol."""
    if "x-amz-target" in headers:  # JSON protocols (DynamoDB, Kinesis, SQS, KMS, logs)
        type_ = "AccessDeniedException" if code == "AccessDenied" else code
        doc = {"__type": f"com.amazonaws#{type_}", "message": message, "Message": message}
        return (
            400 if code == "AccessDenied" else 403,
            "application/x-amz-json-1.0",
            orjson.dumps(doc),
        )
    signed = signing_key(headers)
    text = escape(message)
    if signed is not None and signed[2] == "s3":
        s3_code = "AccessDenied" if code == "AccessDenied" else "InvalidAccessKeyId"
        body = f"<Error><Code>{s3_code}</Code><Message>{text}</Message></Error>"
        return 403, "application/xml", body.encode()
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{text}</Message></Error></ErrorResponse>"
    )
    return 403, "text/xml", body.encode()


def _handler_class(proxy: RoleProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            refused = proxy.authorise(self.command, self.path, headers, body)
            if refused is not None:
                status, ctype, data = _refusal(*refused, headers)
                out_headers = [("Content-Type", ctype)]
            else:
                status, out_headers, data = proxy.forward(
                    self.command, self.path, dict(self.headers.items()), body
                )
            send_reply(self, (status, out_headers, data))

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Handler
