"""``streamkit run --terraform``'s option errors: exit 2, naming what to use instead."""

from __future__ import annotations

import pytest

from streamkit.local.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--terraform", "--execution", "inline"], "use --execution process"),
        (["--keep-deployed"], "--keep-deployed needs --terraform and --endpoint-url"),
        (
            ["--terraform", "--keep-deployed"],
            "--keep-deployed needs --terraform and --endpoint-url",
        ),
    ],
)
def test_bad_combinations_are_refused_before_anything_starts(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert main(["run", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


def test_help_names_the_prerequisites(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["run", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--terraform" in text and "filesystem mirror" in text and "--keep-deployed" in text
