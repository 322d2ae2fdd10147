"""The consumers as Terraform deployed them, read back through the Lambda API.

``streamkit run --terraform`` drives what was deployed, not the working tree: for each
consumer of ``infra/consumers.json`` :func:`read_deployed` reads the function's
configuration (handler, timeout, memory, environment, execution role) with
``GetFunctionConfiguration``, its event source mapping with
``ListEventSourceMappings`` (as the config's ``EsmSettings``, through
:func:`~streamkit.local.terraform.readback.deployed_esm`), and its code: the zip
``GetFunction``'s ``Code.Location`` serves, or, where the endpoint does not serve it
(moto answers with an S3 URL it does not host), the zip Terraform uploaded, accepted
only when its sha256 is the function's ``CodeSha256``. The code is unpacked into a
directory of its own, from which the worker processes import the handler.

A compiled dependency built for the Lambda platform (``streamkit package`` builds for
arm64 / CPython 3.13 by default) cannot load on another machine: :func:`unpack_code`
moves each distribution whose wheel tags this interpreter does not support out of the
import path (into ``<dir>.foreign/``), so the local environment's copy of it loads
instead; :attr:`DeployedCode.foreign` lists them. ``streamkit/``, ``handlers/`` and
every pure-Python dependency are imported from the deployed zip.

Example::

    deployed = read_deployed(clients, consumers, functions={"iot": "streamkit-iot"},
                             workdir=Path("/tmp/code"), package_path=Path("dist/l.zip"))
    deployed["iot"].code.task_root   # /tmp/code/streamkit-iot: handlers/iot.py is here
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import shutil
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.tags import parse_tag, sys_tags

from streamkit.errors import StreamkitError
from streamkit.local.config import ConsumerConfig, FunctionSettings
from streamkit.local.terraform.readback import deployed_esm

__all__ = ["DeployedCode", "DeployedConsumer", "code_sha256", "read_deployed", "unpack_code"]


class DeployedCodeError(StreamkitError):
    """The deployed code could not be obtained or is not the zip that was built."""


@dataclass(frozen=True, slots=True)
class DeployedCode:
    """A function's unpacked deployment package."""

    #: The directory the handler is imported from (``LAMBDA_TASK_ROOT``).
    task_root: Path
    #: ``CodeSha256`` of the function (base64 sha256 of the zip).
    sha256: str
    #: Where the zip came from: ``Code.Location`` or the local file that matched.
    source: str
    #: Distributions of the zip compiled for another platform (the local one loads).
    foreign: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeployedConsumer:
    """One consumer as deployed: the config with the deployed settings in it."""

    #: consumers.json's consumer, with the deployed handler, function settings and
    #: event source mapping in place of the file's.
    consumer: ConsumerConfig
    function_name: str
    function_arn: str
    role_arn: str
    #: The function's environment variables (``Environment.Variables``).
    environment: dict[str, str]
    #: The mapping's EventSourceArn (a stream, or a registered stream consumer).
    event_source_arn: str
    code: DeployedCode


#: Variables the Terraform module sets from the resources (not the function's own).
_SET_BY_INFRA = frozenset(
    {
        "STREAMKIT_CONSUMER",
        "STREAMKIT_LEDGER_TABLE",
        "STREAMKIT_DLQ_BUCKET",
        "STREAMKIT_AGGREGATE_TABLE",
        "STREAMKIT_ARCHIVE_BUCKET",
        "STREAMKIT_ALERTS_QUEUE_URL",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
    }
)


def code_sha256(data: bytes) -> str:
    """Lambda's ``CodeSha256`` of a zip: its sha256, base64."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _download(location: str) -> bytes | None:
    """The zip at ``Code.Location`` when a local endpoint serves it, else None.

    Only loopback URLs are fetched (network traffic stays on 127.0.0.1); moto's
    locations name an AWS S3 host and are not fetched.
    """
    if not location.startswith(("http://127.0.0.1", "http://localhost")):
        return None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(location, timeout=30) as response:
            data: bytes = response.read()
            return data
    except OSError:
        return None


def _foreign_distributions(root: Path) -> list[str]:
    """Distributions under ``root`` whose wheel tags this interpreter cannot load."""
    supported = set(sys_tags())
    foreign = []
    for wheel in sorted(root.glob("*.dist-info/WHEEL")):
        tags = [
            line.split(":", 1)[1].strip()
            for line in wheel.read_text().splitlines()
            if line.startswith("Tag:")
        ]
        if tags and not any(supported & set(parse_tag(t)) for t in tags):
            foreign.append(wheel.parent.name)
    return foreign


def _set_aside(root: Path, dist_info: str, aside: Path) -> None:
    """Move the files ``dist_info``'s RECORD lists from ``root`` into ``aside``."""
    record = root / dist_info / "RECORD"
    names = [line.split(",", 1)[0] for line in record.read_text().splitlines() if line]
    for name in names:
        source = root / name
        if source.is_file():
            target = aside / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), target)
    for directory in sorted({(root / n).parent for n in names}, reverse=True):
        if directory != root and directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def unpack_code(data: bytes, dest: Path, *, sha256: str, source: str) -> DeployedCode:
    """Unpack the zip ``data`` into ``dest`` (replaced); set aside foreign builds."""
    shutil.rmtree(dest, ignore_errors=True)
    aside = dest.with_name(dest.name + ".foreign")
    shutil.rmtree(aside, ignore_errors=True)
    dest.mkdir(parents=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(dest)
    foreign = _foreign_distributions(dest)
    for dist_info in foreign:
        _set_aside(dest, dist_info, aside)
    return DeployedCode(dest, sha256, source, tuple(foreign))


def _code(
    lam: Any, function_name: str, sha256: str, dest: Path, local_zips: list[Path]
) -> DeployedCode:
    location = lam.get_function(FunctionName=function_name).get("Code", {}).get("Location", "")
    data = _download(location) if location else None
    if data is not None and code_sha256(data) == sha256:
        return unpack_code(data, dest, sha256=sha256, source=location)
    for path in local_zips:
        data = path.read_bytes()
        if code_sha256(data) == sha256:
            return unpack_code(data, dest, sha256=sha256, source=str(path))
    raise DeployedCodeError(
        f"the code of {function_name} (CodeSha256 {sha256}) is neither served at "
        f"{location or 'its Code.Location'} nor any of {', '.join(map(str, local_zips))}"
    )


def read_deployed(
    clients: Any,
    consumers: Mapping[str, ConsumerConfig],
    *,
    functions: Mapping[str, str],
    workdir: Path,
    package_path: Path,
) -> dict[str, DeployedConsumer]:
    """Every consumer of ``functions`` (consumer -> function name) as deployed.

    Raises :class:`DeployedCodeError` when a function's code is not the package.
    """
    lam = clients("lambda")
    deployed: dict[str, DeployedConsumer] = {}
    for name, function_name in functions.items():
        config = lam.get_function_configuration(FunctionName=function_name)
        # Filtered here by the function's ARN: moto filters FunctionName by the value
        # the mapping was created with (Terraform passes the ARN), AWS by either.
        mappings = [
            m
            for page in lam.get_paginator("list_event_source_mappings").paginate()
            for m in page["EventSourceMappings"]
            if m.get("FunctionArn") == config["FunctionArn"]
        ]
        if len(mappings) != 1:
            raise DeployedCodeError(
                f"{function_name} has {len(mappings)} event source mappings, expected 1"
            )
        mapping = mappings[0]
        tags = lam.list_tags(Resource=mapping["EventSourceMappingArn"]).get("Tags", {})
        environment = dict(config.get("Environment", {}).get("Variables", {}))
        base = consumers[name]
        function = FunctionSettings(
            timeout_seconds=int(config["Timeout"]),
            memory_mb=int(config["MemorySize"]),
            environment={k: v for k, v in environment.items() if k not in _SET_BY_INFRA},
        )
        consumer = dataclasses.replace(
            base,
            handler=config["Handler"],
            function=function,
            event_source_mapping=deployed_esm(mapping, tags=tags),
        )
        code = _code(
            lam, function_name, config["CodeSha256"], workdir / function_name, [package_path]
        )
        deployed[name] = DeployedConsumer(
            consumer=consumer,
            function_name=function_name,
            function_arn=config["FunctionArn"],
            role_arn=config["Role"],
            environment=environment,
            event_source_arn=mapping["EventSourceArn"],
            code=code,
        )
    return deployed
