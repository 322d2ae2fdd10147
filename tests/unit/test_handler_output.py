"""handler_output: a handler's output stays off the command's stdout (issue 12)."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from streamkit.local.handler_output import handler_output


def _logger(stream: object) -> logging.Logger:
    """A logger with its own StreamHandler on ``stream`` (as Powertools builds one)."""
    log = logging.getLogger(f"test-handler-output-{uuid.uuid4().hex}")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(logging.StreamHandler(stream))  # type: ignore[arg-type]
    return log


def test_print_and_a_logger_holding_the_old_stdout_go_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    early = _logger(stdout)  # built before the command, like a module-level Logger
    logs = tmp_path / "handler.log"
    with handler_output(str(logs)) as output:
        print("printed")
        early.info("logged")
        output.result.write("the result\n")
    early.info("after")
    assert logs.read_text() == "printed\nlogged\n"
    assert stdout.getvalue() == "the result\nafter\n"


def test_a_logger_built_meanwhile_writes_to_stdout_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It captured the logs file, which is closed when the block ends."""
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    with handler_output(str(tmp_path / "handler.log")):
        late = _logger(sys.stdout)  # a handler module imported by the command
        late.info("during")
    late.info("after")
    assert (tmp_path / "handler.log").read_text() == "during\n"
    assert stdout.getvalue() == "after\n"


def test_the_file_descriptor_is_redirected_too_in_order(tmp_path: Path) -> None:
    """In a real process stdout is fd 1: a child process writing to it is caught too."""
    script = textwrap.dedent(
        """
        import subprocess, sys
        from streamkit.local.handler_output import handler_output
        with handler_output(sys.argv[1]) as output:
            print("python-level")
            subprocess.run(["echo", "fd-level"], check=True)
            print('{"one": "document"}', file=output.result)
        print("after")
        """
    )
    logs = tmp_path / "handler.log"
    proc = subprocess.run(
        [sys.executable, "-c", script, str(logs)], capture_output=True, text=True, check=True
    )
    assert proc.stdout == '{"one": "document"}\nafter\n'
    assert logs.read_text() == "python-level\nfd-level\n"


def test_stderr_is_the_default_and_none_discards(capsys: pytest.CaptureFixture[str]) -> None:
    with handler_output():
        print("to stderr")
    with handler_output(None):
        print("nowhere")
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", "to stderr\n")


def test_an_unwritable_file_raises_before_anything_is_redirected(tmp_path: Path) -> None:
    before = sys.stdout
    with pytest.raises(OSError):
        handler_output(str(tmp_path / "missing-dir" / "x.log"))
    assert sys.stdout is before
