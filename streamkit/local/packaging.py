"""Reproducible Lambda deployment packages: ``streamkit package``.

Local tooling, never on a Lambda's import path. Builds one zip holding

* the runtime dependencies of ``pyproject.toml`` (``[project].dependencies``) as
  **binary wheels for the Lambda platform** (``manylinux`` for ``arm64`` or
  ``x86_64`` no newer than the runtime's glibc allows, see :func:`platform_tags`;
  CPython of the chosen runtime version), installed with ``pip install --target``
  from a local wheel cache (``.streamkit/wheels``; filled by ``pip download`` on first
  use, so repeated builds need no network);
* the Lambda import path of ``streamkit/``: everything except exactly
  ``streamkit/local/`` (the local tooling) and ``streamkit/testing/`` (the pytest
  plugin);
* ``handlers/``.

Only source files ship (:func:`collect_sources`): in a git checkout the files git
tracks (``git ls-files``; ``git add`` a new module before packaging), elsewhere the
regular ``.py``/``.json``/``py.typed`` files of packages (folders with
``__init__.py``). Hidden files, editor leftovers and symlinks never ship.

``boto3``/``botocore`` are **not** bundled: every Lambda Python runtime ships them
(the sinks only use long-standing DynamoDB, S3 and SQS calls) and bundling them would
add about 20 MB to every cold start. Pass ``--requirement boto3==X`` to pin one.

The zip is deterministic: same inputs (sources and wheels), same bytes. Entries are
sorted, every timestamp is 1980-01-01 00:00:00 (the zip epoch), permissions are fixed
(0644 files, no directory entries), no ``__pycache__``/``.pyc``, no pip script
wrappers (``bin/``), ``ZIP_DEFLATED`` at a fixed level, Unix "created by" system.
Bytes can still differ across zlib versions (a different compressor may choose
different encodings); the sha256 printed by the command is the thing to compare.

Example::

    from streamkit.local.packaging import build_package

    result = build_package(arch="arm64", python="3.13", out="dist/lambda-arm64.zip")
    print(result.path, result.size, result.sha256)
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from streamkit.errors import StreamkitError

__all__ = [
    "ARCHITECTURES",
    "PYTHON_VERSIONS",
    "PackageResult",
    "PackagingError",
    "build_package",
    "collect_sources",
    "platform_tags",
    "runtime_requirements",
    "write_deterministic_zip",
]

#: Lambda architecture -> the machine name in manylinux platform tags.
ARCHITECTURES: Final[dict[str, str]] = {"arm64": "aarch64", "x86_64": "x86_64"}
#: Python runtimes Lambda offers that streamkit supports (requires-python >= 3.11).
PYTHON_VERSIONS: Final = ("3.11", "3.12", "3.13")
#: Lambda Python runtime -> the newest ``manylinux_2_N`` glibc minor its wheels may need.
#: ``python3.11`` runs on Amazon Linux 2 (glibc 2.26): a ``manylinux_2_28`` wheel fails
#: to import there (``GLIBC_2.28 not found``), so only manylinux2014 (= 2_17) and older,
#: as AWS's packaging guide says for that runtime. ``python3.12``/``3.13`` run on Amazon
#: Linux 2023 (glibc 2.34), which loads every wheel up to ``manylinux_2_34``.
RUNTIME_GLIBC_MINOR: Final[dict[str, int]] = {"3.11": 17, "3.12": 34, "3.13": 34}

#: Dependencies the Lambda Python runtime already provides (see the module docstring).
PROVIDED_BY_RUNTIME: Final = frozenset({"boto3", "botocore"})

#: The two folders of ``streamkit/`` that never run in a Lambda: all local tooling lives
#: under ``local/`` and the pytest plugin under ``testing/`` (import-linter enforces that
#: nothing on the Lambda path imports them), so the zip leaves out exactly these.
EXCLUDED_STREAMKIT: Final = frozenset({"local", "testing"})
#: Top-level directories of the project copied into the zip.
SOURCE_PACKAGES: Final = ("streamkit", "handlers")
#: Outside a git checkout, the file names that count as sources (PEP 561's marker too).
SOURCE_SUFFIXES: Final = (".py", ".json", "py.typed")

ZIP_EPOCH: Final = (1980, 1, 1, 0, 0, 0)
FILE_MODE: Final = 0o100644  # regular file, rw-r--r--
COMPRESS_LEVEL: Final = 9
_UNIX: Final = 3

DEFAULT_WHEEL_CACHE: Final = Path(".streamkit") / "wheels"

_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class PackagingError(StreamkitError):
    """The package could not be built; ``str()`` says why and what to do."""


@dataclass(frozen=True, slots=True)
class PackageResult:
    """A built zip: where it is, its size in bytes, its sha256 (hex) and contents."""

    path: Path
    size: int
    sha256: str
    files: int
    requirements: tuple[str, ...]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements(pyproject: str | os.PathLike[str]) -> list[str]:
    """``[project].dependencies`` of ``pyproject``, minus what Lambda provides."""
    try:
        with open(pyproject, "rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PackagingError(
            f"cannot read the project's dependencies from {pyproject}: {exc}"
        ) from exc
    deps = doc.get("project", {}).get("dependencies", [])
    out: list[str] = []
    for dep in deps:
        match = _REQ_NAME.match(dep)
        if match and _normalize(match.group(1)) in PROVIDED_BY_RUNTIME:
            continue
        out.append(dep)
    return out


def collect_sources(root: str | os.PathLike[str]) -> dict[str, Path]:
    """Archive name -> file for the project's own code on the Lambda import path.

    Only source files: when ``root`` is a git checkout, the files git tracks under
    ``streamkit/`` and ``handlers/`` (so a local ``.env``, ``*.orig``, swap files or a
    stray folder never ship); otherwise the regular files with a source suffix
    (:data:`SOURCE_SUFFIXES`) inside packages (every folder on the way has an
    ``__init__.py``), none hidden. Symlinks are never followed (nor shipped): their
    target could be anything on the machine. ``streamkit/local/`` and
    ``streamkit/testing/`` are left out in both cases.
    """
    base = Path(root)
    for package in SOURCE_PACKAGES:
        top = base / package
        if not top.is_dir():
            raise PackagingError(f"{top} is missing: run from the project root (or pass --root)")
    tracked = _git_tracked(base)
    candidates = tracked if tracked is not None else _source_files(base)
    files: dict[str, Path] = {}
    for rel in candidates:
        path = base / rel
        if path.is_symlink() or not path.is_file() or _skipped(rel.parts):
            continue
        if (
            rel.parts[0] == "streamkit"
            and len(rel.parts) > 1
            and rel.parts[1] in EXCLUDED_STREAMKIT
        ):
            continue
        files[rel.as_posix()] = path
    return files


def _git_tracked(base: Path) -> list[Path] | None:
    """The files git tracks under the source packages, or None outside a checkout."""
    try:
        done = subprocess.run(
            ["git", "-C", str(base), "ls-files", "-z", "--", *SOURCE_PACKAGES],
            capture_output=True,
            check=False,
        )
    except OSError:  # no git on the machine: not a checkout we can read
        return None
    names = [n for n in done.stdout.decode("utf-8", "surrogateescape").split("\0") if n]
    # Empty: root sits inside some other repository that does not track these folders.
    if done.returncode != 0 or not names:
        return None
    return [Path(n) for n in names]


def _source_files(base: Path) -> list[Path]:
    """Regular, non-hidden source files inside packages (no git to ask)."""
    out: list[Path] = []
    for package in SOURCE_PACKAGES:
        for dirpath, dirnames, filenames in os.walk(base / package):  # never follows links
            here = Path(dirpath)
            # Only descend into packages: a folder without __init__.py is no module.
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not d.startswith(".") and (here / d / "__init__.py").is_file()
            )
            out.extend(
                (here / name).relative_to(base)
                for name in filenames
                if not name.startswith(".") and name.endswith(SOURCE_SUFFIXES)
            )
    return out


def _skipped(parts: Sequence[str]) -> bool:
    return any(p == "__pycache__" or p.endswith(".egg-info") for p in parts) or parts[-1].endswith(
        (".pyc", ".pyo")
    )


def _installed_files(site: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in site.rglob("*"):
        rel = path.relative_to(site)
        if not path.is_file() or _skipped(rel.parts) or rel.parts[0] == "bin":
            continue
        files[rel.as_posix()] = path
    return files


def write_deterministic_zip(files: dict[str, Path], out: str | os.PathLike[str]) -> None:
    """Write ``files`` (archive name -> path) to ``out``, byte-for-byte reproducibly."""
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = _UNIX
            info.external_attr = FILE_MODE << 16
            zf.writestr(info, files[name].read_bytes(), compresslevel=COMPRESS_LEVEL)
    os.replace(tmp, target)


def _pip(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        return subprocess.run(
            [sys.executable, "-m", "pip", *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    except OSError as exc:
        raise PackagingError(f"cannot run pip ({sys.executable} -m pip): {exc}") from exc


def platform_tags(arch: str, python: str) -> tuple[str, ...]:
    """The manylinux tags whose wheels load on Lambda's ``python`` runtime on ``arch``.

    Newest first (pip prefers earlier tags), capped by :data:`RUNTIME_GLIBC_MINOR`; pip
    widens ``manylinux2014`` to ``manylinux2010``/``manylinux1`` itself.

    >>> platform_tags("arm64", "3.11")
    ('manylinux_2_17_aarch64', 'manylinux2014_aarch64')
    """
    machine = ARCHITECTURES[arch]
    newest = RUNTIME_GLIBC_MINOR[python]
    return (
        *(f"manylinux_2_{minor}_{machine}" for minor in range(newest, 16, -1)),
        f"manylinux2014_{machine}",
    )


def _platform_args(arch: str, python: str) -> list[str]:
    args: list[str] = []
    for tag in platform_tags(arch, python):
        args += ["--platform", tag]
    return [*args, "--implementation", "cp", "--python-version", python, "--only-binary=:all:"]


def _tail(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join("    " + line for line in kept)


def _install(
    requirements: Sequence[str],
    *,
    arch: str,
    python: str,
    cache: Path,
    site: Path,
    index_url: str | None,
    offline: bool,
) -> None:
    """Install ``requirements`` into ``site`` from ``cache``, downloading when needed."""
    if not requirements:
        return
    platform = _platform_args(arch, python)
    install = [
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        str(cache),
        "--target",
        str(site),
        "--no-compile",
        "--no-warn-script-location",
        *platform,
        *requirements,
    ]
    if cache.is_dir() and _pip(install).returncode == 0:
        return
    shutil.rmtree(site, ignore_errors=True)
    if offline:
        raise PackagingError(
            f"the wheel cache {cache} lacks wheels for {', '.join(requirements)} on "
            f"{arch}/cp{python} and --offline forbids downloading them"
        )
    cache.mkdir(parents=True, exist_ok=True)
    download = ["download", "--quiet", "--dest", str(cache), *platform, *requirements]
    if index_url:
        download[1:1] = ["--index-url", index_url]
    got = _pip(download)
    if got.returncode != 0:
        raise PackagingError(
            f"could not download binary wheels for {arch} / CPython {python} "
            f"({', '.join(requirements)}) into {cache}. Is the package index reachable "
            "(network, proxy, PIP_INDEX_URL)? Does every dependency publish a manylinux "
            f"wheel for this platform? pip said:\n{_tail(got.stderr or got.stdout)}"
        )
    done = _pip(install)
    if done.returncode != 0:
        raise PackagingError(
            f"pip could not install the downloaded wheels from {cache}:\n"
            f"{_tail(done.stderr or done.stdout)}"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_package(
    *,
    arch: str = "arm64",
    python: str = "3.13",
    out: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] = ".",
    requirements: Iterable[str] | None = None,
    wheel_cache: str | os.PathLike[str] | None = None,
    index_url: str | None = None,
    offline: bool = False,
) -> PackageResult:
    """Build the Lambda zip for ``arch`` and CPython ``python``; return what was built.

    ``requirements`` defaults to :func:`runtime_requirements` of ``root``'s
    ``pyproject.toml``; ``wheel_cache`` to ``<root>/.streamkit/wheels``; ``out`` to
    ``<root>/dist/lambda-<arch>.zip``. Raises :class:`PackagingError`.
    """
    if arch not in ARCHITECTURES:
        raise PackagingError(f"unknown architecture {arch!r} (allowed: {', '.join(ARCHITECTURES)})")
    if python not in PYTHON_VERSIONS:
        raise PackagingError(
            f"unsupported Python {python!r} (allowed: {', '.join(PYTHON_VERSIONS)})"
        )
    base = Path(root)
    reqs = (
        runtime_requirements(base / "pyproject.toml")
        if requirements is None
        else list(requirements)
    )
    cache = Path(wheel_cache) if wheel_cache is not None else base / DEFAULT_WHEEL_CACHE
    cache = cache / f"{arch}-cp{python.replace('.', '')}"
    target = Path(out) if out is not None else base / "dist" / f"lambda-{arch}.zip"
    sources = collect_sources(base)
    with tempfile.TemporaryDirectory(prefix="streamkit-package-") as tmp:
        site = Path(tmp) / "site"
        _install(
            reqs,
            arch=arch,
            python=python,
            cache=cache,
            site=site,
            index_url=index_url,
            offline=offline,
        )
        files = _installed_files(site) if site.is_dir() else {}
        clash = sorted(set(files) & set(sources))
        if clash:
            raise PackagingError(f"a dependency ships files that clash with ours: {clash[:5]}")
        files.update(sources)
        write_deterministic_zip(files, target)
    return PackageResult(
        path=target,
        size=target.stat().st_size,
        sha256=_sha256(target),
        files=len(files),
        requirements=tuple(reqs),
    )
