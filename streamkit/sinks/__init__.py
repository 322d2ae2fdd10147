"""Sinks: the only modules that write to AWS on the hot path.

Each write is idempotent and is made only while applying an intent recorded in the
ledger (:mod:`streamkit.ledger`), which is what makes effects exactly-once.
"""
