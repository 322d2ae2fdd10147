"""infra/ checked by the Terraform CLI before anything is deployed: fmt, validate, plan.

* ``terraform fmt -check -recursive`` and ``terraform validate`` are clean;
* ``access_logging = false`` plans no log bucket and no logging;
* bad configs: every variable validation that mirrors a consumers.json rule gets one
  consumer of a bad consumers.json; one ``terraform plan`` of that file must fail with
  each validation's message, once per case, and the config loader must refuse each
  consumer too. Not planned: the alerts queue's FIFO check (its ARN is known only
  after apply, so Terraform checks it then; the config's queue-name rule refuses a
  non-FIFO name up front) and the validations of values derived by the root module
  (stream ARN, on-failure destination, key ARN), which no consumers.json can break.

The plans run against the session's moto server (the data sources read the account
and region). Skipped, with the install hint as the reason, where ``terraform`` or a
filesystem mirror of the hashicorp/aws provider is missing (``./dev test`` then warns).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streamkit.local.aws import LocalAWS
from streamkit.local.config import ConfigError, load_consumers, parse_consumers
from streamkit.local.terraform import (
    LocalDeployment,
    Terraform,
    TerraformError,
    copy_root,
    missing_reason,
)

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
CONSUMERS = load_consumers(INFRA / "consumers.json")
RAW = json.loads((INFRA / "consumers.json").read_text())

_MISSING = missing_reason()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("terraform-plan"),
    pytest.mark.skipif(_MISSING is not None, reason=_MISSING or ""),
]


# ------------------------------------------------------------------ no endpoint


def test_fmt_check_is_clean() -> None:
    # -chdir=infra: fmt reads the files only, it writes nothing with -check.
    Terraform(INFRA).fmt_check()


def test_validate_is_clean(tmp_path: Path, cli_config: Path) -> None:
    work = copy_root(INFRA, tmp_path / "infra")
    tf = Terraform(work, cli_config=cli_config)
    tf.init(backend=False)
    assert "Success! The configuration is valid." in tf.validate().stdout


def test_access_logging_off_plans_no_log_bucket_and_no_logging(
    local_aws: LocalAWS, package: Path, cli_config: Path, tmp_path: Path
) -> None:
    deploy = LocalDeployment(
        tmp_path / "infra",
        endpoint_url=local_aws.endpoint_url,
        region=local_aws.region,
        package_path=package,
        cli_config=cli_config,
        variables={"access_logging": False},
    ).prepare()
    assert deploy.plan(out="off.tfplan").has_changes
    planned = deploy.terraform.show_plan("off.tfplan")["resource_changes"]
    types = {r["type"] for r in planned}
    assert "aws_s3_bucket_logging" not in types
    assert not [r["address"] for r in planned if "access_logs" in r["address"]]
    # The switch removes only the logging: every other resource is still planned.
    assert {"aws_s3_bucket", "aws_lambda_function", "aws_lambda_event_source_mapping"} <= types


# ------------------------------------------------------------------ bad configs

_CLICK = RAW["consumers"]["clickstream"]


def _esm(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda c: c["event_source_mapping"].update(fields)


def _section(section: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda c: c[section].update(fields)


def _env(env: dict[str, str]) -> Callable[[dict[str, Any]], None]:
    return lambda c: c["function"].update(environment=env)


def _no_timestamp(c: dict[str, Any]) -> None:
    c["event_source_mapping"]["StartingPosition"] = "AT_TIMESTAMP"


def _handler(c: dict[str, Any]) -> None:
    c["handler"] = "not a handler"


# (case id, consumer name, change to a copy of clickstream, the validation's message)
BAD_CASES: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    ("env-key", "env-key", _env({"9LIVES": "x"}), "environment keys must be a letter"),
    (
        "env-lambda-reserved",
        "env-lambda",
        _env({"AWS_REGION": "x"}),
        "environment keys must not be reserved by Lambda",
    ),
    (
        "env-streamkit-reserved",
        "env-streamkit",
        _env({"STREAMKIT_LEDGER_TABLE": "x"}),
        "streamkit sets them from the consumer's name and resources",
    ),
    # 2100 characters but 4200 bytes: the limit is in bytes, as Lambda counts it.
    ("env-4kb", "env-size", _env({"BIG": "\u00e9" * 2100}), "within Lambda's 4 KB limit"),
    (
        "timeout",
        "timeout",
        _section("function", timeout_seconds=901),
        "timeout_seconds must be a whole number in 1..900",
    ),
    (
        "memory",
        "memory",
        _section("function", memory_mb=100),
        "memory_mb must be a whole number in 128..10240",
    ),
    ("handler", "handler", _handler, "handler must be a dotted module.attribute path"),
    ("consumer-name", "bad name!", lambda c: None, "name must be 1..64 characters"),
    ("batch-size", "batch", _esm(BatchSize=20000), "BatchSize must be a whole number in 1..10000"),
    (
        "batching-window",
        "window",
        _esm(MaximumBatchingWindowInSeconds=301),
        "MaximumBatchingWindowInSeconds must be a whole number in 0..300",
    ),
    (
        "starting-position",
        "position",
        _esm(StartingPosition="NOW"),
        "StartingPosition must be TRIM_HORIZON, LATEST or AT_TIMESTAMP",
    ),
    (
        "at-timestamp",
        "at-timestamp",
        _no_timestamp,
        "StartingPositionTimestamp (Unix seconds) is required with AT_TIMESTAMP",
    ),
    (
        "retries",
        "retries",
        _esm(MaximumRetryAttempts=10001),
        "MaximumRetryAttempts must be a whole number in -1..10000",
    ),
    (
        "record-age",
        "record-age",
        _esm(MaximumRecordAgeInSeconds=30),
        "MaximumRecordAgeInSeconds must be -1 or a whole number in 60..604800",
    ),
    (
        "response-types",
        "responses",
        _esm(FunctionResponseTypes=[]),
        'FunctionResponseTypes must be ["ReportBatchItemFailures"]',
    ),
    (
        "tumbling-window",
        "tumbling",
        _esm(TumblingWindowInSeconds=901),
        "TumblingWindowInSeconds must be a whole number in 0..900",
    ),
    (
        "parallelization",
        "parallel",
        _esm(ParallelizationFactor=2),
        "ParallelizationFactor must be 1",
    ),
    (
        "filter-pattern",
        "filter",
        _esm(FilterCriteria={"Filters": [{"Pattern": "[1]"}]}),
        "FilterCriteria.Filters must hold at most 10 filters",
    ),
    (
        "fifo-destination",
        "fifo-dest",
        _esm(DestinationConfig={"OnFailure": {"Destination": {"type": "sqs", "name": "q.fifo"}}}),
        "FIFO queues and topics are not supported destinations",
    ),
    (
        "metrics",
        "metrics",
        _esm(MetricsConfig={"Metrics": ["ErrorCount"]}),
        'MetricsConfig.Metrics must be [] or ["EventCount"]',
    ),
    ("kms-key", "kms", _esm(KMSKeyArn="not-an-arn"), "KMSKeyArn must be a KMS key ARN"),
    ("tags", "tags", _esm(Tags={"aws:owner": "x"}), "Tags must hold at most 50 tags"),
    (
        "stream-name",
        "stream-name",
        _section("stream", name="bad stream!"),
        "name must be 1..128 characters of A-Z a-z 0-9 _ . -.",
    ),
    (
        "shard-count",
        "shards",
        _section("stream", name="bad-shards", shard_count=1.5),
        "shard_count must be a whole number in 1..500",
    ),
    (
        "retention",
        "retention",
        _section("stream", name="bad-retention", retention_hours=23),
        "retention_hours must be a whole number in 24..8760",
    ),
    (
        "table-name",
        "table",
        lambda c: c["resources"].update(ledger_table="ab"),
        "name must be 3..255 characters of A-Z a-z 0-9 _ . -.",
    ),
    (
        "bucket-name",
        "bucket",
        lambda c: c["resources"].update(dead_letter_bucket="Bad_Bucket"),
        "name must be a valid S3 bucket name",
    ),
]


def _bad_config() -> dict[str, Any]:
    consumers = {}
    for _, name, change, _message in BAD_CASES:
        consumer = copy.deepcopy(_CLICK)
        change(consumer)
        consumers[name] = consumer
    return {"consumers": consumers}


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def bad_plan(
    local_aws: LocalAWS,
    package: Path,
    cli_config: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> TerraformError:
    """One plan of the bad consumers.json: its TerraformError."""
    source = copy_root(INFRA, tmp_path_factory.mktemp("bad-source") / "infra")
    (source / "consumers.json").write_text(json.dumps(_bad_config(), indent=2))
    deploy = LocalDeployment(
        tmp_path_factory.mktemp("bad") / "infra",
        endpoint_url=local_aws.endpoint_url,
        region=local_aws.region,
        package_path=package,
        infra=source,
        cli_config=cli_config,
    ).prepare()
    with pytest.raises(TerraformError) as caught:
        deploy.plan(out=None)
    return caught.value


def test_bad_config_is_refused_by_the_config_loader_too() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_consumers(_bad_config())
    refused = {e.split(".")[1].split(":")[0] for e in caught.value.errors}
    # "bad name!" is refused as a key; every other consumer at one of its fields.
    assert {name for _, name, _, _ in BAD_CASES} - refused <= {"bad name!"}
    assert any("bad name!" in e for e in caught.value.errors)


def test_bad_config_plan_fails_once_per_case(bad_plan: TerraformError) -> None:
    invalid = [m for m in bad_plan.messages if m.startswith("Error: Invalid value for variable")]
    assert len(invalid) == len(BAD_CASES), "\n\n".join(bad_plan.messages)


@pytest.mark.parametrize(
    ("name", "message"),
    [(name, msg) for _, name, _, msg in BAD_CASES],
    ids=[c[0] for c in BAD_CASES],
)
def test_bad_config_plan_fails_with_the_validation_message(
    bad_plan: TerraformError, name: str, message: str
) -> None:
    found = [m for m in bad_plan.messages if _squash(message) in _squash(m)]
    assert len(found) == 1, f"{name}: {message!r} in\n" + "\n\n".join(bad_plan.messages)
    assert found[0].startswith("Error: Invalid value for variable")


def test_shipped_config_plans_with_its_streamkit_handler_setting() -> None:
    # The first-deployment failure: the iot consumer's STREAMKIT_IOT_THRESHOLDS is a
    # handler setting, not one of streamkit's resource variables (test_deployed_* below
    # apply that very file).
    assert "STREAMKIT_IOT_THRESHOLDS" in CONSUMERS["iot"].function.environment
