"""Reading aggregates back from the embedded endpoint: streamkit.query and `streamkit query`.

Items are written by the real sink (AggregateTable.apply of the planner's deltas, or a
Pipeline over a Kinesis event), then read with one DynamoDB Query through the API and
through the command (``--json`` parsed, the text table, exit status 2 on bad input).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.aggregate import EMPTY, Stats, fields_to_item, merge, window_of
from streamkit.local.aws import DynamoDbTable, LocalAWS
from streamkit.local.cli import main
from streamkit.pipeline import Aggregate, Pipeline
from streamkit.plan import aggregate_delta
from streamkit.query import buckets, query_aggregate, read_items
from streamkit.sinks.dynamodb import AggregateTable
from streamkit.testing import kinesis_event

pytestmark = pytest.mark.integration

T0 = 1_795_860_000  # 2026-11-28T10:00:00Z


def views(n: int) -> list[tuple[float, str, str]]:
    """n page views of two pages over 3 hours: (event time, page, user)."""
    return [(T0 + (i * 977) % 10_800, f"/p{i % 2}", f"u{i % 37}") for i in range(n)]


def write_views(clients: Any, table: str, rows: list[tuple[float, str, str]]) -> None:
    """The records' per-minute deltas, applied by the sink in two generations."""
    sink = AggregateTable(table, clients)
    for generation, half in enumerate((rows[::2], rows[1::2]), start=1):
        per_item: dict[tuple[str, int], Stats] = {}
        for seq, (t, page, user) in enumerate(half):
            s = Stats.of(event_time=t, position=(generation * 10_000 + seq, 0), distinct_item=user)
            k = (page, window_of(t, 60).start)
            per_item[k] = merge(per_item.get(k, EMPTY), s)
        deltas = [
            aggregate_delta("page_views", None, page, window_of(start, 60), s)
            for (page, start), s in per_item.items()
        ]
        assert sink.apply("clicks#shardId-000000000000", generation, deltas) == len(deltas)


def test_the_api_reads_a_key_s_windows_rolled_up_from_the_sink_s_items(stores: Any) -> None:
    rows = views(3000)
    write_views(stores, "aggs", rows)
    ddb = stores("dynamodb")
    hourly = query_aggregate(
        ddb,
        "aggs",
        "page_views",
        "/p0",
        start="2026-11-28T10:00:00Z",
        end=T0 + 2 * 3600,
        rollup="hour",
        consistent_read=True,
    )
    assert [(b.start and b.start.hour, b.count) for b in hourly] == [
        (
            h,
            sum(
                1
                for t, p, _ in rows
                if p == "/p0" and T0 + 3600 * (h - 10) <= t < T0 + 3600 * (h - 9)
            ),
        )
        for h in (10, 11)
    ]
    for b, hour in zip(hourly, (10, 11), strict=True):
        users = {u for t, p, u in rows if p == "/p0" and (t - T0) // 3600 == hour - 10}
        assert b.distinct == len(users)  # small sets: linear counting is exact here
    minutes = query_aggregate(ddb, "aggs", "page_views", "/p1", consistent_read=True)
    assert len(minutes) == len({window_of(t, 60).start for t, p, _ in rows if p == "/p1"})
    assert sum(b.count for b in minutes) == sum(1 for _, p, _ in rows if p == "/p1")
    # The Query reads only the range's items (plus a window starting at `end`).
    read = read_items(ddb, "aggs", "page_views", "/p0", start=T0, end=T0 + 600)
    assert {i["sk"] for i in read} <= {window_of(T0 + 60 * m, 60).key for m in range(11)}
    assert len(buckets(read, start=T0, end=T0 + 600)) == len(
        {window_of(t, 60).start for t, p, _ in rows if p == "/p0" and t < T0 + 600}
    )


def test_parts_of_a_multi_field_window_are_merged_when_read(stores: Any) -> None:
    """A window spread over three items (``sk``, ``sk#1``, ``sk#2``), one field in two."""
    ddb = stores("dynamodb")
    window = window_of(T0, 60)
    parts = [
        {"temp": Stats.of(20, event_time=T0, position=(1, 0))},
        {"rpm": Stats.of(900, event_time=T0 + 1, position=(2, 0))},
        {"temp": Stats.of("21.5", event_time=T0 + 2, position=(3, 0))},
    ]
    for n, fields in enumerate(parts):
        delta = aggregate_delta("metrics", None, "dev-1", window, EMPTY)
        item = {
            **delta.attributes(),
            "sk": window.key if n == 0 else f"{window.key}#{n}",
            "fields": fields_to_item(fields),
        }
        ddb.put_item(TableName="aggs", Item=_attribute_values(item))
    rows = query_aggregate(ddb, "aggs", "metrics", "dev-1", start=T0, end=T0 + 60)
    assert [(b.field, b.count, b.sum, b.last) for b in rows] == [
        ("rpm", 1, Decimal(900), Decimal(900)),
        ("temp", 2, Decimal("41.5"), Decimal("21.5")),
    ]
    [temp] = query_aggregate(ddb, "aggs", "metrics", "dev-1", field="temp")
    assert temp.mean == Decimal("20.75")


def test_a_pipeline_s_all_time_and_windowed_aggregates_read_back(stores: Any) -> None:
    pipeline = Pipeline(
        "dev",
        event_time=lambda d, r: d["ts"],
        aggregates=[
            Aggregate("temp", key=lambda d: d["id"], value=lambda d: d["t"], window_s=300),
            Aggregate("state", key=lambda d: d["id"], window_s=None, last=lambda d: d),
        ],
        table="aggs",
        ledger_table="ledger",
        clients=stores,
        metrics=False,
    )
    docs = [{"id": "d1", "ts": T0 + 100 * i, "t": f"{20 + i}.25"} for i in range(12)]
    pipeline.handle(kinesis_event([orjson.dumps(d) for d in docs]))
    ddb = stores("dynamodb")
    [row] = query_aggregate(ddb, "aggs", "temp", "d1", rollup="hour", consistent_read=True)
    assert (row.count, row.sum, row.min, row.max) == (
        12,
        sum(Decimal(d["t"]) for d in docs),
        Decimal("20.25"),
        Decimal("31.25"),
    )
    assert row.windows == 4  # 1200 s of readings in 300 s windows
    [state] = query_aggregate(ddb, "aggs", "state", "d1", consistent_read=True)
    assert state.start is None and state.last == {**docs[-1], "ts": T0 + 1100}


def test_a_multi_field_aggregate_written_by_the_pipeline_reads_back_merged(
    stores: Any,
) -> None:
    """Five fields, at most two an item: the sink spreads each window over three parts."""
    pipeline = Pipeline(
        "dev",
        event_time=lambda d, r: d["ts"],
        aggregates=[
            Aggregate(
                "metrics",
                key=lambda d: d["id"],
                fields=lambda d: sorted(d["m"].items()),
                max_fields=2,
                window_s=60,
            )
        ],
        table="aggs",
        ledger_table="ledger",
        clients=stores,
        metrics=False,
    )
    names = ["amps", "rpm", "temp", "volt", "watts"]
    docs = [
        {"id": "d1", "ts": T0 + 7 * i, "m": {n: f"{i}.{j}" for j, n in enumerate(names)}}
        for i in range(30)  # 210 s: four minute windows
    ]
    payloads = [orjson.dumps(d) for d in docs]
    first = kinesis_event(payloads[:13])
    pipeline.handle(first)  # then the rest: parts merged into, not replaced
    after = int(first["Records"][-1]["kinesis"]["sequenceNumber"]) + 1000
    pipeline.handle(kinesis_event(payloads[13:], first_sequence=after))
    ddb = stores("dynamodb")
    sks = {i["sk"] for i in read_items(ddb, "aggs", "metrics", "d1", consistent_read=True)}
    assert {"2026-11-28T10:00:00Z#1", "2026-11-28T10:00:00Z#2"} <= sks  # overflow parts
    rows = query_aggregate(ddb, "aggs", "metrics", "d1", rollup="hour", consistent_read=True)
    assert [b.field for b in rows] == names
    for j, b in enumerate(rows):
        values = [Decimal(f"{i}.{j}") for i in range(30)]
        assert (b.count, b.sum, b.min, b.max, b.last) == (
            30,
            sum(values),
            min(values),
            max(values),
            values[-1],
        )
        assert b.windows == 4
    [temp] = query_aggregate(ddb, "aggs", "metrics", "d1", start=T0, end=T0 + 60, field="temp")
    assert temp.count == 9  # readings at 0, 7, ..., 56 s


def test_a_key_over_a_megabyte_is_read_in_several_pages(stores: Any) -> None:
    """400 minute items of ~3.5 KB (dense sketches): more than one Query page."""
    users = Stats.of(event_time=T0, position=(1, 0), distinct_item="u0")
    for i in range(1, 1500):
        users = merge(users, Stats.of(event_time=T0, position=(1, i), distinct_item=f"u{i}"))
    ddb = stores("dynamodb")
    items = []
    for m in range(400):
        delta = aggregate_delta("site_users", None, "shop", window_of(T0 + 60 * m, 60), users)
        items.append(_attribute_values({**delta.attributes(), **delta.stats}))
    for i in range(0, len(items), 25):
        ddb.batch_write_item(
            RequestItems={"aggs": [{"PutRequest": {"Item": item}} for item in items[i : i + 25]]}
        )
    pages: list[int] = []

    def count(parsed: dict[str, Any], **_: Any) -> None:
        pages.append(len(parsed["Items"]))

    ddb.meta.events.register("after-call.dynamodb.Query", count)
    try:  # the client is the session's: unhook it for the next tests
        hourly = query_aggregate(ddb, "aggs", "site_users", "shop", rollup="hour")
    finally:
        ddb.meta.events.unregister("after-call.dynamodb.Query", count)
    assert len(pages) >= 2 and sum(pages) == 400, pages
    assert [b.windows for b in hourly] == [60] * 6 + [40]
    assert users.distinct is not None
    assert {b.distinct for b in hourly} == {users.distinct.estimate()}


def test_a_missing_table_is_boto3_s_error(stores: Any) -> None:
    ddb = stores("dynamodb")
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        query_aggregate(ddb, "no-such-table", "page_views", "/")


def _attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    from streamkit.write_checks import attribute_values

    return attribute_values(item)


# ----------------------------------------------------------------------- the command


@pytest.fixture
def clickstream_table(aws: LocalAWS) -> Any:
    """clickstream's aggregate table (infra/consumers.json) on the embedded endpoint."""
    DynamoDbTable.aggregates("clickstream-aggregates").create(aws.clients)
    return aws.clients


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["query", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_prints_one_json_document_with_exact_decimals(
    aws: LocalAWS, clickstream_table: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = views(600)
    write_views(clickstream_table, "clickstream-aggregates", rows)
    code, out, err = cli(
        capsys,
        "--consumer", "clickstream", "--aggregate", "page_views", "--key", "/p1",
        "--from", "2026-11-28T10:00:00Z", "--to", str(T0 + 3 * 3600), "--rollup", "hour",
        "--endpoint-url", aws.endpoint_url, "--consistent", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)  # exactly one document
    assert doc["table"] == "clickstream-aggregates" and doc["rollup_s"] == 3600
    assert doc["from"] == "2026-11-28T10:00:00Z" and doc["to"] == "2026-11-28T13:00:00Z"
    assert [b["start"] for b in doc["buckets"]] == [
        "2026-11-28T10:00:00Z",
        "2026-11-28T11:00:00Z",
        "2026-11-28T12:00:00Z",
    ]
    assert sum(b["count"] for b in doc["buckets"]) == sum(1 for _, p, _ in rows if p == "/p1")
    assert {b["sum"] for b in doc["buckets"]} == {"0"}  # Decimals as exact strings
    assert all(isinstance(b["distinct"], int) for b in doc["buckets"])
    code, text, err = cli(
        capsys,
        "--consumer", "clickstream", "--aggregate", "page_views", "--key", "/p1",
        "--rollup", "day", "--endpoint-url", aws.endpoint_url,
    )  # fmt: skip
    assert code == 0, err
    header, line = text.splitlines()
    assert header.split() == [
        "start", "end", "count", "sum", "min", "max", "mean", "last", "distinct",
    ]  # fmt: skip
    assert line.split()[:3] == ["2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z", "300"]
    # A key with nothing stored: said in the layout-free terms of the command, exit 0.
    code, text, err = cli(
        capsys,
        "--consumer", "clickstream", "--aggregate", "events", "--key", "nope",
        "--endpoint-url", aws.endpoint_url,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert text == (
        "no windows of aggregate 'events' for key 'nope' in clickstream-aggregates in that range\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--consumer", "nope"],
            "--consumer 'nope' is not in the config (known: clickstream, iot)",
        ),
        (["--aggregate", "clicks"], "--aggregate 'clicks' is not one of the consumer's (events, "),
        (["--rollup", "90"], "--rollup 90 s is not a multiple of aggregate 'page_views'"),
        (["--rollup", "fortnight"], "rollup must be 'minute', 'hour', 'day'"),
        (["--from", "soon"], "--from must be epoch seconds"),
        (["--from", "2026-11-28T11:00:00Z", "--to", "2026-11-28T10:00:00Z"], "--to 2026-11-28T10"),
        (["--field", "temp"], "single-value aggregate"),
    ],
)
def test_bad_arguments_are_exit_2_with_what_to_pass(
    argv: list[str],
    message: str,
    aws: LocalAWS,
    clickstream_table: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_views(clickstream_table, "clickstream-aggregates", views(20))
    base = {"--consumer": "clickstream", "--aggregate": "page_views", "--key": "/p0"}
    given = dict(zip(argv[::2], argv[1::2], strict=True))
    args = [x for k, v in {**base, **given}.items() for x in (k, v)]
    code, out, err = cli(capsys, *args, "--endpoint-url", aws.endpoint_url)
    assert (code, out) == (2, "")
    assert err.startswith("streamkit query: error: ") and message in err, err


def test_an_all_time_aggregate_cannot_be_rolled_up_and_a_missing_table_is_named(
    aws: LocalAWS, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(
        capsys, "--consumer", "iot", "--aggregate", "state", "--key", "d1", "--rollup", "hour",
        "--endpoint-url", aws.endpoint_url,
    )  # fmt: skip
    assert code == 2 and "aggregate 'state' is all-time" in err
    code, _, err = cli(
        capsys, "--consumer", "iot", "--aggregate", "state", "--key", "d1",
        "--endpoint-url", aws.endpoint_url,
    )  # fmt: skip
    assert code == 2 and "table 'iot-aggregates' does not exist at http" in err, err
    code, _, err = cli(
        capsys, "--consumer", "iot", "--aggregate", "state", "--key", "d1",
        "--from", "2026-11-28T10:00:00Z", "--endpoint-url", aws.endpoint_url,
    )  # fmt: skip
    # not "no windows": a range cannot apply to an all-time item
    assert code == 2 and "--from: aggregate 'state' is all-time" in err, err
    assert "leave --from out" in err


def test_an_endpoint_that_cannot_be_reached_is_exit_1_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    code, out, err = cli(
        capsys, "--consumer", "clickstream", "--aggregate", "page_views", "--key", "/p0",
        "--endpoint-url", url, "--region", "us-east-1",
    )  # fmt: skip
    assert (code, out) == (1, "")
    assert err.startswith(f"streamkit query: error: AWS error at {url}: "), err


def test_the_command_works_from_another_directory_given_the_config(
    aws: LocalAWS, clickstream_table: Any, tmp_path: Path
) -> None:
    """The consumer's handlers are imported from the config's project (``<project>/infra/
    consumers.json``), not only from the current directory."""
    write_views(clickstream_table, "clickstream-aggregates", views(60))
    config = Path(__file__).parents[2] / "infra" / "consumers.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "streamkit.local.cli", "query", "--consumer", "clickstream",
            "--aggregate", "page_views", "--key", "/p1", "--config", str(config),
            "--endpoint-url", aws.endpoint_url, "--json",
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["table"] == "clickstream-aggregates" and doc["buckets"]
