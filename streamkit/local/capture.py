"""Captures: what a consumer actually saw on a shard, saved to a file for replay.

Local tooling (imports boto3 only when capturing); never on a Lambda path.

The capture format (version 1)
------------------------------

JSON Lines, UTF-8, gzip-compressed when the file name ends in ``.gz`` (readers
detect gzip by its magic bytes, whatever the name). A file is one or more *shard
sections*; each section is a header line followed by that shard's records, one per
line, in shard order (each object is one line in the file; wrapped here)::

    {"streamkit_capture": 1,
     "stream_arn": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks",
     "shard_id": "shardId-000000000000", "region": "us-east-1",
     "captured_at": "2026-11-28T10:00:00.000000Z"}
    {"SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
     "ApproximateArrivalTimestamp": 1700000000.125, "Data": "eyJwYWdlIjogIi8ifQ==",
     "PartitionKey": "user-1"}
    {"SequenceNumber": "49590338271490256608559692538361571095921575989136589898",
     "ApproximateArrivalTimestamp": 1700000000.5, "Data": "eyJwYWdlIjogIi9jYXJ0In0=",
     "PartitionKey": "user-2"}

Header fields: ``streamkit_capture`` (format version, 1), ``stream_arn``,
``shard_id``, ``region`` and ``captured_at`` (ISO 8601 UTC, or null when unknown).
Record lines use the GetRecords record shape: ``SequenceNumber`` (decimal string),
``ApproximateArrivalTimestamp`` (epoch seconds; an ISO 8601 string is accepted when
reading), ``Data`` (base64 of the raw record, KPL aggregates left aggregated),
``PartitionKey``, and optionally ``ExplicitHashKey`` and ``EncryptionType``. A new
header line starts the next shard's section, so a capture of several shards is the
shard sections concatenated (``cat a.jsonl b.jsonl`` is a valid capture; gzip
members may be concatenated too). Blank lines are ignored; unknown keys are ignored.

:func:`load_records` also reads what users already have: the JSON printed by
``aws kinesis get-records`` and a saved Lambda Kinesis event.

Example::

    from streamkit.local.capture import capture_stream, kinesis_client, load_records

    summary = capture_stream(kinesis_client(), "clicks", "clicks.jsonl.gz")
    for shard in load_records("clicks.jsonl.gz"):
        print(shard.shard_id, len(shard.records))
"""

from __future__ import annotations

import binascii
import gzip
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, cast

import orjson

from streamkit.errors import StreamkitError
from streamkit.records import parse_timestamp

__all__ = [
    "DEFAULT_SHARD_ID",
    "FORMAT_VERSION",
    "CaptureError",
    "CaptureFormatError",
    "CaptureSummary",
    "CaptureWriter",
    "CapturedRecord",
    "ShardCapture",
    "StartPosition",
    "capture_stream",
    "kinesis_client",
    "load_records",
    "write_capture",
]

FORMAT_VERSION = 1
#: The shard id given to ``aws kinesis get-records`` output, which does not say.
DEFAULT_SHARD_ID = "shardId-000000000000"
#: GetRecords returns at most this many records per call.
GET_RECORDS_LIMIT = 10_000
#: Shards per ListShards page (the API allows up to 10000).
LIST_SHARDS_PAGE_SIZE = 1000
_GZIP_MAGIC = b"\x1f\x8b"

StartPosition = Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]
START_POSITIONS: tuple[StartPosition, ...] = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")


@dataclass(frozen=True, slots=True)
class CapturedRecord:
    """One record as GetRecords returned it (data is the raw payload, not base64)."""

    sequence_number: str
    data: bytes
    partition_key: str
    arrival: float
    explicit_hash_key: str | None = None
    shard_id: str = DEFAULT_SHARD_ID
    encryption_type: str | None = None


@dataclass(slots=True)
class ShardCapture:
    """One shard section: where the records came from, and the records in shard order."""

    stream_arn: str
    shard_id: str
    region: str
    captured_at: datetime | None
    records: list[CapturedRecord] = field(default_factory=list)


class CaptureError(StreamkitError):
    """Capturing failed: missing stream, unknown shard, unreachable endpoint, ..."""


class CaptureFormatError(CaptureError, ValueError):
    """A capture (or get-records output, or Lambda event) file cannot be read.

    The message names the file, the line when known, and the field:
    ``capture.jsonl:17: Data is not valid base64``.
    """

    def __init__(
        self, path: str | os.PathLike[str], line: int | None, field: str | None, problem: str
    ) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.field = field
        self.problem = problem
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"{field} {problem}" if field else problem
        super().__init__(f"{where}: {what}")


# --------------------------------------------------------------------------- writing


def _iso_utc(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _record_line(rec: CapturedRecord) -> dict[str, Any]:
    line: dict[str, Any] = {
        "SequenceNumber": rec.sequence_number,
        "ApproximateArrivalTimestamp": rec.arrival,
        "Data": binascii.b2a_base64(rec.data, newline=False).decode("ascii"),
        "PartitionKey": rec.partition_key,
    }
    if rec.explicit_hash_key is not None:
        line["ExplicitHashKey"] = rec.explicit_hash_key
    if rec.encryption_type is not None:
        line["EncryptionType"] = rec.encryption_type
    return line


class CaptureWriter:
    """Writes a capture file record by record, so memory stays flat.

    Gzip-compressed when the path ends in ``.gz`` (or as ``compress`` says). Use as
    a context manager; call
    :meth:`start_shard` before each shard's records::

        with CaptureWriter("out.jsonl.gz") as writer:
            writer.start_shard(arn, "shardId-000000000000", "us-east-1", datetime.now(UTC))
            writer.write(record)
    """

    def __init__(self, path: str | os.PathLike[str], *, compress: bool | None = None) -> None:
        self.path = Path(path)
        self.records_written = 0
        self._raw: IO[bytes] = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._out: IO[bytes] = self._raw
        if self.path.name.endswith(".gz") if compress is None else compress:
            self._out = cast(
                IO[bytes],
                gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6, mtime=0),
            )
        self._in_shard = False

    def start_shard(
        self, stream_arn: str, shard_id: str, region: str, captured_at: datetime | None
    ) -> None:
        """Write a shard section header; the following records belong to ``shard_id``."""
        header = {
            "streamkit_capture": FORMAT_VERSION,
            "stream_arn": stream_arn,
            "shard_id": shard_id,
            "region": region,
            "captured_at": None if captured_at is None else _iso_utc(captured_at),
        }
        self._out.write(orjson.dumps(header) + b"\n")
        self._in_shard = True

    def write(self, record: CapturedRecord) -> None:
        """Write one record into the current shard section."""
        if not self._in_shard:
            raise CaptureError("CaptureWriter.write called before start_shard")
        self._out.write(orjson.dumps(_record_line(record)) + b"\n")
        self.records_written += 1

    def write_shard(self, shard: ShardCapture) -> None:
        self.start_shard(shard.stream_arn, shard.shard_id, shard.region, shard.captured_at)
        for rec in shard.records:
            self.write(rec)

    def close(self) -> None:
        try:
            if self._out is not self._raw:
                self._out.close()
        finally:
            self._raw.close()

    @property
    def bytes_written(self) -> int:
        """Size of the file on disk (final once closed)."""
        if not self._raw.closed:
            self._out.flush()
        return self.path.stat().st_size

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_capture(path: str | os.PathLike[str], shards: Iterable[ShardCapture]) -> int:
    """Write shard sections to ``path`` (gzip if it ends in ``.gz``); records written."""
    with CaptureWriter(path) as writer:
        for shard in shards:
            writer.write_shard(shard)
        return writer.records_written


# --------------------------------------------------------------------------- reading


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
        if magic == _GZIP_MAGIC:
            stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
        try:
            first = _first_line(stream)
            if first is None:
                raise CaptureFormatError(name, None, None, "file is empty")
            line_no, text = first
            head = _loads_or_none(text)
            if isinstance(head, dict) and "streamkit_capture" in head:
                return _read_jsonl(name, stream, line_no, head)
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
            if magic == _GZIP_MAGIC:
                raise CaptureFormatError(name, None, None, f"not a valid gzip file ({e})") from None
            raise
    return _read_document(name, document, shard_id or DEFAULT_SHARD_ID)


def _first_line(stream: IO[bytes]) -> tuple[int, bytes] | None:
    for number, line in enumerate(stream, 1):
        if line.strip():
            return number, line
    return None


def _loads_or_none(text: bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _read_jsonl(
    name: str, stream: IO[bytes], first_line: int, header: dict[str, Any]
) -> list[ShardCapture]:
    shards = [_header(name, first_line, header)]
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
            shards.append(_header(name, line_no, obj))
            continue
        current = shards[-1]
        current.records.append(_record(name, line_no, "", obj, current.shard_id, _CAPTURE_KEYS))
    return shards


def _header(name: str, line: int, obj: dict[str, Any]) -> ShardCapture:
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


def _record(
    name: str,
    line: int | None,
    prefix: str,
    obj: dict[str, Any],
    shard_id: str,
    keys: tuple[str, str, str, str, str, str],
) -> CapturedRecord:
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
    data = _b64(raw)
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


def _b64(text: str) -> bytes | None:
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
        return _read_event(name, records, lines)
    shard = ShardCapture("", shard_id, "", None)
    for i, rec in enumerate(records):
        line = lines[i] if i < len(lines) else None
        if not isinstance(rec, dict):
            raise CaptureFormatError(name, line, f"Records[{i}]", "must be a JSON object")
        shard.records.append(_record(name, line, f"Records[{i}].", rec, shard_id, _CAPTURE_KEYS))
    return [shard]


def _read_event(name: str, records: list[Any], lines: list[int]) -> list[ShardCapture]:
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
            _record(name, line, f"{where}.kinesis.", rec["kinesis"], shard_id, _LAMBDA_KEYS)
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


# --------------------------------------------------------------------------- capturing


@dataclass(slots=True)
class CaptureSummary:
    """What :func:`capture_stream` wrote."""

    path: Path
    stream_arn: str
    records_per_shard: dict[str, int]
    bytes_written: int

    @property
    def total(self) -> int:
        return sum(self.records_per_shard.values())

    def __str__(self) -> str:
        shards = ", ".join(f"{s}: {n}" for s, n in self.records_per_shard.items()) or "no shards"
        return (
            f"captured {self.total} records ({shards}) to {self.path} ({self.bytes_written} bytes)"
        )


def kinesis_client(region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 Kinesis client for capturing.

    The region is ``region``, else ``AWS_REGION``, else boto3's own chain
    (``AWS_DEFAULT_REGION``, config file). The endpoint is ``endpoint_url``, else
    boto3's (which honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_KINESIS``).
    Throttling (ProvisionedThroughputExceededException, LimitExceededException) is
    retried by botocore's adaptive retry mode.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(retries={"mode": "adaptive", "max_attempts": 10})
    try:
        session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION"))
        return session.client("kinesis", endpoint_url=endpoint_url, config=config)
    except BotoCoreError as e:
        raise CaptureError(f"cannot create a Kinesis client: {e}") from None
    except ValueError as e:  # e.g. a malformed endpoint URL
        raise CaptureError(f"cannot create a Kinesis client: {e}") from None


def capture_stream(
    kinesis: Any,
    stream_name: str,
    out_path: str | os.PathLike[str],
    *,
    shard_ids: Iterable[str] | None = None,
    start: StartPosition = "TRIM_HORIZON",
    timestamp: float | datetime | str | None = None,
    max_records: int | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> CaptureSummary:
    """Read shards of ``stream_name`` with GetRecords and write them to ``out_path``.

    Every shard (or only ``shard_ids``) is read from ``start`` (``TRIM_HORIZON``,
    ``LATEST``, or ``AT_TIMESTAMP`` with ``timestamp``) until caught up: an empty
    batch with MillisBehindLatest 0, or the end of a closed shard. ``max_records``
    caps the total over all shards. ``progress(records_so_far, shard_id)`` is called
    when a shard starts and after each batch. The file is written under a temporary
    name and renamed when complete.

    Raises :class:`CaptureError` for a missing stream, an unknown shard id (naming
    the shards that exist), or any other AWS error.
    """
    if start not in START_POSITIONS:
        raise CaptureError(f"start must be one of {', '.join(START_POSITIONS)}, got {start!r}")
    at: float | None = None
    if start == "AT_TIMESTAMP":
        if timestamp is None:
            raise CaptureError("AT_TIMESTAMP needs a timestamp")
        try:
            at = parse_timestamp(timestamp)
        except ValueError as e:
            raise CaptureError(str(e)) from None
    elif timestamp is not None:
        raise CaptureError(f"a timestamp is only used with AT_TIMESTAMP, not {start}")
    if max_records is not None and max_records < 1:
        raise CaptureError(f"max_records must be at least 1, got {max_records}")

    with _aws_errors(kinesis, stream_name):
        summary = kinesis.describe_stream_summary(StreamName=stream_name)
        stream_arn: str = summary["StreamDescriptionSummary"]["StreamARN"]
        existing = _list_shards(kinesis, stream_name)
    if shard_ids is None:
        wanted = existing
    else:
        wanted = list(dict.fromkeys(shard_ids))
        unknown = [s for s in wanted if s not in existing]
        if unknown:
            raise CaptureError(
                f"stream {stream_name!r} has no shard {', '.join(map(repr, unknown))}; "
                f"its shards are: {', '.join(existing) or 'none'}"
            )

    region: str = kinesis.meta.region_name or ""
    captured_at = datetime.now(UTC)
    out = Path(out_path)
    partial = out.with_name(out.name + ".partial")
    counts: dict[str, int] = {}
    total = 0
    try:
        compress = out.name.endswith(".gz")
        with (
            CaptureWriter(partial, compress=compress) as writer,
            _aws_errors(kinesis, stream_name),
        ):
            for shard_id in wanted:
                writer.start_shard(stream_arn, shard_id, region, captured_at)
                counts[shard_id] = 0
                if progress is not None:
                    progress(total, shard_id)
                remaining = None if max_records is None else max_records - total
                if remaining == 0:
                    continue
                for rec in _read_shard(kinesis, stream_name, shard_id, start, at, remaining):
                    writer.write(rec)
                    counts[shard_id] += 1
                    total += 1
                    if progress is not None and total % 500 == 0:
                        progress(total, shard_id)
                if progress is not None:
                    progress(total, shard_id)
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return CaptureSummary(out, stream_arn, counts, out.stat().st_size)


def _list_shards(kinesis: Any, stream_name: str) -> list[str]:
    shards: list[str] = []
    page = kinesis.list_shards(StreamName=stream_name, MaxResults=LIST_SHARDS_PAGE_SIZE)
    while True:
        shards.extend(s["ShardId"] for s in page.get("Shards", []))
        token = page.get("NextToken")
        if not token:
            return shards
        page = kinesis.list_shards(NextToken=token, MaxResults=LIST_SHARDS_PAGE_SIZE)


def _read_shard(
    kinesis: Any,
    stream_name: str,
    shard_id: str,
    start: StartPosition,
    at: float | None,
    remaining: int | None,
) -> Iterator[CapturedRecord]:
    params: dict[str, Any] = {
        "StreamName": stream_name,
        "ShardId": shard_id,
        "ShardIteratorType": start,
    }
    if at is not None:
        params["Timestamp"] = datetime.fromtimestamp(at, UTC)
    iterator: str | None = kinesis.get_shard_iterator(**params)["ShardIterator"]
    while iterator:
        limit = GET_RECORDS_LIMIT if remaining is None else min(GET_RECORDS_LIMIT, remaining)
        page = kinesis.get_records(ShardIterator=iterator, Limit=limit)
        batch = page.get("Records", [])
        for raw in batch:
            yield CapturedRecord(
                sequence_number=raw["SequenceNumber"],
                data=raw["Data"],
                partition_key=raw["PartitionKey"],
                arrival=parse_timestamp(raw["ApproximateArrivalTimestamp"]),
                explicit_hash_key=raw.get("ExplicitHashKey"),
                shard_id=shard_id,
                encryption_type=raw.get("EncryptionType"),
            )
        if remaining is not None:
            remaining -= len(batch)
            if remaining <= 0:
                return
        if not batch and page.get("MillisBehindLatest", 0) == 0:
            return  # caught up
        iterator = page.get("NextShardIterator")  # None at a closed shard's end


class _aws_errors:
    """Turns botocore errors into CaptureErrors naming the stream and the endpoint."""

    def __init__(self, kinesis: Any, stream_name: str) -> None:
        self.kinesis = kinesis
        self.stream_name = stream_name

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            return
        from botocore.exceptions import BotoCoreError, ClientError

        endpoint = getattr(self.kinesis.meta, "endpoint_url", "?")
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            message = error.get("Message", "")
            if code == "ResourceNotFoundException":
                raise CaptureError(
                    f"stream {self.stream_name!r} not found at {endpoint} "
                    f"(region {self.kinesis.meta.region_name}): {message}"
                ) from None
            raise CaptureError(
                f"{code or 'AWS error'} from {endpoint} while capturing stream "
                f"{self.stream_name!r}: {message}"
            ) from None
        if isinstance(exc, BotoCoreError):
            raise CaptureError(
                f"cannot capture stream {self.stream_name!r} from {endpoint}: {exc}"
            ) from None


class ProgressDisplay:
    """A ``progress`` callback for :func:`capture_stream` writing to a text stream.

    On a terminal it keeps one line up to date; otherwise (a log, a pipe) it prints a
    line when a shard starts and every ``every`` records.
    """

    def __init__(self, stream: IO[str], *, every: int = 1000, tty: bool | None = None) -> None:
        self.stream = stream
        self.every = every
        self.tty = stream.isatty() if tty is None else tty
        self._shard: str | None = None
        self._printed = 0
        self._dirty = False

    def __call__(self, records: int, shard_id: str) -> None:
        text = f"capturing {shard_id}: {records} records so far"
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}")
            self._dirty = True
        elif shard_id != self._shard or records >= self._printed + self.every:
            self.stream.write(text + "\n")
            self._printed = records
        self._shard = shard_id
        self.stream.flush()

    def finish(self) -> None:
        """End the updating line (on a terminal) before other output."""
        if self._dirty:
            self.stream.write("\n")
            self.stream.flush()
            self._dirty = False
