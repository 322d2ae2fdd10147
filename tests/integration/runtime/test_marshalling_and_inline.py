"""The return value as the Python runtime marshals it (spec 10.3), in both execution
modes, and the function timeout in the in-process mode (spec 10.2, 10.4).

``execution="process"`` runs awslambdaric in a worker; ``execution="inline"`` calls
the handler here and marshals with awslambdaric's own marshaller, so both agree.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.local.config import EsmSettings
from streamkit.local.esm import EventSourceMapping
from streamkit.local.runtime import MarshalError, marshal_response, parse_response

pytestmark = pytest.mark.integration

MODES = ("process", "inline")
RBIF = ("ReportBatchItemFailures",)


@pytest.mark.parametrize("execution", MODES)
@pytest.mark.parametrize("value", ["decimal", "bigint", "utf8-bytes", "none"])
def test_10_3_decimal_and_big_integers_serialise(
    runtime_env: Any, execution: str, value: str
) -> None:
    """10.3: a Decimal and an integer above 64 bits in the response serialise (the
    invocation succeeds), as with awslambdaric on AWS; so do bytes that are valid
    UTF-8 (simplejson writes them as a string)."""
    runtime_env.put(value)
    esm = runtime_env.esm("returns", execution=execution, function_response_types=RBIF)
    stats = esm.run()
    assert [(entry.outcome, entry.detail) for entry in stats.log] == [("success", "")]
    assert stats.records_processed == 1


@pytest.mark.parametrize("execution", MODES)
@pytest.mark.parametrize("value", ["datetime", "set", "binary-bytes"])
def test_10_3_values_json_cannot_represent_are_a_marshal_error(
    runtime_env: Any, execution: str, value: str
) -> None:
    """10.3: a datetime, a set or bytes that are not UTF-8 inside the response make
    the invocation fail with Runtime.MarshalError, a function error (Unhandled)."""
    runtime_env.put(value)
    esm = runtime_env.esm("returns", execution=execution, maximum_retry_attempts=0)
    stats = esm.run()
    (entry,) = stats.log
    assert entry.outcome == "failure"
    assert entry.detail.startswith("Runtime.MarshalError: Unable to marshal response: ")
    assert stats.failure_documents[0]["responseContext"]["functionError"] == "Unhandled"
    assert runtime_env.lines()[0]["payloads"] == [value]  # the handler did run


def test_10_3_marshalled_values_read_back_exactly() -> None:
    """10.3: what the event source reads back keeps an integer of any size and a
    Decimal's digits (as a JSON number)."""
    from decimal import Decimal

    body, content_type = marshal_response({"n": 2**70, "d": Decimal("12.10")})
    assert content_type == "application/json"
    assert b"12.10" in body
    assert parse_response(body, content_type) == {"n": 2**70, "d": 12.1}
    with pytest.raises(MarshalError):
        marshal_response({"at": {1, 2}})


def test_10_2_inline_timeout_stops_the_handler_before_its_side_effect(runtime_env: Any) -> None:
    """10.2 in-process: a handler sleeping past the timeout is interrupted at the
    deadline (the log write after the sleep never happens); the outcome is a
    timeout with functionError Unhandled."""
    runtime_env.put("sleep:5", "b")
    esm = runtime_env.esm(
        "stateful", execution="inline", function_timeout_s=1.0, maximum_retry_attempts=0
    )
    stats = esm.run()
    assert [line["payloads"] for line in runtime_env.lines()] == [["b"]]
    assert stats.log[0].detail == "Task timed out after 1.00 seconds"
    assert stats.failure_documents[0]["responseContext"]["functionError"] == "Unhandled"
    assert stats.records_processed == 1


def test_10_4_inline_context_counts_down_from_the_timeout(runtime_env: Any) -> None:
    """10.4 in-process: the context names the function and request, and its
    remaining time counts down from the function timeout."""
    runtime_env.put("sleep:0.05")
    esm = runtime_env.esm("stateful", execution="inline", function_timeout_s=7.0)
    stats = esm.run()
    (line,) = runtime_env.lines()
    assert line["request_id"] == stats.log[0].request_id
    assert line["function_name"] == "rt-consumer"
    assert line["function_arn"] == esm.function_arn
    assert 0 < line["remaining_ms_at_start"] <= 7_000
    assert line["remaining_ms_at_start"] - line["remaining_ms_at_end"] >= 50


def test_execution_mode_is_validated(runtime_env: Any) -> None:
    """A bad execution mode names the allowed values; process mode refuses a
    callable a worker cannot import by name."""
    with pytest.raises(ValueError, match="process, inline"):
        runtime_env.esm("stateful", execution="thread")
    with pytest.raises(ValueError, match="module-level function"):
        EventSourceMapping(
            lambda e, c: None,
            EsmSettings("TRIM_HORIZON"),
            runtime_env.kinesis,
            runtime_env.stream,
            execution="process",
        )
