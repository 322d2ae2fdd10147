"""Realistic traffic generators for local runs (local tooling, never on a Lambda path)."""
