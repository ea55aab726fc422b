"""``chaos.recovery()`` and ``chaos.assert_recovered()``: a test is a unit of work, and so is
``chaos.unit(...)`` inside it; a failing assertion lists each propagated fault with its call
number and the replay command."""

from __future__ import annotations

import pytest

from tests.pytest_plugin.conftest import Run

AGENT = """
import pytest
from aumai_chaos import ChaosError, chaos_target

@chaos_target("llm")
def llm():
    return "answer"

@chaos_target("search")
def search():
    return "doc"

def robust():
    for _ in range(3):
        try:
            return llm()
        except ChaosError:
            continue
    raise RuntimeError("gave up")

def fragile():
    return llm()
"""


def test_the_test_is_a_unit_and_a_retry_recovers(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_agent=AGENT
        + """
def test_robust(chaos):
    chaos.inject("llm", fault_type="error", times=2)
    assert robust() == "answer"
    (row,) = chaos.assert_recovered(fault_type="error")
    assert (row.fired, row.recovered, row.mechanisms["retry"]) == (2, 2, 2)
    assert row.rate == 1.0
    assert chaos.recovery() == [row]

def test_units_inside_the_test(chaos):
    chaos.inject("llm", fault_type="error", times=3)
    for q in range(3):
        try:
            with chaos.unit(f"question {q}"):
                fragile()
        except ChaosError:
            pass
    rows = chaos.recovery()
    assert [(r.fired, r.propagated) for r in rows] == [(3, 3)]
    with pytest.raises(AssertionError) as info:
        chaos.assert_recovered(component="llm", min_rate=0.5)
    text = str(info.value)
    assert "recovered 0 of 3 faults (llm): rate 0.00 < 0.5" in text
    for n in (1, 2, 3):
        assert f"propagated: error on llm, call #{n}, in 'question {n - 1}'" in text
    assert "replay: pytest test_agent.py::test_units_inside_the_test --chaos-seed 5" in text
    chaos.assert_recovered(component="llm", min_rate=0.0)
    with pytest.raises(AssertionError, match="no fault fired"):
        chaos.assert_recovered(fault_type="latency")
"""
    )
    run("--chaos-seed", "5").assert_outcomes(passed=2)


def test_a_failing_test_lists_its_propagated_faults(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_agent=AGENT
        + """
def test_fragile(chaos):
    chaos.inject("llm", fault_type="error", times=1)
    fragile()
"""
    )
    result = run("--chaos-seed", "9")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- chaos -*",
            "faults fired: 1 (llm 1)",
            "  propagated: error on llm, call #1, in 'pytest:test_agent.py::test_fragile', "
            "ended by aumai_chaos.errors.ChaosError",
            "replay: pytest test_agent.py::test_fragile --chaos-seed 9",
        ]
    )


def test_assert_recovered_refuses_a_rate_outside_0_1(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_agent=AGENT
        + """
def test_bad(chaos):
    with pytest.raises(ValueError, match="min_rate must be in"):
        chaos.assert_recovered(min_rate=1.5)
"""
    )
    run().assert_outcomes(passed=1)
