"""The local IAM evaluator (streamkit.local.iam.policy) and request mapping (calls)."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamkit.local.iam.calls import calls_of
from streamkit.local.iam.policy import Call, UnsupportedCondition, evaluate

LEDGER = "arn:aws:dynamodb:us-east-1:123456789012:table/streamkit-ledger"


def doc(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


LEDGER_OWN_ITEMS = doc(
    {
        "Sid": "LedgerOwnItems",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        "Resource": LEDGER,
        "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["iot#*"]}},
    }
)


def test_allow_names_the_statement() -> None:
    call = Call("dynamodb:GetItem", LEDGER, {"dynamodb:LeadingKeys": ("iot#shardId-0",)})
    result = evaluate([LEDGER_OWN_ITEMS], call)
    assert result.allowed and result.statement == "LedgerOwnItems"


def test_leading_keys_of_another_consumer_are_denied() -> None:
    call = Call("dynamodb:GetItem", LEDGER, {"dynamodb:LeadingKeys": ("clickstream#s",)})
    assert evaluate([LEDGER_OWN_ITEMS], call).decision == "implicit_deny"
    # One foreign key among own keys is enough to refuse (ForAllValues).
    mixed = Call("dynamodb:GetItem", LEDGER, {"dynamodb:LeadingKeys": ("iot#a", "other#b")})
    assert not evaluate([LEDGER_OWN_ITEMS], mixed).allowed


def test_action_resource_and_case() -> None:
    assert evaluate([LEDGER_OWN_ITEMS], Call("DynamoDB:getitem", LEDGER, {})).allowed
    assert not evaluate([LEDGER_OWN_ITEMS], Call("dynamodb:PutItem", LEDGER, {})).allowed
    other = LEDGER.replace("streamkit-ledger", "Streamkit-Ledger")  # ARNs are case sensitive
    assert not evaluate([LEDGER_OWN_ITEMS], Call("dynamodb:GetItem", other, {})).allowed


def test_explicit_deny_wins_over_allow() -> None:
    policies = [
        doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
        doc({"Sid": "NoDlq", "Effect": "Deny", "Action": "s3:PutObject",
             "Resource": "arn:aws:s3:::dlq/*"}),
    ]  # fmt: skip
    result = evaluate(policies, Call("s3:PutObject", "arn:aws:s3:::dlq/x"))
    assert result.decision == "deny" and result.statement == "NoDlq"
    assert evaluate(policies, Call("s3:PutObject", "arn:aws:s3:::archive/x")).allowed


def test_not_action_and_not_resource() -> None:
    policy = doc({"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret*"})
    assert evaluate([policy], Call("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q")).allowed
    assert not evaluate([policy], Call("iam:CreateUser", "*")).allowed
    assert not evaluate([policy], Call("s3:GetObject", "arn:aws:s3:::secrets/k")).allowed


def test_string_equals_and_missing_keys() -> None:
    via = doc(
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com"]}},
        }
    )
    s3 = Call("kms:Decrypt", "k", {"kms:ViaService": ("s3.us-east-1.amazonaws.com",)})
    direct = Call("kms:Decrypt", "k", {})
    assert evaluate([via], s3).allowed
    assert not evaluate([via], direct).allowed  # a key the request lacks: false


def test_unsupported_operator_is_an_error_not_an_allow() -> None:
    policy = doc(
        {"Effect": "Allow", "Action": "*", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    )  # fmt: skip
    with pytest.raises(UnsupportedCondition, match="IpAddress"):
        evaluate([policy], Call("s3:GetObject", "arn:aws:s3:::b/k"))


@given(
    action=st.from_regex(r"[a-z]{2,8}:[A-Za-z]{1,12}", fullmatch=True),
    resource=st.text(min_size=1, max_size=40),
)
def test_wildcards_match_like_iam(action: str, resource: str) -> None:
    everything = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
    assert evaluate([everything], Call(action, resource)).allowed
    service = action.split(":")[0]
    own = doc({"Effect": "Allow", "Action": f"{service}:*", "Resource": "*"})
    assert evaluate([own], Call(action, resource)).allowed
    assert not evaluate([own], Call("zz" + action, resource)).allowed
    # Regex metacharacters in a pattern are literal: only * and ? are wildcards.
    literal = doc({"Effect": "Allow", "Action": "*", "Resource": "a.c"})
    assert not evaluate([literal], Call(action, "abc")).allowed


def _signed(service: str, target: str = "") -> dict[str, str]:
    headers = {
        "authorization": "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20260101/us-east-1/"
        f"{service}/aws4_request, SignedHeaders=host, Signature=abc"
    }
    if target:
        headers["x-amz-target"] = target
    return headers


def _calls(method: str, path: str, headers: dict[str, str], body: object = b"") -> list[Call]:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return calls_of(
        method, path, headers, raw, region="us-east-1", account="123456789012",
        partition_key=lambda table: {"streamkit-ledger": "id", "agg": "pk"}.get(table),
    )  # fmt: skip


def test_dynamodb_item_calls_carry_leading_keys() -> None:
    body = {"TableName": "streamkit-ledger", "Key": {"id": {"S": "iot#shard-1"}}}
    [call] = _calls("POST", "/", _signed("dynamodb", "DynamoDB_20120810.GetItem"), body)
    assert call == Call("dynamodb:GetItem", LEDGER, {"dynamodb:LeadingKeys": ("iot#shard-1",)})
    assert call.context == {"dynamodb:LeadingKeys": ("iot#shard-1",)}


def test_transactions_are_authorised_item_by_item() -> None:
    body = {
        "TransactItems": [
            {"Put": {"TableName": "agg", "Item": {"pk": {"S": "a"}, "n": {"N": "1"}}}},
            {"Update": {"TableName": "streamkit-ledger", "Key": {"id": {"S": "iot#s"}}}},
            {"ConditionCheck": {"TableName": "agg", "Key": {"pk": {"S": "b"}}}},
        ]
    }
    calls = _calls("POST", "/", _signed("dynamodb", "DynamoDB_20120810.TransactWriteItems"), body)
    assert [(c.action, c.resource.rsplit("/", 1)[1], c.context["dynamodb:LeadingKeys"])
            for c in calls] == [
        ("dynamodb:PutItem", "agg", ("a",)),
        ("dynamodb:UpdateItem", "streamkit-ledger", ("iot#s",)),
        ("dynamodb:ConditionCheckItem", "agg", ("b",)),
    ]  # fmt: skip


def test_s3_sqs_and_kinesis_requests() -> None:
    [put] = _calls("PUT", "/dlq/dlq/iot/x%2By.json", _signed("s3"))
    assert put == Call("s3:PutObject", "arn:aws:s3:::dlq/dlq/iot/x+y.json")
    [listing] = _calls("GET", "/dlq?list-type=2&prefix=a", _signed("s3"))
    assert listing == Call("s3:ListBucket", "arn:aws:s3:::dlq")
    [odd] = _calls("PUT", "/dlq?policy", _signed("s3"))
    assert odd.action.startswith("s3:unmapped")  # no policy allows it: visible, not let through
    body = {"QueueUrl": "http://127.0.0.1:5000/123456789012/iot-alerts.fifo", "MessageBody": "x"}
    [send] = _calls("POST", "/", _signed("sqs", "AmazonSQS.SendMessage"), body)
    assert send == Call("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:iot-alerts.fifo")
    query = b"Action=SendMessage&QueueUrl=http%3A%2F%2Fh%2F1%2Fq"
    [sent] = _calls("POST", "/", _signed("sqs"), query)
    assert sent == Call("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q")
    [records] = _calls(
        "POST", "/", _signed("kinesis", "Kinesis_20131202.GetRecords"), {"StreamName": "iot"}
    )
    stream = "arn:aws:kinesis:us-east-1:123456789012:stream/iot"
    assert records == Call("kinesis:GetRecords", stream)
    assert _calls("POST", "/", _signed("sts"), b"Action=GetCallerIdentity&Version=2011-06-15") == []


def test_get_records_is_authorised_on_the_stream_its_iterator_reads() -> None:
    headers = _signed("kinesis", "Kinesis_20131202.GetRecords")
    stream = "arn:aws:kinesis:us-east-1:123456789012:stream/iot"
    [known] = calls_of(
        "POST", "/", headers, orjson.dumps({"ShardIterator": "it-1"}), region="us-east-1",
        account="123456789012", partition_key=lambda t: None,
        iterator_stream={"it-1": stream}.get,
    )  # fmt: skip
    assert known == Call("kinesis:GetRecords", stream)
    [unknown] = _calls("POST", "/", headers, {"ShardIterator": "it-2"})
    assert unknown.resource == "*"  # no statement naming the stream allows it
