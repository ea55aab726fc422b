"""A chaos test cannot pass while testing nothing: a fault on a component no call reached (a
misspelt name) fails the test with a "did you mean", unless the fault is declared
``required=False`` (a ``workload`` objective is judged over the test's units:
test_workload_objective.py)."""

from __future__ import annotations

import pytest

from tests.pytest_plugin.conftest import Run
from tests.pytest_plugin.support import AGENT


def test_a_misspelt_component_fails_the_test_with_did_you_mean(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(
        test_typo=AGENT
        + """
def test_fixture_typo(chaos):
    chaos.inject("vectr_db", fault_type="error", times=1)
    assert failing_calls(3) == []

@pytest.mark.chaos("vectr_db", fault_type="error", times=1)
def test_marker_typo():
    assert failing_calls(3) == []

def test_fixture_typo_not_required(chaos):
    chaos.inject("vectr_db", fault_type="error", times=1, required=False)
    assert failing_calls(3) == []

@pytest.mark.chaos("vectr_db", fault_type="error", times=1, required=False)
def test_marker_typo_not_required():
    assert failing_calls(3) == []

def test_spelt_right(chaos):
    chaos.inject("vector_db", fault_type="error", times=1)
    assert failing_calls(3) == [1]
"""
    )
    result = run("-rA")
    result.assert_outcomes(passed=3, failed=2)
    out = result.stdout.str()
    for name in ("test_fixture_typo", "test_marker_typo"):
        assert f"FAILED test_typo.py::{name} - " in out
    expected = "component 'vectr_db' (named by a fault) was never called; did you mean 'vector_db'?"
    assert out.count(expected) >= 2, out
    assert "required=False" in out


def test_a_fault_added_after_the_last_call_is_unreached_too(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(
        test_late=AGENT
        + """
def test_late(chaos):
    failing_calls(2)
    chaos.inject("vector_db", fault_type="error")
"""
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*component 'vector_db' (named by a fault) was never called*"])
