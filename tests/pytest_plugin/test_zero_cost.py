"""A test that does not use chaos pays nothing: no SDK, no HTTP client, no patching, no thread."""

from __future__ import annotations

import pytest

from tests.pytest_plugin.conftest import Run

PLAIN = """
import sys
import threading

def test_plain():
    assert sys.modules.get("aumai_chaos.pytest_plugin") is not None  # the plugin is active
    heavy = sorted(
        m
        for m in sys.modules
        if m.startswith(("opentelemetry.sdk", "httpx", "openai", "anthropic"))
        or m == "aumai_chaos.pytest_plugin._block"
    )
    assert heavy == []
    transport = sys.modules.get("aumai_chaos.transport")
    assert transport is None or not transport.is_instrumented()  # nothing patched
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


def test_the_check_sees_the_sdk_once_a_test_uses_chaos(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_plain="""
import sys

def test_with_chaos(chaos):
    chaos.inject("anything", fault_type="latency", duration_ms=0, required=False)

def test_after():
    assert "opentelemetry.sdk.trace" in sys.modules
    assert "aumai_chaos.pytest_plugin._block" in sys.modules
"""
    )
    run(subprocess=True).assert_outcomes(passed=2)
