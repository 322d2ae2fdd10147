"""``streamkit package``: same inputs, same bytes; Lambda platform wheels; clear errors."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from streamkit.local.cli import main
from streamkit.local.packaging import PackagingError, build_package, runtime_requirements

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
    # The Lambda import path only: every file of streamkit/ and handlers/ except the two
    # folders that never run in a Lambda, streamkit/local/ and streamkit/testing/.
    assert not [n for n in names if n.startswith(("streamkit/local/", "streamkit/testing/"))]
    on_disk = {
        p.relative_to(ROOT).as_posix()
        for top in ("streamkit", "handlers")
        for p in (ROOT / top).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    expected = {n for n in on_disk if not n.startswith(("streamkit/local/", "streamkit/testing/"))}
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
