"""Faults at single AWS writes reach handlers in worker processes (issue 12, deliver
2): a proxy in front of the endpoint crashes the environment before or after the
scheduled write, or throttles it (spec 10.2 for the crash, 2.1.4 for the retry)."""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.local.runtime.proxy import write_operation
from streamkit.local.writefaults import WriteFaults

pytestmark = pytest.mark.integration


def _table(aws: Any) -> str:
    aws.client("dynamodb").create_table(
        TableName="counts",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return "counts"


def _count(aws: Any, key: str) -> int:
    item = aws.client("dynamodb").get_item(TableName="counts", Key={"k": {"S": key}}).get("Item")
    return int(item["n"]["N"]) if item else 0


def _run(aws: Any, runtime_env: Any, schedule: dict[int, str]) -> tuple[Any, WriteFaults]:
    table = _table(aws)
    runtime_env.put("a")
    faults = WriteFaults(schedule)
    esm = runtime_env.esm(
        "counter",
        write_faults=faults,
        environment={"RUNTIME_TEST_TABLE": table},
        maximum_retry_attempts=3,
    )
    return esm.run(), faults


def test_crash_before_the_write_kills_the_environment_and_the_write_never_lands(
    aws: Any, runtime_env: Any
) -> None:
    stats, faults = _run(aws, runtime_env, {1: "crash_before"})
    assert faults.fired == [(1, "crash_before", "UpdateItem")]
    assert _count(aws, "a") == 1  # only the retry's write landed
    assert [entry.outcome for entry in stats.log] == ["failure", "success"]
    assert stats.log[0].detail.startswith("Runtime.ExitError: ")
    assert stats.log[0].detail.endswith("Runtime exited with error: signal: killed")
    assert stats.cold_starts == 2  # the retry ran in a fresh environment (10.2)
    assert len(runtime_env.lines()) == 1


def test_crash_after_the_write_lands_it_but_the_handler_never_learns(
    aws: Any, runtime_env: Any
) -> None:
    stats, faults = _run(aws, runtime_env, {1: "crash_after"})
    assert faults.fired == [(1, "crash_after", "UpdateItem")]
    assert _count(aws, "a") == 2  # the crashed attempt's write, then the retry's
    assert [entry.outcome for entry in stats.log] == ["failure", "success"]
    assert len(runtime_env.lines()) == 1  # the first attempt never got past its write


def test_a_throttled_write_is_retried_by_the_sdk(aws: Any, runtime_env: Any) -> None:
    stats, faults = _run(aws, runtime_env, {1: "throttle"})
    assert faults.fired == [(1, "throttle", "UpdateItem")]
    assert faults.writes == 2  # the SDK sent it again
    assert _count(aws, "a") == 1
    assert [entry.outcome for entry in stats.log] == ["success"]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "operation"),
    [
        ("POST", "/", {"x-amz-target": "DynamoDB_20120810.PutItem"}, b"{}", "PutItem"),
        ("POST", "/", {"x-amz-target": "DynamoDB_20120810.GetItem"}, b"{}", None),
        ("POST", "/", {"x-amz-target": "AmazonSQS.SendMessage"}, b"{}", "SendMessage"),
        ("POST", "/", {}, b"Action=SendMessage&QueueUrl=q", "SendMessage"),
        ("PUT", "/bucket/key/part", {}, b"x", "PutObject"),
        ("PUT", "/bucket/key", {"x-amz-copy-source": "/b/k"}, b"", "CopyObject"),
        ("DELETE", "/bucket/key", {}, b"", "DeleteObject"),
        ("PUT", "/bucket", {}, b"", None),
        ("GET", "/bucket/key", {}, b"", None),
    ],
)
def test_the_proxy_names_the_write_operation_of_a_request(
    method: str, path: str, headers: dict[str, str], body: bytes, operation: str | None
) -> None:
    assert write_operation(method, path, headers, body) == operation
