"""The execution environments of one function, one per lane (shard).

With ParallelizationFactor 1 at most one invocation per shard is in flight (spec
10.1), so the pool keeps at most one environment per lane key: the first
invocation of a lane starts its environment (a cold start, timed), later ones reuse
it (warm). A crashed or timed-out environment is dropped; the lane's next
invocation starts a fresh one.

Example::

    pool = EnvironmentPool(FunctionSpec("handlers.iot.handler", "iot", arn, 60.0))
    result = pool.invoke(("shardId-000000000000", 0), request_id, event_bytes)
    pool.close()
"""

from __future__ import annotations

import importlib
import threading
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from streamkit.local.runtime.environment import (
    ExecutionEnvironment,
    FunctionSpec,
    InvocationResult,
)


@dataclass(frozen=True, slots=True)
class ColdStart:
    """One environment's init phase: which lane, which invocation, how long."""

    key: Hashable
    request_id: str
    init_s: float


class EnvironmentPool:
    """One function's environments, keyed by lane."""

    def __init__(
        self, spec: FunctionSpec, *, log_sink: Callable[[str], None] | None = None
    ) -> None:
        self.spec = spec
        # Environments print concurrently (one reader thread each): one line at a time.
        self.log_sink = _one_at_a_time(log_sink) if log_sink is not None else None
        self._environments: dict[Hashable, ExecutionEnvironment] = {}
        #: Every init phase so far, in order.
        self.cold_starts: list[ColdStart] = []
        # Worker processes never outlive the pool, even if close() is forgotten.
        self._finalizer = weakref.finalize(self, _kill_all, self._environments)

    def invoke(
        self, key: Hashable, request_id: str, event: bytes, client_context: str = ""
    ) -> InvocationResult:
        """Invoke in ``key``'s environment (started first if there is none)."""
        env = self._environments.get(key)
        if env is None:
            env = self._environments[key] = ExecutionEnvironment(self.spec, log_sink=self.log_sink)
        result = env.invoke(request_id, event, client_context=client_context)
        if result.init_s is not None:
            self.cold_starts.append(ColdStart(key, request_id, result.init_s))
        if not env.alive:
            del self._environments[key]  # crashed or timed out: never reused
        return result

    def discard(self, key: Hashable) -> None:
        """Kill ``key``'s environment (an injected crash); the next invocation is cold."""
        env = self._environments.pop(key, None)
        if env is not None:
            env.kill()

    def environment(self, key: Hashable) -> ExecutionEnvironment | None:
        return self._environments.get(key)

    def close(self) -> None:
        """Kill every environment."""
        _kill_all(self._environments)


def _kill_all(environments: dict[Hashable, ExecutionEnvironment]) -> None:
    for env in environments.values():
        env.kill()
    environments.clear()


def _one_at_a_time(sink: Callable[[str], None]) -> Callable[[str], None]:
    lock = threading.Lock()

    def locked(line: str) -> None:
        with lock:
            sink(line)

    return locked


def handler_reference(handler: Any) -> str:
    """Lambda's ``module.function`` for a module-level function (or the string itself).

    Raises ValueError for what a worker process cannot import by name (a lambda, a
    closure, a callable object, a function of ``__main__``).
    """
    if isinstance(handler, str):
        module_name, _, attr = handler.replace(":", ".").rpartition(".")
        if not module_name or not attr:
            raise ValueError(f"handler must look like package.module.function, got {handler!r}")
        return f"{module_name}.{attr}"
    module: str | None = getattr(handler, "__module__", None)
    name: str | None = getattr(handler, "__qualname__", None)
    if not module or not name or module == "__main__" or "." in name or "<" in name:
        raise ValueError(
            f"execution='process' needs a module-level function (or 'module.function'), "
            f"got {handler!r}; use execution='inline' for other callables"
        )
    return f"{module}.{name}"


def load_handler(reference: str) -> Callable[[dict[str, Any], Any], Any]:
    """The function ``module.function`` (or ``module:function``) names, imported here."""
    module_name, _, attr = handler_reference(reference).rpartition(".")
    fn = getattr(importlib.import_module(module_name), attr, None)
    if not callable(fn):
        raise ValueError(f"{module_name!r} has no function {attr!r}")
    handler: Callable[[dict[str, Any], Any], Any] = fn
    return handler
