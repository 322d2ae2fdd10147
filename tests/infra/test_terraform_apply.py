"""infra/ planned, applied and destroyed with the real Terraform CLI against moto.

One apply for the module (``deployed``): ``streamkit package`` builds the zip,
:class:`~streamkit.local.terraform.LocalDeployment` copies ``infra/`` to a temp dir
(nothing lands in ``infra/``), writes the provider override for the session's moto
server (the ``local_aws`` fixture) and runs ``init`` + ``plan`` + ``apply``. The tests
then read everything back through boto3 and compare it with ``infra/consumers.json``
as the config loader reads it (``streamkit.local.config``: defaults included) and
with what docs/deploy.md claims. The last test destroys and checks that nothing is
left. ``xdist_group`` keeps the module on one worker (``./dev test`` runs
``--dist loadgroup``), so the apply happens once. fmt, validate and the bad configs'
plans are in test_terraform_plan.py.

Skipped, with the install hint as the reason, where ``terraform`` or a filesystem
mirror of the hashicorp/aws provider is missing (``./dev test`` then warns).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import pytest

from streamkit.local.aws import LocalAWS
from streamkit.local.config import load_consumers
from streamkit.local.terraform import (
    LOCAL_VARIABLES,
    LocalDeployment,
    deployed_esm,
    missing_reason,
)

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
CONSUMERS = load_consumers(INFRA / "consumers.json")
PREFIX = "streamkit-"  # function_name_prefix's default

_MISSING = missing_reason()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("terraform"),
    pytest.mark.skipif(_MISSING is not None, reason=_MISSING or ""),
]


def snapshot(directory: Path) -> set[str]:
    """Every path under ``directory`` (Terraform adds files, it never edits sources)."""
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*")}


@dataclass
class Deployed:
    deploy: LocalDeployment
    aws: LocalAWS
    outputs: dict[str, Any]
    package: Path
    infra_before: set[str]

    def client(self, service: str) -> Any:
        return self.aws.client(service)


@pytest.fixture(scope="module")
def deployed(
    local_aws: LocalAWS, package: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    local_aws.reset()
    infra_before = snapshot(INFRA)
    deploy = LocalDeployment(
        tmp_path_factory.mktemp("deploy") / "infra",
        endpoint_url=local_aws.endpoint_url,
        region=local_aws.region,
        package_path=package,
    ).prepare()
    try:
        deploy.apply()
        yield Deployed(deploy, local_aws, deploy.outputs(), package, infra_before)
    finally:
        if deploy.terraform.state_list():
            deploy.destroy()
        local_aws.reset()


# --------------------------------------------------------------------- deployed


def test_deploy_ran_in_a_working_copy_not_in_infra(deployed: Deployed) -> None:
    assert deployed.deploy.workdir != INFRA.resolve()
    assert (deployed.deploy.workdir / "terraform.tfstate").is_file()
    assert (deployed.deploy.workdir / ".terraform.lock.hcl").is_file()  # init's, from the mirror
    # init, plan and apply wrote nothing into infra/ (no state, lock, plan, .terraform/).
    assert snapshot(INFRA) == deployed.infra_before


@pytest.mark.parametrize("name", sorted(CONSUMERS))
def test_deployed_event_source_mapping_equals_consumers_json(deployed: Deployed, name: str) -> None:
    lam = deployed.client("lambda")
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    (mapping,) = [m for m in mappings if m["FunctionArn"].endswith(f":function:{PREFIX}{name}")]
    assert mapping["UUID"] == deployed.outputs["event_source_mappings"][name]
    stream = CONSUMERS[name].stream.name
    assert mapping["EventSourceArn"] == deployed.outputs["streams"][stream]
    assert mapping["FunctionArn"].endswith(f":function:{PREFIX}{name}")
    # Every field, defaults included: the deployed mapping as the config's EsmSettings.
    assert deployed_esm(mapping) == CONSUMERS[name].event_source_mapping
    assert deployed_esm(mapping).to_api() == CONSUMERS[name].event_source_mapping.to_api()


@pytest.mark.parametrize("name", sorted(CONSUMERS))
def test_deployed_function_runs_the_package_with_the_handlers_environment(
    deployed: Deployed, name: str
) -> None:
    consumer = CONSUMERS[name]
    lam = deployed.client("lambda")
    fn = lam.get_function(FunctionName=f"{PREFIX}{name}")
    conf = fn["Configuration"]
    queue_url = None
    if consumer.resources and consumer.resources.alerts_queue:
        sqs = deployed.client("sqs")
        queue_url = sqs.get_queue_url(QueueName=consumer.resources.alerts_queue)["QueueUrl"]
    assert consumer.resources is not None
    expected_env = {
        "POWERTOOLS_SERVICE_NAME": name,
        "POWERTOOLS_METRICS_NAMESPACE": "streamkit",
        **consumer.function.environment,
        **consumer.resources.environment(name, queue_url),
    }
    assert conf["Environment"]["Variables"] == expected_env
    assert deployed.outputs["environments"][name] == expected_env
    assert conf["Handler"] == consumer.handler
    assert (conf["Runtime"], conf["Architectures"]) == ("python3.13", ["arm64"])
    assert (conf["Timeout"], conf["MemorySize"]) == (
        consumer.function.timeout_seconds,
        consumer.function.memory_mb,
    )
    # What you test is what you deploy: the code is the zip of `streamkit package`.
    digest = base64.b64encode(hashlib.sha256(deployed.package.read_bytes()).digest()).decode()
    assert conf["CodeSha256"] == digest
    assert conf["TracingConfig"]["Mode"] == "Active"
    assert conf["KMSKeyArn"] == deployed.outputs["kms_key_arn"]
    assert conf["Role"].endswith(f":role/{PREFIX}{name}")
    concurrency = lam.get_function_concurrency(FunctionName=f"{PREFIX}{name}")
    assert concurrency["ReservedConcurrentExecutions"] == consumer.stream.shard_count * 2


def _ledger_ttl_attribute() -> str | None:
    """ttl_attribute of module "ledger_table" in infra/main.tf (None: no TTL)."""
    with (INFRA / "main.tf").open() as f:
        doc = hcl2.load(f)
    for module in doc["module"]:  # python-hcl2 keeps the quotes of labels and strings
        body = module.get('"ledger_table"')
        if body is not None:
            ttl = body.get("ttl_attribute")
            return None if ttl is None else str(ttl).strip('"')
    raise AssertionError("no module ledger_table in infra/main.tf")


def test_tables_are_on_demand_encrypted_recoverable(deployed: Deployed) -> None:
    ddb = deployed.client("dynamodb")
    key_arn = deployed.outputs["kms_key_arn"]
    tables: dict[str, tuple[list[tuple[str, str]], str | None]] = {}
    for c in CONSUMERS.values():
        assert c.resources is not None
        tables[c.resources.ledger_table] = ([("id", "HASH")], _ledger_ttl_attribute())
        if c.resources.aggregate_table:
            tables[c.resources.aggregate_table] = ([("pk", "HASH"), ("sk", "RANGE")], "ttl")
    assert sorted(ddb.list_tables()["TableNames"]) == sorted(tables)
    for name, (keys, ttl) in tables.items():
        table = ddb.describe_table(TableName=name)["Table"]
        assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == keys
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["SSEType"] == "KMS"
        assert table["SSEDescription"]["KMSMasterKeyArn"] == key_arn
        # deletion_protection is on by default; the local deploy turns it off to destroy.
        assert table["DeletionProtectionEnabled"] is LOCAL_VARIABLES["deletion_protection"]
        backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        pitr = backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
        assert pitr == "ENABLED"
        described = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl is None:
            assert described["TimeToLiveStatus"] == "DISABLED"
        else:
            assert (described["TimeToLiveStatus"], described["AttributeName"]) == ("ENABLED", ttl)


def _buckets() -> dict[str, str]:
    """Bucket name -> archive | dead_letter | on_failure."""
    out: dict[str, str] = {}
    for c in CONSUMERS.values():
        assert c.resources is not None
        out[c.resources.dead_letter_bucket] = "dead_letter"
        if c.resources.archive_bucket:
            out[c.resources.archive_bucket] = "archive"
        dest = c.event_source_mapping.on_failure
        if dest is not None and dest.type == "s3":
            out[dest.name] = "on_failure"
    return out


def _access_log_bucket(deployed: Deployed) -> str:
    return f"streamkit-access-logs-{deployed.aws.account_id}-{deployed.aws.region}"


def test_buckets_are_private_encrypted_versioned_expiring_and_logged(deployed: Deployed) -> None:
    s3 = deployed.client("s3")
    key_arn = deployed.outputs["kms_key_arn"]
    buckets = _buckets()
    access_logs = _access_log_bucket(deployed)
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == {*buckets, access_logs}
    for name, kind in buckets.items():
        rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][
            0
        ]
        assert rule["ApplyServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": key_arn,
        }
        assert rule["BucketKeyEnabled"] is True
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        assert block == dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
            True,
        )
        ownership = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]
        assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
        # The TLS-only policy, unless the local variables turn it off (a moto difference
        # another deploy mode may need; docs/deploy.md).
        if LOCAL_VARIABLES.get("tls_only_bucket_policy", True):
            policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
            sids = {s["Sid"]: s for s in policy["Statement"]}
            assert sids["DenyInsecureTransport"]["Effect"] == "Deny"
            tls = sids["DenyOutdatedTls"]["Condition"]
            assert tls == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
        (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
        assert lifecycle["Status"] == "Enabled"
        assert lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
        assert lifecycle["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7
        if kind == "archive":  # kept, moved to STANDARD_IA after 30 days
            assert "Expiration" not in lifecycle
            assert lifecycle["Transitions"] == [{"Days": 30, "StorageClass": "STANDARD_IA"}]
        else:  # dead letters and on-failure records expire after 90 days
            assert lifecycle["Expiration"] == {"Days": 90}
            assert "Transitions" not in lifecycle
        logging = s3.get_bucket_logging(Bucket=name)["LoggingEnabled"]
        assert (logging["TargetBucket"], logging["TargetPrefix"]) == (access_logs, f"{name}/")


def test_access_log_bucket_takes_deliveries_by_policy_under_sse_s3(deployed: Deployed) -> None:
    s3 = deployed.client("s3")
    name = _access_log_bucket(deployed)
    rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    delivery = next(s for s in policy["Statement"] if s["Sid"] == "S3ServerAccessLogsDelivery")
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert lifecycle["Expiration"] == {"Days": 365}


def test_queues_and_key(deployed: Deployed) -> None:
    sqs, kms = deployed.client("sqs"), deployed.client("kms")
    key_arn = deployed.outputs["kms_key_arn"]
    key_id = key_arn.rsplit("/", 1)[1]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases["alias/streamkit"] == key_id
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert {s["Sid"] for s in policy["Statement"]} == {
        "AccountAdministersKey",
        "CloudWatchLogsUsesKey",
    }

    expected: dict[str, dict[str, str]] = {}
    for c in CONSUMERS.values():
        dest = c.event_source_mapping.on_failure
        if dest is not None and dest.type == "sqs":
            expected[dest.name] = {"MessageRetentionPeriod": "1209600"}
        if c.resources and c.resources.alerts_queue:
            expected[c.resources.alerts_queue] = {
                "MessageRetentionPeriod": "345600",
                "FifoQueue": "true",
                "ContentBasedDeduplication": "false",
            }
    urls = sqs.list_queues().get("QueueUrls", [])
    assert sorted(u.rsplit("/", 1)[1] for u in urls) == sorted(expected)
    for name, attrs in expected.items():
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert got["KmsMasterKeyId"] == key_arn
        assert {k: got.get(k) for k in attrs} == attrs


def test_streams(deployed: Deployed) -> None:
    kinesis = deployed.client("kinesis")
    key_arn = deployed.outputs["kms_key_arn"]
    streams = {c.stream.name: c.stream for c in CONSUMERS.values()}
    assert sorted(kinesis.list_streams()["StreamNames"]) == sorted(streams)
    for name, settings in streams.items():
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        assert summary["OpenShardCount"] == settings.shard_count
        assert summary["RetentionPeriodHours"] == settings.retention_hours
        assert summary["StreamModeDetails"]["StreamMode"] == "PROVISIONED"
        assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", key_arn)
        metrics = set(summary["EnhancedMonitoring"][0]["ShardLevelMetrics"])
        assert metrics == {
            "IncomingBytes",
            "IncomingRecords",
            "IteratorAgeMilliseconds",
            "ReadProvisionedThroughputExceeded",
            "WriteProvisionedThroughputExceeded",
        }


@pytest.mark.parametrize("name", sorted(CONSUMERS))
def test_alarms_and_log_group(deployed: Deployed, name: str) -> None:
    cloudwatch, logs = deployed.client("cloudwatch"), deployed.client("logs")
    fn = f"{PREFIX}{name}"
    alarms = {
        a["AlarmName"]: a
        for a in cloudwatch.describe_alarms(AlarmNamePrefix=f"{fn}-")["MetricAlarms"]
    }
    summary = {
        n.removeprefix(f"{fn}-"): (
            a["Namespace"],
            a["MetricName"],
            a["Statistic"],
            a["Period"],
            a["Threshold"],
            {d["Name"]: d["Value"] for d in a["Dimensions"]},
        )
        for n, a in alarms.items()
    }
    assert summary == {
        "iterator-age": ("AWS/Lambda", "IteratorAge", "Maximum", 60, 60000.0, {"FunctionName": fn}),
        "errors": ("AWS/Lambda", "Errors", "Sum", 300, 0.0, {"FunctionName": fn}),
        "throttles": ("AWS/Lambda", "Throttles", "Sum", 300, 0.0, {"FunctionName": fn}),
        "dead-letters": (
            "streamkit",
            "RecordsDeadLettered",
            "Sum",
            300,
            0.0,
            {"Stream": CONSUMERS[name].stream.name, "service": name},
        ),
    }
    age = alarms[f"{fn}-iterator-age"]
    assert (age["EvaluationPeriods"], age["DatapointsToAlarm"]) == (5, 3)
    groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{fn}")["logGroups"]
    (group,) = groups
    assert group["logGroupName"] == f"/aws/lambda/{fn}"
    assert group["retentionInDays"] == 365
    assert group["kmsKeyId"] == deployed.outputs["kms_key_arn"]


def test_second_plan_has_no_changes(deployed: Deployed) -> None:
    result = deployed.deploy.plan(out=None)
    assert not result.has_changes, result.stdout[-6000:]
    assert "No changes." in result.stdout


# Runs last in the module (file order): the deployment is gone afterwards.
def test_destroy_leaves_nothing(deployed: Deployed) -> None:
    deployed.deploy.destroy()
    assert deployed.deploy.terraform.state_list() == []
    c = deployed.client
    assert c("lambda").list_functions()["Functions"] == []
    assert c("lambda").list_event_source_mappings()["EventSourceMappings"] == []
    assert c("dynamodb").list_tables()["TableNames"] == []
    assert c("kinesis").list_streams()["StreamNames"] == []
    assert c("s3").list_buckets()["Buckets"] == []
    assert c("sqs").list_queues().get("QueueUrls", []) == []
    assert c("sns").list_topics()["Topics"] == []
    assert c("iam").list_roles()["Roles"] == []
    assert c("logs").describe_log_groups()["logGroups"] == []
    assert c("cloudwatch").describe_alarms()["MetricAlarms"] == []
    # A KMS key is never deleted at once: it waits kms_deletion_window_days (spec of KMS).
    key_id = deployed.outputs["kms_key_arn"].rsplit("/", 1)[1]
    meta = c("kms").describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    assert "alias/streamkit" not in {a["AliasName"] for a in c("kms").list_aliases()["Aliases"]}
