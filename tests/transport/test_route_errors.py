"""A route problem in an experiment file is located like every other field's: file, line,
column and field, with a "did you mean" among the built-in routes; every problem is listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from aumai_chaos.errors import ConfigError
from aumai_chaos.experiments.files import load_experiment_file

FILE = """\
experiment_id: routes
name: route typos
duration_seconds: 1
target_components: [llm, openai.chat.completion]
faults:
  - fault_type: rate_limit
    affected_components: [vector_db, anthropic.mesages]
  - fault_type: error
    error_code: 42
    affected_components: [anthropic.messages]
"""


def _lines(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "routes.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_experiment_file(path)
    return str(caught.value).splitlines()


def test_each_route_problem_names_its_line_column_and_field(tmp_path: Path) -> None:
    lines = _lines(tmp_path, FILE)
    source = str(tmp_path / "routes.yaml")
    assert lines == [
        f"{source}:4:26: target_components[1]: unknown provider route "
        "'openai.chat.completion'; did you mean 'openai.chat.completions'?",
        f"{source}:7:38: faults[0].affected_components[1]: unknown provider route "
        "'anthropic.mesages'; did you mean 'anthropic.messages'?",
        f"{source}:10:27: faults[1].affected_components[0]: error on anthropic.messages: "
        "error_code 42 is not an HTTP status (100-599)",
    ]


def test_a_fault_inheriting_target_components_is_located_at_the_fault(tmp_path: Path) -> None:
    text = """\
experiment_id: routes
name: inherited
duration_seconds: 1
target_components: [openai.chat.completions]
faults:
  - fault_type: error
    error_code: 42
"""
    [line] = _lines(tmp_path, text)
    assert line == (
        f"{tmp_path / 'routes.yaml'}:6:5: faults[0]: error on openai.chat.completions (from "
        "target_components): error_code 42 is not an HTTP status (100-599)"
    )
