"""``streamkit package``: a reproducible Lambda zip for Terraform to deploy."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    package = sub.add_parser(
        "package",
        help="build a reproducible Lambda deployment zip (same inputs, same bytes)",
        description=(
            "Build the Lambda deployment zip: the project's runtime dependencies as "
            "binary wheels for the Lambda platform (boto3 comes with the runtime), the "
            "Lambda import path of streamkit/ (all but local/ and testing/) and handlers/, "
            "source files only (git-tracked in a checkout). Entries "
            "are sorted with fixed timestamps and permissions, so the same inputs give "
            "the same bytes. Wheels are cached under .streamkit/wheels. Prints the zip "
            "path, size and sha256; Terraform (infra/) deploys that file."
        ),
    )
    package.add_argument(
        "--arch",
        choices=("arm64", "x86_64"),
        default="arm64",
        help="Lambda architecture (default arm64, as infra/ deploys)",
    )
    package.add_argument(
        "--python",
        choices=("3.11", "3.12", "3.13"),
        default="3.13",
        help=(
            "Lambda Python runtime version (default 3.13, as infra/ deploys); picks wheels "
            "its OS loads: manylinux2014 for 3.11 (Amazon Linux 2), up to manylinux_2_34 "
            "for 3.12/3.13 (Amazon Linux 2023)"
        ),
    )
    package.add_argument(
        "--out", default=None, help="zip to write (default dist/lambda-<arch>.zip)"
    )
    package.add_argument(
        "--root", default=".", help="project root holding pyproject.toml (default .)"
    )
    package.add_argument(
        "--requirement",
        "-r",
        action="append",
        default=None,
        metavar="SPEC",
        help="bundle this requirement instead of pyproject's dependencies (repeatable)",
    )
    package.add_argument(
        "--wheel-cache", default=None, help="wheel cache (default <root>/.streamkit/wheels)"
    )
    package.add_argument("--index-url", default=None, help="package index to download from")
    package.add_argument(
        "--offline", action="store_true", help="never download; use the wheel cache only"
    )
    package.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from streamkit.local.packaging import PackagingError, build_package

    try:
        result = build_package(
            arch=args.arch,
            python=args.python,
            out=args.out,
            root=args.root,
            requirements=args.requirement,
            wheel_cache=args.wheel_cache,
            index_url=args.index_url,
            offline=args.offline,
        )
    except PackagingError as exc:
        print(f"streamkit package: error: {exc}", file=sys.stderr)
        return 1
    print(f"path    {result.path}")
    print(f"size    {result.size} bytes ({result.files} files)")
    print(f"sha256  {result.sha256}")
    return 0
