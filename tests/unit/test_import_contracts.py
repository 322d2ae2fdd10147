"""Issue 9 (1): the Lambda-path boundary is enforced by import-linter's contracts.

The contracts live in pyproject.toml (``[tool.importlinter]``); these tests run
``lint-imports`` on the tree, show that it fails when a Lambda-path module imports local
tooling, and check that every module of ``streamkit/`` sits in a layer (a module left
out of every layer would escape the layers contract).
"""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import streamkit

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tree_keeps_every_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken" in result.stdout


def folders_that_are_not_packages(top: Path) -> list[str]:
    """Folders under ``top`` without ``__init__.py`` (``__pycache__`` aside).

    pkgutil and import-linter's grimp only walk packages, so code in such a folder
    escapes every contract while ``streamkit package`` would still ship it.
    """
    return sorted(
        path.relative_to(top.parent).as_posix()
        for path in top.rglob("*")
        if path.is_dir()
        and "__pycache__" not in path.relative_to(top).parts
        and not (path / "__init__.py").is_file()
    )


def test_every_streamkit_module_is_in_a_layer() -> None:
    layers = _contracts()["layers"]["layers"]
    assert isinstance(layers, list)
    top = Path(streamkit.__file__).parent
    assert folders_that_are_not_packages(top) == [], (
        "every folder of streamkit/ must be a package (add __init__.py), or the layer "
        "checks cannot see its modules"
    )
    named = {name.strip() for layer in layers for name in layer.split(":")}
    children = {m.name for m in pkgutil.iter_modules(streamkit.__path__)}
    assert children - named == set(), "classify new modules in pyproject's layers contract"
    assert named - children == set(), "the layers contract names modules that do not exist"
    # The no-AWS-I/O contract covers exactly the bottom layer, the pure core.
    pure = {name.strip() for name in layers[-1].split(":")}
    sources = _contracts()["pure-core"]["source_modules"]
    assert isinstance(sources, list)
    assert {m.removeprefix("streamkit.") for m in sources} == pure


def test_a_lambda_path_module_importing_local_tooling_breaks_the_contracts(
    tmp_path: Path,
) -> None:
    """The same check on a copy of the tree where batch.py imports the CLI."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for top in ("streamkit", "handlers"):
        shutil.copytree(ROOT / top, tmp_path / top, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    batch = tmp_path / "streamkit" / "batch.py"
    batch.write_text(batch.read_text() + "\nimport streamkit.local.cli  # noqa\n")

    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "streamkit.batch is not allowed to import streamkit.local" in result.stdout
    # Reached from a handler too, through streamkit's lazy names -> batch.
    assert "handlers is not allowed to import streamkit.local" in result.stdout
    assert "streamkit.batch -> streamkit.local.cli" in result.stdout


def test_a_folder_without_init_is_caught(tmp_path: Path) -> None:
    """pkgutil (what the layer check lists) does not see such a folder; this check does."""
    top = tmp_path / "streamkit"
    (top / "aggregate" / "__pycache__").mkdir(parents=True)
    (top / "aggregate" / "__init__.py").write_text("")
    (top / "__init__.py").write_text("")
    (top / "extras" / "deep").mkdir(parents=True)
    (top / "extras" / "helpers.py").write_text("import boto3\n")
    assert {m.name for m in pkgutil.iter_modules([str(top)])} == {"aggregate"}
    assert folders_that_are_not_packages(top) == ["streamkit/extras", "streamkit/extras/deep"]


def test_the_architecture_map_lists_every_module_in_its_layer() -> None:
    """docs/architecture.md's layers table names each module of pyproject's layers."""
    layers = _contracts()["layers"]["layers"]
    assert isinstance(layers, list)
    rows = {
        line.split("|")[1].strip(" *"): line.split("|")[2]
        for line in (ROOT / "docs" / "architecture.md").read_text().splitlines()
        if line.startswith("| **")
    }
    for row, layer in (("effects", layers[2]), ("pure core", layers[3])):
        for name in (n.strip() for n in layer.split(":")):
            is_package = (Path(streamkit.__file__).parent / name).is_dir()
            assert f"`{name}{'/' if is_package else ''}`" in rows[row], (row, name)
    tree = (ROOT / "docs" / "architecture.md").read_text()
    for module in pkgutil.iter_modules(streamkit.__path__):
        entry = f"  {module.name}{'/' if module.ispkg else '.py'} "
        assert entry in tree, f"docs/architecture.md's tree lacks streamkit/{module.name}"
