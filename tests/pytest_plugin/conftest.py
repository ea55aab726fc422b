"""Run pytest on generated test files, with the aumai-chaos plugin, in process or not."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

import pytest

from tests.pytest_plugin.support import HEADER_INI

Run = Callable[..., pytest.RunResult]


def plugin_args() -> list[str]:
    """``-p aumai_chaos.pytest_plugin`` unless the ``pytest11`` entry point loads it already
    (loading it twice is an error)."""
    if any(ep.value == "aumai_chaos.pytest_plugin" for ep in entry_points(group="pytest11")):
        return []
    return ["-p", "aumai_chaos.pytest_plugin"]


@pytest.fixture
def run(pytester: pytest.Pytester) -> Run:
    """``run(*args, subprocess=False)``: pytest on the pytester directory, with the plugin."""
    pytester.makeini(HEADER_INI)

    def go(*args: str, subprocess: bool = False) -> pytest.RunResult:
        full = [*plugin_args(), "-p", "no:cacheprovider", *args]
        if subprocess:
            return pytester.runpytest_subprocess(*full, timeout=110)
        return pytester.runpytest(*full)

    return go
