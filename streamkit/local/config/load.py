"""Finding, reading and writing the consumer config file.

:func:`load_consumers` reads ``infra/consumers.json`` (found by
:func:`default_config_path`), rejects what JSON allows but a config must not hold
(keys given twice, ``NaN``), validates the document with the pydantic models and
returns the consumers as :class:`~streamkit.local.config.settings.ConsumerConfig`
value objects; :func:`consumers_to_dict` is the way back to the file's document.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from streamkit.local.config.errors import ConfigError, Loc, describe, duplicate_message
from streamkit.local.config.models import ConsumersModel
from streamkit.local.config.settings import ConsumerConfig, clock, consumer_config

CONFIG_RELATIVE_PATH: Final = Path("infra") / "consumers.json"
#: The ``$schema`` the file names: the JSON Schema next to it (see ``schema.py``).
SCHEMA_REFERENCE: Final = "./consumers.schema.json"


def default_config_path(start: str | os.PathLike[str] | None = None) -> Path:
    """``infra/consumers.json`` of the checkout we run in.

    Searches ``start`` (default: the current directory) and its parents, then the
    checkout this module lives in (an editable install). Raises FileNotFoundError.
    """
    here = Path.cwd() if start is None else Path(start)
    here = here.resolve()
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_RELATIVE_PATH
        if candidate.is_file():
            return candidate
    # streamkit/local/config/load.py -> the checkout's root
    candidate = Path(__file__).resolve().parents[3] / CONFIG_RELATIVE_PATH
    if candidate.is_file():
        return candidate
    raise FileNotFoundError(
        f"no {CONFIG_RELATIVE_PATH} found in {here} or its parents (nor in the streamkit "
        "checkout); run from a checkout or pass the config path"
    )


def load_consumers(
    path: str | os.PathLike[str] | None = None, *, now: float | None = None
) -> dict[str, ConsumerConfig]:
    """Read and validate a consumer config file (default: :func:`default_config_path`).

    Raises ConfigError listing every problem (``.source`` is the file), or OSError
    when the file cannot be read.
    """
    config_path = default_config_path() if path is None else Path(path)
    text = config_path.read_text(encoding="utf-8")
    try:
        doc = json.loads(text, object_pairs_hook=_json_object, parse_constant=_reject_constant)
    except ValueError as exc:
        raise ConfigError(
            [f"{config_path}: not valid JSON: {exc}"], source=str(config_path)
        ) from exc
    try:
        return parse_consumers(doc, now=now)
    except ConfigError as exc:
        exc.source = str(config_path)
        raise


def parse_consumers(
    doc: Mapping[str, Any], *, now: float | None = None
) -> dict[str, ConsumerConfig]:
    """Validate a decoded config document and build the consumers, in file order.

    ``now`` (Unix seconds, default: the clock) is the instant
    ``StartingPositionTimestamp`` must not be after.
    """
    errors = [duplicate_message(ConsumersModel, loc) for loc in _duplicates(doc, ())]
    try:
        model = ConsumersModel.model_validate(doc, context={"now": clock(now)})
    except ValidationError as exc:
        raise ConfigError([*errors, *describe(exc, ConsumersModel, doc, where="")]) from None
    if errors:
        raise ConfigError(errors)
    return {name: consumer_config(name, c) for name, c in model.consumers.items()}


def consumers_to_dict(
    consumers: Mapping[str, ConsumerConfig], *, schema: str | None = SCHEMA_REFERENCE
) -> dict[str, Any]:
    """The file document for ``consumers`` (inverse of :func:`parse_consumers`).

    It names ``schema`` as its ``$schema``, as the checked-in file does (``None``:
    no ``$schema``).
    """
    doc: dict[str, Any] = {} if schema is None else {"$schema": schema}
    doc["consumers"] = {name: c.to_dict() for name, c in consumers.items()}
    return doc


class _JsonObject(dict[str, Any]):
    """A decoded JSON object that remembers keys it saw more than once."""

    duplicate_keys: tuple[str, ...] = ()


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = _JsonObject()
    duplicates: list[str] = []
    for key, value in pairs:
        if key in obj:
            duplicates.append(key)
        obj[key] = value
    if duplicates:
        obj.duplicate_keys = tuple(duplicates)
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _duplicates(value: object, loc: Loc) -> Iterator[Loc]:
    """The locs of keys given twice, in document order (JSON keeps the last value)."""
    if isinstance(value, Mapping):
        for key in getattr(value, "duplicate_keys", ()):
            yield (*loc, key)
        for key, item in value.items():
            yield from _duplicates(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _duplicates(item, (*loc, index))
