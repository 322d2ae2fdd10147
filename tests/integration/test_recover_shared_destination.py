"""``streamkit recover`` on a destination other mappings share (issue 10, item 3).

An SQS queue can be the on-failure destination of several mappings. Recover takes
only its own stream's documents; the others must stay available to their consumers:
before, recover received them (hiding them for its 900 s visibility timeout) and never
released them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamkit.local.aws import LocalAWS, provision
from streamkit.local.cli import main
from streamkit.local.config import load_consumers
from streamkit.local.recover.consumer import open_consumer

pytestmark = pytest.mark.integration

CONFIG = str(Path(__file__).resolve().parents[2] / "infra" / "consumers.json")


def test_other_streams_documents_stay_visible_and_are_counted(
    aws: LocalAWS, capsys: pytest.CaptureFixture[str]
) -> None:
    provision(load_consumers(CONFIG), aws.clients)
    consumer = open_consumer("clickstream", CONFIG)
    sqs = aws.clients("sqs")
    queue = sqs.get_queue_url(QueueName="clickstream-failures")["QueueUrl"]
    other_arn = consumer.stream_arn.rpartition("/")[0] + "/another-stream"
    info = {
        "shardId": "shardId-000000000000",
        "startSequenceNumber": "49590338271490256608559692538361571095921575989136588898",
        "endSequenceNumber": "49590338271490256608559692538361571095921575989136588899",
        "batchSize": 2,
        "streamArn": other_arn,
    }
    sent = sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"KinesisBatchInfo": info}))

    capsys.readouterr()
    code = main(["recover", "--consumer", "clickstream", "--config", CONFIG, "--json"])
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert code == 0, err
    assert doc["ok"] and doc["ranges"] == {} and doc["other_streams"] == 1

    # Visible again at once, for the other stream's consumer.
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60)
    assert [m["MessageId"] for m in got.get("Messages", [])] == [sent["MessageId"]]
