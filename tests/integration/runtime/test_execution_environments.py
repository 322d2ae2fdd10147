"""Execution environments (spec 10.1, 10.2, 10.4): worker processes under awslambdaric.

Every handler here runs in a real worker process (``python -m awslambdaric``)
against the simulator's Runtime API on 127.0.0.1, over records of a moto stream;
what the handler logged to its file is the side effect the tests read back.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamkit.local.faults import FaultPlan

pytestmark = pytest.mark.integration


def test_10_1_module_state_survives_warm_invocations_one_cold_start(runtime_env: Any) -> None:
    """10.1: the module is imported once per environment (one cold start, timed and
    reported), and its state survives between the invocations it serves."""
    runtime_env.put("a", "b", "c")
    esm = runtime_env.esm("stateful")
    stats = esm.run()
    lines = runtime_env.lines()
    assert [line["payloads"] for line in lines] == [["a"], ["b"], ["c"]]
    assert {line["environment"] for line in lines} == {lines[0]["environment"]}
    assert [line["served"] for line in lines] == [1, 2, 3]  # module state kept
    assert stats.cold_starts == 1
    assert list(stats.cold_start_requests) == [stats.log[0].request_id]
    assert stats.init_seconds > 0
    assert stats.to_dict()["cold_starts"] == 1


def test_10_1_environment_stays_warm_across_runs_until_closed(runtime_env: Any) -> None:
    """10.1: a later run of the same mapping reuses the warm environment; after
    close() the next invocation is a cold start again."""
    runtime_env.put("a")
    esm = runtime_env.esm("stateful")
    esm.run()
    runtime_env.put("b")
    esm.run()
    esm.close()
    runtime_env.put("c")
    stats = esm.run()
    lines = runtime_env.lines()
    assert [line["served"] for line in lines] == [1, 2, 1]
    assert lines[0]["environment"] == lines[1]["environment"] != lines[2]["environment"]
    assert stats.cold_starts == 2


def test_10_2_timeout_leaves_no_side_effect_and_resets_state(runtime_env: Any) -> None:
    """10.2: at the function timeout the invocation is stopped (the write after the
    sleep never happens), the outcome is `Task timed out after N seconds` with
    functionError Unhandled, and the next invocation gets a fresh environment."""
    runtime_env.put("a", "sleep:5", "b")
    esm = runtime_env.esm("stateful", function_timeout_s=1.0, maximum_retry_attempts=0)
    stats = esm.run()
    lines = runtime_env.lines()
    assert [line["payloads"] for line in lines] == [["a"], ["b"]]  # no "sleep:5" line
    timed_out = [entry for entry in stats.log if entry.outcome == "failure"]
    assert [entry.detail for entry in timed_out] == ["Task timed out after 1.00 seconds"]
    (doc,) = stats.failure_documents
    assert doc["responseContext"]["functionError"] == "Unhandled"
    assert doc["KinesisBatchInfo"]["startSequenceNumber"] == "2"
    # The environment was not reused: "b" ran in a new one, with fresh module state.
    assert lines[0]["environment"] != lines[1]["environment"]
    assert lines[1]["served"] == 1
    assert stats.cold_starts == 2


def test_10_2_crash_of_the_runtime_process_starts_a_fresh_environment(runtime_env: Any) -> None:
    """10.2: the runtime process dies mid-invocation: a function error
    (Runtime.ExitError, functionError Unhandled), the batch is retried, and the
    retry runs in a fresh environment whose module state starts over."""
    runtime_env.put("a", "crash", "b")
    esm = runtime_env.esm("stateful", maximum_retry_attempts=2)
    stats = esm.run()
    lines = runtime_env.lines()
    assert [line["payloads"] for line in lines] == [["a"], ["crash"], ["b"]]
    assert [line["served"] for line in lines] == [1, 1, 2]
    assert lines[0]["environment"] != lines[1]["environment"] == lines[2]["environment"]
    (crash,) = [entry for entry in stats.log if entry.outcome == "failure"]
    assert crash.detail.startswith("Runtime.ExitError: ")
    assert "Runtime exited with error: exit status 3" in crash.detail
    assert stats.records_processed == 3 and stats.records_discarded == 0
    assert stats.cold_starts == 2


def test_10_2_injected_crash_after_the_handler_discards_the_environment(
    runtime_env: Any,
) -> None:
    """10.2 with an injected crash after the handler ran (spec 2.1.4): the handler's
    effects happened, the invocation fails, and the environment is not reused."""
    runtime_env.put("a", "b")
    esm = runtime_env.esm(
        "stateful", faults=FaultPlan(seed=1, crash_after_rate=1.0), maximum_retry_attempts=0
    )
    stats = esm.run()
    lines = runtime_env.lines()
    assert [line["payloads"] for line in lines] == [["a"], ["b"]]
    assert [line["served"] for line in lines] == [1, 1]
    assert lines[0]["environment"] != lines[1]["environment"]
    assert stats.records_discarded == 2 and stats.cold_starts == 2


def test_10_4_context_comes_from_the_runtime_api_headers(runtime_env: Any) -> None:
    """10.4: the context object is awslambdaric's, built from the Runtime API
    headers: request id, function name and ARN, memory, and a remaining time that
    counts down from the function timeout."""
    runtime_env.put("sleep:0.05")
    esm = runtime_env.esm("stateful", function_timeout_s=7.0)
    stats = esm.run()
    (line,) = runtime_env.lines()
    assert line["request_id"] == stats.log[0].request_id
    assert line["function_name"] == "rt-consumer"
    assert line["function_arn"] == esm.function_arn
    assert line["memory_mb"] == "256"
    assert line["region"] == "us-east-1"
    assert line["handler_env"] == "tests.integration.runtime.runtime_handlers.stateful"
    assert 0 < line["remaining_ms_at_start"] <= 7_000
    # The handler slept 50 ms between the two readings.
    assert line["remaining_ms_at_start"] - line["remaining_ms_at_end"] >= 50


def test_10_2_handler_exception_is_lambdas_error_document(runtime_env: Any) -> None:
    """10.2 / 2.1.4: an exception in the handler is posted by the runtime as Lambda's
    error document (errorType, errorMessage): a function error, Unhandled."""
    runtime_env.put("a")
    esm = runtime_env.esm("raises", maximum_retry_attempts=0)
    stats = esm.run()
    assert [entry.detail for entry in stats.log] == ["ValueError: bad batch"]
    assert stats.failure_documents[0]["responseContext"]["functionError"] == "Unhandled"


def test_10_1_a_handler_that_cannot_be_loaded_is_an_init_error(runtime_env: Any) -> None:
    """10.1: when init fails (the handler is missing), awslambdaric posts
    /init/error; the invocation fails with its error type, and each retry tries a
    new init."""
    runtime_env.put("a")
    esm = runtime_env.esm("missing", maximum_retry_attempts=1)
    stats = esm.run()
    details = [entry.detail for entry in stats.log]
    assert len(details) == 2
    assert all(d.startswith("Runtime.HandlerNotFound: ") for d in details)
    assert stats.records_discarded == 1
