"""``streamkit package``: same inputs, same bytes; Lambda platform wheels; clear errors."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from streamkit.local.cli import main
from streamkit.local.packaging import (
    PYTHON_VERSIONS,
    PackagingError,
    build_package,
    collect_sources,
    platform_tags,
    runtime_requirements,
)

ROOT = Path(__file__).resolve().parents[2]
# Shared with `streamkit package` run from the checkout: repeated runs need no network.
WHEEL_CACHE = ROOT / ".streamkit" / "wheels"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_sources_same_bytes(tmp_path: Path) -> None:
    first = build_package(root=ROOT, requirements=[], out=tmp_path / "a" / "lambda.zip")
    second = build_package(root=ROOT, requirements=[], out=tmp_path / "b" / "lambda.zip")
    assert first.sha256 == second.sha256 == sha256(first.path)
    assert first.path.read_bytes() == second.path.read_bytes()

    with zipfile.ZipFile(first.path) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    assert all(i.external_attr >> 16 == 0o100644 and i.create_system == 3 for i in infos)
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos)
    assert not [n for n in names if n.endswith(("/", ".pyc")) or "__pycache__" in n]
    # The Lambda import path only: every tracked file of streamkit/ and handlers/ except
    # the two folders that never run in a Lambda, streamkit/local/ and streamkit/testing/.
    assert not [n for n in names if n.startswith(("streamkit/local/", "streamkit/testing/"))]
    expected = {n for n in _tracked_lambda_path() if (ROOT / n).is_file()}
    assert {n for n in names if n.startswith(("streamkit/", "handlers/"))} == expected
    assert {"streamkit/__init__.py", "streamkit/batch.py", "handlers/clickstream.py"} <= expected


def test_boto3_is_left_to_the_lambda_runtime() -> None:
    reqs = runtime_requirements(ROOT / "pyproject.toml")
    assert not [r for r in reqs if r.lower().startswith(("boto3", "botocore"))]
    assert any(r.startswith("orjson") for r in reqs)


def build_real(out: Path) -> tuple[int, str]:
    try:
        code = main(
            [
                "package",
                "--arch",
                "arm64",
                "--python",
                "3.13",
                "--root",
                str(ROOT),
                "--wheel-cache",
                str(WHEEL_CACHE),
                "--out",
                str(out),
            ]
        )
    except SystemExit as exc:  # pragma: no cover - argparse errors
        raise AssertionError(f"argparse exited {exc.code}") from exc
    return code, sha256(out) if out.exists() else ""


def test_real_dependencies_twice_same_zip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, first = build_real(tmp_path / "one" / "lambda-arm64.zip")
    if code != 0:
        err = capsys.readouterr().err
        if "could not download" in err:
            pytest.skip(f"no package index reachable to fill the wheel cache: {err[:300]}")
        raise AssertionError(err)
    out = capsys.readouterr().out
    assert f"sha256  {first}" in out and "lambda-arm64.zip" in out and "bytes" in out
    code, second = build_real(tmp_path / "two" / "lambda-arm64.zip")
    assert code == 0
    assert first == second

    with zipfile.ZipFile(tmp_path / "one" / "lambda-arm64.zip") as zf:
        names = zf.namelist()
        shared = [n for n in names if n.startswith("orjson/") and n.endswith(".so")]
        assert shared, "orjson's compiled extension is missing"
        elf = zf.read(shared[0])[:20]
    # A binary wheel for Lambda arm64: ELF, machine EM_AARCH64 (0xB7).
    assert elf[:4] == b"\x7fELF" and int.from_bytes(elf[18:20], "little") == 0xB7
    assert "cpython-313-aarch64" in shared[0]
    for dist in ("aws_lambda_powertools", "aws_kinesis_agg", "pybase64", "orjson"):
        assert any(n.startswith(f"{dist}/") for n in names), dist
    assert not [n for n in names if n.startswith(("boto3/", "botocore/", "bin/"))]


def test_unreachable_index_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    with pytest.raises(PackagingError, match="could not download binary wheels"):
        build_package(
            root=ROOT,
            requirements=["orjson"],
            out=tmp_path / "x.zip",
            wheel_cache=tmp_path / "empty-cache",
            index_url="http://127.0.0.1:9/simple",
        )
    code = main(
        [
            "package",
            "--root",
            str(ROOT),
            "--wheel-cache",
            str(tmp_path / "empty"),
            "--index-url",
            "http://127.0.0.1:9/simple",
            "--out",
            str(tmp_path / "y.zip"),
            "-r",
            "orjson",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("streamkit package: error: could not download")
    assert "Traceback" not in err
    assert not (tmp_path / "y.zip").exists()


def test_offline_without_cache_says_so(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="--offline"):
        build_package(
            root=ROOT,
            requirements=["orjson"],
            out=tmp_path / "x.zip",
            wheel_cache=tmp_path / "empty",
            offline=True,
        )


def test_unknown_architecture_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="unknown architecture"):
        build_package(root=ROOT, arch="mips", requirements=[], out=tmp_path / "x.zip")


# --- Issue: wheels for each runtime's glibc --------------------------------------------


def test_platform_tags_follow_each_runtimes_glibc() -> None:
    """3.11 runs on Amazon Linux 2 (glibc 2.26), 3.12/3.13 on AL2023 (glibc 2.34)."""

    def minors(tags: tuple[str, ...]) -> set[int]:
        return {int(t.split("_")[2]) for t in tags if t.startswith("manylinux_2_")}

    for arch, machine in (("arm64", "aarch64"), ("x86_64", "x86_64")):
        old = platform_tags(arch, "3.11")
        assert old[-1] == f"manylinux2014_{machine}"
        assert max(minors(old)) == 17, old
        for python in ("3.12", "3.13"):
            new = platform_tags(arch, python)
            assert {28, 34} <= minors(new) and max(minors(new)) == 34, new
            assert new[0] == f"manylinux_2_34_{machine}"  # pip prefers earlier tags
            assert new[-1] == f"manylinux2014_{machine}"
        assert all(
            t.endswith(f"_{machine}") for p in PYTHON_VERSIONS for t in platform_tags(arch, p)
        )


def _fake_wheel(cache: Path, python: str, platform: str) -> None:
    """A one-module wheel ``fakedep`` whose module says which platform tag it was."""
    cp = "cp" + python.replace(".", "")
    name = cache / f"fakedep-1.0-{cp}-{cp}-{platform}.whl"
    info = "fakedep-1.0.dist-info"
    files = {
        "fakedep/__init__.py": f"PLATFORM = {platform!r}\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: fakedep\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n"
        f"Tag: {cp}-{cp}-{platform}\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{n},,\n" for n in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(name, "w") as zf:
        for n, text in files.items():
            zf.writestr(n, text)


@pytest.mark.parametrize(
    ("python", "picked"),
    [("3.11", "manylinux2014_x86_64"), ("3.12", "manylinux_2_34_x86_64")],
)
def test_pip_picks_the_newest_wheel_the_runtime_loads(
    tmp_path: Path, python: str, picked: str
) -> None:
    """pip itself, offline, from a cache holding one wheel per glibc level."""
    cache = tmp_path / "wheels"
    per_runtime = cache / f"x86_64-cp{python.replace('.', '')}"
    per_runtime.mkdir(parents=True)
    for platform in (
        "manylinux_2_35_x86_64",  # newer than any Lambda runtime: never
        "manylinux_2_34_x86_64",
        "manylinux_2_28_x86_64",
        "manylinux2014_x86_64",
    ):
        _fake_wheel(per_runtime, python, platform)
    result = build_package(
        root=ROOT,
        arch="x86_64",
        python=python,
        requirements=["fakedep"],
        wheel_cache=cache,
        offline=True,
        out=tmp_path / "lambda.zip",
    )
    with zipfile.ZipFile(result.path) as zf:
        assert zf.read("fakedep/__init__.py").decode() == f"PLATFORM = {picked!r}\n"


# --- Issue: only source files ship ---------------------------------------------------

LAMBDA_PATH = ("streamkit/local/", "streamkit/testing/")


def _tracked_lambda_path() -> set[str]:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--", "streamkit", "handlers"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    return {n for n in out.split("\0") if n and not n.startswith(LAMBDA_PATH)}


def _copy_tree(dest: Path) -> set[str]:
    """The tracked Lambda-path files copied to ``dest`` (plus local/ and testing/)."""
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--", "streamkit", "handlers"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, out.split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, dest / name)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return {n for n in _tracked_lambda_path() if (ROOT / n).is_file()}


def _add_junk(root: Path, secret: Path) -> None:
    """What a developer's tree holds besides sources (the reviewer's setup)."""
    (root / "streamkit" / ".env").write_text("AWS_SECRET_ACCESS_KEY=do-not-ship\n")
    (root / "streamkit" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "streamkit" / "batch.py.orig").write_text("# merge leftover\n")
    (root / "handlers" / ".batch.py.swp").write_bytes(b"b0VIM 9.0")
    (root / "handlers" / "~notes.json").symlink_to(secret)
    (root / "streamkit" / "linked.py").symlink_to(secret)
    (root / "streamkit" / "linked_dir").symlink_to(secret.parent, target_is_directory=True)
    stray = root / "streamkit" / "tests"
    stray.mkdir()
    (stray / "test_scratch.py").write_text("def test_x() -> None: ...\n")
    (stray / "data.json").write_text("{}\n")
    hidden = root / "streamkit" / ".hypothesis"
    hidden.mkdir()
    (hidden / "db.json").write_text("{}\n")


@pytest.mark.parametrize("git", [False, True], ids=["plain-copy", "git-checkout"])
def test_only_source_files_ship(tmp_path: Path, git: bool) -> None:
    secret = tmp_path / "elsewhere" / "secret.py"
    secret.parent.mkdir()
    secret.write_text("TOKEN = 'from outside the tree'\n")
    root = tmp_path / "root"
    root.mkdir()
    expected = _copy_tree(root)
    if git:
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        subprocess.run(["git", "-C", str(root), "add", "streamkit", "handlers"], check=True)
    _add_junk(root, secret)

    sources = collect_sources(root)
    assert set(sources) == expected
    assert {"streamkit/py.typed", "streamkit/__init__.py", "handlers/clickstream.py"} <= expected
    result = build_package(root=root, requirements=[], out=tmp_path / "lambda.zip")
    with zipfile.ZipFile(result.path) as zf:
        names = set(zf.namelist())
        blob = b"".join(zf.read(n) for n in names)
    assert names == expected
    assert b"do-not-ship" not in blob and b"from outside the tree" not in blob


def test_a_tracked_symlink_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.py"
    secret.write_text("TOKEN = 'from outside the tree'\n")
    root = tmp_path / "root"
    root.mkdir()
    expected = _copy_tree(root)
    (root / "handlers" / "linked.py").symlink_to(secret)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "streamkit", "handlers"], check=True)
    assert "handlers/linked.py" in _git_ls(root)
    assert set(collect_sources(root)) == expected


def _git_ls(root: Path) -> set[str]:
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode()
    return set(filter(None, out.split("\0")))


def test_the_docstring_names_exactly_what_the_zip_leaves_out() -> None:
    import streamkit.local.packaging as packaging

    doc = packaging.__doc__ or ""
    bullet = doc[doc.index("* the Lambda import path of ``streamkit/``") :].split("\n* ")[0]
    literals = set(re.findall(r"``([^`]+)``", bullet)) - {"streamkit/"}
    excluded = {f"streamkit/{d}/" for d in packaging.EXCLUDED_STREAMKIT}
    assert literals == excluded == {"streamkit/local/", "streamkit/testing/"}, bullet
