"""Shared pytest configuration: streamkit's own fixtures (local AWS, kinesis-local)."""

pytest_plugins = ["streamkit.testing.plugin"]
