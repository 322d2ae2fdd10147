"""streamkit.local.terraform without Terraform: CLI config, override, runner, read-back.

The Terraform CLI itself is exercised by tests/infra/test_terraform_apply.py; these
tests need no binary and no provider, so they run everywhere.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from streamkit.local.config import DestinationRef, load_consumers
from streamkit.local.terraform import (
    SERVICES,
    Terraform,
    TerraformError,
    copy_root,
    deployed_esm,
    destination_ref,
    error_messages,
    find_provider_mirror,
    missing_reason,
    render_cli_config,
    render_provider_override,
    var_args,
    write_cli_config,
)
from streamkit.local.terraform.setup import platform_name

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
CONSUMERS = load_consumers(INFRA / "consumers.json")


# ----------------------------------------------------------------- the mirror


def _unpacked(tmp_path: Path, version: str = "5.100.0") -> Path:
    d = tmp_path / "registry.terraform.io/hashicorp/aws" / version / platform_name()
    d.mkdir(parents=True)
    (d / f"terraform-provider-aws_v{version}_x5").write_bytes(b"")
    return tmp_path


def test_an_unpacked_or_packed_mirror_is_found_and_an_empty_one_is_not(tmp_path: Path) -> None:
    unpacked = _unpacked(tmp_path / "a")
    packed = tmp_path / "b" / "registry.terraform.io/hashicorp/aws"
    packed.mkdir(parents=True)
    (packed / f"terraform-provider-aws_5.100.0_{platform_name()}.zip").write_bytes(b"")
    other_platform = tmp_path / "c" / "registry.terraform.io/hashicorp/aws/5.100.0/plan9_mips"
    other_platform.mkdir(parents=True)
    (other_platform / "terraform-provider-aws_v5.100.0_x5").write_bytes(b"")
    assert find_provider_mirror((unpacked,)) == unpacked.resolve()
    assert find_provider_mirror((packed.parents[2],)) == packed.parents[2].resolve()
    assert find_provider_mirror((tmp_path / "c", tmp_path / "missing")) is None


def test_tf_plugin_mirror_is_the_only_candidate_when_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_PLUGIN_MIRROR", str(tmp_path / "nowhere"))
    assert find_provider_mirror() is None
    reason = missing_reason()
    if reason is not None:  # terraform itself may be missing here
        assert "install Terraform" in reason
    monkeypatch.setenv("TF_PLUGIN_MIRROR", str(_unpacked(tmp_path / "m")))
    assert find_provider_mirror() == (tmp_path / "m").resolve()


def test_a_mirror_one_level_below_home_is_a_candidate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamkit.local.terraform import setup

    mirror = _unpacked(tmp_path / "plugins")
    monkeypatch.setattr(setup.Path, "home", classmethod(lambda cls: tmp_path))
    mine = tuple(m for m in setup._nearby_mirrors() if tmp_path in m.parents)
    assert mine == (mirror,)
    assert find_provider_mirror(mine) == mirror.resolve()


def test_missing_terraform_is_the_reason_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STREAMKIT_TERRAFORM", "/nonexistent/terraform")
    reason = missing_reason()
    assert reason is not None and reason.startswith("terraform is not installed")
    assert "providers mirror" in reason and "./dev setup" in reason


def test_cli_config_takes_hashicorp_providers_from_the_mirror_only(tmp_path: Path) -> None:
    text = render_cli_config(Path('/opt/my "mirror"'))
    assert 'path    = "/opt/my \\"mirror\\""' in text
    mirror_block = text[text.index("filesystem_mirror") : text.index("direct")]
    assert 'include = ["registry.terraform.io/hashicorp/*"]' in mirror_block
    assert 'exclude = ["registry.terraform.io/hashicorp/*"]' in text[text.index("direct") :]
    path = write_cli_config(tmp_path / ".streamkit" / "terraform.rc", Path("/opt/tf-plugins"))
    before = path.stat().st_mtime_ns
    assert write_cli_config(path, Path("/opt/tf-plugins")) == path
    assert path.stat().st_mtime_ns == before  # unchanged content is not rewritten


# ------------------------------------------------------------------ override


def test_override_points_every_service_at_the_endpoint() -> None:
    text = render_provider_override("http://127.0.0.1:5000")
    endpoints = dict(re.findall(r"^    ([a-z0-9]+) += \"([^\"]+)\"$", text, re.M))
    assert endpoints == dict.fromkeys(SERVICES, "http://127.0.0.1:5000")
    for setting in (
        "s3_use_path_style           = true",
        "skip_credentials_validation = true",
        "skip_requesting_account_id  = true",
        "skip_metadata_api_check     = true",
        'access_key                  = "testing"',
    ):
        assert setting in text
    with pytest.raises(ValueError, match="endpoint_url must be an http"):
        render_provider_override("127.0.0.1:5000")


def test_working_copy_leaves_out_state_overrides_and_dot_files(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(INFRA, src)
    for junk in ("terraform.tfstate", "x.tfplan", "my_override.tf", ".terraform.lock.hcl"):
        (src / junk).write_text("junk")
    (src / ".terraform").mkdir()
    work = copy_root(src, tmp_path / "work")
    names = {p.relative_to(work).as_posix() for p in work.rglob("*")}
    expected = {p.relative_to(INFRA).as_posix() for p in INFRA.rglob("*")}
    expected = {n for n in expected if not n.startswith(".terraform")}
    assert names == expected


def test_override_names_every_service_infra_uses() -> None:
    # A service without an endpoint would go to the real AWS with the test credentials.
    service_of = {
        "aws_cloudwatch_log_group": "logs",
        "aws_cloudwatch_metric_alarm": "cloudwatch",
        "aws_caller_identity": "sts",
        "aws_dynamodb_": "dynamodb",
        "aws_iam_role": "iam",
        "aws_kinesis_": "kinesis",
        "aws_kms_": "kms",
        "aws_lambda_": "lambda",
        "aws_s3_": "s3",
        "aws_sns_": "sns",
        "aws_sqs_": "sqs",
    }
    local_only = {"aws_iam_policy_document", "aws_partition", "aws_region"}
    types = set()
    for path in INFRA.rglob("*.tf"):
        types |= set(re.findall(r'^(?:resource|data) "(aws_[a-z0-9_]+)"', path.read_text(), re.M))
    needed = set()
    for kind in types - local_only:
        matches = [s for prefix, s in service_of.items() if kind.startswith(prefix)]
        assert matches, f"{kind}: which endpoint does it use? (add it to SERVICES)"
        needed.add(matches[0])
    assert needed == set(SERVICES)


# -------------------------------------------------------------------- runner


def test_var_args_pass_non_strings_as_literals() -> None:
    assert var_args({"region": "eu-west-1", "on": True, "n": 7, "tags": {}}) == [
        "-var",
        "region=eu-west-1",
        "-var",
        "on=true",
        "-var",
        "n=7",
        "-var",
        "tags={}",
    ]


PLAN_OUTPUT = """\
data.aws_region.current: Reading...

Error: Invalid value for variable

  on main.tf line 150, in module "consumer":
 150:   event_source_mapping = each.value.event_source_mapping
    ├────────────────
    │ var.event_source_mapping.BatchSize is 20000

BatchSize must be a whole number in 1..10000 (spec 0.1).

This was checked by the validation rule at
modules/kinesis-consumer/variables.tf:208,3-13.

Warning: Deprecated attribute

  something old

Error: Invalid count argument

  on modules/s3-bucket/main.tf line 88:
"""


def test_error_messages_are_the_error_blocks_only() -> None:
    messages = error_messages(PLAN_OUTPUT)
    assert [m.splitlines()[0] for m in messages] == [
        "Error: Invalid value for variable",
        "Error: Invalid count argument",
    ]
    assert "BatchSize must be a whole number in 1..10000" in messages[0]
    assert "Deprecated" not in "".join(messages)


def _fake_terraform(tmp_path: Path, script: str) -> str:
    exe = tmp_path / "terraform"
    exe.write_text(f"#!{sys.executable}\nimport os, sys\n{script}\n")
    exe.chmod(0o755)
    return str(exe)


def test_a_failing_command_raises_with_terraforms_message(tmp_path: Path) -> None:
    fake = _fake_terraform(
        tmp_path,
        "sys.stdout.write(sys.stdin.read() if not sys.stdin.isatty() else '')\n"
        f"sys.stderr.write({PLAN_OUTPUT!r})\nsys.exit(1)",
    )
    tf = Terraform(tmp_path, binary=fake)
    with pytest.raises(TerraformError) as caught:
        tf.plan(variables={"region": "us-east-1"})
    error = caught.value
    assert str(error).startswith("terraform plan failed (exit 1):")
    assert "BatchSize must be a whole number in 1..10000" in str(error)
    assert error.result.returncode == 1 and len(error.messages) == 2


def test_commands_run_non_interactively_without_checkpoint(tmp_path: Path) -> None:
    lines: list[str] = []
    fake = _fake_terraform(
        tmp_path,
        "print(' '.join(sys.argv[1:]))\n"
        "print(os.environ['TF_IN_AUTOMATION'], os.environ['CHECKPOINT_DISABLE'])\n"
        "print(os.environ['TF_CLI_CONFIG_FILE'])\n"
        "sys.exit(2)",  # plan -detailed-exitcode: changes
    )
    rc = tmp_path / "terraform.rc"
    tf = Terraform(tmp_path, binary=fake, cli_config=rc, on_line=lines.append)
    result = tf.plan(variables={"region": "us-east-1"}, out="p.tfplan")
    assert result.has_changes
    args, flags, config = lines
    assert args.startswith(f"-chdir={tmp_path} plan -input=false -no-color -detailed-exitcode")
    assert "-out=p.tfplan -var region=us-east-1" in args
    assert flags == "1 1" and config == str(rc.resolve())
    with pytest.raises(ValueError, match="saved plan"):
        tf.apply("p.tfplan", variables={"region": "x"})


def test_terraform_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMKIT_TERRAFORM", "/nonexistent/terraform")
    with pytest.raises(Exception, match="terraform is not installed: install Terraform"):
        Terraform(".")


# ------------------------------------------------------------------ read-back


def test_destination_arns_become_logical_references() -> None:
    assert destination_ref("arn:aws:sqs:us-east-1:123456789012:q") == DestinationRef("sqs", "q")
    assert destination_ref("arn:aws:sns:eu-west-1:123456789012:t") == DestinationRef("sns", "t")
    assert destination_ref("arn:aws:s3:::my-bucket") == DestinationRef("s3", "my-bucket")
    for bad in ("q", "arn:aws:lambda:us-east-1:123456789012:function:f", "arn:aws:s3:::b/key"):
        with pytest.raises(ValueError):
            destination_ref(bad)


def _response(**fields: object) -> dict[str, object]:
    # What moto returns for clickstream's mapping (it leaves out TumblingWindowInSeconds).
    mapping: dict[str, object] = {
        "UUID": "u",
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 10000,
        "MaximumBatchingWindowInSeconds": 60,
        "ParallelizationFactor": 1,
        "EventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/clickstream",
        "MetricsConfig": {"Metrics": ["EventCount"]},
        "State": "Enabled",
        "DestinationConfig": {
            "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:clickstream-failures"}
        },
        "MaximumRecordAgeInSeconds": 3600,
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": 5,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    mapping.update(fields)
    return mapping


def test_deployed_mapping_reads_back_as_the_config() -> None:
    assert deployed_esm(_response()) == CONSUMERS["clickstream"].event_source_mapping


@pytest.mark.parametrize(
    ("fields", "differs"),
    [
        ({"BatchSize": 100}, "batch_size"),  # Terraform dropped BatchSize (AWS default 100)
        ({"State": "Disabled"}, "enabled"),
        ({"TumblingWindowInSeconds": 60}, "tumbling_window_in_seconds"),
        ({"DestinationConfig": {"OnFailure": {}}}, "on_failure"),
        ({"Tags": {"team": "data"}}, "tags"),
    ],
)
def test_a_dropped_or_changed_setting_shows_as_a_difference(
    fields: dict[str, object], differs: str
) -> None:
    expected = CONSUMERS["clickstream"].event_source_mapping
    got = deployed_esm(_response(**fields))
    assert got != expected
    assert getattr(got, differs) != getattr(expected, differs)


def test_states_other_than_disabled_count_as_enabled() -> None:
    for state in ("Creating", "Enabling", "Updating", "Enabled"):
        assert deployed_esm(_response(State=state)).enabled
    assert not deployed_esm(_response(State="Disabling")).enabled
