"""Run the Terraform CLI non-interactively: init, validate, fmt, plan, apply, destroy.

Every command runs with ``-input=false -no-color`` (and ``-auto-approve`` where it
would ask), ``TF_IN_AUTOMATION=1`` and ``CHECKPOINT_DISABLE=1`` (no version check
against checkpoint.hashicorp.com). Output is captured, and streamed line by line to
``on_line`` when given (a progress line, a log). A failing command raises
:class:`TerraformError` with Terraform's own ``Error:`` messages.

Example::

    from streamkit.local.terraform.runner import Terraform

    tf = Terraform(workdir, cli_config=".streamkit/terraform.rc")
    tf.init()
    if tf.plan(variables={"region": "us-east-1"}, out="tfplan").has_changes:
        tf.apply("tfplan")
    tf.output()["functions"]        # {"clickstream": "streamkit-clickstream", ...}
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from streamkit.errors import StreamkitError
from streamkit.local.terraform.setup import INSTALL_HINT, find_terraform

__all__ = ["Terraform", "TerraformError", "TerraformResult", "error_messages", "var_args"]

#: Variables Terraform's environment must not inherit: they would send the run to
#: another workspace or make it ask (``TF_CLI_ARGS*`` adds arguments to every command).
_STRIPPED_ENV: Final = ("TF_WORKSPACE", "TF_CLI_ARGS", "TF_INPUT")


@dataclass(frozen=True, slots=True)
class TerraformResult:
    """One finished command: its arguments, exit status and captured output."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def has_changes(self) -> bool:
        """For ``plan -detailed-exitcode``: exit status 2 means the plan has changes."""
        return self.returncode == 2


class TerraformError(StreamkitError):
    """A Terraform command failed; the message holds Terraform's ``Error:`` blocks."""

    def __init__(self, result: TerraformResult) -> None:
        self.result = result
        self.messages = error_messages(result.output)
        command = " ".join(result.args[:1])
        detail = "\n\n".join(self.messages) or result.output.strip()[-4000:]
        super().__init__(f"terraform {command} failed (exit {result.returncode}):\n{detail}")


def error_messages(output: str) -> list[str]:
    """Terraform's diagnostics of severity error, each as one block of text.

    A block starts at ``Error: <summary>`` and runs until the next diagnostic or a
    blank line followed by text that is not indented; boxes (``│``) are stripped.
    """
    lines = [re.sub(r"^(?:│ ?|╷|╵)", "", line) for line in output.splitlines()]
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in lines:
        if line.startswith(("Error: ", "Warning: ")):
            current = [line] if line.startswith("Error: ") else None
            if current is not None:
                blocks.append(current)
        elif current is not None:
            current.append(line)
    return ["\n".join(block).strip() for block in blocks]


def var_args(variables: Mapping[str, Any] | None) -> list[str]:
    """``-var name=value`` arguments; non-strings are passed as HCL/JSON literals."""
    args: list[str] = []
    for name, value in (variables or {}).items():
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = json.dumps(value)
        args += ["-var", f"{name}={text}"]
    return args


class Terraform:
    """The Terraform CLI bound to one root module directory (``-chdir``).

    ``cli_config``: the ``TF_CLI_CONFIG_FILE`` to use (e.g. the mirror-only
    ``.streamkit/terraform.rc``); None keeps the caller's. ``data_dir``: a
    ``TF_DATA_DIR`` outside ``workdir`` (None: ``<workdir>/.terraform``). ``env``:
    extra environment variables. ``timeout``: seconds per command.
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        *,
        binary: str | None = None,
        cli_config: str | os.PathLike[str] | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 900.0,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        found = binary or find_terraform()
        if found is None:
            raise StreamkitError(f"terraform is not installed: {INSTALL_HINT}")
        self.binary = found
        self.workdir = Path(workdir)
        self.timeout = timeout
        self.on_line = on_line
        environment = {k: v for k, v in os.environ.items() if k not in _STRIPPED_ENV}
        environment.update({"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"})
        if cli_config is not None:
            environment["TF_CLI_CONFIG_FILE"] = str(Path(cli_config).resolve())
        if data_dir is not None:
            environment["TF_DATA_DIR"] = str(Path(data_dir).resolve())
        environment.update(env or {})
        self.env = environment

    # the one way a command runs ------------------------------------------------

    def run(self, *args: str, ok: Sequence[int] = (0,)) -> TerraformResult:
        """Run ``terraform -chdir=<workdir> <args>``; raise unless its status is in ``ok``."""
        command = [self.binary, f"-chdir={self.workdir}", *args]
        if self.on_line is None:
            done = subprocess.run(
                command,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
            result = TerraformResult(tuple(args), done.returncode, done.stdout, done.stderr)
        else:
            result = self._streamed(command, tuple(args))
        if result.returncode not in ok:
            raise TerraformError(result)
        return result

    def _streamed(self, command: list[str], args: tuple[str, ...]) -> TerraformResult:
        assert self.on_line is not None
        lines: list[str] = []
        with subprocess.Popen(
            command,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        ) as child:
            assert child.stdout is not None
            for line in child.stdout:
                lines.append(line)
                self.on_line(line.rstrip("\n"))
            try:
                code = child.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                raise
        return TerraformResult(args, code, "".join(lines), "")

    # commands -------------------------------------------------------------------

    def version(self) -> str:
        """``terraform version -json``'s ``terraform_version``."""
        doc = json.loads(self.run("version", "-json").stdout)
        return str(doc["terraform_version"])

    def init(self, *, backend: bool = True, upgrade: bool = False) -> TerraformResult:
        args = ["init", "-input=false", "-no-color"]
        if not backend:
            args.append("-backend=false")
        if upgrade:
            args.append("-upgrade")
        return self.run(*args)

    def validate(self) -> TerraformResult:
        return self.run("validate", "-no-color")

    def fmt_check(self) -> TerraformResult:
        """``terraform fmt -check -recursive -diff``: raises when a file is not formatted."""
        return self.run("fmt", "-check", "-recursive", "-diff", "-no-color")

    def plan(
        self,
        *,
        variables: Mapping[str, Any] | None = None,
        var_files: Sequence[str | os.PathLike[str]] = (),
        out: str | os.PathLike[str] | None = None,
        destroy: bool = False,
        refresh: bool = True,
        extra: Sequence[str] = (),
    ) -> TerraformResult:
        """Plan with ``-detailed-exitcode``; the result's ``has_changes`` says if any."""
        args = ["plan", "-input=false", "-no-color", "-detailed-exitcode"]
        if out is not None:
            args.append(f"-out={out}")
        if destroy:
            args.append("-destroy")
        if not refresh:
            args += ["-refresh=false", "-lock=false"]
        args += [f"-var-file={f}" for f in var_files]
        args += var_args(variables)
        args += list(extra)
        return self.run(*args, ok=(0, 2))

    def apply(
        self,
        plan_file: str | os.PathLike[str] | None = None,
        *,
        variables: Mapping[str, Any] | None = None,
        var_files: Sequence[str | os.PathLike[str]] = (),
    ) -> TerraformResult:
        """Apply a saved plan, or plan and apply ``variables`` at once."""
        args = ["apply", "-input=false", "-no-color", "-auto-approve"]
        if plan_file is not None:
            if variables or var_files:
                raise ValueError("a saved plan already holds its variables")
            return self.run(*args, str(plan_file))
        args += [f"-var-file={f}" for f in var_files]
        return self.run(*args, *var_args(variables))

    def destroy(
        self,
        *,
        variables: Mapping[str, Any] | None = None,
        var_files: Sequence[str | os.PathLike[str]] = (),
    ) -> TerraformResult:
        args = ["destroy", "-input=false", "-no-color", "-auto-approve"]
        args += [f"-var-file={f}" for f in var_files]
        return self.run(*args, *var_args(variables))

    def show_plan(self, plan_file: str | os.PathLike[str]) -> dict[str, Any]:
        """A saved plan as ``terraform show -json`` gives it (``resource_changes``, ...)."""
        doc: dict[str, Any] = json.loads(
            self.run("show", "-json", "-no-color", str(plan_file)).stdout
        )
        return doc

    def output(self) -> dict[str, Any]:
        """The root outputs, name -> value (``terraform output -json``)."""
        doc = json.loads(self.run("output", "-json", "-no-color").stdout or "{}")
        return {name: entry["value"] for name, entry in doc.items()}

    def state_list(self) -> list[str]:
        """Addresses of every resource in the state (``terraform state list``)."""
        result = self.run("state", "list", "-no-color", ok=(0, 1))
        if result.returncode == 1:
            if "No state file was found" in result.output:
                return []  # nothing was ever applied here
            raise TerraformError(result)
        return [line for line in result.stdout.splitlines() if line.strip()]
