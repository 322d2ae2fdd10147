"""``streamkit run --terraform``: the deployed consumers, driven; least privilege, exercised.

One Terraform deploy for the module (``tf``): the real zip of ``streamkit package``,
``infra/`` applied to the session's moto server. Then:

* the deployed code is what the worker processes import (``python -v`` shows every
  module's file: ``handlers/`` and ``streamkit/`` come from the unpacked zip);
* a whole run drives the deployed functions (deployed environment, mappings read back
  from the Lambda API, each function with its own role's credentials) and ends with
  the same check as ``streamkit run``: every record counted or dead-lettered, the
  aggregates equal the exactly-once reference, no call denied; every call the
  functions made was allowed by the statement it needs (``dynamodb:LeadingKeys``
  included, which moto does not evaluate);
* with one permission removed from a role (the IoT role's ``AggregateItems``, through
  IAM after apply) the run fails, with AccessDenied for exactly the aggregate table
  (the mapping's retries turned off through the Lambda API for it: the run uses the
  mapping as read back);
* what moto's own IAM enforcement evaluates is pinned (it would refuse the deployed
  policy's exact table ARNs), which is why the calls are evaluated locally.

Skipped, with the install hint as the reason, where Terraform or the provider mirror
is missing.
"""

from __future__ import annotations

import copy
import io
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from streamkit.local.aws import LocalAWS, aws_clients
from streamkit.local.config import load_consumers
from streamkit.local.console import StatusLine
from streamkit.local.esm.invoker import executor_for
from streamkit.local.iam.policy import Call, evaluate
from streamkit.local.iam.roles import role_policies
from streamkit.local.run.deploy import TerraformRun, deploy_consumers
from streamkit.local.run.deployed import code_sha256
from streamkit.local.run.engine import run_main
from streamkit.local.terraform import missing_reason

ROOT = Path(__file__).resolve().parents[2]
_MISSING = missing_reason()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("terraform"),
    pytest.mark.skipif(_MISSING is not None, reason=_MISSING or ""),
]


@pytest.fixture(scope="module")
def tf(local_aws: LocalAWS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TerraformRun]:
    local_aws.reset()
    deployment = deploy_consumers(
        load_consumers(),
        local_aws.endpoint_url,
        local_aws.region,
        status=StatusLine(io.StringIO()),
        workdir=tmp_path_factory.mktemp("run-terraform"),
    )
    try:
        yield deployment
    finally:
        # No terraform destroy: test_terraform_apply.py proves it; a reset is enough.
        deployment.close()
        local_aws.reset()


def _run(
    local_aws: LocalAWS, tf: TerraformRun, *, seed: int = 3, duration: float = 5
) -> tuple[int, dict[str, Any], str]:
    out, err, logs = io.StringIO(), io.StringIO(), io.StringIO()
    code = run_main(
        duration=duration,
        seed=seed,
        # Traffic of the last seconds (start None): a later run's records arrive after
        # an earlier run's, which the stream still holds (and the ledger skips).
        endpoint_url=local_aws.endpoint_url,
        deployment=tf,
        as_json=True,
        out=out,
        err=err,
        logs=logs,
    )
    return code, json.loads(out.getvalue()), logs.getvalue()


def test_workers_import_the_deployed_zip_not_the_working_tree(
    local_aws: LocalAWS, tf: TerraformRun
) -> None:
    tf.start_roles(local_aws.endpoint_url, local_aws.region, aws_clients())
    try:
        iot = tf.consumers["iot"]
        root = iot.code.task_root
        assert iot.code.sha256 == code_sha256(tf.package_path.read_bytes())
        assert (root / "handlers" / "iot.py").is_file()
        assert not (root / "streamkit" / "local").exists()  # the zip leaves it out
        lines: list[str] = []
        _, pool = executor_for(
            iot.consumer.handler,
            "process",
            function_name=iot.function_name,
            function_arn=iot.function_arn,
            function_timeout_s=30.0,
            memory_mb=512,
            region=local_aws.region,
            environment={**tf.run_fields()["iot"]["env"], "PYTHONVERBOSE": "1"},
            log_sink=lines.append,
            task_root=str(root),
        )
        assert pool is not None
        try:
            result = pool.invoke("lane", "req-1", b'{"Records": []}')
        finally:
            pool.close()
    finally:
        tf.close()
    assert result.kind == "response", result.detail
    # python -v names the file each module's code comes from.
    text = "".join(lines)
    files = re.findall(r"^# (?:code object from '?|\S+ matches )(/\S+?\.py)'?$", text, re.M)
    ours = {f for f in files if re.search(r"/(handlers|streamkit)/", f)}
    assert {str(root / "handlers/iot.py"), str(root / "streamkit/pipeline.py")} <= ours
    assert all(Path(f).is_relative_to(root) for f in ours), sorted(ours)
    # orjson's compiled module was built for the Lambda platform: the local one loads.
    assert "orjson-3" in " ".join(iot.code.foreign)
    [orjson_so] = set(re.findall(r"extension module 'orjson\.orjson' .*from '([^']+)'", text))
    assert not Path(orjson_so).is_relative_to(root)


def _implied_kms(call: Call, region: str, encrypted: dict[str, str]) -> list[Call]:
    """The KMS calls AWS makes with the caller's permissions for ``call`` (kms:ViaService).

    S3 (SSE-KMS) generates a data key for a PutObject and decrypts for a GetObject; SQS
    (SSE-KMS) generates one for a SendMessage. moto makes none of them, so the role's
    UseProjectKey statement (condition kms:ViaService) is checked against these.
    """
    service = call.action.split(":")[0]
    resource = call.resource.removeprefix("arn:aws:s3:::").split("/")[0]
    key = encrypted.get(f"{service}:{resource}")
    if key is None:
        return []
    action = {"s3:PutObject": "GenerateDataKey", "s3:GetObject": "Decrypt",
              "sqs:SendMessage": "GenerateDataKey"}.get(call.action)  # fmt: skip
    if action is None:
        return []
    via = {"kms:ViaService": (f"{service}.{region}.amazonaws.com",)}
    return [Call(f"kms:{action}", key, via)]


def _encrypted(clients: Any) -> dict[str, str]:
    """``s3:<bucket>`` / ``sqs:<queue>`` -> the KMS key that encrypts it."""
    s3, sqs = clients("s3"), clients("sqs")
    out = {}
    for bucket in s3.list_buckets()["Buckets"]:
        rules = s3.get_bucket_encryption(Bucket=bucket["Name"])[
            "ServerSideEncryptionConfiguration"
        ]["Rules"]
        for rule in rules:
            default = rule["ApplyServerSideEncryptionByDefault"]
            if default.get("SSEAlgorithm") == "aws:kms":
                out[f"s3:{bucket['Name']}"] = default["KMSMasterKeyID"]
    for url in sqs.list_queues().get("QueueUrls", []):
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if attrs.get("KmsMasterKeyId"):
            key = attrs["KmsMasterKeyId"]
            if not key.startswith("arn:"):
                key = clients("kms").describe_key(KeyId=key)["KeyMetadata"]["Arn"]
            out[f"sqs:{attrs['QueueArn'].rsplit(':', 1)[1]}"] = key
    return out


def test_run_drives_the_deployed_consumers_with_their_roles(
    local_aws: LocalAWS, tf: TerraformRun
) -> None:
    code, summary, _ = _run(local_aws, tf)
    assert code == 0, summary
    assert summary["ok"] is True
    consumers = load_consumers()
    package_sha = code_sha256(tf.package_path.read_bytes())
    for name, info in summary["consumers"].items():
        assert info["aggregates_match_reference"] is True
        assert info["records_in"] > 0 and "MISMATCH" not in info["check"]
        deployed = summary["terraform"]["functions"][name]
        assert deployed["code_sha256"] == package_sha
        assert deployed["role"].endswith(f":role/streamkit-{name}")
        assert deployed["aws_calls"] > 0 and deployed["access_denied"] == 0
        # The run used the mapping as read back from the Lambda API: consumers.json's.
        assert tf.consumers[name].consumer.esm == consumers[name].esm

    # Every call each function made, evaluated again here against its role's policies
    # as IAM holds them, with the statement each kind of call must be allowed by.
    clients = aws_clients()
    encrypted = _encrypted(clients)
    expected_statements = {
        "dynamodb:streamkit-ledger": {"LedgerOwnItems"},
        "dynamodb:clickstream-aggregates": {"AggregateItems"},
        "dynamodb:iot-aggregates": {"AggregateItems"},
        "s3:streamkit-clickstream-archive": {"WriteArchive"},
        "s3:streamkit-clickstream-dlq": {"WriteDeadLettersAndIntents", "ReadIntents"},
        "s3:streamkit-iot-dlq": {"WriteDeadLettersAndIntents", "ReadIntents"},
        "sqs:iot-alerts.fifo": {"SendAlerts"},
        "kinesis:clickstream": {"ReadStream"},
        "kinesis:iot-telemetry": {"ReadStream"},
        "kms": {"UseProjectKey"},
    }
    for name in ("clickstream", "iot"):
        policies = role_policies(clients("iam"), f"streamkit-{name}")
        made = [e.call for e in tf.calls[name]]
        kinds = {c.action for c in made}
        assert {"dynamodb:GetItem", "dynamodb:UpdateItem", "kinesis:GetRecords"} <= kinds, kinds
        checked = made + [k for c in made for k in _implied_kms(c, local_aws.region, encrypted)]
        assert any(c.action.startswith("kms:") for c in checked)
        for call in checked:
            result = evaluate(policies, call)
            assert result.allowed, call
            service = call.action.split(":")[0]
            where = service if service == "kms" else f"{service}:{_resource_name(call)}"
            assert result.statement in expected_statements[where], (call, result)
            if where == "dynamodb:streamkit-ledger":  # the shared table: own keys only
                keys = call.context["dynamodb:LeadingKeys"]
                assert keys and all(k.startswith(f"{name}#") for k in keys), call
        # The same calls from the other consumer's function would not all be allowed.
        other = "iot" if name == "clickstream" else "clickstream"
        foreign = role_policies(clients("iam"), f"streamkit-{other}")
        assert not all(evaluate(foreign, c).allowed for c in made)


def _resource_name(call: Call) -> str:
    """The table, bucket or queue name of a call's resource ARN."""
    resource = call.resource
    if resource.startswith("arn:aws:s3:::"):
        return resource.removeprefix("arn:aws:s3:::").split("/")[0]
    if ":stream/" in resource:
        return resource.split(":stream/")[1].split("/")[0]
    if ":table/" in resource:
        return resource.split(":table/")[1].split("/")[0]
    return resource.rsplit(":", 1)[-1]


def test_a_permission_the_handler_needs_missing_fails_the_run_with_access_denied(
    local_aws: LocalAWS, tf: TerraformRun
) -> None:
    clients = aws_clients()
    iam, lam = clients("iam"), clients("lambda")
    role, policy_name = "streamkit-iot", "streamkit-consumer"
    original = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    document = copy.deepcopy(original if isinstance(original, dict) else json.loads(original))
    # Every batch with a valid reading reads and writes the aggregates table.
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "AggregateItems"]
    iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(document))
    # Through the Lambda API, as an operator would: no retries, no bisection, so each
    # failing batch is given up at once (and the run reads the mapping back, not the file).
    uuid = tf.deployment.outputs()["event_source_mappings"]["iot"]
    before = lam.get_event_source_mapping(UUID=uuid)
    lam.update_event_source_mapping(
        UUID=uuid, MaximumRetryAttempts=0, BisectBatchOnFunctionError=False
    )
    _clear_outputs(clients)  # the ledgers stay: the earlier run's records are not redone
    try:
        code, summary, logs = _run(local_aws, tf, seed=4, duration=2)
    finally:
        iam.put_role_policy(
            RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(original)
        )
        lam.update_event_source_mapping(
            UUID=uuid,
            MaximumRetryAttempts=before["MaximumRetryAttempts"],
            BisectBatchOnFunctionError=before["BisectBatchOnFunctionError"],
        )
    used = tf.consumers["iot"].consumer.esm
    assert (used.maximum_retry_attempts, used.bisect_batch_on_function_error) == (0, False)
    assert code == 1 and summary["ok"] is False
    # The control: the consumer whose role is intact passes its check in the same run.
    clicks = summary["consumers"]["clickstream"]
    assert clicks["aggregates_match_reference"] and "MISMATCH" not in clicks["check"], clicks
    iot_run = summary["consumers"]["iot"]
    assert not iot_run["aggregates_match_reference"] or "MISMATCH" in iot_run["check"], iot_run
    iot = summary["terraform"]["functions"]["iot"]
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/iot-aggregates"
    assert iot["denied"], iot
    assert {d.rsplit(" on ", 1)[1] for d in iot["denied"]} == {table}
    assert summary["terraform"]["functions"]["clickstream"]["access_denied"] == 0
    assert re.search(r"AccessDenied.*not authorized to perform: dynamodb:\w+ on resource: " + table,
                     logs)  # fmt: skip
    denied = [e for e in tf.calls["iot"] if not e.allowed]
    assert denied and {e.decision for e in denied} == {"implicit_deny"}
    # Without the statement nothing else allows the table; the other calls still pass.
    assert all(e.allowed for e in tf.calls["iot"] if e.call.resource != table)


def _clear_outputs(clients: Any) -> None:
    """Empty the aggregate tables and the dead letters (what a run's check reads)."""
    ddb, s3 = clients("dynamodb"), clients("s3")
    for table in ("clickstream-aggregates", "iot-aggregates"):
        for page in ddb.get_paginator("scan").paginate(
            TableName=table, ProjectionExpression="pk, sk"
        ):
            for item in page["Items"]:
                ddb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    for bucket in ("streamkit-clickstream-dlq", "streamkit-iot-dlq"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="dlq/"):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])


def test_moto_iam_enforcement_sees_no_resource_for_dynamodb(local_aws: LocalAWS) -> None:
    """Pinned: what moto's own IAM enforcement evaluates (why calls are evaluated here).

    With enforcement on (``/moto-api/reset-auth`` 0), an identity policy that allows
    ``dynamodb:GetItem`` on the exact table ARN, as AWS accepts it, is refused by moto
    (it authorises every DynamoDB request against resource ``*``), while SQS's queue
    ARN is matched. If moto starts evaluating DynamoDB resources, this fails and
    docs/deploy.md's list of what the local deploy proves can be revised.
    """
    local_aws.reset()
    admin = local_aws.client("iam")
    sts = local_aws.client("sts")
    table_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/t"
    local_aws.client("dynamodb").create_table(
        TableName="t", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    queue = local_aws.client("sqs").create_queue(QueueName="q")["QueueUrl"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
    arn = admin.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table_arn},
        {"Effect": "Allow", "Action": "sqs:SendMessage",
         "Resource": "arn:aws:sqs:us-east-1:123456789012:q"}]}  # fmt: skip
    admin.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=json.dumps(policy))
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="session")["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], region_name=local_aws.region,
    )  # fmt: skip
    _reset_auth(local_aws.endpoint_url, "0")
    try:
        sqs = session.client("sqs", endpoint_url=local_aws.endpoint_url)
        sqs.send_message(QueueUrl=queue, MessageBody="allowed: the queue ARN matches")
        ddb = session.client("dynamodb", endpoint_url=local_aws.endpoint_url)
        with pytest.raises(ddb.exceptions.ClientError, match="AccessDenied"):
            ddb.get_item(TableName="t", Key={"id": {"S": "x"}})
        # The same statement is allowed by the local evaluation, as by AWS.
        call = Call("dynamodb:GetItem", table_arn, {"dynamodb:LeadingKeys": ("x",)})
        assert evaluate([policy], call).allowed
    finally:
        _reset_auth(local_aws.endpoint_url, "inf")
        local_aws.reset()


def _reset_auth(endpoint: str, count: str) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=count.encode(),
        method="POST",
        # Not a form: moto reads the raw body, which a form content type would consume.
        headers={"Content-Type": "text/plain"},
    )
    with opener.open(request, timeout=10) as response:
        response.read()
