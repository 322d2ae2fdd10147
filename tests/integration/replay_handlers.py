"""Handlers the replay tests run by reference (``module:function``)."""

from __future__ import annotations

from typing import Any

import streamkit

#: What the handlers saw, for the tests to inspect.
SEEN: list[dict[str, Any]] = []


def recording(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process every record with streamkit, remembering each Lambda record."""
    SEEN.extend(event["Records"])
    return streamkit.process_batch(
        event, lambda r: r.json(), context, metrics=False, dead_letters=lambda d: None
    )


def always_fails(event: dict[str, Any], context: Any) -> None:
    raise RuntimeError("this handler never succeeds")
