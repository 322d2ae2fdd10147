"""Terraform for the local tooling: ``infra/`` planned, applied and destroyed locally.

Local tooling only (never on a Lambda's import path). One job per module:

* :mod:`~streamkit.local.terraform.setup`: find ``terraform`` and a filesystem
  mirror of the hashicorp/aws provider; write ``.streamkit/terraform.rc``, the CLI
  config that installs from that mirror only (nothing is downloaded).
* :mod:`~streamkit.local.terraform.override`: the ``*_override.tf`` that points the
  provider at one local endpoint (every service ``infra/`` uses, path-style S3, test
  credentials, no account or metadata lookups).
* :mod:`~streamkit.local.terraform.runner`: :class:`Terraform`, the CLI run
  non-interactively with captured (optionally streamed) output; a failure is a
  :class:`TerraformError` carrying Terraform's ``Error:`` messages.
* :mod:`~streamkit.local.terraform.readback`: :func:`deployed_esm`, a deployed event
  source mapping read back from the Lambda API as the config's ``EsmSettings``.
* :mod:`~streamkit.local.terraform.workspace`: :func:`copy_root` (a working copy, so
  no state lands in ``infra/``) and :class:`LocalDeployment`, the whole local deploy.

Example (the commands of ``docs/deploy.md``'s local deploy)::

    from streamkit.local.aws import LocalAWS
    from streamkit.local.packaging import build_package
    from streamkit.local.terraform import LocalDeployment

    zip_path = build_package(out="dist/lambda-arm64.zip").path
    with LocalAWS() as aws:
        deploy = LocalDeployment(
            ".streamkit/deploy", endpoint_url=aws.endpoint_url, region=aws.region,
            package_path=zip_path,
        ).prepare()
        deploy.apply()
        assert not deploy.plan().has_changes
        deploy.destroy()
"""

from __future__ import annotations

from streamkit.local.terraform.override import (
    OVERRIDE_FILE,
    SERVICES,
    render_provider_override,
    write_provider_override,
)
from streamkit.local.terraform.readback import deployed_esm, destination_ref
from streamkit.local.terraform.runner import (
    Terraform,
    TerraformError,
    TerraformResult,
    error_messages,
    var_args,
)
from streamkit.local.terraform.setup import (
    CLI_CONFIG_RELATIVE_PATH,
    INSTALL_HINT,
    find_provider_mirror,
    find_terraform,
    missing_reason,
    render_cli_config,
    write_cli_config,
)
from streamkit.local.terraform.workspace import (
    LOCAL_VARIABLES,
    PLAN_FILE,
    LocalDeployment,
    copy_root,
    default_infra_dir,
    ensure_cli_config,
)

__all__ = [
    "CLI_CONFIG_RELATIVE_PATH",
    "INSTALL_HINT",
    "LOCAL_VARIABLES",
    "OVERRIDE_FILE",
    "PLAN_FILE",
    "SERVICES",
    "LocalDeployment",
    "Terraform",
    "TerraformError",
    "TerraformResult",
    "copy_root",
    "default_infra_dir",
    "deployed_esm",
    "destination_ref",
    "ensure_cli_config",
    "error_messages",
    "find_provider_mirror",
    "find_terraform",
    "missing_reason",
    "render_cli_config",
    "render_provider_override",
    "var_args",
    "write_cli_config",
    "write_provider_override",
]
