"""The embedded endpoint's child on waitress (keepalive.py) answers as on werkzeug.

Both servers of ``python -m streamkit.local.aws.moto_main`` run side by side (one child
process each); the same requests go to both and must get the same answers: S3 keys
with characters a decoded path would lose (moto matches the raw URI), user metadata
whose names contain underscores (which both HTTP servers drop and moto's request
handling puts back), chunked uploads and SQS. On waitress, one TCP connection
carries many requests (werkzeug's server closes every connection).
"""

from __future__ import annotations

import http.client
import io
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from streamkit.local.aws import aws_clients, keepalive
from streamkit.local.aws.clients import TEST_CREDENTIALS, client_config
from streamkit.local.aws.process import LOOPBACK, ServerProcess, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not keepalive.available(), reason="waitress is not installed"),
]

SERVERS = ("waitress", "werkzeug")


@pytest.fixture(scope="module")
def endpoints() -> Iterator[dict[str, str]]:
    """Server name -> endpoint URL of a moto_main child on that server."""
    started: list[ServerProcess] = []
    urls: dict[str, str] = {}
    try:
        for server in SERVERS:
            child = ServerProcess(f"moto-{server}", startup_timeout=30)
            started.append(child)
            port = free_port()
            command = [sys.executable, "-m", "streamkit.local.aws.moto_main", "-p", str(port)]
            if not child.launch([*command, "--server", server], env=dict(os.environ), port=port):
                pytest.fail(f"moto_main --server {server} did not start: {child.output()}")
            urls[server] = f"http://{LOOPBACK}:{port}"
        yield urls
    finally:
        for child in started:
            child.stop()


def _clients(url: str) -> Any:
    return aws_clients(
        endpoint_url=url,
        region="us-east-1",
        access_key_id=TEST_CREDENTIALS,
        secret_access_key=TEST_CREDENTIALS,
    )


KEYS = ("plain.txt", "a b/c%2Fd+e?x=1&y.txt", "ünï/ço dé#1", "trailing/", "dot/./dot/../x")


@pytest.mark.parametrize("server", SERVERS)
def test_s3_keys_and_metadata_survive(endpoints: dict[str, str], server: str) -> None:
    s3 = _clients(endpoints[server])("s3")
    s3.create_bucket(Bucket=f"b-{server}")
    metadata = {"snake_case_name": "1", "dashed-name": "2", "mixed_and-both": "3"}
    for key in KEYS:
        s3.put_object(Bucket=f"b-{server}", Key=key, Body=key.encode(), Metadata=metadata)
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=f"b-{server}")["Contents"]]
    assert sorted(listed) == sorted(KEYS)
    for key in KEYS:
        got = s3.get_object(Bucket=f"b-{server}", Key=key)
        assert got["Body"].read() == key.encode()
        assert got["Metadata"] == metadata


def test_both_servers_answer_alike(endpoints: dict[str, str]) -> None:
    answers = []
    for server in SERVERS:
        clients = _clients(endpoints[server])
        s3, sqs = clients("s3"), clients("sqs")
        s3.create_bucket(Bucket="same")
        # A body botocore streams (file-like, unknown length: sent chunked).
        big = bytes(range(256)) * 4096
        s3.upload_fileobj(_Reader(big), "same", "big.bin")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        sqs.send_message(
            QueueUrl=url,
            MessageBody="m",
            MessageAttributes={"under_score": {"DataType": "String", "StringValue": "v"}},
        )
        got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
        answers.append(
            (
                s3.get_object(Bucket="same", Key="big.bin")["Body"].read() == big,
                s3.head_object(Bucket="same", Key="big.bin")["ContentLength"],
                [m["Body"] for m in got],
                sorted(got[0]["MessageAttributes"]),
            )
        )
    assert answers[0] == answers[1] == (True, len(big), ["m"], ["under_score"])


class _Reader:
    """A file-like body without a known length."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)

    def read(self, n: int = -1) -> bytes:
        n = len(self._data) if n < 0 else n
        chunk, self._data = self._data[:n], self._data[n:]
        return bytes(chunk)


@pytest.mark.parametrize("server", SERVERS)
def test_connections_are_kept_open_on_waitress_only(endpoints: dict[str, str], server: str) -> None:
    host, port = endpoints[server].removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    local_ports, closed = [], []
    try:
        for _ in range(3):
            connection.request("GET", "/moto-api/data.json")
            assert connection.sock is not None
            local_ports.append(connection.sock.getsockname()[1])
            response = connection.getresponse()
            assert response.status == 200
            response.read()
            closed.append(response.will_close)  # http.client reconnects for the next one
    finally:
        connection.close()
    if server == "waitress":
        assert closed == [False, False, False] and len(set(local_ports)) == 1
    else:
        assert closed == [True, True, True] and len(set(local_ports)) == 3


@pytest.mark.parametrize("server", SERVERS)
def test_an_empty_file_like_body_is_answered(endpoints: dict[str, str], server: str) -> None:
    # botocore sends "Expect: 100-continue" with a file-like body even when it is
    # empty; waitress used to send the 100 and then wait for the body forever.
    config = client_config(read_timeout=5, retries={"mode": "standard", "max_attempts": 1})
    s3 = aws_clients(
        endpoint_url=endpoints[server], region="us-east-1", access_key_id=TEST_CREDENTIALS,
        secret_access_key=TEST_CREDENTIALS, config=config,
    )("s3")  # fmt: skip
    s3.create_bucket(Bucket=f"empty-{server}")
    s3.put_object(Bucket=f"empty-{server}", Key="bytes", Body=b"")
    s3.put_object(Bucket=f"empty-{server}", Key="file", Body=io.BytesIO(b""))
    for key in ("bytes", "file"):
        assert s3.get_object(Bucket=f"empty-{server}", Key=key)["Body"].read() == b""
