"""The streamkit command line."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys

import pytest

from streamkit.local.cli import build_parser, main
from streamkit.local.console import StatusLine


def test_demo_ends_with_every_record_exactly_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--records", "300", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["exactly_once"] is True
    first, second = summary["attempts"]
    assert first["response"]["batchItemFailures"]  # the simulated throttle
    assert second["response"] == {"batchItemFailures": []}
    assert summary["dead_letters"] == {"bad_json": 2, "kpl_corrupt": 1, "schema": 1}
    assert summary["handled"] + sum(summary["dead_letters"].values()) == summary["user_records"]
    assert summary["emf_documents"] == len(summary["attempts"])


def test_demo_text_output_has_a_check_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--records", "50"]) == 0
    assert "exactly once: yes" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["0", "-3", "many"])
def test_bad_record_count_is_a_usage_error_naming_the_option(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--records", bad])
    assert info.value.code == 2
    assert "--records" in capsys.readouterr().err


def test_every_command_and_option_has_help() -> None:
    parser = build_parser()
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert subparsers.choices
    for name, sub in subparsers.choices.items():
        assert sub.description, name
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings} has no help"


def test_console_script_entry_point_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "streamkit.local.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "demo" in proc.stdout


# ------------------------------------------------------------------ the progress line


def test_status_line_on_a_terminal_is_rewritten_in_place_and_fits_the_width(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    out = io.StringIO()
    status = StatusLine(out, prefix="tool: ", tty=True)
    status.update("first")
    status.update("x" * 100)
    status.say("a permanent line")
    status.update("last")
    status.done()
    assert out.getvalue() == (
        "\r\x1b[Kfirst"
        + "\r\x1b[K"
        + "x" * 39
        + "\r\x1b[Ktool: a permanent line\n"
        + "\r\x1b[Klast\n"
    )


def test_status_line_in_a_log_prints_milestones_and_the_last_status() -> None:
    out = io.StringIO()
    status = StatusLine(out, prefix="tool: ", tty=False)
    status.say("starting")
    status.update("1 of 3", milestone=True)
    status.update("2 of 3")
    status.update("3 of 3")
    status.done()
    status.done()  # nothing left to print
    assert out.getvalue().splitlines() == ["tool: starting", "tool: 1 of 3", "tool: 3 of 3"]


def test_status_line_says_nothing_when_there_was_no_status() -> None:
    for tty in (True, False):
        out = io.StringIO()
        StatusLine(out, tty=tty).done()
        assert out.getvalue() == ""


def _json_options() -> dict[str, argparse.Action]:
    """Every ``--json`` option of every command and subcommand, by command path."""
    found: dict[str, argparse.Action] = {}

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if "--json" in action.option_strings:
                found[path] = action
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}".strip())

    walk(build_parser(), "")
    return found


def test_every_json_option_promises_exactly_one_document() -> None:
    """`--json` means stdout is one JSON document, for every command that has it;
    each of replay, run, dlq list and demo has a test parsing its whole stdout."""
    options = _json_options()
    assert {"replay", "run", "dlq list", "demo"} <= set(options)
    for path, action in options.items():
        assert action.help is not None and "one JSON document" in action.help, path


def test_demo_json_is_the_whole_of_stdout_in_a_real_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "streamkit.local.cli", "demo", "--records", "50", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["exactly_once"] is True
