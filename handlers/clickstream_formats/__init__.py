"""Clickstream wire formats: detect, validate and normalize one record into a :class:`Click`.

Pure parsing with light imports (stdlib, orjson through :mod:`streamkit.codecs`): this
package is on the Lambda import path. :func:`parse_click` takes one Kinesis record's
payload and returns a :class:`Click`, or raises :class:`~streamkit.errors.PermanentError`
(the batch processor dead-letters the record and goes on) whose message starts with the
format and names the offending field, e.g.
``segment: properties.path or context.page.path is required for a page call``.

Dead-letter reasons: ``schema`` (the format was recognized, a field is missing or
invalid), ``unknown_format`` (no format matches), ``bad_json`` (starts like JSON but is
not), ``not_utf8`` (a text payload that is not UTF-8) and the decode reasons of
:mod:`streamkit.codecs` for compressed payloads.

Formats
=======

``streamkit.click/1`` (ours, documented here)
---------------------------------------------

One JSON object per record::

    {
      "schema": "streamkit.click/1",          # required, exactly this string
      "event_id": "4b5c7f0e-...",             # required, non-empty string, unique per event
      "type": "page",                         # required: "page" | "track" | "identify"
      "event": "Product Added",               # required for "track", ignored otherwise
      "user_id": "user-000042",               # required, non-empty string (an anonymous id
                                              #   is fine when the user is not logged in)
      "session_id": "s-81f3...",              # optional string (or null)
      "site": "shop.example.com",             # required, the host the event happened on
      "page": "/products/42",                 # required for "page", optional otherwise: a
                                              #   path starting with "/"; a query string or
                                              #   fragment is dropped, "" means "/"
      "ts": "2026-11-28T10:00:00.123Z"        # optional: ISO 8601 (no offset = UTC) or epoch
                                              #   milliseconds (1795860000123)
    }

Unknown keys are ignored. ``ts`` as a number is epoch **milliseconds**; a number below
1e11 (before March 1973) is rejected as probably being epoch seconds. Another
``streamkit.click/N`` version is rejected as ``unknown_format``.

Segment (track / page / identify)
---------------------------------

The Segment Spec message: ``type``, ``messageId`` (required: it is the event id),
``userId`` or ``anonymousId`` (one required; ``userId`` wins; a numeric id is
accepted as its decimal string), ``timestamp``/``originalTimestamp`` (ISO 8601),
``event`` (required for track), ``properties`` and ``context``. The page comes from
``properties.path``, else the path of ``properties.url``, else ``context.page.path``,
else the path of ``context.page.url``; a page call without any of them is invalid.
Track and identify calls take their page from ``context.page`` when it is there. The
site is the host of ``properties.url``, else of ``context.page.url``. The Spec has no
session field: ``session_id`` is ``context.sessionId`` when a source sets one. Other
call types (screen, group, alias) are rejected as ``schema`` errors naming ``type``.

Snowplow enriched events (TSV and JSON)
---------------------------------------

The enriched event of the Snowplow pipeline: a 131-field tab-separated line in the
order of :data:`SNOWPLOW_FIELDS`, or the JSON object the Snowplow analytics SDKs make
of it (the same field names as flat keys, empty fields left out, timestamps as ISO
strings, contexts shredded into ``contexts_*`` keys). ``event_id`` and ``event`` (the
event type: ``page_view``, ``struct``, ``unstruct``, ``page_ping``, ...) are required.
The normalized event name is ``page_view`` for page views, ``se_action`` for
structured events (required there), else ``event_name`` (required for ``unstruct``),
else the event type. The user is ``user_id``, else ``domain_userid``; the session is
``domain_sessionid``; the page is ``page_urlpath`` (else the path of ``page_url``;
required for a ``page_view``) and the site ``page_urlhost`` (else the host of
``page_url``).

Detection (per record, in this order)
=====================================

1. A gzip/zlib-compressed payload is inflated first (as :func:`streamkit.codecs.decode_json`
   does).
2. A payload whose first non-blank byte is ``{`` or ``[`` is JSON: invalid JSON is
   ``bad_json``; a JSON value that is not an object is ``unknown_format``. An object is

   a. ``streamkit.click/1`` when its ``schema`` starts with ``streamkit.click/``;
   b. Snowplow enriched JSON when it has both ``event_id`` and ``collector_tstamp``;
   c. Segment when it has ``type`` and one of ``messageId``, ``userId``, ``anonymousId``;
   d. otherwise ``unknown_format``.

3. Any other payload containing a tab is Snowplow enriched TSV (a wrong field count is a
   ``schema`` error saying how many fields there were).
4. Anything else is ``unknown_format``.

Event time
==========

``Click.ts`` is epoch seconds, or ``None`` when the record carries no timestamp at all;
the consumer then uses the record's Kinesis arrival time
(``ApproximateArrivalTimestamp``). A timestamp that is present but unreadable is a
``schema`` error naming the field, never silently replaced. Timestamps without an
offset are UTC.

- ``streamkit.click/1``: ``ts``.
- Segment: ``timestamp`` (the event time corrected for device clock skew), else
  ``originalTimestamp`` (the device clock). ``sentAt`` and ``receivedAt`` are transport
  times, not event times, and are not used: the arrival time plays their part.
- Snowplow: ``derived_tstamp`` (skew-corrected), else ``dvce_created_tstamp`` (device
  clock), else ``collector_tstamp`` (when the collector got it). The first non-empty one
  is used and must parse.
"""

from __future__ import annotations

from handlers.clickstream_formats.click import FORMATS, Click
from handlers.clickstream_formats.detect import parse_click
from handlers.clickstream_formats.snowplow_fields import SNOWPLOW_FIELDS
from handlers.clickstream_formats.streamkit_click import STREAMKIT_SCHEMA

__all__ = ["FORMATS", "SNOWPLOW_FIELDS", "STREAMKIT_SCHEMA", "Click", "parse_click"]
