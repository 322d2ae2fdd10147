"""A handler module's pipeline, built from the environment on first use."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamkit.pipeline import Pipeline


class LazyPipeline:
    """A handler module's pipeline, built from ``os.environ`` on first use.

    Lambda builds it once per container (on the first invocation, when the
    function's environment is in place) and reuses it; tests call :meth:`reset`
    after changing the environment::

        _lazy = LazyPipeline(build_pipeline)
        pipeline, handler, reset = _lazy.get, _lazy.handler, _lazy.reset
    """

    def __init__(self, build: Callable[[Mapping[str, str]], Pipeline]) -> None:
        self._build = build
        self._pipeline: Pipeline | None = None

    def get(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = self._build(os.environ)
        return self._pipeline

    def handler(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        """The Lambda entry point."""
        return self.get().handle(event, context)

    def reset(self) -> None:
        self._pipeline = None
