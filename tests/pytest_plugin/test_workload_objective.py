"""A test's ``workload`` objective is judged over its units of work: the test itself is one
unit (it passes or fails as a whole), unless it opened units of its own with ``chaos.unit()``,
which are then the iterations. Never a false ``deviated``."""

from __future__ import annotations

import pytest

from tests.pytest_plugin.conftest import Run
from tests.pytest_plugin.support import AGENT


def test_the_test_is_one_unit_of_its_workload_objective(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(
        test_workload=AGENT
        + """
@pytest.mark.chaos("vector_db", fault_type="latency", duration_ms=0,
                   steady_state={"component": "workload", "max_error_rate": 0.0,
                                 "min_calls": 1, "max_latency_p95_ms": 600000})
def test_one_unit():
    assert failing_calls(3) == []

@pytest.mark.chaos("vector_db", fault_type="latency", duration_ms=0,
                   steady_state={"component": "workload", "min_calls": 2})
def test_asks_two_units():
    assert failing_calls(3) == []
"""
    )
    result = run("-rA")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "PASSED test_workload.py::test_one_unit" in out
    assert "FAILED test_workload.py::test_asks_two_units" in out
    assert "chaos verdict 'deviated', expected passed" in out
    assert "workload: min_calls 2, observed 1" in out
    assert "no units observed" not in out


def test_a_test_s_own_units_are_the_iterations(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_units=AGENT
        + """
class NoAnswerError(Exception):
    pass

def questions(chaos):
    for q in range(3):
        try:
            with chaos.unit(f"question {q}"):
                failing_calls(2)
                if q == 1:
                    raise NoAnswerError("no answer")
        except NoAnswerError:
            pass

@pytest.mark.chaos("vector_db", fault_type="latency", duration_ms=0,
                   steady_state={"component": "workload", "max_error_rate": 0.5,
                                 "min_calls": 3})
def test_within(chaos):
    questions(chaos)
    wl = chaos.result.summary.workload
    assert (wl.iterations, wl.failures) == (3, 1)

@pytest.mark.chaos("vector_db", fault_type="latency", duration_ms=0,
                   steady_state={"component": "workload", "max_error_rate": 0.2})
def test_beyond(chaos):
    questions(chaos)
"""
    )
    result = run("-rA")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "PASSED test_units.py::test_within" in out
    assert "FAILED test_units.py::test_beyond" in out
    assert "workload: max_error_rate 0.2, observed 0.333333" in out
