"""The ``streamkit dlq`` tooling: the dead-letter store reader/redriver and its output."""
