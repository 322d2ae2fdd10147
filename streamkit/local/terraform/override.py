"""The provider override of a local deploy: every AWS service on one local endpoint.

Terraform merges a file named ``*_override.tf`` into the root module's ``provider
"aws"`` block, so ``infra/`` itself stays the Terraform of a real account: the local
deploy only adds what an emulator needs (endpoints, path-style S3, test credentials,
no account lookups). The file is written into the working copy
(:mod:`~streamkit.local.terraform.workspace`), never into ``infra/``.

Example::

    from streamkit.local.terraform.override import write_provider_override

    write_provider_override(workdir, endpoint_url="http://127.0.0.1:5000")
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Final

from streamkit.local.aws.clients import TEST_CREDENTIALS

__all__ = ["OVERRIDE_FILE", "SERVICES", "render_provider_override", "write_provider_override"]

#: The file name: Terraform merges ``*_override.tf`` over the root's provider block.
OVERRIDE_FILE: Final = "streamkit_local_override.tf"

#: Every service ``infra/`` creates resources in or reads from (``endpoints`` keys of
#: the hashicorp/aws provider). sts: ``data "aws_caller_identity"``; cloudwatch: the
#: alarms; logs: the log groups. A service missing here would reach the real AWS
#: endpoint (and fail on the test credentials), so the list is checked by the tests.
SERVICES: Final = (
    "cloudwatch",
    "dynamodb",
    "iam",
    "kinesis",
    "kms",
    "lambda",
    "logs",
    "s3",
    "sns",
    "sqs",
    "sts",
)


def render_provider_override(
    endpoint_url: str,
    *,
    access_key: str = TEST_CREDENTIALS,
    secret_key: str = TEST_CREDENTIALS,
    services: tuple[str, ...] = SERVICES,
) -> str:
    """The override's HCL text (strings JSON-quoted, which HCL reads alike)."""
    if not endpoint_url.startswith(("http://", "https://")):
        raise ValueError(f"endpoint_url must be an http(s) URL, got {endpoint_url!r}")
    url = json.dumps(endpoint_url)
    width = max(len(s) for s in services)
    endpoints = "\n".join(f"    {s.ljust(width)} = {url}" for s in services)
    return (
        "# Written by streamkit (streamkit/local/terraform/override.py) for a local deploy;\n"
        "# merged over infra/versions.tf's provider block. Never part of infra/.\n"
        'provider "aws" {\n'
        f"  access_key                  = {json.dumps(access_key)}\n"
        f"  secret_key                  = {json.dumps(secret_key)}\n"
        "  s3_use_path_style           = true\n"
        "  skip_credentials_validation = true\n"
        "  skip_requesting_account_id  = true\n"
        "  skip_metadata_api_check     = true\n"
        "  skip_region_validation      = true\n"
        "\n"
        "  endpoints {\n"
        f"{endpoints}\n"
        "  }\n"
        "}\n"
    )


def write_provider_override(
    workdir: str | os.PathLike[str],
    *,
    endpoint_url: str,
    access_key: str = TEST_CREDENTIALS,
    secret_key: str = TEST_CREDENTIALS,
) -> Path:
    """Write :data:`OVERRIDE_FILE` into the root module at ``workdir``; return its path."""
    path = Path(workdir) / OVERRIDE_FILE
    path.write_text(
        render_provider_override(endpoint_url, access_key=access_key, secret_key=secret_key)
    )
    return path
