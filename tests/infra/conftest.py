"""Fixtures of the Terraform tests: the real zip and the mirror-only CLI config."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamkit.local.cli import main
from streamkit.local.terraform import ensure_cli_config

ROOT = Path(__file__).resolve().parents[2]
WHEEL_CACHE = ROOT / ".streamkit" / "wheels"


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real zip, built by the command users run (``streamkit package``)."""
    out = tmp_path_factory.mktemp("package") / "lambda-arm64.zip"
    args = ["package", "--root", str(ROOT), "--wheel-cache", str(WHEEL_CACHE), "--out", str(out)]
    if main(args) != 0:
        pytest.skip("`streamkit package` could not build the zip (no wheel cache, no index)")
    return out


@pytest.fixture(scope="session")
def cli_config() -> Path:
    """``.streamkit/terraform.rc`` (written if needed): the provider from the mirror only."""
    return ensure_cli_config(ROOT)
