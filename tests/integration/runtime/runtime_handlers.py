"""Handlers for the execution-environment tests (spec section 10).

Each invocation appends one JSON line to the file named by ``RUNTIME_TEST_LOG``
(set in the function's environment): what the handler saw and which environment
it ran in. The file is the side effect the tests look at, written from inside
the worker process or this one.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

#: Set once per import of this module: one value per execution environment.
ENVIRONMENT_ID = uuid.uuid4().hex
IMPORTS = 1
#: Module state: invocations this environment has served.
SERVED = 0


def _log(**fields: Any) -> None:
    with open(os.environ["RUNTIME_TEST_LOG"], "a", encoding="utf-8") as f:
        f.write(json.dumps(fields) + "\n")


def _payloads(event: dict[str, Any]) -> list[str]:
    return [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]


def stateful(event: dict[str, Any], context: Any) -> None:
    """Counts invocations in module state; ``sleep:S`` sleeps S seconds first, then
    logs (so a timed-out invocation logs nothing), ``crash`` ends the process."""
    global SERVED
    payloads = _payloads(event)
    started_ms = context.get_remaining_time_in_millis()
    for p in payloads:
        if p.startswith("sleep:"):
            time.sleep(float(p.split(":", 1)[1]))
        if p == "crash" and not os.path.exists(os.environ["RUNTIME_TEST_LOG"] + ".crashed"):
            open(os.environ["RUNTIME_TEST_LOG"] + ".crashed", "w").close()
            os._exit(3)  # the runtime process dies mid-invocation
    SERVED += 1
    _log(
        environment=ENVIRONMENT_ID,
        pid=os.getpid(),
        served=SERVED,
        payloads=payloads,
        request_id=context.aws_request_id,
        function_name=context.function_name,
        function_arn=context.invoked_function_arn,
        memory_mb=str(context.memory_limit_in_mb),
        remaining_ms_at_start=started_ms,
        remaining_ms_at_end=context.get_remaining_time_in_millis(),
        region=os.environ.get("AWS_REGION"),
        handler_env=os.environ.get("_HANDLER"),
    )


def returns(event: dict[str, Any], context: Any) -> Any:
    """Returns the value its one record names (spec 10.3's marshalling cases)."""
    (what,) = _payloads(event)
    _log(environment=ENVIRONMENT_ID, payloads=[what])
    values: dict[str, Any] = {
        "decimal": {"total": Decimal("12.10"), "batchItemFailures": []},
        "bigint": {"n": 2**70, "batchItemFailures": []},
        "datetime": {"at": datetime(2026, 1, 1, tzinfo=UTC)},
        "set": {"ids": {1, 2}},
        "utf8-bytes": {"raw": b"ok", "batchItemFailures": []},
        "binary-bytes": {"raw": b"\xff"},
        "none": None,
    }
    return values[what]


def raises(event: dict[str, Any], context: Any) -> None:
    raise ValueError("bad batch")


def clocked(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Processes the batch with streamkit and logs the invocation's clock as the handler
    sees it (the simulator's clock, passed in the client context, spec 4.11)."""
    import io
    from contextlib import redirect_stdout

    import streamkit
    from streamkit.observability import InvocationClock

    out = io.StringIO()
    with redirect_stdout(out):
        response = streamkit.process_batch(event, lambda record: None, context)
    emf = [json.loads(line) for line in out.getvalue().splitlines() if "IteratorAge" in line]
    _log(
        clock=InvocationClock.of(context).now(),
        wall=time.time(),
        iterator_age_ms=emf[0]["IteratorAge"][0] if emf else None,
        emf_timestamp_ms=emf[0]["_aws"]["Timestamp"] if emf else None,
    )
    return response


def counter(event: dict[str, Any], context: Any) -> None:
    """Adds 1 to the DynamoDB item of each record (one UpdateItem, a single AWS
    write), then logs: a write whose answer never arrives leaves no log line."""
    import boto3

    dynamodb = boto3.client("dynamodb")
    for p in _payloads(event):
        dynamodb.update_item(
            TableName=os.environ["RUNTIME_TEST_TABLE"],
            Key={"k": {"S": p}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        _log(environment=ENVIRONMENT_ID, payloads=[p])
