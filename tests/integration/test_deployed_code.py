"""The deployed code of ``streamkit run --terraform``: unpacked, checked, foreign builds set aside.

No Terraform: a function created on the embedded endpoint with a zip made here.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from streamkit.local.aws import LocalAWS
from streamkit.local.config import load_consumers
from streamkit.local.run.deployed import DeployedCodeError, code_sha256, read_deployed, unpack_code

FOREIGN_WHEEL = (
    "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp313-cp313-manylinux_2_17_aarch64\n"
)
PURE_WHEEL = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buf.getvalue()


def _package() -> bytes:
    return _zip(
        {
            "handlers/__init__.py": "",
            "handlers/iot.py": "def handler(event, context):\n    return {}\n",
            "fastlib/__init__.py": "from .fastlib import *\n",
            "fastlib/fastlib.cpython-313-aarch64-linux-gnu.so": "not loadable here",
            "fastlib-1.0.dist-info/WHEEL": FOREIGN_WHEEL,
            "fastlib-1.0.dist-info/RECORD": "fastlib/__init__.py,,\n"
            "fastlib/fastlib.cpython-313-aarch64-linux-gnu.so,,\n"
            "fastlib-1.0.dist-info/WHEEL,,\nfastlib-1.0.dist-info/RECORD,,\n",
            "purelib/__init__.py": "X = 1\n",
            "purelib-2.0.dist-info/WHEEL": PURE_WHEEL,
            "purelib-2.0.dist-info/RECORD": "purelib/__init__.py,,\n",
        }
    )


def test_foreign_builds_are_set_aside_pure_code_stays(tmp_path: Path) -> None:
    data = _package()
    code = unpack_code(data, tmp_path / "fn", sha256=code_sha256(data), source="test")
    root = code.task_root
    assert code.foreign == ("fastlib-1.0.dist-info",)
    assert not (root / "fastlib").exists() and not (root / "fastlib-1.0.dist-info").exists()
    assert (tmp_path / "fn.foreign" / "fastlib" / "__init__.py").is_file()
    assert (root / "purelib" / "__init__.py").read_text() == "X = 1\n"
    assert (root / "handlers" / "iot.py").is_file()


def test_the_code_must_be_the_deployed_zip(aws: LocalAWS, tmp_path: Path) -> None:
    deployed = _package()
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
    role = aws.client("iam").create_role(
        RoleName="streamkit-iot", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    lam = aws.client("lambda")
    lam.create_function(
        FunctionName="streamkit-iot", Runtime="python3.13", Role=role,
        Handler="handlers.iot.handler", Code={"ZipFile": deployed}, Timeout=120,
        MemorySize=1024, Environment={"Variables": {"STREAMKIT_CONSUMER": "iot"}},
    )  # fmt: skip
    aws.client("kinesis").create_stream(StreamName="iot-telemetry", ShardCount=1)
    stream = aws.client("kinesis").describe_stream_summary(StreamName="iot-telemetry")
    lam.create_event_source_mapping(
        FunctionName="streamkit-iot",
        EventSourceArn=stream["StreamDescriptionSummary"]["StreamARN"],
        StartingPosition="TRIM_HORIZON", BatchSize=7,
    )  # fmt: skip
    other = tmp_path / "other.zip"
    other.write_bytes(_zip({"handlers/iot.py": "# not what was deployed\n"}))
    consumers = load_consumers()
    with pytest.raises(DeployedCodeError, match="streamkit-iot"):
        read_deployed(
            aws.client, consumers, functions={"iot": "streamkit-iot"},
            workdir=tmp_path / "code", package_path=other,
        )  # fmt: skip
    good = tmp_path / "good.zip"
    good.write_bytes(deployed)
    found = read_deployed(
        aws.client, consumers, functions={"iot": "streamkit-iot"},
        workdir=tmp_path / "code", package_path=good,
    )["iot"]  # fmt: skip
    assert found.code.sha256 == code_sha256(deployed) and found.code.source == str(good)
    assert found.consumer.esm.batch_size == 7  # the mapping read back, not consumers.json's
    assert found.environment == {"STREAMKIT_CONSUMER": "iot"}
    assert found.consumer.function.timeout_seconds == 120
