"""`streamkit dlq list|show|redrive` on real dead letters, against the local moto endpoint.

The dead letters are written by a real :class:`~streamkit.pipeline.Pipeline` run
(ledger table, S3 dead-letter store); redrives go into a real Kinesis stream that is
read back with GetRecords.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import streamkit
from streamkit.local.aws import DynamoDbTable, S3Bucket
from streamkit.local.cli import main
from streamkit.local.dlq.store import DeadLetterStore
from streamkit.pipeline import Pipeline
from streamkit.sinks.dlq import dead_letter_key
from streamkit.testing import kinesis_event

pytestmark = pytest.mark.integration

CONSUMER = "clickstream"
STREAM = "clickstream"
BUCKET = "dlq-cli-test"
LEDGER = "dlq-cli-ledger"
SHARD = "shardId-000000000000"
GOOD = b'{"page": "/", "user": "u1"}'
BAD_JSON = b"not json at all"
SCHEMA = b'{"page": "/cart"}'  # no "user": schema violation
BINARY = b"\xff\xfe\x00\x01 not utf-8"  # not JSON and not UTF-8 either
#: Small sequence numbers: the ledger's intent blob (orjson) cannot hold the 56-digit
#: numbers real Kinesis uses (streamkit.ledger._encode; reported separately).
FIRST_SEQUENCE = 1000
STEP = 1000
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DeadLetters:
    """What the pipeline run dead-lettered: key -> (reason, payload, record id, pk)."""

    endpoint_url: str
    kinesis: Any
    stream_arn: str
    letters: dict[str, tuple[str, bytes, str, str]]
    clients: Any

    def key(self, payload: bytes) -> str:
        return next(k for k, v in self.letters.items() if v[1] == payload)

    def record_id(self, payload: bytes) -> str:
        return self.letters[self.key(payload)][2]


def _validate(doc: Any) -> None:
    if not isinstance(doc, dict) or "user" not in doc:
        raise streamkit.PermanentError("page view without a user", reason="schema")


@pytest.fixture
def dlq(aws: Any, kinesis: Any, kinesis_stream: Callable[..., str]) -> DeadLetters:
    arn = kinesis_stream(STREAM, shards=1)
    for resource in (DynamoDbTable.ledger(LEDGER), S3Bucket(BUCKET)):
        created = resource.create(aws.clients)
        resource.ready(aws.clients, wait=True, created=created)
    pipeline = Pipeline(
        CONSUMER,
        validate=_validate,
        dead_letter_bucket=BUCKET,
        ledger_table=LEDGER,
        clients=aws.clients,
        metrics=False,
    )
    payloads = [GOOD, BAD_JSON, SCHEMA, BINARY]
    event = kinesis_event(payloads, first_sequence=FIRST_SEQUENCE, step=STEP, stream_arn=arn)
    result = pipeline.run(event)
    assert result.response == {"batchItemFailures": []}
    assert (result.succeeded, result.dead_lettered) == (1, 3)
    letters = {}
    for i, payload in enumerate(payloads):
        if payload == GOOD:
            continue
        seq = str(FIRST_SEQUENCE + i * STEP)
        reason = "schema" if payload == SCHEMA else "bad_json"
        key = dead_letter_key("dlq", CONSUMER, SHARD, seq, 0, stream=STREAM)
        letters[key] = (reason, payload, f"{STREAM}/{SHARD}/{seq}/0", f"pk-{i}")
    stored = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="dlq/").get("Contents", [])
    assert sorted(o["Key"] for o in stored) == sorted(letters)
    return DeadLetters(aws.endpoint_url, kinesis, arn, letters, aws.clients)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["dlq", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def stream_records(kinesis: Any, stream: str = STREAM) -> list[dict[str, Any]]:
    """Every record in the stream, read with GetRecords from TRIM_HORIZON."""
    records: list[dict[str, Any]] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            records.extend(page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records


def markers(dlq: DeadLetters) -> list[str]:
    s3 = dlq.clients("s3")
    contents = s3.list_objects_v2(Bucket=BUCKET, Prefix="dlq-redriven/").get("Contents", [])
    return sorted(o["Key"] for o in contents)


@pytest.fixture
def no_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


@pytest.fixture
def tty(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """stdin on a real pseudo-terminal; the returned function types an answer into it."""
    master, slave = os.openpty()
    stdin = os.fdopen(slave, "r", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)

    def type_answer(text: str) -> None:
        os.write(master, text.encode())

    try:
        yield type_answer
    finally:
        stdin.close()
        os.close(master)


# -------------------------------------------------------------------------- list


def test_list_shows_every_dead_letter_with_counts_per_reason(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = cli(capsys, "list", "--bucket", BUCKET)
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["KEY", "REASON", "SHARD", "SEQUENCE/SUB", "TIME"]
    rows = [line.split() for line in lines[1:-1]]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (key, reason, SHARD, f"{rid.split('/')[2]}/0")
        for key, (reason, _, rid, _) in sorted(dlq.letters.items())
    ]
    assert all(r[5] == "-" for r in rows)  # not redriven yet
    assert "page view without a user" in out
    assert lines[-1] == "3 dead letters: bad_json 2, schema 1"


def test_list_by_reason_and_since(dlq: DeadLetters, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = cli(capsys, "list", "--bucket", BUCKET, "--reason", "schema")
    assert rc == 0
    assert dlq.key(SCHEMA) in out
    assert dlq.key(BAD_JSON) not in out and dlq.key(BINARY) not in out
    assert out.splitlines()[-1] == "1 dead letter: schema 1"

    rc, out, _ = cli(capsys, "list", "--bucket", BUCKET, "--since", "2000-01-01T00:00:00Z")
    assert rc == 0 and out.splitlines()[-1] == "3 dead letters: bad_json 2, schema 1"
    rc, out, _ = cli(capsys, "list", "--bucket", BUCKET, "--since", "2999-01-01T00:00:00Z")
    assert rc == 0 and out == f"no dead letters under s3://{BUCKET}/dlq/\n"


def test_list_json_is_exactly_one_document(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = cli(capsys, "list", "--bucket", BUCKET, "--json")
    assert rc == 0
    doc = json.loads(out)  # the whole of stdout: one document, not one per line
    rows = doc["dead_letters"]
    assert doc["count"] == len(rows) == len(dlq.letters)
    assert doc["reasons"] == {"bad_json": 2, "schema": 1}
    assert {r["key"]: r["reason"] for r in rows} == {k: v[0] for k, v in dlq.letters.items()}
    by_key = {r["key"]: r for r in rows}
    schema = by_key[dlq.key(SCHEMA)]
    assert schema["id"] == dlq.record_id(SCHEMA)
    assert schema["consumer"] == CONSUMER and schema["stream"] == STREAM
    assert schema["error"] == "page view without a user"
    assert schema["payloadBytes"] == len(SCHEMA)
    assert schema["redriven"] is None

    rc, out, _ = cli(capsys, "list", "--bucket", BUCKET, "--json", "--reason", "bad_json")
    assert rc == 0
    assert sorted(row["key"] for row in json.loads(out)["dead_letters"]) == sorted(
        [dlq.key(BAD_JSON), dlq.key(BINARY)]
    )


def test_list_takes_the_bucket_from_the_consumer_config(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = json.loads((REPO / "infra" / "consumers.json").read_text())
    consumer = config["consumers"][CONSUMER]
    consumer["resources"]["dead_letter_bucket"] = BUCKET
    path = tmp_path / "consumers.json"
    path.write_text(json.dumps({"consumers": {CONSUMER: consumer}}))

    rc, out, err = cli(capsys, "list", "--consumer", CONSUMER, "--config", str(path))
    assert (rc, err) == (0, "")
    assert out.splitlines()[-1] == "3 dead letters: bad_json 2, schema 1"

    rc, _, err = cli(capsys, "list", "--consumer", "nope", "--config", str(path))
    assert rc == 2 and "'nope' is not in the config" in err


def test_list_without_a_bucket_names_both_options(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = cli(capsys, "list")
    assert rc == 2 and out == ""
    assert "--bucket" in err and "--consumer" in err and "Traceback" not in err


def test_missing_bucket_names_bucket_and_endpoint(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = cli(capsys, "list", "--bucket", "no-such-bucket")
    assert rc == 2 and out == ""
    assert "'no-such-bucket' does not exist" in err
    assert dlq.endpoint_url in err
    assert "Traceback" not in err


# -------------------------------------------------------------------------- show


def test_show_prints_the_document_and_the_decoded_payload(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    key = dlq.key(SCHEMA)
    rc, out, err = cli(capsys, "show", key, "--bucket", BUCKET)
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"s3://{BUCKET}/{key}"
    end = lines.index("}")
    doc = json.loads("\n".join(lines[1 : end + 1]))
    assert doc["reason"] == "schema"
    assert doc["error"] == "page view without a user"
    assert doc["handler"] == CONSUMER and doc["consumer"] == CONSUMER
    assert doc["id"] == dlq.record_id(SCHEMA)
    assert doc["eventSourceARN"] == dlq.stream_arn
    assert doc["partitionKey"] == dlq.letters[key][3]
    assert base64.b64decode(doc["data"]) == SCHEMA
    assert doc["time"].startswith("20")
    assert lines[end + 1] == "redriven: no"
    assert lines[end + 2 :] == [f"payload: {len(SCHEMA)} bytes, UTF-8 text:", SCHEMA.decode()]


def test_show_by_record_id_previews_binary_payloads_in_hex(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = cli(capsys, "show", dlq.record_id(BINARY), "--bucket", BUCKET)
    assert rc == 0
    assert out.splitlines()[0] == f"s3://{BUCKET}/{dlq.key(BINARY)}"
    assert out.splitlines()[-2:] == [
        f"payload: {len(BINARY)} bytes, not UTF-8; hex:",
        BINARY.hex(" "),
    ]


def test_show_payload_writes_the_exact_bytes(
    dlq: DeadLetters, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    for payload in (BINARY, BAD_JSON):
        capsysbinary.readouterr()
        assert main(["dlq", "show", dlq.key(payload), "--bucket", BUCKET, "--payload"]) == 0
        assert capsysbinary.readouterr().out == payload
    # an s3:// URL names the bucket too
    url = f"s3://{BUCKET}/{dlq.key(SCHEMA)}"
    assert main(["dlq", "show", url, "--payload"]) == 0
    assert capsysbinary.readouterr().out == SCHEMA


def test_show_unknown_key_or_record_id_exits_2_naming_it(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"dlq/{CONSUMER}/{SHARD}/999-0.json"
    rc, out, err = cli(capsys, "show", missing, "--bucket", BUCKET)
    assert rc == 2 and out == ""
    assert missing in err and "Traceback" not in err

    missing_id = f"{STREAM}/{SHARD}/999/0"
    rc, out, err = cli(capsys, "show", missing_id, "--bucket", BUCKET)
    assert rc == 2 and out == "" and missing_id in err

    rc, _, err = cli(capsys, "show", "garbage", "--bucket", BUCKET)
    assert rc == 2 and "'garbage'" in err


# ----------------------------------------------------------------------- redrive


def test_redrive_puts_each_payload_back_once(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stream_records(dlq.kinesis) == []
    rc, out, err = cli(capsys, "redrive", "--bucket", BUCKET, "--yes")
    assert (rc, err) == (0, "")
    assert out.splitlines()[-1] == "redriven 3, skipped 0 (already redriven)"

    records = stream_records(dlq.kinesis)
    assert Counter(r["Data"] for r in records) == Counter([BAD_JSON, SCHEMA, BINARY])
    expected_pk = {payload: pk for _, payload, _, pk in dlq.letters.values()}
    assert {r["Data"]: r["PartitionKey"] for r in records} == expected_pk
    assert markers(dlq) == sorted(k.replace("dlq/", "dlq-redriven/", 1) for k in dlq.letters)

    # Again: everything is skipped, and the stream is unchanged.
    rc, out, _ = cli(capsys, "redrive", "--bucket", BUCKET, "--yes")
    assert rc == 0
    assert out.splitlines()[-1] == "redriven 0, skipped 3 (already redriven)"
    assert all(f"skip     {k}: already redriven (done)" in out for k in dlq.letters)
    assert stream_records(dlq.kinesis) == records

    # The markers record where each record went.
    rc, out, _ = cli(capsys, "list", "--bucket", BUCKET, "--redriven", "--json")
    assert rc == 0
    listing = json.loads(out)  # one document
    assert (listing["count"], listing["done"], listing["pending"]) == (3, 3, 0)
    done = {row["key"]: row for row in listing["markers"]}
    assert set(done) == set(dlq.letters)
    by_data = {r["Data"]: r["SequenceNumber"] for r in records}
    for key, (_, payload, _, _) in dlq.letters.items():
        assert done[key]["state"] == "done" and done[key]["stream"] == STREAM
        assert done[key]["sequence_number"] == by_data[payload]
    rc, out, _ = cli(capsys, "list", "--bucket", BUCKET)
    assert all(line.split()[5] == "done" for line in out.splitlines()[1:-1])


def test_redrive_selected_entries_then_the_rest(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = cli(capsys, "redrive", "--bucket", BUCKET, "--key", dlq.record_id(BINARY), "--yes")
    assert rc == 0 and out.splitlines()[-1] == "redriven 1, skipped 0 (already redriven)"
    assert [r["Data"] for r in stream_records(dlq.kinesis)] == [BINARY]

    rc, out, _ = cli(capsys, "redrive", "--bucket", BUCKET, "--reason", "bad_json", "--yes")
    assert rc == 0 and out.splitlines()[-1] == "redriven 1, skipped 1 (already redriven)"
    assert f"skip     {dlq.key(BINARY)}: already redriven (done)" in out
    assert [r["Data"] for r in stream_records(dlq.kinesis)] == [BINARY, BAD_JSON]


def test_redrive_into_another_stream(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str], kinesis_stream: Callable[..., str]
) -> None:
    kinesis_stream("fixed", shards=2)
    rc, out, _ = cli(
        capsys, "redrive", "--bucket", BUCKET, "--reason", "schema", "--stream", "fixed", "--yes"
    )
    assert rc == 0 and "-> stream fixed" in out
    assert [r["Data"] for r in stream_records(dlq.kinesis, "fixed")] == [SCHEMA]
    assert stream_records(dlq.kinesis) == []


def test_dry_run_writes_nothing(dlq: DeadLetters, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = cli(capsys, "redrive", "--bucket", BUCKET, "--dry-run")
    assert rc == 0
    assert all(f"would redrive {k}" in out for k in dlq.letters)
    assert out.splitlines()[-1] == (
        "dry run: would redrive 3, skip 0 (already redriven); nothing written"
    )
    assert stream_records(dlq.kinesis) == []
    assert markers(dlq) == []

    # After a real redrive of one entry, the dry run reports it as skipped.
    assert main(["dlq", "redrive", "--bucket", BUCKET, "--key", dlq.key(SCHEMA), "--yes"]) == 0
    rc, out, _ = cli(capsys, "redrive", "--bucket", BUCKET, "--dry-run")
    assert rc == 0 and out.splitlines()[-1].startswith("dry run: would redrive 2, skip 1")
    assert len(stream_records(dlq.kinesis)) == 1


@pytest.mark.usefixtures("no_tty")
def test_redrive_refuses_without_yes_when_stdin_is_not_a_terminal(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = cli(capsys, "redrive", "--bucket", BUCKET)
    assert rc == 2
    assert "--yes" in err and "not a terminal" in err and "Traceback" not in err
    assert stream_records(dlq.kinesis) == []
    assert markers(dlq) == []


def test_redrive_asks_on_a_terminal(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str], tty: Callable[[str], None]
) -> None:
    tty("n\n")
    rc, out, err = cli(capsys, "redrive", "--bucket", BUCKET)
    assert rc == 1 and "[y/N]" in err
    assert out.splitlines()[-1] == "not confirmed: nothing redriven"
    assert stream_records(dlq.kinesis) == [] and markers(dlq) == []

    tty("y\n")
    rc, out, err = cli(capsys, "redrive", "--bucket", BUCKET, "--reason", "schema")
    assert rc == 0 and "Redrive 1 record(s) into clickstream" in err
    assert out.splitlines()[-1] == "redriven 1, skipped 0 (already redriven)"
    assert [r["Data"] for r in stream_records(dlq.kinesis)] == [SCHEMA]


def test_redrive_unknown_key_exits_2_naming_it(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"dlq/{CONSUMER}/{SHARD}/42-0.json"
    rc, out, err = cli(
        capsys, "redrive", "--bucket", BUCKET, "--key", dlq.key(SCHEMA), "--key", missing, "--yes"
    )
    assert rc == 2 and missing in err
    assert "redriven" not in out
    assert stream_records(dlq.kinesis) == [] and markers(dlq) == []


def test_redrive_into_a_missing_stream_claims_nothing(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = cli(capsys, "redrive", "--bucket", BUCKET, "--stream", "gone", "--yes")
    assert rc == 2 and "'gone' does not exist" in err and dlq.endpoint_url in err
    assert markers(dlq) == []


def test_failed_put_record_leaves_a_pending_marker_never_redriven_again(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    store = DeadLetterStore(BUCKET, dlq.clients)
    entries = sorted(store.entries(), key=lambda e: e.order)
    result = store.redrive(entries, stream="gone")  # PutRecord fails: no such stream
    assert result.redriven == [] and result.skipped == []
    assert list(result.failed) == [entries[0].key]
    assert "gone" in result.failed[entries[0].key]
    assert store.redrive_markers() == {entries[0].key: "pending"}  # stopped at the failure

    rc, out, _ = cli(capsys, "list", "--bucket", BUCKET, "--redriven")
    assert rc == 0
    assert out.splitlines()[1].split()[:2] == [entries[0].key, "pending"]
    assert "PutRecord into 'gone' failed" in out
    assert out.splitlines()[-1].startswith("1 redriven: done 0, pending 1")

    rc, out, _ = cli(capsys, "redrive", "--bucket", BUCKET, "--yes")
    assert rc == 0 and out.splitlines()[-1] == "redriven 2, skipped 1 (already redriven)"
    assert f"skip     {entries[0].key}: already redriven (pending)" in out
    assert Counter(r["Data"] for r in stream_records(dlq.kinesis)) == Counter(
        e.payload for e in entries[1:]
    )


# --------------------------------------------------------------- malformed objects

MALFORMED_KEY = f"dlq/{CONSUMER}/{SHARD}/5-0.json"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        pytest.param(b"not json", "not JSON", id="not-json"),
        pytest.param(b"\xff\xfe", "not JSON", id="not-utf8"),
        pytest.param(b"", "not JSON", id="empty"),
        pytest.param(b"null", "not a dead-letter object", id="null"),
        pytest.param(b"[1,2]", "not a dead-letter object", id="array"),
        pytest.param(
            b'{"id":"s/shardId-0/1/0","reason":5,"data":"!!notb64","record":null}',
            "not valid base64",
            id="bad-base64",
        ),
        pytest.param(b'{"garbage": true}', "no base64 `data`", id="garbage-object"),
    ],
)
def test_a_malformed_object_is_listed_shown_and_never_redriven(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str], body: bytes, why: str
) -> None:
    dlq.clients("s3").put_object(Bucket=BUCKET, Key=MALFORMED_KEY, Body=body)

    rc, out, err = cli(capsys, "list", "--bucket", BUCKET, "--json")
    assert rc == 0 and "Traceback" not in err
    doc = json.loads(out)  # still exactly one document
    rows = {row["key"]: row for row in doc["dead_letters"]}
    assert set(rows) == {*dlq.letters, MALFORMED_KEY}
    assert why in rows[MALFORMED_KEY]["malformed"]
    assert all(rows[k]["malformed"] is None for k in dlq.letters)
    assert doc["malformed"] == 1 and sum(doc["reasons"].values()) == len(dlq.letters)

    rc, out, err = cli(capsys, "list", "--bucket", BUCKET)
    assert rc == 0 and "Traceback" not in err
    [line] = [line for line in out.splitlines() if line.startswith(MALFORMED_KEY)]
    assert line.split()[1] == "MALFORMED" and why in line
    assert "1 malformed object under the prefix" in out

    rc, out, err = cli(capsys, "show", "--bucket", BUCKET, MALFORMED_KEY)
    assert rc == 1 and "Traceback" not in err
    assert "malformed: not a valid dead letter: " in out and why in out

    rc, out, err = cli(capsys, "redrive", "--bucket", BUCKET, "--stream", STREAM, "--yes")
    assert rc == 1 and "Traceback" not in err
    assert f"skip     {MALFORMED_KEY}: malformed" in out
    assert out.splitlines()[-1] == f"redriven {len(dlq.letters)}, skipped 0 (already redriven)"
    # Only the valid dead letters went back; the malformed one got no marker.
    records = stream_records(dlq.kinesis)
    assert Counter(r["Data"] for r in records) == Counter(v[1] for v in dlq.letters.values())
    assert markers(dlq) == sorted(k.replace("dlq/", "dlq-redriven/", 1) for k in dlq.letters)


def test_an_invalid_endpoint_is_an_error_naming_it(
    dlq: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = cli(capsys, "list", "--bucket", BUCKET, "--endpoint-url", "notaurl")
    assert rc == 2 and out == "" and "Traceback" not in err
    assert "notaurl" in err and "--endpoint-url" in err and "--region" not in err
