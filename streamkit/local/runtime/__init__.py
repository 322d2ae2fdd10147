"""Execution environments like Lambda's, for the ESM simulator (spec section 10).

Two ways to run a handler:

* ``execution="process"``: each lane (shard) gets a worker process running AWS's
  own runtime interface client, ``awslambdaric``, against a Lambda Runtime API
  served on 127.0.0.1. The module is imported once per environment (a cold start,
  timed), its state survives warm invocations, the process is killed at the
  function timeout and after a crash, and the context object, the marshalling of
  return values and the error documents are Lambda's own.
* ``execution="inline"``: the handler is called in this process, so a test can
  inspect its state directly; the return value is still marshalled by
  ``awslambdaric``'s marshaller, and the timeout is enforced as far as a signal
  can (:mod:`~streamkit.local.runtime.inline`).

Modules: :mod:`~streamkit.local.runtime.api` (the Runtime API endpoint),
:mod:`~streamkit.local.runtime.environment` (one worker process),
:mod:`~streamkit.local.runtime.pool` (one function's environments, by lane),
:mod:`~streamkit.local.runtime.marshal` (return values, in-process),
:mod:`~streamkit.local.runtime.inline` (the in-process timeout),
:mod:`~streamkit.local.runtime.proxy` (faults at single AWS writes, for workers).
"""

from streamkit.local.runtime.environment import (
    ExecutionEnvironment,
    FunctionSpec,
    InvocationResult,
)
from streamkit.local.runtime.inline import InvocationTimeout, deadline_alarm
from streamkit.local.runtime.marshal import MarshalError, marshal_response, parse_response
from streamkit.local.runtime.pool import (
    ColdStart,
    EnvironmentPool,
    handler_reference,
    load_handler,
)
from streamkit.local.runtime.proxy import ProxyFaults, WriteFaultProxy

__all__ = [
    "ColdStart",
    "EnvironmentPool",
    "ExecutionEnvironment",
    "FunctionSpec",
    "InvocationResult",
    "InvocationTimeout",
    "MarshalError",
    "ProxyFaults",
    "WriteFaultProxy",
    "deadline_alarm",
    "handler_reference",
    "load_handler",
    "marshal_response",
    "parse_response",
]
