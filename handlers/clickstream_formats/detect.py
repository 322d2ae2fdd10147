"""Which format a payload is in (see "Detection" in :mod:`handlers.clickstream_formats`)."""

from __future__ import annotations

from typing import Any

from handlers.clickstream_formats.click import Click
from handlers.clickstream_formats.fields import preview
from handlers.clickstream_formats.segment import parse_segment
from handlers.clickstream_formats.snowplow import parse_snowplow_json, parse_snowplow_tsv
from handlers.clickstream_formats.streamkit_click import STREAMKIT_SCHEMA, parse_streamkit
from streamkit.codecs import decode_json, inflate, is_compressed
from streamkit.errors import PermanentError


def parse_click(data: bytes) -> Click:
    """Detect the format of one record's payload and parse it into a :class:`Click`.

    Raises :class:`~streamkit.errors.PermanentError` naming the field when the record
    is invalid (reason ``schema``), ``unknown_format`` when no format matches, and
    :class:`~streamkit.errors.DecodeError` (reason ``bad_json``, ...) when the payload
    cannot be decoded.
    """
    if is_compressed(data):
        data = inflate(data)
    first = data.lstrip()[:1]
    if first in (b"{", b"["):
        doc = decode_json(data)
        if not isinstance(doc, dict):
            raise PermanentError(
                f"a JSON {type(doc).__name__} is not a click event (one JSON object per record)",
                reason="unknown_format",
            )
        return _parse_object(doc)
    if b"\t" in data:
        return parse_snowplow_tsv(data)
    raise PermanentError(
        f"not JSON and not a Snowplow enriched TSV line: {preview(data)}",
        reason="unknown_format",
    )


def _parse_object(doc: dict[str, Any]) -> Click:
    schema = doc.get("schema")
    if isinstance(schema, str) and schema.startswith("streamkit.click/"):
        if schema != STREAMKIT_SCHEMA:
            raise PermanentError(
                f"schema {schema!r} is not supported (this consumer reads {STREAMKIT_SCHEMA})",
                reason="unknown_format",
            )
        return parse_streamkit(doc)
    if "event_id" in doc and "collector_tstamp" in doc:
        return parse_snowplow_json(doc)
    if "type" in doc and ("messageId" in doc or "userId" in doc or "anonymousId" in doc):
        return parse_segment(doc)
    keys = ", ".join(sorted(doc)[:8]) or "none"
    raise PermanentError(
        "JSON object matches no click format (streamkit.click/1 needs schema; Snowplow "
        "needs event_id and collector_tstamp; Segment needs type and messageId, userId "
        f"or anonymousId); keys: {keys}",
        reason="unknown_format",
    )
