"""Reading one field of a payload: typed getters, URLs, paths, times, error messages.

Every failure is a :class:`~streamkit.errors.PermanentError` with reason ``schema`` whose
message starts with the format and names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from streamkit.errors import PermanentError

#: Event times must fit a datetime and not precede the epoch.
MAX_TS: Final = 253_402_300_799.0


def schema_error(fmt: str, message: str) -> PermanentError:
    """The ``schema`` dead-letter error of format ``fmt``: ``<fmt>: <message>``."""
    return PermanentError(f"{fmt}: {message}", reason="schema")


def req_str(fmt: str, doc: Mapping[str, Any], key: str, missing: str | None = None) -> str:
    """A required non-empty string field (``missing``: the message when it is absent)."""
    value = doc.get(key)
    if value is None:
        raise schema_error(fmt, missing or f"{key} is required")
    if not isinstance(value, str) or not value:
        raise schema_error(fmt, f"{key} must be a non-empty string, got {short(value)}")
    return value


def opt_str(
    fmt: str, doc: Mapping[str, Any] | None, key: str, label: str | None = None
) -> str | None:
    """A string field; absent, null and "" are None."""
    if doc is None:
        return None
    value = doc.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise schema_error(fmt, f"{label or key} must be a string, got {short(value)}")
    return value


def opt_id(
    fmt: str, doc: Mapping[str, Any] | None, key: str, label: str | None = None
) -> str | None:
    """An identifier: a string, or an integer taken as its decimal string."""
    if doc is None:
        return None
    value = doc.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return opt_str(fmt, doc, key, label)


def opt_obj(
    fmt: str, doc: Mapping[str, Any] | None, key: str, label: str
) -> Mapping[str, Any] | None:
    """An optional JSON object field; absent and null are None."""
    if doc is None:
        return None
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise schema_error(fmt, f"{label} must be an object, got {short(value)}")
    return value


def url_field(
    fmt: str, doc: Mapping[str, Any] | None, key: str, label: str
) -> tuple[str, str] | None:
    """(host, normalized path) of the absolute URL in field ``key``; None when absent."""
    return url_value(fmt, label, opt_str(fmt, doc, key, label))


def url_value(fmt: str, label: str, url: str | None) -> tuple[str, str] | None:
    """(host, normalized path) of an absolute URL; None when absent."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if not host:
        raise schema_error(fmt, f"{label} is not an absolute URL: {short(url)}")
    return host, parts.path or "/"


def normalize_path(path: str) -> str:
    """A page path without query string or fragment; "" becomes "/"."""
    for sep in ("?", "#"):
        cut = path.find(sep)
        if cut >= 0:
            path = path[:cut]
    return path or "/"


def iso_time(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 time (no offset: UTC); None when unreadable.

    Accepts ``2026-11-28T10:00:00.123Z``, ``...+01:00`` and Snowplow's
    ``2026-11-28 10:00:00.123``.
    """
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        ts = dt.timestamp()
    except (OverflowError, ValueError):  # pragma: no cover - platform limits
        return None
    return ts if 0.0 <= ts <= MAX_TS else None


def short(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def preview(data: bytes, limit: int = 32) -> str:
    """The first ``limit`` bytes of a payload, for error messages."""
    more = "..." if len(data) > limit else ""
    return f"{data[:limit]!r}{more}"
