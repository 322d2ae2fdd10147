"""infra/consumers.schema.json: the JSON Schema editors validate the config with,
generated from the pydantic models (streamkit.local.config.schema)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from streamkit.local.config import SCHEMA_REFERENCE, load_consumers
from streamkit.local.config.schema import consumers_json_schema

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "infra" / "consumers.json"
SCHEMA = REPO / "infra" / "consumers.schema.json"
REGENERATE = "python -m streamkit.local.config.schema > infra/consumers.schema.json"


def test_checked_in_schema_is_the_models_schema() -> None:
    checked_in = json.loads(SCHEMA.read_text())
    assert checked_in == consumers_json_schema(), f"stale schema; regenerate: {REGENERATE}"


def test_regeneration_command_prints_the_checked_in_file() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "streamkit.local.config.schema"],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert out.stdout == SCHEMA.read_text()
    assert out.stderr == ""


def test_config_names_its_schema_and_the_models_accept_the_key() -> None:
    raw = json.loads(CONFIG.read_text())
    assert raw["$schema"] == SCHEMA_REFERENCE == "./consumers.schema.json"
    assert (CONFIG.parent / raw["$schema"]).resolve() == SCHEMA
    assert list(load_consumers(CONFIG)) == list(raw["consumers"])


def validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_config_validates_against_the_schema() -> None:
    errors = [e.message for e in validator().iter_errors(json.loads(CONFIG.read_text()))]
    assert errors == []


def _broken(path: list[str], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(json.loads(CONFIG.read_text()))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


ESM = ["consumers", "clickstream", "event_source_mapping"]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ([*ESM, "BatchSize"], 0),
        ([*ESM, "BatchSize"], "500"),
        ([*ESM, "StartingPosition"], "EARLIEST"),
        ([*ESM, "BatchSze"], 5),
        ([*ESM, "FunctionResponseTypes"], ["ReportBatchItemFailures"] * 2),
        ([*ESM, "FilterCriteria"], None),
        (["consumers", "click stream"], {}),
        (["consumers", "iot", "function", "environment", "9LIVES"], "x"),
        (["consumers", "iot", "resources", "archive_bucket"], "Upper"),
        ([*ESM, "Enabled"], "yes"),
        ([*ESM, "MetricsConfig"], {"Metrics": ["ErrorCount"]}),
        ([*ESM, "MetricsConfig"], {}),
        ([*ESM, "KMSKeyArn"], "arn:aws:kms:us-east-1:123456789012:alias/streamkit"),
        ([*ESM, "Tags"], {"k" * 129: "v"}),
        ([*ESM, "Tags"], {f"t{i}": "v" for i in range(51)}),
        (["consumers", "iot", "stream", "enhanced_fan_out"], "true"),
    ],
    ids=lambda v: v[-1] if isinstance(v, list) else None,
)
def test_schema_rejects_what_the_models_reject(path: list[str], value: Any) -> None:
    """The schema is no formality: editors flag these as the loader does."""
    assert list(validator().iter_errors(_broken(path, value)))
