"""Where Terraform and the hashicorp/aws provider are, and the CLI config that uses them.

Nothing is ever downloaded for the local deploy: the provider comes from a
**filesystem mirror** (Terraform's ``provider_installation`` block), found in this
order: ``$TF_PLUGIN_MIRROR``; ``/opt/tf-plugins``; Terraform's implied local mirror
directories (``~/.terraform.d/plugins``, ``~/.local/share/terraform/plugins``,
``/usr/local/share/terraform/plugins``, ``/usr/share/terraform/plugins``); then any
directory one level below ``/opt``, ``/usr/local/share``, ``/srv`` or the home
directory that holds ``registry.terraform.io``. A mirror
is a directory holding ``registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/``
(unpacked) or ``.../hashicorp/aws/terraform-provider-aws_<version>_<os>_<arch>.zip``
(packed, as ``terraform providers mirror <dir>`` writes it).

:func:`write_cli_config` writes ``.streamkit/terraform.rc``, which installs
``hashicorp/*`` providers from that mirror only (``direct { exclude = ... }``: a
missing provider is an error, not a download); the local tooling and the tests point
``TF_CLI_CONFIG_FILE`` at it. A real deployment does not use this file: plain
``terraform init`` takes the provider from the registry as usual.

Example::

    from streamkit.local.terraform.setup import find_provider_mirror, write_cli_config

    mirror = find_provider_mirror()             # Path('/opt/tf-plugins') or None
    rc = write_cli_config(".streamkit/terraform.rc", mirror)

``python -m streamkit.local.terraform`` (run by ``./dev setup``) writes the file
and prints its path, or prints why it cannot (exit status 1) with the install hint.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Final

__all__ = [
    "CLI_CONFIG_RELATIVE_PATH",
    "INSTALL_HINT",
    "PROVIDER",
    "find_provider_mirror",
    "find_terraform",
    "missing_reason",
    "platform_name",
    "render_cli_config",
    "write_cli_config",
]

#: The provider the Terraform of ``infra/`` needs.
PROVIDER: Final = "registry.terraform.io/hashicorp/aws"
#: Where ``./dev setup`` writes the CLI config, relative to the project root.
CLI_CONFIG_RELATIVE_PATH: Final = Path(".streamkit") / "terraform.rc"
#: Candidate mirrors after ``$TF_PLUGIN_MIRROR`` (Terraform's implied mirrors last).
DEFAULT_MIRRORS: Final = (
    Path("/opt/tf-plugins"),
    Path.home() / ".terraform.d" / "plugins",
    Path.home() / ".local" / "share" / "terraform" / "plugins",
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
)
INSTALL_HINT: Final = (
    "install Terraform >= 1.6 (https://developer.hashicorp.com/terraform/install) and put "
    "the hashicorp/aws provider (5.x) into a filesystem mirror "
    "(`terraform -chdir=infra providers mirror /opt/tf-plugins`, once, with network), or "
    "point TF_PLUGIN_MIRROR at one; then run ./dev setup"
)


def platform_name() -> str:
    """Terraform's ``<os>_<arch>`` of this machine, e.g. ``linux_amd64``."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    systems = {"linux": "linux", "darwin": "darwin", "win32": "windows"}
    system = systems.get(sys.platform, sys.platform)
    return f"{system}_{arch}"


def _holds_provider(mirror: Path, platform_dir: str) -> bool:
    provider = mirror / PROVIDER
    if not provider.is_dir():
        return False
    unpacked = any(provider.glob(f"*/{platform_dir}/terraform-provider-aws_*"))
    packed = any(provider.glob(f"terraform-provider-aws_*_{platform_dir}.zip"))
    return unpacked or packed


def _nearby_mirrors() -> tuple[Path, ...]:
    """Mirrors one level below the usual roots (``/opt/<x>/registry.terraform.io``)."""
    roots = (Path("/opt"), Path("/usr/local/share"), Path("/srv"), Path.home())
    found = (
        hostname.parent
        for root in roots
        if root.is_dir()
        for hostname in sorted(root.glob("*/registry.terraform.io"))
    )
    return tuple(found)


def find_provider_mirror(candidates: tuple[Path, ...] | None = None) -> Path | None:
    """The first filesystem mirror holding hashicorp/aws for this platform, or None.

    ``$TF_PLUGIN_MIRROR``, when set, is the only candidate (a wrong path is not
    silently replaced by another mirror). Otherwise :data:`DEFAULT_MIRRORS`, then any
    ``<root>/<dir>/registry.terraform.io`` under ``/opt``, ``/usr/local/share``,
    ``/srv`` and the home directory.
    """
    configured = os.environ.get("TF_PLUGIN_MIRROR")
    if candidates is None:
        candidates = (Path(configured),) if configured else DEFAULT_MIRRORS + _nearby_mirrors()
    here = platform_name()
    for mirror in candidates:
        if _holds_provider(mirror, here):
            return mirror.resolve()
    return None


def find_terraform() -> str | None:
    """The ``terraform`` executable: ``$STREAMKIT_TERRAFORM``, else the one on PATH."""
    configured = os.environ.get("STREAMKIT_TERRAFORM")
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("terraform")


def missing_reason() -> str | None:
    """Why the local Terraform deploy cannot run here (with the install hint), or None."""
    if find_terraform() is None:
        return f"terraform is not installed (not on PATH, no $STREAMKIT_TERRAFORM): {INSTALL_HINT}"
    if find_provider_mirror() is None:
        where = os.environ.get("TF_PLUGIN_MIRROR") or ", ".join(str(p) for p in DEFAULT_MIRRORS)
        return (
            f"the {PROVIDER} provider for {platform_name()} is in no filesystem mirror "
            f"({where}): {INSTALL_HINT}"
        )
    return None


def _hcl_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_cli_config(mirror: Path) -> str:
    """The CLI config text: hashicorp providers from ``mirror`` only, others direct."""
    pattern = _hcl_string("registry.terraform.io/hashicorp/*")
    return (
        "# Written by streamkit (streamkit/local/terraform/setup.py); do not edit.\n"
        "# hashicorp/* providers come from the local mirror only: nothing is downloaded.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {_hcl_string(str(mirror))}\n"
        f"    include = [{pattern}]\n"
        "  }\n"
        "  direct {\n"
        f"    exclude = [{pattern}]\n"
        "  }\n"
        "}\n"
    )


def write_cli_config(path: str | os.PathLike[str], mirror: Path) -> Path:
    """Write :func:`render_cli_config` to ``path`` (only when it changed); return it."""
    target = Path(path)
    text = render_cli_config(mirror)
    if not target.is_file() or target.read_text() != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return target.resolve()


def main(argv: list[str] | None = None) -> int:
    """``./dev setup``: write ``<root>/.streamkit/terraform.rc``; print its path or why not."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path.cwd()
    reason = missing_reason()
    mirror = find_provider_mirror()
    if reason is not None or mirror is None:
        print(f"terraform: {reason}", file=sys.stderr)
        return 1
    print(write_cli_config(root / CLI_CONFIG_RELATIVE_PATH, mirror))
    return 0
