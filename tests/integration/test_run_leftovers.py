"""`streamkit run` on an endpoint that stays: an earlier run's output is found and named,
and `--reset` empties it (streamkit.local.aws.leftovers), so a second run's check holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streamkit.local.aws import S3Bucket, SqsQueue, provision, resources_for
from streamkit.local.aws.leftovers import LeftoverError, leftovers, owned_resources, reset
from streamkit.local.cli import main
from streamkit.local.config import load_consumers

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]


def test_leftovers_names_what_holds_something_and_reset_empties_it(aws: Any) -> None:
    consumers = load_consumers()
    resources = resources_for(consumers)
    provision(consumers, aws.clients)
    assert leftovers(resources, aws.clients) == []  # provisioned, nothing in them

    res = consumers["iot"].resources
    assert res is not None and res.alerts_queue and res.aggregate_table
    aws.client("kinesis").put_record(StreamName="iot-telemetry", Data=b"{}", PartitionKey="d")
    aws.client("dynamodb").put_item(
        TableName=res.aggregate_table, Item={"pk": {"S": "k"}, "sk": {"S": "w"}}
    )
    s3 = aws.client("s3")
    # A versioned bucket: its versions and delete markers must go too.
    s3.put_bucket_versioning(
        Bucket=res.dead_letter_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    for body in (b"1", b"2"):
        s3.put_object(Bucket=res.dead_letter_bucket, Key="a", Body=body)
    s3.delete_object(Bucket=res.dead_letter_bucket, Key="a")  # a delete marker on top
    s3.put_object(Bucket=res.dead_letter_bucket, Key="b", Body=b"3")
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=res.alerts_queue)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="1")

    assert sorted(leftovers(resources, aws.clients)) == sorted(
        [
            "stream iot-telemetry holds records",
            f"table {res.aggregate_table} holds items",
            f"bucket {res.dead_letter_bucket} holds objects",
            f"queue {res.alerts_queue} holds messages",
        ]
    )
    done = reset(resources, aws.clients)
    assert "deleted stream iot-telemetry" in done
    assert f"deleted table {res.aggregate_table}" in done
    assert f"emptied bucket {res.dead_letter_bucket}" in done
    assert f"purged queue {res.alerts_queue}" in done
    assert s3.list_object_versions(Bucket=res.dead_letter_bucket).get("Versions") is None
    # Provisioning makes the deleted ones again, empty.
    provision(consumers, aws.clients)
    assert leftovers(resources, aws.clients) == []
    assert reset(resources_for({}), aws.clients) == []


def clickstream_only(tmp_path: Path) -> Path:
    config = json.loads((ROOT / "infra" / "consumers.json").read_text())
    path = tmp_path / "consumers.json"
    path.write_text(json.dumps({"consumers": {"clickstream": config["consumers"]["clickstream"]}}))
    return path


def test_a_second_run_on_the_same_endpoint_is_refused_until_reset(
    aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's sequence (a lasting endpoint, one seed and start) run twice: the
    second run would read the first one's output back and fail its check, so it stops
    before putting anything, naming what it found; with --reset it holds again."""
    args = [
        *("run", "--config", str(clickstream_only(tmp_path))),
        *("--endpoint-url", aws.endpoint_url, "--execution", "inline", "--json"),
        *("--seed", "7", "--start", "2026-11-28T10:00:00Z", "--duration", "3", "--rate", "20"),
    ]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["ok"] is True

    assert main(args) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "table clickstream-aggregates holds items" in out.err
    assert "stream clickstream holds records" in out.err and "--reset" in out.err

    assert main([*args, "--reset"]) == 0
    out = capsys.readouterr()
    again = json.loads(out.out)
    assert again["ok"] is True and "deleted table clickstream-aggregates" in out.err
    c, c1 = again["consumers"]["clickstream"], first["consumers"]["clickstream"]
    assert c["aggregates_match_reference"] is True
    # The same seed and start: the same records, the same answers.
    assert (c["records_in"], c["counted"], c["dead_letters"], c["top_pages"]) == (
        c1["records_in"],
        c1["counted"],
        c1["dead_letters"],
        c1["top_pages"],
    )


def test_reset_stops_before_deleting_anything_it_could_not_finish(aws: Any) -> None:
    """A table with deletion protection (infra/ turns it on in production) would stop
    the reset halfway: it is refused first, and nothing is deleted."""
    consumers = load_consumers()
    resources = resources_for(consumers)
    provision(consumers, aws.clients)
    res = consumers["clickstream"].resources
    assert res is not None and res.aggregate_table
    ddb = aws.client("dynamodb")
    ddb.update_table(TableName=res.aggregate_table, DeletionProtectionEnabled=True)
    aws.client("kinesis").put_record(StreamName="clickstream", Data=b"{}", PartitionKey="p")
    with pytest.raises(LeftoverError) as refused:
        reset(resources, aws.clients)
    assert str(refused.value).startswith("--reset would stop halfway, nothing was changed: ")
    assert f"table {res.aggregate_table} has deletion protection" in str(refused.value)
    assert "stream clickstream holds records" in leftovers(resources, aws.clients)
    ddb.update_table(TableName=res.aggregate_table, DeletionProtectionEnabled=False)


def test_reset_says_what_it_could_not_empty(aws: Any) -> None:
    """An object under legal hold survives DeleteObjects (which reports it only in its
    response's Errors): the reset checks again and names the bucket."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket="locked", Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")
    with pytest.raises(LeftoverError, match="could not empty everything: bucket locked holds"):
        reset([S3Bucket("locked")], aws.clients)


def test_an_empty_queue_is_not_purged(aws: Any) -> None:
    """SQS purges a queue at most once a minute: a reset purges only what holds messages,
    so runs with --reset can follow each other."""
    queue = SqsQueue("q")
    queue.create(aws.clients)
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    assert reset([queue], aws.clients) == ["purged queue q"]
    assert reset([queue], aws.clients) == []
    assert reset([queue], aws.clients) == []


def test_one_consumers_reset_leaves_the_shared_ledger_to_the_others(aws: Any) -> None:
    """Both shipped consumers keep their ledgers in one table: a run of one consumer
    (--consumer) looks at and resets only that consumer's items in it."""
    consumers = load_consumers()
    provision(consumers, aws.clients)
    res = consumers["iot"].resources
    assert res is not None
    ledger = res.ledger_table
    owned = {o.resource.name: o for o in owned_resources(consumers, ["iot"])}
    assert owned[ledger].ledger_of == ("iot",)
    assert owned["iot-telemetry"].ledger_of == () and not owned["iot-telemetry"].shared_with
    ddb = aws.client("dynamodb")
    for item_id in (
        "clickstream#shardId-000000000000",
        "clickstream#shardId-000000000000#commit#1",
    ):
        ddb.put_item(TableName=ledger, Item={"id": {"S": item_id}})
    assert leftovers(owned.values(), aws.clients) == []  # clickstream's are not iot's
    ddb.put_item(TableName=ledger, Item={"id": {"S": "iot#shardId-000000000001"}})
    assert leftovers(owned.values(), aws.clients) == [f"table {ledger} holds iot's ledger items"]
    assert f"deleted iot's 1 items in table {ledger}" in reset(list(owned.values()), aws.clients)
    ids = {i["id"]["S"] for i in ddb.scan(TableName=ledger)["Items"]}
    assert ids == {"clickstream#shardId-000000000000", "clickstream#shardId-000000000000#commit#1"}


def test_reset_without_a_lasting_endpoint_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert main(["run", "--reset", "--duration", "1"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "--reset needs --endpoint-url or AWS_ENDPOINT_URL" in out.err
