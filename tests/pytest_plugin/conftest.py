"""Run pytest on generated test files, with the aumai-chaos plugin, in process or not."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

import pytest

import aumai_chaos.pytest_plugin
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
        if subprocess:
            full = [*plugin_args(), "-p", "no:cacheprovider", *args]
            return pytester.runpytest_subprocess(*full, timeout=110)
        # In process, the plugin module is handed over as an object: `-p` would import it
        # again for assertion rewriting, and warn that it is already imported here.
        plugins = [aumai_chaos.pytest_plugin] if plugin_args() else []
        return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args, plugins=plugins)

    return go
