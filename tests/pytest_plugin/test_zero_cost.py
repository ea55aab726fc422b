"""A test that does not use chaos pays nothing for the plugin: no SDK, no transport, no threads."""

from __future__ import annotations

import pytest

from tests.pytest_plugin.conftest import Run

PLAIN = """
import sys
import threading

def test_plain():
    assert sys.modules.get("aumai_chaos.pytest_plugin") is not None  # the plugin is active
    heavy = sorted(
        m for m in sys.modules
        if m.startswith(("opentelemetry.sdk", "httpx", "openai", "anthropic"))
        or m in ("aumai_chaos.transport", "aumai_chaos.pytest_plugin._engine")
    )
    assert heavy == []
    assert threading.active_count() == 1

def test_plain_too():
    test_plain()
"""


def test_a_test_without_chaos_imports_no_sdk_and_starts_no_thread(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(test_plain=PLAIN)
    result = run(subprocess=True)
    result.assert_outcomes(passed=2)
    assert "with chaos" not in result.stdout.str()
