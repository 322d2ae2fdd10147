"""RoleProxy: an endpoint that holds a client to one role's identity policies (moto behind).

No Terraform: a role made here, assumed on the endpoint, its policy read back from IAM
(``assume_role``); boto3 clients with the session's credentials talk to the proxy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from streamkit.local.aws import DynamoDbTable, LocalAWS, S3Bucket
from streamkit.local.aws.leftovers import LeftoverError, leftovers, start_clean
from streamkit.local.iam.proxy import RoleProxy
from streamkit.local.iam.roles import assume_role

ACCOUNT = "123456789012"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/ledger"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "OwnItems",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
            "Resource": TABLE_ARN,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["iot#*"]}},
        },
        {"Sid": "Dlq", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::dlq/iot/*"},
        {"Sid": "Alerts", "Effect": "Allow", "Action": "sqs:SendMessage",
         "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:alerts"},
    ],
}  # fmt: skip


@pytest.fixture
def proxied(aws: LocalAWS) -> Iterator[tuple[RoleProxy, Any]]:
    aws.client("dynamodb").create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws.client("s3").create_bucket(Bucket="dlq")
    aws.client("sqs").create_queue(QueueName="alerts")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
    iam = aws.client("iam")
    arn = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="fn", PolicyName="p", PolicyDocument=json.dumps(POLICY))
    role = assume_role(aws.client, arn, "fn")
    proxy = RoleProxy(
        aws.endpoint_url, role, region=aws.region, account=ACCOUNT, partition_key=lambda t: "id"
    ).start()
    session = boto3.session.Session(region_name=aws.region, **_keys(role.environment()))
    try:
        yield proxy, lambda service: session.client(service, endpoint_url=proxy.url)
    finally:
        proxy.stop()


def _keys(env: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": env["AWS_SESSION_TOKEN"],
    }


def test_allowed_calls_reach_the_endpoint(proxied: tuple[RoleProxy, Any], aws: LocalAWS) -> None:
    proxy, client = proxied
    ddb = client("dynamodb")
    ddb.put_item(TableName="ledger", Item={"id": {"S": "iot#shard-0"}, "n": {"N": "1"}})
    item = ddb.get_item(TableName="ledger", Key={"id": {"S": "iot#shard-0"}})["Item"]
    assert item["n"] == {"N": "1"}
    client("s3").put_object(Bucket="dlq", Key="iot/a.json", Body=b"{}")
    url = aws.client("sqs").get_queue_url(QueueName="alerts")["QueueUrl"]
    client("sqs").send_message(QueueUrl=url, MessageBody="overheat")
    assert [e.statement for e in proxy.evaluations] == ["OwnItems", "OwnItems", "Dlq", "Alerts"]
    assert aws.client("s3").get_object(Bucket="dlq", Key="iot/a.json")["Body"].read() == b"{}"


def test_a_call_the_role_does_not_allow_is_access_denied_in_each_protocol(
    proxied: tuple[RoleProxy, Any], aws: LocalAWS
) -> None:
    proxy, client = proxied
    ddb = client("dynamodb")
    with pytest.raises(ClientError) as foreign_key:
        ddb.get_item(TableName="ledger", Key={"id": {"S": "clickstream#shard-0"}})
    assert foreign_key.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:GetItem on resource: " + TABLE_ARN in str(foreign_key.value)
    with pytest.raises(ClientError) as s3_denied:
        client("s3").put_object(Bucket="dlq", Key="clickstream/a.json", Body=b"{}")
    assert s3_denied.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as sqs_denied:
        client("sqs").get_queue_url(QueueName="alerts")
    assert "AccessDenied" in sqs_denied.value.response["Error"]["Code"]
    assert len(proxy.denied) == 3
    # Nothing denied reached the endpoint.
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket="dlq", Prefix="clickstream/")


def test_requests_signed_with_other_credentials_are_refused(
    proxied: tuple[RoleProxy, Any], aws: LocalAWS
) -> None:
    proxy, _ = proxied
    other = boto3.client(
        "dynamodb", endpoint_url=proxy.url, region_name=aws.region,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    with pytest.raises(ClientError) as refused:
        other.get_item(TableName="ledger", Key={"id": {"S": "iot#shard-0"}})
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert proxy.evaluations == []  # refused before any policy was consulted


def test_a_policy_it_cannot_evaluate_refuses_the_call(aws: LocalAWS) -> None:
    aws.client("dynamodb").create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
    by_ip = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}}]}  # fmt: skip
    iam = aws.client("iam")
    arn = iam.create_role(RoleName="ip", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="ip", PolicyName="p", PolicyDocument=json.dumps(by_ip))
    role = assume_role(aws.client, arn, "ip")
    proxy = RoleProxy(
        aws.endpoint_url, role, region=aws.region, account=ACCOUNT, partition_key=lambda t: "id"
    ).start()
    try:
        session = boto3.session.Session(region_name=aws.region, **_keys(role.environment()))
        ddb = session.client("dynamodb", endpoint_url=proxy.url)
        with pytest.raises(ClientError) as refused:
            ddb.get_item(TableName="ledger", Key={"id": {"S": "x"}})
    finally:
        proxy.stop()
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    [denied] = proxy.denied
    assert "IpAddress" in denied.call.action  # says why: not evaluated, so not allowed


def test_a_leftovers_check_the_role_may_not_make_names_the_resource_and_permission(
    proxied: tuple[RoleProxy, Any],
) -> None:
    """An endpoint that refuses the look is a clear LeftoverError, never a traceback."""
    _, client = proxied
    with pytest.raises(LeftoverError) as refused:
        leftovers([S3Bucket("dlq")], client)
    text = str(refused.value)
    assert text.startswith("could not tell whether bucket dlq holds an earlier run's output")
    assert "AccessDenied" in text and "the credentials need s3:ListBucket on it" in text
    with pytest.raises(LeftoverError, match=r"table ledger .*credentials need dynamodb:Scan"):
        leftovers([DynamoDbTable("ledger", "id")], client)
    # --reset looks before it changes anything: refused there, it says so.
    with pytest.raises(LeftoverError) as reset_refused:
        start_clean([DynamoDbTable("ledger", "id")], client, reset_first=True, endpoint="e")
    assert str(reset_refused.value).startswith(
        "--reset could not look at table ledger, nothing was changed: AccessDenied"
    )
    assert "the credentials need dynamodb:DescribeTable" in str(reset_refused.value)
