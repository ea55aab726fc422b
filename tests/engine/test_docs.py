"""docs/experiments-in-code.md: its Python examples run as written, its YAML loads."""

from __future__ import annotations

import re

import yaml

from aumai_chaos import ChaosExperiment
from tests.helpers import REPO

DOC = (REPO / "docs" / "experiments-in-code.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, re.DOTALL)


def test_the_python_examples_run() -> None:
    blocks = _blocks("python")
    assert len(blocks) == 2
    for block in blocks:
        exec(compile(block, "experiments-in-code.md", "exec"), {"__name__": "docs_example"})


def test_the_yaml_example_is_a_valid_experiment() -> None:
    (block,) = _blocks("yaml")
    exp = ChaosExperiment.model_validate(yaml.safe_load(block))
    assert exp.trace_calls == "faults"
