"""The three readers replay accepts: capture files, ``aws kinesis get-records``
output, and saved Lambda Kinesis events.

:func:`load_records` detects the format from the content and returns shard
sections; every problem is a :class:`CaptureFormatError` naming file, line and field.
"""

from __future__ import annotations

import binascii
import gzip
import json
import os
from datetime import UTC, datetime
from typing import IO, Any, cast

import orjson

from streamkit.local.capture.format import (
    DEFAULT_SHARD_ID,
    FORMAT_VERSION,
    GZIP_MAGIC,
    CapturedRecord,
    CaptureFormatError,
    ShardCapture,
)
from streamkit.records import parse_timestamp


def load_records(
    path: str | os.PathLike[str], *, shard_id: str | None = None
) -> list[ShardCapture]:
    """Read a capture, ``aws kinesis get-records`` output, or a saved Lambda event.

    The format is detected from the content (gzip by its magic bytes). ``shard_id``
    names the shard of get-records output, which does not record it (default
    ``shardId-000000000000``); other formats carry their own shard ids.

    Raises :class:`CaptureFormatError` naming the file, line and field, and
    ``OSError`` when the file cannot be read.
    """
    name = os.fspath(path)
    with open(path, "rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        stream: IO[bytes] = raw
        if magic == GZIP_MAGIC:
            stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
        try:
            first = _first_nonblank_line(stream)
            if first is None:
                raise CaptureFormatError(name, None, None, "file is empty")
            line_no, text = first
            head = _loads_or_none(text)
            if isinstance(head, dict) and "streamkit_capture" in head:
                return _read_capture(name, stream, line_no, head)
            if isinstance(head, dict) and "SequenceNumber" in head:
                raise CaptureFormatError(
                    name,
                    line_no,
                    "streamkit_capture",
                    "header is missing: a capture starts with "
                    '{"streamkit_capture": 1, "shard_id": ...}',
                )
            stream.seek(0)
            document = stream.read()
        except (gzip.BadGzipFile, EOFError, OSError) as e:
            if magic == GZIP_MAGIC:
                raise CaptureFormatError(name, None, None, f"not a valid gzip file ({e})") from None
            raise
    return _read_document(name, document, shard_id or DEFAULT_SHARD_ID)


def _first_nonblank_line(stream: IO[bytes]) -> tuple[int, bytes] | None:
    """(line number, text) of the first non-blank line; None for an empty file."""
    for number, line in enumerate(stream, 1):
        if line.strip():
            return number, line
    return None


def _loads_or_none(text: bytes) -> Any:
    """The JSON value of ``text``, or None when it is not one line of JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _read_capture(
    name: str, stream: IO[bytes], first_line: int, header: dict[str, Any]
) -> list[ShardCapture]:
    """A streamkit capture: shard sections, each a header line then its records."""
    shards = [_shard_from_header(name, first_line, header)]
    for line_no, line in enumerate(stream, first_line + 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            raise CaptureFormatError(name, line_no, None, f"not valid JSON ({e})") from None
        if not isinstance(obj, dict):
            raise CaptureFormatError(
                name, line_no, None, f"expected a JSON object, got {type(obj).__name__}"
            )
        if "streamkit_capture" in obj:
            shards.append(_shard_from_header(name, line_no, obj))
            continue
        current = shards[-1]
        current.records.append(
            _captured_record(name, line_no, "", obj, current.shard_id, _CAPTURE_KEYS)
        )
    return shards


def _shard_from_header(name: str, line: int, obj: dict[str, Any]) -> ShardCapture:
    """An empty shard section from its header line, checked field by field."""
    version = obj.get("streamkit_capture")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise CaptureFormatError(
            name,
            line,
            "streamkit_capture",
            f"is {version!r}: this streamkit reads capture format version {FORMAT_VERSION}",
        )
    shard_id = obj.get("shard_id")
    if not isinstance(shard_id, str) or not shard_id:
        raise CaptureFormatError(name, line, "shard_id", f"must be a shard id, got {shard_id!r}")
    texts: dict[str, str] = {}
    for key in ("stream_arn", "region"):
        value = obj.get(key, "")
        if not isinstance(value, str):
            raise CaptureFormatError(name, line, key, f"must be a string, got {value!r}")
        texts[key] = value
    raw_at = obj.get("captured_at")
    captured_at: datetime | None = None
    if raw_at is not None:
        try:
            if not isinstance(raw_at, str):
                raise ValueError
            captured_at = datetime.fromisoformat(raw_at.replace("Z", "+00:00"))
        except ValueError:
            raise CaptureFormatError(
                name, line, "captured_at", f"is not an ISO 8601 time: {raw_at!r}"
            ) from None
        if captured_at.tzinfo is None:
            captured_at = captured_at.replace(tzinfo=UTC)
        captured_at = captured_at.astimezone(UTC)
    return ShardCapture(texts["stream_arn"], shard_id, texts["region"], captured_at)


#: Field names of a record: (sequence, arrival, data, partition key, hash key, encryption).
_CAPTURE_KEYS = (
    "SequenceNumber",
    "ApproximateArrivalTimestamp",
    "Data",
    "PartitionKey",
    "ExplicitHashKey",
    "EncryptionType",
)
_LAMBDA_KEYS = (
    "sequenceNumber",
    "approximateArrivalTimestamp",
    "data",
    "partitionKey",
    "explicitHashKey",
    "encryptionType",
)


def _captured_record(
    name: str,
    line: int | None,
    prefix: str,
    obj: dict[str, Any],
    shard_id: str,
    keys: tuple[str, str, str, str, str, str],
) -> CapturedRecord:
    """One record object, checked field by field.

    ``keys`` names its fields (capture and get-records spelling, or the Lambda
    event's); ``prefix`` is prepended to field names in error messages.
    """
    k_seq, k_ts, k_data, k_pk, k_ehk, k_enc = keys

    def fail(key: str, problem: str) -> CaptureFormatError:
        return CaptureFormatError(name, line, prefix + key, problem)

    seq = obj.get(k_seq)
    if not isinstance(seq, str) or not (seq.isascii() and seq.isdigit()):
        raise fail(k_seq, f"must be a decimal string, got {seq!r}")
    if k_ts not in obj:
        raise fail(k_ts, "is missing")
    try:
        arrival = parse_timestamp(obj[k_ts])
    except ValueError:
        raise fail(k_ts, f"is not a timestamp: {obj[k_ts]!r}") from None
    raw = obj.get(k_data)
    if not isinstance(raw, str):
        raise fail(k_data, "is missing" if raw is None else "must be a base64 string")
    data = _base64_or_none(raw)
    if data is None:
        raise fail(k_data, "is not valid base64")
    pk = obj.get(k_pk)
    if not isinstance(pk, str):
        raise fail(k_pk, f"must be a string, got {pk!r}")
    ehk = obj.get(k_ehk)
    if ehk is not None and not (isinstance(ehk, str) and ehk.isascii() and ehk.isdigit()):
        raise fail(k_ehk, f"must be a decimal string, got {ehk!r}")
    enc = obj.get(k_enc)
    if enc is not None and not isinstance(enc, str):
        raise fail(k_enc, f"must be a string, got {enc!r}")
    return CapturedRecord(seq, data, pk, arrival, ehk, shard_id, enc)


def _base64_or_none(text: str) -> bytes | None:
    """Standard base64, padding optional; None when invalid."""
    for candidate in (text, text + "=" * (-len(text) % 4)):
        try:
            return binascii.a2b_base64(candidate, strict_mode=True)
        except (binascii.Error, ValueError):
            continue
    return None


def _read_document(name: str, document: bytes, shard_id: str) -> list[ShardCapture]:
    """A whole-file JSON document: get-records output or a Lambda Kinesis event."""
    text = document.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise CaptureFormatError(
            name,
            e.lineno,
            None,
            f"not a streamkit capture, get-records output or Lambda event: "
            f"invalid JSON ({e.msg}, column {e.colno})",
        ) from None
    if not isinstance(doc, dict) or "Records" not in doc:
        raise CaptureFormatError(
            name,
            1,
            "Records",
            "is missing: not a streamkit capture (no streamkit_capture header), "
            "`aws kinesis get-records` output or Lambda Kinesis event",
        )
    records = doc["Records"]
    if not isinstance(records, list):
        raise CaptureFormatError(
            name, 1, "Records", f"must be a list, got {type(records).__name__}"
        )
    lines = _element_lines(text)
    is_event = any(isinstance(r, dict) and "kinesis" in r for r in records) or (
        not records and "NextShardIterator" not in doc and "MillisBehindLatest" not in doc
    )
    if is_event:
        return _read_lambda_event(name, records, lines)
    shard = ShardCapture("", shard_id, "", None)
    for i, rec in enumerate(records):
        line = lines[i] if i < len(lines) else None
        if not isinstance(rec, dict):
            raise CaptureFormatError(name, line, f"Records[{i}]", "must be a JSON object")
        shard.records.append(
            _captured_record(name, line, f"Records[{i}].", rec, shard_id, _CAPTURE_KEYS)
        )
    return [shard]


def _read_lambda_event(name: str, records: list[Any], lines: list[int]) -> list[ShardCapture]:
    """The records of a Lambda Kinesis event, one shard section per shard in eventID."""
    shards: dict[str, ShardCapture] = {}
    for i, rec in enumerate(records):
        line = lines[i] if i < len(lines) else None
        where = f"Records[{i}]"
        if not isinstance(rec, dict) or not isinstance(rec.get("kinesis"), dict):
            raise CaptureFormatError(
                name, line, f"{where}.kinesis", "is missing: not a Lambda Kinesis event record"
            )
        event_id = rec.get("eventID")
        if not isinstance(event_id, str) or ":" not in event_id:
            raise CaptureFormatError(
                name,
                line,
                f"{where}.eventID",
                f"must be 'shardId-...:<sequence number>', got {event_id!r}",
            )
        shard_id = event_id.partition(":")[0]
        shard = shards.get(shard_id)
        if shard is None:
            arn = rec.get("eventSourceARN")
            arn = arn if isinstance(arn, str) else ""
            region = rec.get("awsRegion")
            if not isinstance(region, str):
                parts = arn.split(":")
                region = parts[3] if len(parts) > 3 else ""
            shard = shards[shard_id] = ShardCapture(arn, shard_id, region, None)
        shard.records.append(
            _captured_record(
                name, line, f"{where}.kinesis.", rec["kinesis"], shard_id, _LAMBDA_KEYS
            )
        )
    return list(shards.values())


def _element_lines(text: str) -> list[int]:
    """Line numbers where the elements of the top-level ``Records`` array start.

    Best effort (an empty list when the layout is unexpected): only used to put a
    line number in error messages.
    """
    decoder = json.JSONDecoder()
    ws = " \t\r\n"

    def skip(i: int) -> int:
        while i < len(text) and text[i] in ws:
            i += 1
        return i

    try:
        i = skip(0)
        if text[i] != "{":
            return []
        i = skip(i + 1)
        while text[i] != "}":
            key, i = decoder.raw_decode(text, i)
            i = skip(i)
            if text[i] != ":":
                return []
            i = skip(i + 1)
            if key == "Records" and text[i] == "[":
                starts: list[int] = []
                i = skip(i + 1)
                while text[i] != "]":
                    starts.append(text.count("\n", 0, i) + 1)
                    _, i = decoder.raw_decode(text, i)
                    i = skip(i)
                    if text[i] == ",":
                        i = skip(i + 1)
                return starts
            _, i = decoder.raw_decode(text, i)
            i = skip(i)
            if text[i] == ",":
                i = skip(i + 1)
    except (IndexError, ValueError):
        return []
    return []
