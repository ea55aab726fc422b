"""docs/experiments-in-code.md: its Python examples run as written, its YAML loads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aumai_chaos import ChaosExperiment
from aumai_chaos.cli.commands import app
from tests.helpers import REPO

DOC = (REPO / "docs" / "experiments-in-code.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, re.DOTALL)


def test_the_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In order, in one namespace (a later example may use an earlier one's ``run``)."""
    monkeypatch.chdir(tmp_path)
    blocks = _blocks("python")
    assert len(blocks) == 3
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    for block in blocks:
        exec(compile(block, "experiments-in-code.md", "exec"), namespace)


def test_a_saved_block_result_renders_with_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented ``run.result.model_dump_json()`` is a file ``aumai-chaos report`` reads."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    for block in _blocks("python"):
        exec(compile(block, "experiments-in-code.md", "exec"), namespace)
    saved = tmp_path / "result.json"
    assert saved.is_file()
    runner = CliRunner()
    text = runner.invoke(app, ["report", str(saved)])
    assert text.exit_code == 0, text.output
    assert "Verdict   : passed" in text.output
    assert "llm" in text.output
    html = runner.invoke(app, ["report", str(saved), "--format", "html", "--output", "r.html"])
    assert html.exit_code == 0, html.output
    assert "<html" in (tmp_path / "r.html").read_text(encoding="utf-8").lower()


def test_the_yaml_example_is_a_valid_experiment() -> None:
    (block,) = _blocks("yaml")
    exp = ChaosExperiment.model_validate(yaml.safe_load(block))
    assert exp.trace_calls == "faults"
