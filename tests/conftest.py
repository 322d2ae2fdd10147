"""Shared pytest configuration: streamkit's own fixtures, hypothesis profiles.

``pytest --slow`` runs the property tests with ten times more examples (the
exactly-once proof: 2,000 fault schedules instead of 200).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

pytest_plugins = ["streamkit.testing.plugin"]

# No per-example deadline: CI machines are shared and noisy, and a slow example is
# not a failure (timing budgets live in tests/benchmarks, never in tests).
settings.register_profile("streamkit", deadline=None)
settings.register_profile("slow", parent=settings.get_profile("streamkit"), max_examples=1_000)
settings.load_profile("streamkit")


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
