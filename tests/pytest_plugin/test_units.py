"""The plugin's pure parts: seeds (golden vectors), markers, packaging."""

from __future__ import annotations

import tomllib
from types import SimpleNamespace
from typing import Any

import pytest

from aumai_chaos.pytest_plugin._marker import MarkerError, read_markers
from aumai_chaos.pytest_plugin._seed import MAX_SEED, parse_seed, test_seed
from tests.helpers import REPO

#: docs/pytest.md lists the same vectors: a run replays on any machine and any Python.
GOLDEN = [
    (0, "tests/test_agent.py::test_answer", 3480320439238462937),
    (42, "tests/test_agent.py::test_answer", 1997719103409128287),
    (42, "tests/test_agent.py::test_answer[gpt]", 4749751270557987061),
]


@pytest.mark.parametrize(("run_seed", "nodeid", "expected"), GOLDEN)
def test_test_seeds_are_golden(run_seed: int, nodeid: str, expected: int) -> None:
    assert test_seed(run_seed, nodeid) == expected
    assert 0 <= expected <= MAX_SEED


def test_the_golden_vectors_are_in_the_docs() -> None:
    page = (REPO / "docs" / "pytest.md").read_text(encoding="utf-8")
    for run_seed, nodeid, expected in GOLDEN:
        assert f"| {run_seed} | `{nodeid}` | {expected} |" in page


@pytest.mark.parametrize(
    ("text", "message"),
    [("x", "whole number"), ("-1", "between 0 and"), (str(MAX_SEED + 1), "between 0 and")],
)
def test_bad_seeds(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_seed(text)


def chaos(*args: Any, **kwargs: Any) -> SimpleNamespace:
    """A stand-in for ``pytest.mark.chaos(...).mark`` (this suite may run without the plugin,
    and ``--strict-markers`` refuses the marker then)."""
    return SimpleNamespace(args=args, kwargs=kwargs)


def test_markers_stack_outermost_first_with_test_keywords() -> None:
    # iter_markers yields the closest (the function's) first.
    spec = read_markers(
        [
            chaos("db", fault_type="error", times=2),
            chaos(steady_state={"component": "db", "max_error_rate": 0.5}),
            chaos(component="llm", fault_type="latency", duration_ms=5),
        ]
    )
    assert spec.faults == [
        ("llm", {"fault_type": "latency", "duration_ms": 5}),
        ("db", {"fault_type": "error", "times": 2}),
    ]
    assert spec.steady_state == [{"component": "db", "max_error_rate": 0.5}]
    assert spec.expected_verdicts == ("passed",)


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        (chaos("db", probability=0.5), "needs fault_type="),
        (chaos("db"), "without a fault_type"),
        (chaos("db", "llm", fault_type="error"), "unexpected positional"),
    ],
)
def test_unreadable_markers(mark: SimpleNamespace, message: str) -> None:
    with pytest.raises(MarkerError, match=message):
        read_markers([mark])


def test_the_package_registers_the_plugin_and_its_test_dependencies() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["pytest11"] == {"aumai_chaos": "aumai_chaos.pytest_plugin"}
    dev = " ".join(project["optional-dependencies"]["dev"])
    for name in ("pytest-xdist", "pytest-asyncio", "anyio"):
        assert name in dev
