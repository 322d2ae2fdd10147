"""The intent's wire format (version 1) with typed writes.

A pending intent written before an upgrade must still be applied after it: the
fixture below is a blob written by the code before the intent held typed writes
(``AggregateWrite``, ``ObjectWrite``, ``MessageWrite``), planned from
:func:`_pipeline` and :data:`_DOCS`; it must decode into those writes, encode back
to the same bytes, and hold what the planner plans today.
"""

from __future__ import annotations

import base64
import gzip
from decimal import Decimal
from typing import Any

import orjson
import pytest

from streamkit.errors import PermanentError
from streamkit.ledger import Intent, LedgerState
from streamkit.pipeline import Aggregate, Archive, Message, Pipeline
from streamkit.testing import kinesis_event
from streamkit.writes import AggregateWrite, MessageWrite, ObjectWrite

#: Intent.to_bytes() of the plan below, by the code of commit b504ae2
#: (intent id fixed to "0123456789abcdef0123456789abcdef").
V1_BLOB = base64.b64decode(
    "H4sIAAAAAAACA9VX63OiSBD/X9j96IMZEKJV+aBGPVwhDxXQy1ZqYCbyhvDwQSr/+82gMblsti7mdqvuKCmk"
    "p7unf79uZnoeuTXXATXOjqOsCEnKdTg7cG0/42pc5qAU37mYyqq/Cq7zry6qsSIRSVHuxhHXaVGDHKU51/mT"
    "E9utNn/SxdX47zWORPh0c+FovkE5SUOU+hSSLAntNvPS4GscWq1SsqKjGXX/yPlkx3UeucRnyBI66ZcCMLzs"
    "HQUB91RByTOmZMdFlLM/XxkPsBorwqOAb4CP4dvb3ZEtsvMT7P7VxUCFBEWvouVbHw43dF8MwaAODlK0/Rt4"
    "JgtQlt+tUVAQKny85b5at1znlmuiW+6JOwyTNYnyu9wNyYtTWRJp+mSWo6ObJM7cfUF9ogyalR+yzVPEZjmm"
    "/TnPNJgq9xzN99NT7d1KgB+rBPC2EgBstPYMvWb8Req+J3xF5lH4Mzatj7DJePgVbIKT2IQ/srl2ySb70kTP"
    "bEIetuoA1KE4A1KH5+lveQq9P1JbSbCb5W5kvzF8lt45NIdsxKIj3etNrz/1eyzW91FVMR9RVbFv3AjHm7vD"
    "yvY+iqNWtXy91QEHnTwPqmWJlbwk8ScRJj+7+V8TJr+Q8VPCqA78kTBZgD8lzPpvVVhPOoEw6/dWGN0SY8sj"
    "dr7f9qzC9gmbA6W2465J/SB4DidFmybOz1+8N524SM+B1Ny3BHW6f+b1LE8JCuvvdQT10/f9+qlGoDJqeFkc"
    "BY1VSYO3Yrw7puAPMVO6+6vflXLjm++oM2Ds5vn4StfGN9/cwMg8hddKddvtqjjBExf0v61Mqjjvi1tNPuPT"
    "zUxR291SG/YfWuhhJPHbPg9DNdFUxUDE8ZdiMu1nXdm006tozuY6ZzVBe6i8WpZ3Ccs1ShJKW9UdNbf1CLOQ"
    "OVbEn82D/JvyIHwmD8Kvy4N60YVaeXE9n8b5zOX7u2SOusV8aje1yRn/0L0aaKY5p1qSjiarXs+/n9lXlevz"
    "z/GOg4e3nFPRgd3mK3ab77HbPI0o+ELUW5LIbuwsId4tDezgke4rXhIujG25nG7chdnb2GFbRAZgYz07Gic4"
    "HGb6KMiXpsYvDLBRvHirld0Npaa6Jx59utQWtgtb0Kme4l66Y88aBR4SVHfSH/sL88ahdu7SDL6pI601nS01"
    "faTuZv5ND/NgcG0m2lzAyXLoXFojLaHjYyvQpakRCEgPTNVc+no530yNZI3mYDb1fOY3oPGtbVeRlKhHMc1X"
    "yFRXdqhvsRFQfNeVDg71Ag+1NTbH3nI+nM6YfjjcWV7iYEGVEAwKii2xywTYOxAsKM7JbCCpM6XULua0SFYt"
    "9WKwu4w0nvp2rGmbZ1xMzOd3JVNCXbRH22QBA346GpZokAdkqkhWpGdWf+Oi0bBYjrZBFWuoZcjQUnvH7AKf"
    "8UK5LnEflPiPcbAw+LUNHccOb8bLPn/k+XCvtQsfXM66b+UfvJXKh9qnc1PO7OgmwaNgbfn7eKksncwUxhvl"
    "b1haUGS5LBfQCSxjwOTl0hyCpdGiXLaAZYz3mLzrljbzPxlTd8eeCq2hF9wsFi1emGN/alznb20qXUF355Dl"
    "Wi8WUL/EBnCr2vO6FNtNYhlzGrtCfSuQ5nM3mXW3+sVAvPQU4dIbCBNvIGq7jPqLN2p/3P6Hj3r/QX9nm3WW"
    "odXhUPdQkILcFSndAzknz5Os02xmD1mjyOqEtsJ10EAhKuMIbbKGHYdNAAWxJclnbR7AJgpImmeNe/c+Pn6k"
    "rPcuMpJW3XcBb7naLYdC1kNUkqpf37fkqzQukv1BOfHr7NSFCX6WtG1IoHB/D9tYFnnxHrQsdMaLZ1ZblmUo"
    "8TJPNRCBNmxZROQtSyYInNGjqyCAMwjFCmlK7DjFFKhY49w9MZVz/ogCWTYm92/fWVeArKBicLWqDvXVwkbf"
    "Xy1z3NNfAejh/AcQAAA="
)

_QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/alerts.fifo"
_DOCS = [
    {"page": "/a", "ts": 1_764_000_000, "user": "u1", "amount": "0.10"},
    {"page": "/b", "ts": 1_764_000_030, "user": "u2", "amount": "12.50"},
    {"ts": 1_764_000_031, "user": "u3", "amount": "1"},  # no page: a dead letter
    {"page": "/a", "ts": 1_764_003_700, "user": "u1", "amount": "1E-100"},
]
_FIRST = 49_590_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000


def _check(doc: Any) -> None:
    if "page" not in doc:
        raise PermanentError("page is required", reason="schema")


def _pipeline(compresslevel: int = 9) -> Pipeline:
    return Pipeline(
        "clicks",
        validate=_check,
        event_time=lambda d, r: d["ts"],
        aggregates=[
            Aggregate(
                "views",
                key=lambda d: d["page"],
                window_s=60,
                distinct=lambda d: d["user"],
                ttl_s=3600,
            ),
            Aggregate(
                "spend",
                key=lambda d: d["user"],
                window_s=None,
                value=lambda d: Decimal(d["amount"]),
                last=lambda d: {"$b": d["page"]},
            ),
        ],
        table="aggs",
        # gzip level 9: what the blob's archive objects were compressed with (the
        # default was 9 then; the level is not part of the wire, see below)
        archive=Archive("archive-bucket", "raw", compresslevel=compresslevel),
        dead_letter_bucket="dlq-bucket",
        messages=[
            Message(
                _QUEUE,
                build=lambda d, r: (
                    [("big", {"user": d["user"], "amount": d["amount"]})]
                    if d.get("amount") == "12.50"
                    else []
                ),
            )
        ],
        ledger_table="ledger",
        clients=lambda service: None,
        metrics=False,
    )


def _planned(compresslevel: int = 9) -> Intent:
    event = kinesis_event([orjson.dumps(d) for d in _DOCS], first_sequence=_FIRST)
    state = LedgerState(4, (1, 0), 1_763_999_000.0, None, True, stream="clickstream")
    intent = _pipeline(compresslevel).plan(event["Records"], state).intent
    assert intent is not None
    return intent


def test_a_blob_of_the_previous_version_decodes_into_typed_writes() -> None:
    intent = Intent.from_bytes(V1_BLOB)
    assert (intent.consumer, intent.shard_id, intent.generation) == (
        "clicks",
        "shardId-000000000000",
        5,
    )
    assert (intent.start, intent.end) == ((_FIRST, 0), (_FIRST + 3000, 0))
    assert (intent.record_count, intent.table, intent.stream) == (4, "aggs", "test-stream")
    assert all(isinstance(a, AggregateWrite) for a in intent.aggregates)
    by_key = {(a.pk, a.sk): a for a in intent.aggregates}
    assert sorted(by_key) == [
        ("spend#u1", "all"),
        ("spend#u2", "all"),
        ("views#/a", "2025-11-24T16:00:00Z"),
        ("views#/a", "2025-11-24T17:01:00Z"),
        ("views#/b", "2025-11-24T16:00:00Z"),
    ]
    spend = by_key[("spend#u1", "all")]
    assert (spend.aggregate, spend.key, spend.window_start, spend.ttl) == (
        "spend",
        "u1",
        None,
        None,
    )
    assert spend.stats["min"] == Decimal("1E-100") and spend.stats["count"] == 2
    assert spend.stats["sum_exact"] == "0.1" + "0" * 98 + "1"
    views = by_key[("views#/a", "2025-11-24T16:00:00Z")]
    assert views.attributes() == {
        "pk": "views#/a",
        "sk": "2025-11-24T16:00:00Z",
        "aggregate": "views",
        "key": "/a",
        "window_start": "2025-11-24T16:00:00Z",
        "window_end": "2025-11-24T16:01:00Z",
        "ttl": 1_764_003_660,
    }
    assert isinstance(views.stats["distinct_hll"], bytes)
    assert [type(o) for o in intent.objects] == [ObjectWrite] * 3
    archive, _, letter = intent.objects
    assert (archive.bucket, archive.content_type) == ("archive-bucket", "application/x-ndjson")
    lines = gzip.decompress(archive.body).splitlines()
    assert [orjson.loads(line)["page"] for line in lines] == ["/a", "/b"]
    assert letter.bucket == "dlq-bucket" and letter.content_type == "application/json"
    assert orjson.loads(letter.body)["reason"] == "schema"
    assert intent.messages == [
        MessageWrite(
            _QUEUE,
            '{"user":"u2","amount":"12.50"}',
            "pk-1",
            "9c2e23ff29d7404f15ba8048b9777260709c2ae2c25be40bb7ea189903318224",
        )
    ]


def test_the_blob_encodes_back_byte_for_byte() -> None:
    assert Intent.from_bytes(V1_BLOB).to_bytes() == V1_BLOB


def test_the_planner_plans_today_what_the_blob_holds() -> None:
    """Same spec, same records: the same writes (the dead letter's body carries the
    time it was made, so only its key is compared)."""
    old, new = Intent.from_bytes(V1_BLOB), _planned()
    assert new.aggregates == old.aggregates
    assert new.messages == old.messages
    assert new.objects[:2] == old.objects[:2]
    assert [o.key for o in new.objects] == [o.key for o in old.objects]
    # Today's default level (6) compresses the same lines into other bytes: the
    # same archive, byte for byte once decompressed.
    default = _planned(Archive("b").compresslevel)
    assert default.objects[0].body != old.objects[0].body
    assert [
        (o.bucket, o.key, o.content_type, gzip.decompress(o.body)) for o in default.objects[:2]
    ] == [(o.bucket, o.key, o.content_type, gzip.decompress(o.body)) for o in old.objects[:2]]
    assert (new.start, new.end, new.watermark, new.table, new.stream) == (
        old.start,
        old.end,
        old.watermark,
        old.table,
        old.stream,
    )


def test_a_write_without_a_field_is_a_clear_error() -> None:
    doc = orjson.loads(gzip.decompress(V1_BLOB))
    del doc["objects"][0]["bucket"]
    blob = gzip.compress(orjson.dumps(doc), mtime=0)
    with pytest.raises(ValueError, match="intent object has no 'bucket' field"):
        Intent.from_bytes(blob)


def test_an_object_without_a_content_type_and_a_message_with_a_built_body() -> None:
    """What intents of earlier versions could hold: no content type (S3's default
    then), a message body that is not yet text (sent as its JSON)."""
    obj = ObjectWrite.from_wire({"bucket": "b", "key": "k", "body": b"x"})
    assert obj.content_type == "application/octet-stream"
    message = MessageWrite.from_wire(
        {"queue_url": _QUEUE, "body": {"a": [1]}, "group_id": "g", "dedup_id": "d"}
    )
    assert message.body == '{"a":[1]}'
