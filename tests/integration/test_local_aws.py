"""The embedded AWS endpoint, the client factory, provisioning, kinesis-local.

Everything goes over HTTP to servers on 127.0.0.1: moto's server (in a thread or a
``moto_server`` child process) and the npm kinesis-local emulator, through clients
from ``aws_clients``.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from streamkit.errors import StreamkitError
from streamkit.local.aws import (
    MOTO_ACCOUNT_ID,
    DynamoDbTable,
    LocalAWS,
    ProvisionError,
    S3Bucket,
    aws_clients,
    endpoint_from_env,
    provision,
    session_clients,
)
from streamkit.local.aws.process import ServerProcess, free_port
from streamkit.local.config import default_config_path, load_consumers, parse_consumers

pytestmark = pytest.mark.integration

MAX_HASH_KEY = 2**128 - 1


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _stream_names(kinesis: Any) -> list[str]:
    return list(kinesis.list_streams()["StreamNames"])


# ------------------------------------------------------------------- the endpoint


def test_endpoint_is_on_loopback_on_a_free_port(local_aws: LocalAWS) -> None:
    url = urlsplit(local_aws.endpoint_url)
    assert url.scheme == "http"
    assert url.hostname == "127.0.0.1"
    assert url.port == local_aws.port
    assert url.port not in (None, 0, 5000)  # port 0 asked the OS, not moto's default
    assert _listening("127.0.0.1", local_aws.port)
    with LocalAWS() as other:  # a second endpoint gets its own free port
        assert other.port != local_aws.port
        assert urlsplit(other.endpoint_url).hostname == "127.0.0.1"
    assert other.port is None


def test_env_points_boto3_at_the_endpoint(aws: LocalAWS) -> None:
    expected = {
        "AWS_ENDPOINT_URL": aws.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    assert aws.env() == expected
    assert {k: os.environ.get(k) for k in expected} == expected  # applied by the fixture
    assert "AWS_PROFILE" not in os.environ
    assert endpoint_from_env() == aws.endpoint_url
    assert endpoint_from_env("kinesis") == aws.endpoint_url
    assert (aws.region, aws.account_id) == ("us-east-1", MOTO_ACCOUNT_ID)

    # Plain boto3 and session_clients() reach it through the environment alone.
    boto3.client("kinesis").create_stream(StreamName="from-env", ShardCount=1)
    clients = session_clients()
    assert clients.region == "us-east-1"
    assert clients.endpoint_url is None  # boto3 resolves AWS_ENDPOINT_URL itself
    assert _stream_names(clients("kinesis")) == ["from-env"]
    assert _stream_names(aws.client("kinesis")) == ["from-env"]


def test_apply_env_is_restored_on_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "someone")
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:9")
    before = dict(os.environ)
    with LocalAWS() as endpoint:
        endpoint.apply_env()
        assert os.environ["AWS_ENDPOINT_URL"] == endpoint.endpoint_url
        assert "AWS_PROFILE" not in os.environ
        assert "AWS_ENDPOINT_URL_KINESIS" not in os.environ
    assert dict(os.environ) == before


def test_session_clients_need_a_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ValueError, match="AWS_REGION"):
        session_clients()
    assert session_clients("eu-west-1").region == "eu-west-1"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert session_clients().region == "ap-south-1"


def test_numeric_timestamps_keep_arrival_times_as_epoch_numbers(
    kinesis_stream: Callable[..., str], aws: LocalAWS
) -> None:
    kinesis_stream("times")
    aws.client("kinesis").put_record(StreamName="times", Data=b"x", PartitionKey="k")
    fast = aws_clients(endpoint_url=aws.endpoint_url, region=aws.region, numeric_timestamps=True)(
        "kinesis"
    )
    iterator = fast.get_shard_iterator(
        StreamName="times", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    (record,) = fast.get_records(ShardIterator=iterator)["Records"]
    assert type(record["ApproximateArrivalTimestamp"]) is float
    # The option is per factory: the endpoint's own clients still parse datetimes.
    iterator = aws.client("kinesis").get_shard_iterator(
        StreamName="times", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    (plain,) = aws.client("kinesis").get_records(ShardIterator=iterator)["Records"]
    assert plain["ApproximateArrivalTimestamp"].timestamp() == pytest.approx(
        record["ApproximateArrivalTimestamp"], abs=1e-3
    )


def test_clients_are_cached_per_service(aws: LocalAWS) -> None:
    clients = aws_clients(endpoint_url=aws.endpoint_url, region="eu-west-1")
    assert clients("sqs") is clients("sqs")
    assert clients("sqs").meta.region_name == "eu-west-1"
    assert clients("sqs").meta.endpoint_url == aws.endpoint_url
    assert aws.clients is aws.clients and aws.client("s3") is aws.clients("s3")


def test_reset_removes_every_resource(aws: LocalAWS) -> None:
    aws.client("kinesis").create_stream(StreamName="gone", ShardCount=1)
    aws.client("sqs").create_queue(QueueName="gone")
    aws.reset()
    assert _stream_names(aws.client("kinesis")) == []
    assert aws.client("sqs").list_queues().get("QueueUrls", []) == []


def test_a_test_leaves_a_stream_behind(kinesis_stream: Callable[..., str], kinesis: Any) -> None:
    kinesis_stream("leftover")
    assert _stream_names(kinesis) == ["leftover"]


def test_the_next_test_gets_a_clean_endpoint(kinesis: Any) -> None:
    assert _stream_names(kinesis) == []


def test_kinesis_stream_fixture_creates_an_active_stream(
    kinesis_stream: Callable[..., str], kinesis: Any
) -> None:
    arn = kinesis_stream("clicks", shards=3)
    assert arn == f"arn:aws:kinesis:us-east-1:{MOTO_ACCOUNT_ID}:stream/clicks"
    summary = kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
    assert (summary["StreamStatus"], summary["OpenShardCount"]) == ("ACTIVE", 3)


# ------------------------------------------------------------------ provisioning


def test_provision_creates_every_stream_and_destination(aws: LocalAWS) -> None:
    consumers = load_consumers()
    result = provision(consumers, aws.client)
    kinesis, sqs, s3 = aws.client("kinesis"), aws.client("sqs"), aws.client("s3")

    assert sorted(_stream_names(kinesis)) == sorted({c.stream.name for c in consumers.values()})
    for name, consumer in consumers.items():
        summary = kinesis.describe_stream_summary(StreamName=consumer.stream.name)[
            "StreamDescriptionSummary"
        ]
        assert summary["StreamStatus"] == "ACTIVE"
        assert summary["OpenShardCount"] == consumer.stream.shard_count
        assert summary["RetentionPeriodHours"] == consumer.stream.retention_hours
        assert result.stream_arn(name) == summary["StreamARN"]

        ref = consumer.event_source_mapping.on_failure
        assert ref is not None
        made = result.destination(name)
        assert made is not None
        assert (made.kind, made.name, made.created) == (ref.type, ref.name, True)
        assert made.arn == ref.arn(region=aws.region, account_id=aws.account_id)
        assert result.consumers[name].destination_arn == made.arn
        if ref.type == "sqs":
            url = sqs.get_queue_url(QueueName=ref.name)["QueueUrl"]
            assert made.target == url
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            assert arn["Attributes"]["QueueArn"] == made.arn
        elif ref.type == "s3":
            s3.head_bucket(Bucket=ref.name)
            assert made.target == ref.name

    # The real file has a 48 h stream: retention went through IncreaseStreamRetentionPeriod.
    assert any(c.stream.retention_hours > 24 for c in consumers.values())


def test_provision_creates_sns_topics_and_extra_resources(aws: LocalAWS) -> None:
    doc = json.loads(default_config_path().read_text(encoding="utf-8"))
    for consumer in doc["consumers"].values():
        consumer["event_source_mapping"]["DestinationConfig"] = {
            "OnFailure": {"Destination": {"type": "sns", "name": "shared-failures"}}
        }
    consumers = parse_consumers(doc)

    result = provision(consumers, aws.client, extra=[S3Bucket("streamkit-archive")])

    topics = [t["TopicArn"] for t in aws.client("sns").list_topics()["Topics"]]
    expected = f"arn:aws:sns:us-east-1:{MOTO_ACCOUNT_ID}:shared-failures"
    assert topics == [expected]  # one topic, shared by both consumers
    assert {result.consumers[name].destination_arn for name in consumers} == {expected}
    aws.client("s3").head_bucket(Bucket="streamkit-archive")
    assert result.resource("s3", "streamkit-archive").arn == "arn:aws:s3:::streamkit-archive"


def test_provisioning_twice_is_idempotent(aws: LocalAWS) -> None:
    consumers = load_consumers()
    first = provision(consumers, aws.client)
    second = provision(consumers, aws.client)

    # 2 streams, 2 on-failure destinations (queue, bucket), and the stores of
    # `resources`: one shared ledger table, 2 aggregate tables, 3 buckets, 1 FIFO queue
    assert len(first.created) == len(first.resources) == 11
    assert second.created == []
    for name in consumers:
        assert second.stream_arn(name) == first.stream_arn(name)
        assert second.consumers[name].destination_arn == first.consumers[name].destination_arn
    assert len(_stream_names(aws.client("kinesis"))) == 2
    assert len(aws.client("sqs").list_queues()["QueueUrls"]) == 2
    assert len(aws.client("s3").list_buckets()["Buckets"]) == 4
    tables = aws.client("dynamodb").list_tables()["TableNames"]
    assert sorted(tables) == ["clickstream-aggregates", "iot-aggregates", "streamkit-ledger"]
    fifo = aws.client("sqs").get_queue_url(QueueName="iot-alerts.fifo")["QueueUrl"]
    attrs = aws.client("sqs").get_queue_attributes(QueueUrl=fifo, AttributeNames=["FifoQueue"])
    assert attrs["Attributes"]["FifoQueue"] == "true"


def test_provision_without_waiting_returns_the_same_arns(aws: LocalAWS) -> None:
    result = provision(load_consumers(), aws.client, wait=False)
    assert result.stream_arn("clickstream").endswith(":stream/clickstream")


# ------------------------------------------------------------------ process mode


def test_process_mode_serves_and_stops(local_aws: LocalAWS) -> None:
    with LocalAWS(mode="process") as child:
        url = urlsplit(child.endpoint_url)
        assert url.hostname == "127.0.0.1"
        assert child.port is not None and child.port != local_aws.port
        assert child.running
        kinesis = child.client("kinesis")
        kinesis.create_stream(StreamName="in-child", ShardCount=1)
        assert _stream_names(kinesis) == ["in-child"]
        # A separate process: the session's endpoint does not see the stream.
        assert "in-child" not in _stream_names(local_aws.client("kinesis"))
        child.reset()
        assert _stream_names(kinesis) == []
        port = child.port
    assert not child.running
    assert not _listening("127.0.0.1", port)


def test_a_server_that_exits_early_reports_its_output() -> None:
    child = ServerProcess("early-exit", startup_timeout=10)
    command = [sys.executable, "-c", "print('no port for you'); raise SystemExit(3)"]
    assert not child.launch(command, env=dict(os.environ), port=free_port())
    assert not child.running
    assert child.output() == "no port for you"
    workdir = child.workdir
    child.stop()
    assert not workdir.exists()
    child.stop()  # twice is fine


def test_provision_errors_are_streamkit_errors() -> None:
    assert issubclass(ProvisionError, StreamkitError)
    assert issubclass(ProvisionError, RuntimeError)  # the base it always had


# ---------------------------------------------------------- closed shards in moto


def _read_closed_parent(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    """Split shard 0 of ``stream`` (one record in it) and read the parent twice."""
    kinesis.put_record(StreamName=stream, Data=b"before", PartitionKey="p")
    kinesis.split_shard(
        StreamName=stream,
        ShardToSplit="shardId-000000000000",
        NewStartingHashKey=str(MAX_HASH_KEY // 2 + 1),
    )
    kinesis.get_waiter("stream_exists").wait(
        StreamName=stream, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    first = kinesis.get_records(ShardIterator=iterator)
    responses = [first]
    if first.get("NextShardIterator"):
        responses.append(kinesis.get_records(ShardIterator=first["NextShardIterator"]))
    return responses


def test_moto_closed_shards_have_no_end_marker(
    kinesis_stream: Callable[..., str], kinesis: Any
) -> None:
    """What streamkit.local.shards has to cope with on moto (a canary if it changes):
    a closed shard never returns a null NextShardIterator nor ChildShards, and
    sequence numbers are small per-shard counters."""
    kinesis_stream("split")
    first, second = _read_closed_parent(kinesis, "split")
    assert [r["SequenceNumber"] for r in first["Records"]] == ["1"]
    for response in (first, second):
        assert "ChildShards" not in response
        assert response["NextShardIterator"]
    assert second["Records"] == []
    parent = kinesis.list_shards(StreamName="split")["Shards"][0]
    assert parent["SequenceNumberRange"]["EndingSequenceNumber"] == "1"


# ------------------------------------------------------------------ kinesis-local


def _kinesis_local_client(endpoint_url: str) -> Any:
    return aws_clients(
        endpoint_url=endpoint_url,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
    )("kinesis")


def test_kinesis_local_puts_and_gets_records(kinesis_local: str) -> None:
    url = urlsplit(kinesis_local)
    assert (url.scheme, url.hostname) == ("http", "127.0.0.1")
    kinesis = _kinesis_local_client(kinesis_local)
    kinesis.create_stream(StreamName="smoke", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(
        StreamName="smoke", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    arn = kinesis.describe_stream_summary(StreamName="smoke")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    assert arn == f"arn:aws:kinesis:us-east-1:{MOTO_ACCOUNT_ID}:stream/smoke"
    put = [kinesis.put_record(StreamName="smoke", Data=d, PartitionKey="k") for d in (b"a", b"b")]
    iterator = kinesis.get_shard_iterator(
        StreamName="smoke", ShardId=put[0]["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]

    assert [r["Data"] for r in records] == [b"a", b"b"]
    sequence_numbers = [r["SequenceNumber"] for r in records]
    assert sequence_numbers == [p["SequenceNumber"] for p in put]
    assert all(len(s) == 56 and s.isdigit() for s in sequence_numbers)
    assert int(sequence_numbers[0]) < int(sequence_numbers[1])


def test_kinesis_local_ends_closed_shards_with_child_shards(kinesis_local: str) -> None:
    kinesis = _kinesis_local_client(kinesis_local)
    kinesis.create_stream(StreamName="resharded", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(
        StreamName="resharded", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    responses = _read_closed_parent(kinesis, "resharded")

    # The record and the shard end come in one response: ChildShards, no iterator.
    assert len(responses) == 1
    (end,) = responses
    assert [r["Data"] for r in end["Records"]] == [b"before"]
    assert end.get("NextShardIterator") is None
    children = sorted(child["ShardId"] for child in end["ChildShards"])
    assert children == ["shardId-000000000001", "shardId-000000000002"]
    assert all(c["ParentShards"] == ["shardId-000000000000"] for c in end["ChildShards"])

    kinesis.merge_shards(
        StreamName="resharded", ShardToMerge=children[0], AdjacentShardToMerge=children[1]
    )
    kinesis.get_waiter("stream_exists").wait(
        StreamName="resharded", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    for shard in children:
        iterator = kinesis.get_shard_iterator(
            StreamName="resharded", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        merged = kinesis.get_records(ShardIterator=iterator)
        assert merged.get("NextShardIterator") is None
        assert [c["ShardId"] for c in merged["ChildShards"]] == ["shardId-000000000003"]
        assert merged["ChildShards"][0]["ParentShards"] == children


def test_provisioning_turns_on_the_ttl_of_a_table_made_without_it(aws: LocalAWS) -> None:
    """A ledger table an earlier version created has no TTL: provisioning enables it
    (the commit journal's entries expire through ``expires_at``)."""
    ddb = aws.clients("dynamodb")
    DynamoDbTable("old-ledger", "id").create(aws.clients)  # as earlier versions made it
    assert ddb.describe_time_to_live(TableName="old-ledger")["TimeToLiveDescription"][
        "TimeToLiveStatus"
    ] in ("DISABLED", None)
    ledger = DynamoDbTable.ledger("old-ledger")
    ledger.ready(aws.clients, wait=True, created=ledger.create(aws.clients))
    described = ddb.describe_time_to_live(TableName="old-ledger")["TimeToLiveDescription"]
    assert (described["TimeToLiveStatus"], described["AttributeName"]) == ("ENABLED", "expires_at")
