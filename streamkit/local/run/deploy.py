"""The Terraform phase of ``streamkit run --terraform``: package, deploy, read back.

:func:`deploy_consumers` builds the Lambda zip with the project's packaging
(``streamkit package``), deploys ``infra/`` with Terraform to the (embedded) endpoint
from a working copy (:class:`~streamkit.local.terraform.LocalDeployment`: init,
plan, apply, one progress line each). :meth:`TerraformRun.start_roles` reads every
consumer back as deployed (:func:`~streamkit.local.run.deployed.read_deployed`) and
puts each function behind a proxy that holds it to its execution role
(:mod:`~streamkit.local.iam`); :meth:`TerraformRun.teardown` destroys the deployment
again, unless the run keeps it (``--keep-deployed``).

Example::

    with LocalAWS() as aws:
        tf = deploy_consumers(consumers, aws.endpoint_url, aws.region,
                              status=StatusLine(sys.stderr))
        tf.start_roles(aws.endpoint_url, aws.region, aws_clients())
        tf.consumers["iot"].code.task_root     # the unpacked deployed zip
        tf.close()
        tf.teardown()
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from streamkit.local.aws import aws_clients
from streamkit.local.config import ConsumerConfig
from streamkit.local.console import StatusLine
from streamkit.local.iam.policy import Evaluation
from streamkit.local.iam.proxy import RoleProxy
from streamkit.local.iam.roles import assume_role
from streamkit.local.packaging import build_package
from streamkit.local.run.deployed import DeployedConsumer, read_deployed
from streamkit.local.terraform import PLAN_FILE, LocalDeployment

__all__ = ["TerraformRun", "deploy_consumers"]

#: Root variables of the run's deploy, over the local deploy's: moto applies a bucket
#: policy's Deny without its conditions, so the TLS-only bucket policy (plain HTTP is
#: all the local endpoint speaks) would refuse every object the handlers write.
LOCAL_RUN_VARIABLES: Final[Mapping[str, Any]] = {"tls_only_bucket_policy": False}

#: Terraform's line for one finished resource change (apply and destroy).
_COMPLETE = re.compile(r"^(\S+): (Creation|Modifications|Destruction) complete")


@dataclass
class _Progress:
    """Terraform's output lines turned into the run's progress line."""

    status: StatusLine
    phase: str = "init"
    done: int = 0
    lines: list[str] = field(default_factory=list)

    def start(self, phase: str) -> None:
        self.phase, self.done = phase, 0
        self.status.update(f"terraform {phase} ...")

    def line(self, text: str) -> None:
        self.lines.append(text)
        match = _COMPLETE.match(text)
        if match:
            self.done += 1
            self.status.update(f"terraform {self.phase}: {self.done} done, last {match.group(1)}")
        elif text.startswith("Plan: "):
            self.status.update(f"terraform {self.phase}: {text}")


@dataclass
class TerraformRun:
    """``infra/`` deployed for one run, and the consumers as deployed."""

    deployment: LocalDeployment
    #: consumers.json's consumers and consumer -> deployed function name.
    configs: Mapping[str, ConsumerConfig]
    functions: dict[str, str]
    package_path: Path
    workdir: Path
    progress: _Progress
    #: The consumers as deployed, read back by :meth:`start_roles`.
    consumers: dict[str, DeployedConsumer] = field(default_factory=dict)
    #: Consumer -> every call its function made in the last run, as evaluated.
    calls: dict[str, list[Evaluation]] = field(default_factory=dict)
    #: The temporary directory ``workdir`` is in, when the deploy made one.
    scratch: tempfile.TemporaryDirectory[str] | None = None
    #: Consumer -> the proxy that holds its function to its role's policies.
    proxies: dict[str, RoleProxy] = field(default_factory=dict)

    def start_roles(self, endpoint_url: str, region: str, clients: Any) -> None:
        """Read the deployed consumers back (code, environment, mapping), assume each
        function's execution role (its policies read from IAM now) and start the proxy
        that holds the function to them."""
        self.close()
        self.consumers = read_deployed(
            clients,
            self.configs,
            functions=self.functions,
            workdir=self.workdir / "code",
            package_path=self.package_path,
        )
        keys = _PartitionKeys(clients("dynamodb"))
        for name, d in self.consumers.items():
            role = assume_role(clients, d.role_arn, d.function_name)
            account = d.role_arn.split(":")[4]
            self.proxies[name] = RoleProxy(
                endpoint_url, role, region=region, account=account, partition_key=keys
            ).start()
        self.progress.status.say(
            "each function runs with its role's credentials, every AWS call checked "
            "against the role's policies: "
            + ", ".join(f"{d.function_name} ({d.role_arn})" for d in self.consumers.values())
        )

    def run_fields(self) -> dict[str, dict[str, Any]]:
        """Per consumer, the ``ConsumerRun`` fields of its deployed function."""
        return {
            name: {
                "consumer": d.consumer,
                "env": {
                    **d.environment,
                    **self.proxies[name].role.environment(),
                    "AWS_ENDPOINT_URL": self.proxies[name].url,
                },
                "function_name": d.function_name,
                "task_root": str(d.code.task_root),
                "event_source_arn": d.event_source_arn,
                # Lambda's poller reads the stream with the execution role too.
                "reader_kinesis": aws_clients(
                    endpoint_url=self.proxies[name].url,
                    region=self.proxies[name].region,
                    access_key_id=self.proxies[name].role.access_key_id,
                    secret_access_key=self.proxies[name].role.secret_access_key,
                    session_token=self.proxies[name].role.session_token,
                    numeric_timestamps=True,
                )("kinesis"),
            }
            for name, d in self.consumers.items()
        }

    def summary(self) -> dict[str, Any]:
        """The ``terraform`` object of the run summary: what ran, with which role."""
        out: dict[str, Any] = {"package": str(self.package_path), "functions": {}}
        for name, d in self.consumers.items():
            proxy = self.proxies[name]
            denied = proxy.denied  # the summary is built before the proxies stop
            out["functions"][name] = {
                "function": d.function_name,
                "code_sha256": d.code.sha256,
                "code_from": d.code.source,
                "local_builds_of": list(d.code.foreign),
                "role": d.role_arn,
                "aws_calls": len(proxy.evaluations),
                "access_denied": len(denied),
                "denied": sorted({f"{e.call.action} on {e.call.resource}" for e in denied})[:5],
            }
        return out

    def close(self) -> None:
        """Stop the role proxies."""
        for name, proxy in self.proxies.items():
            proxy.stop()
            self.calls[name] = list(proxy.evaluations)
        self.proxies.clear()

    def teardown(self) -> None:
        """``terraform destroy`` (progress on the status line); a temporary working
        copy is removed."""
        self.progress.start("destroy")
        try:
            self.deployment.destroy()
            self.progress.status.say(f"terraform destroy: {self.progress.done} resources destroyed")
        finally:
            if self.scratch is not None:
                self.scratch.cleanup()


def deploy_consumers(
    consumers: Mapping[str, ConsumerConfig],
    endpoint_url: str,
    region: str,
    *,
    status: StatusLine,
    workdir: Path | None = None,
    variables: Mapping[str, Any] | None = None,
    arch: str = "arm64",
    python: str = "3.13",
) -> TerraformRun:
    """Package, ``terraform init/plan/apply`` into ``workdir``, read the consumers back.

    ``workdir``: where the package, the working copy (state) and the unpacked code go
    (None: a temporary directory, removed by :meth:`TerraformRun.teardown`).
    ``variables``: extra root variables (over the local deploy's). Raises
    :class:`~streamkit.local.terraform.TerraformError`,
    :class:`~streamkit.local.packaging.PackagingError` or ``StreamkitError`` (no
    Terraform, no provider mirror: the message has the install hint).
    """
    scratch = None
    if workdir is None:
        scratch = tempfile.TemporaryDirectory(prefix="streamkit-run-terraform-")
        workdir = Path(scratch.name)
    try:
        status.update("packaging the Lambda zip (streamkit package) ...")
        package = build_package(arch=arch, python=python, out=workdir / "lambda.zip")
        status.say(
            f"package {package.path.name}: {package.files} files, sha256 {package.sha256[:12]}"
        )
        progress = _Progress(status)
        deployment = LocalDeployment(
            workdir / "terraform",
            endpoint_url=endpoint_url,
            region=region,
            package_path=package.path,
            variables={
                "architecture": arch,
                "runtime": f"python{python}",
                **LOCAL_RUN_VARIABLES,
                **(variables or {}),
            },
            on_line=progress.line,
        )
        progress.start("init")
        deployment.prepare()
        status.say("terraform init: done (provider from the local mirror)")
        progress.start("plan")
        plan = deployment.plan(out=PLAN_FILE)
        planned = next((line for line in reversed(progress.lines) if line.startswith("Plan: ")), "")
        status.say(
            f"terraform plan: {planned or ('changes' if plan.has_changes else 'no changes')}"
        )
        progress.start("apply")
        deployment.terraform.apply(PLAN_FILE)
        status.say(f"terraform apply: {progress.done} resources created or changed")
        functions = deployment.outputs()["functions"]
        return TerraformRun(
            deployment,
            consumers,
            {name: functions[name] for name in consumers if name in functions},
            package.path,
            workdir,
            progress,
            scratch=scratch,
        )
    except BaseException:
        if scratch is not None:  # nothing to destroy later: a failed deploy's copy goes
            scratch.cleanup()
        raise


class _PartitionKeys:
    """Table name -> its partition key attribute (DescribeTable, once per table)."""

    def __init__(self, dynamodb: Any) -> None:
        self.dynamodb = dynamodb
        self.known: dict[str, str | None] = {}

    def __call__(self, table: str) -> str | None:
        if table not in self.known:
            try:
                schema = self.dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
            except self.dynamodb.exceptions.ResourceNotFoundException:
                self.known[table] = None
            else:
                self.known[table] = next(
                    (k["AttributeName"] for k in schema if k["KeyType"] == "HASH"), None
                )
        return self.known[table]
