"""A working copy of ``infra/`` and the local deploy that runs in it.

Terraform writes ``.terraform/``, a lock file, state and plans next to the root
module. The local deploy never runs in ``infra/`` itself: :func:`copy_root` copies the
Terraform sources (``*.tf``, ``consumers.json`` and its schema, ``modules/``) into a
directory of the caller's (a temp dir in the tests), leaving out anything a
``terraform init`` or a user's own override left in ``infra/``. There the provider
override (:mod:`~streamkit.local.terraform.override`) points every service at the
embedded endpoint.

:class:`LocalDeployment` is the whole local deploy: copy, override, ``init``
against the mirror-only CLI config, ``plan``/``apply``/``destroy`` with
:data:`LOCAL_VARIABLES`, read the outputs.

Example::

    from streamkit.local.aws import LocalAWS
    from streamkit.local.terraform import LocalDeployment

    with LocalAWS() as aws:
        deploy = LocalDeployment(
            "/tmp/deploy", endpoint_url=aws.endpoint_url, region=aws.region,
            package_path="dist/lambda-arm64.zip",
        ).prepare()
        deploy.apply()
        deploy.outputs()["functions"]   # {"clickstream": "streamkit-clickstream", ...}
        deploy.destroy()
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from streamkit.errors import StreamkitError
from streamkit.local.config import default_config_path
from streamkit.local.terraform.override import write_provider_override
from streamkit.local.terraform.runner import Terraform, TerraformResult
from streamkit.local.terraform.setup import (
    CLI_CONFIG_RELATIVE_PATH,
    INSTALL_HINT,
    find_provider_mirror,
    write_cli_config,
)

__all__ = [
    "LOCAL_VARIABLES",
    "PLAN_FILE",
    "LocalDeployment",
    "copy_root",
    "default_infra_dir",
    "ensure_cli_config",
]

#: Root variables of every local deploy: an emulator's resources are throwaway, so
#: tables may be deleted, non-empty buckets destroyed, and the key's deletion wait is
#: the shortest KMS allows. ``tags`` (the provider's default_tags) is empty because
#: moto's CreateStream drops its ``Tags`` parameter, which AWS honours: with tags, the
#: plan after apply would show each stream's ``tags_all`` as a change. Everything else
#: keeps the defaults of a real account (access logging included).
LOCAL_VARIABLES: Final[Mapping[str, Any]] = {
    "deletion_protection": False,
    "force_destroy_buckets": True,
    "kms_deletion_window_days": 7,
    "tags": {},
}
PLAN_FILE: Final = "streamkit.tfplan"

# Left behind in infra/ by a terraform run there, or a user's own overrides.
_SKIPPED: Final = (".terraform", ".terraform.lock.hcl", "terraform.tfstate.d")
_SKIPPED_SUFFIXES: Final = (".tfstate", ".tfstate.backup", ".tfplan", ".tfvars", ".tfvars.json")


def default_infra_dir() -> Path:
    """The ``infra/`` directory of this checkout (next to ``infra/consumers.json``)."""
    return default_config_path().parent


def _ignored(directory: str, names: list[str]) -> set[str]:
    def skipped(name: str) -> bool:
        if name in _SKIPPED or name.endswith(_SKIPPED_SUFFIXES) or name.startswith("."):
            return True
        if name == "override.tf" or name.endswith("_override.tf"):
            return True
        path = Path(directory) / name
        return path.is_file() and not name.endswith((".tf", ".json", ".tftpl"))

    return {name for name in names if skipped(name)}


def copy_root(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Copy the Terraform sources of ``source`` into ``dest`` (replacing them); return it.

    ``.terraform.lock.hcl`` is not copied: ``init`` writes one in the copy from the
    provider it installs (from the mirror locally), so the lock always matches.
    """
    src, target = Path(source), Path(dest)
    if not (src / "versions.tf").is_file():
        raise StreamkitError(f"{src} is not the Terraform root of infra/ (no versions.tf)")
    for name in ("modules",):
        shutil.rmtree(target / name, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.tf"):
        old.unlink()
    shutil.copytree(src, target, ignore=_ignored, dirs_exist_ok=True)
    return target


def ensure_cli_config(root: str | os.PathLike[str] | None = None) -> Path:
    """``<root>/.streamkit/terraform.rc`` for the mirror found here (written if needed).

    Raises :class:`StreamkitError` with the install hint when there is no mirror.
    """
    mirror = find_provider_mirror()
    if mirror is None:
        raise StreamkitError(f"no local mirror of the hashicorp/aws provider: {INSTALL_HINT}")
    base = Path(root) if root is not None else default_infra_dir().parent
    return write_cli_config(base / CLI_CONFIG_RELATIVE_PATH, mirror)


class LocalDeployment:
    """``infra/`` deployed to a local endpoint from a working copy at ``workdir``.

    ``package_path``: the zip of ``streamkit package`` (what gets deployed).
    ``variables``: root variables over :data:`LOCAL_VARIABLES`. ``on_line``: each line
    of Terraform's output as it comes (progress).
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        *,
        endpoint_url: str,
        region: str,
        package_path: str | os.PathLike[str],
        infra: str | os.PathLike[str] | None = None,
        cli_config: str | os.PathLike[str] | None = None,
        variables: Mapping[str, Any] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.endpoint_url = endpoint_url
        self.region = region
        self.package_path = Path(package_path).resolve()
        self.infra = Path(infra) if infra is not None else default_infra_dir()
        self.cli_config = Path(cli_config) if cli_config is not None else None
        self.extra_variables = dict(variables or {})
        self.on_line = on_line
        self._tf: Terraform | None = None

    @property
    def variables(self) -> dict[str, Any]:
        """Every ``-var`` of plan, apply and destroy."""
        return {
            **LOCAL_VARIABLES,
            "region": self.region,
            "package_path": str(self.package_path),
            **self.extra_variables,
        }

    @property
    def terraform(self) -> Terraform:
        if self._tf is None:
            raise StreamkitError("LocalDeployment.prepare() has not run")
        return self._tf

    def prepare(self) -> LocalDeployment:
        """Copy ``infra/``, write the provider override, ``terraform init``."""
        if not self.package_path.is_file():
            raise StreamkitError(
                f"no deployment package at {self.package_path}: build it with "
                "`streamkit package --out <zip>`"
            )
        cli_config = self.cli_config or ensure_cli_config(self.infra.parent)
        copy_root(self.infra, self.workdir)
        write_provider_override(self.workdir, endpoint_url=self.endpoint_url)
        self._tf = Terraform(self.workdir, cli_config=cli_config, on_line=self.on_line)
        self._tf.init()
        return self

    def plan(self, *, out: str | None = PLAN_FILE, destroy: bool = False) -> TerraformResult:
        """``terraform plan`` with :attr:`variables`; ``has_changes`` on the result."""
        return self.terraform.plan(variables=self.variables, out=out, destroy=destroy)

    def apply(self) -> TerraformResult:
        """Plan into :data:`PLAN_FILE`, then apply exactly that plan."""
        self.plan(out=PLAN_FILE)
        return self.terraform.apply(PLAN_FILE)

    def destroy(self) -> TerraformResult:
        return self.terraform.destroy(variables=self.variables)

    def outputs(self) -> dict[str, Any]:
        return self.terraform.output()
