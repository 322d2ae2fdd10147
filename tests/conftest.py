"""Shared pytest configuration: streamkit's own fixtures, hypothesis profiles.

``pytest --slow`` runs the property tests with ten times more examples (the
exactly-once proof: 2,000 fault schedules instead of 200).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

pytest_plugins = ["streamkit.testing.plugin"]

settings.register_profile("default", settings.get_profile("default"))
settings.register_profile("slow", max_examples=1_000)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        default=False,
        help="run property tests with many more examples (and the 2,000-schedule proof)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--slow"):
        os.environ["STREAMKIT_SLOW"] = "1"
        settings.load_profile("slow")
