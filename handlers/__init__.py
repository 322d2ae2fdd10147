"""Real Lambda consumers built on streamkit (clickstream, IoT telemetry)."""
