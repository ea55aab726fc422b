"""Every usage error of the command is one line on stderr and exit 2 (no Typer/rich box):
a bad value, an unknown option, a missing argument or option, an unknown command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aumai_chaos.cli.commands import app
from tests.cli.support import run_cli
from tests.helpers import REPO

CASES = [
    (["run", "--seed", "abc"], "aumai-chaos run: error: Invalid value for '--seed'"),
    (["run", "--bogus"], "aumai-chaos run: error: No such option: --bogus"),
    (["report"], "aumai-chaos report: error: Missing argument"),
    (["run", "--experiment"], "aumai-chaos run: error: Option '--experiment' requires an argument"),
    (["frobnicate"], "aumai-chaos: error: No such command 'frobnicate'"),
    (["--nope"], "aumai-chaos: error: No such option: --nope"),
    (["report", "x.json", "--format", "pdf"], "aumai-chaos report: error: Invalid value for"),
]


@pytest.mark.parametrize(("args", "start"), CASES)
def test_a_usage_error_is_one_line_and_exit_2(args: list[str], start: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(start), lines[0]
    assert lines[0].endswith(" -h' for help)"), lines[0]
    assert result.stdout == ""


def test_in_a_real_process_on_a_wide_terminal_too() -> None:
    """The rich box is drawn for a terminal; the real entry point must not draw it either."""
    proc = run_cli("run", "--seed", "abc")
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("aumai-chaos run: error: Invalid value for '--seed': "), line
    assert line.endswith(" (see 'aumai-chaos run -h' for help)"), line
    assert proc.stdout == ""


def test_the_bad_input_examples_in_cli_md_are_what_the_command_prints(tmp_path: Path) -> None:
    """docs/cli.md's ``typos.yaml`` example, run as written, prints the lines it shows."""
    doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    section = doc.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    [yaml_text] = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    (tmp_path / "typos.yaml").write_text(yaml_text, encoding="utf-8")
    shown = re.search(r"\$ aumai-chaos validate typos.yaml\n(.*?)```", section, re.DOTALL)
    assert shown is not None
    proc = run_cli("validate", "typos.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == shown.group(1).splitlines()
