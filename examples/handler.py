"""The smallest useful streamkit consumer: count page views, dead-letter bad input.

Run it locally against a capture::

    streamkit replay tests/data/captures/capture.jsonl --handler examples.handler:handler
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import streamkit

PAGE_VIEWS: Counter[str] = Counter()


def handle(record: streamkit.Record) -> None:
    doc = record.json()  # undecodable payloads are dead-lettered by process_batch
    if not isinstance(doc, dict) or not isinstance(doc.get("page"), str):
        raise streamkit.PermanentError("a page view needs a string 'page'", reason="schema")
    PAGE_VIEWS[doc["page"]] += 1


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return streamkit.process_batch(event, handle, context)
