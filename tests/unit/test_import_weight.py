"""Issue 2 (6): `import streamkit` stays light enough for a Lambda cold start."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("boto3", "botocore", "pydantic", "moto", "hypothesis", "google.protobuf")
# Everything that never runs in a Lambda lives in these two folders (issue 9).
LOCAL_TOOLING = ("streamkit.local", "streamkit.testing")


def imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    return set(out.split())


def _hits(modules: set[str], prefixes: tuple[str, ...]) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)}


def test_import_streamkit_pulls_in_no_aws_sdk_pydantic_or_local_tooling() -> None:
    modules = imported_after("import streamkit; streamkit.process_batch; streamkit.Record")
    assert "streamkit.batch" in modules  # the probe really loaded the processor
    assert _hits(modules, FORBIDDEN) == set()
    assert _hits(modules, LOCAL_TOOLING) == set()


def test_importtime_report_has_no_heavy_modules() -> None:
    """The same check through `python -X importtime`, which lists every import."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import streamkit"],
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    names = {line.rsplit("|", 1)[-1].strip() for line in err.splitlines() if "|" in line}
    assert "streamkit" in names
    assert _hits(names, FORBIDDEN + LOCAL_TOOLING) == set()


def test_processing_a_plain_batch_never_imports_boto3_or_protobuf() -> None:
    """Powertools' user-agent hook imports the top-level botocore package on first
    use; boto3, botocore's client machinery and protobuf stay out."""
    code = (
        "import io, contextlib, base64, streamkit\n"
        "rec = {'kinesis': {'sequenceNumber': '1', 'data': base64.b64encode(b'{}').decode(),"
        " 'approximateArrivalTimestamp': 1.0, 'partitionKey': 'p'}, 'eventID': 'shardId-0:1'}\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    streamkit.process_batch({'Records': [rec]}, lambda r: r.json())\n"
    )
    modules = imported_after(code)
    assert (
        _hits(modules, ("boto3", "botocore.client", "botocore.session", "google.protobuf")) == set()
    )
    assert _hits(modules, LOCAL_TOOLING) == set()


def test_handlers_import_only_the_lambda_path() -> None:
    """Ground rule: a handler imports the pure core, the sinks and their dependencies;
    never local tooling, test helpers, moto or hypothesis."""
    for handler in ("handlers.clickstream", "handlers.iot"):
        modules = imported_after(f"import {handler}")
        assert handler in modules
        assert "streamkit.pipeline" in modules
        assert _hits(modules, LOCAL_TOOLING) == set(), handler
        assert _hits(modules, ("moto", "hypothesis", "pydantic", "google.protobuf")) == set()
