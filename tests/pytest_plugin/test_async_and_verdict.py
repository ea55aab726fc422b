"""Async tests (pytest-asyncio, anyio) and tests that check the experiment's verdict."""

from __future__ import annotations

import pytest

from tests.pytest_plugin.conftest import Run

ASYNC_AGENT = """
import anyio
import pytest
from aumai_chaos import ChaosError, chaos_target

@chaos_target("retriever")
async def retrieve(query):
    await anyio.sleep(0)
    return ["doc"]

async def failing_calls(n=20):
    failed = []
    for i in range(1, n + 1):
        try:
            await retrieve("q")
        except ChaosError:
            failed.append(i)
    return failed
"""


def test_pytest_asyncio_and_anyio_tests(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_async=ASYNC_AGENT
        + """
@pytest.mark.asyncio
async def test_asyncio_fixture(chaos):
    chaos.inject("retriever", fault_type="error", probability=1.0, times=3)
    failed = await failing_calls(3)
    assert failed == [1, 2, 3]
    assert chaos.fired("retriever", "error") == 3

@pytest.mark.asyncio
@pytest.mark.chaos("retriever", fault_type="latency", duration_ms=1)
async def test_asyncio_marker(chaos):
    assert await failing_calls(4) == []
    assert chaos.fired("retriever", fault_type="latency") == 4
    assert chaos.fired("retriever", fault_type="error") == 0

@pytest.mark.anyio
async def test_anyio_fixture(chaos):
    chaos.inject("retriever", fault_type="error", probability=1.0)
    assert await failing_calls(2) == [1, 2]
    assert chaos.fired() == 2

@pytest.mark.anyio
@pytest.mark.chaos("retriever", fault_type="error", probability=1.0)
async def test_anyio_marker_failing():
    assert await failing_calls(2) == []

@pytest.fixture
def anyio_backend():
    return "asyncio"
"""
    )
    result = run("--chaos-seed", "8")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- chaos -*",
            "faults fired: 2 (retriever 2)",
            "replay: pytest test_async.py::test_anyio_marker_failing --chaos-seed 8",
        ]
    )


VERDICT_AGENT = """
import pytest
from aumai_chaos import ChaosError, chaos_target

@chaos_target("vector_db")
def search(query):
    return ["doc"]

def agent(n=20):
    answers = 0
    for _ in range(n):
        try:
            search("q")
        except ChaosError:
            continue
        answers += 1
    return answers
"""


def test_steady_state_on_the_marker_checks_the_verdict(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_verdict=VERDICT_AGENT
        + """
@pytest.mark.chaos("vector_db", fault_type="error", probability=0.2)
@pytest.mark.chaos(steady_state=[{"component": "vector_db", "max_error_rate": 0.9}])
def test_within_limits():
    agent()

@pytest.mark.chaos("vector_db", fault_type="error", probability=1.0)
@pytest.mark.chaos(steady_state={"component": "vector_db", "max_error_rate": 0.1})
def test_deviates():
    agent()

@pytest.mark.chaos("vector_db", fault_type="error", probability=1.0, after_calls=1000)
@pytest.mark.chaos(steady_state={"component": "vector_db", "max_error_rate": 0.5})
def test_unfired_fault_is_inconclusive():
    agent()

@pytest.mark.chaos("vector_db", fault_type="error", probability=1.0)
@pytest.mark.chaos(assert_verdict=["passed", "deviated"])
def test_no_objectives_passes():
    agent()
"""
    )
    result = run("--chaos-seed", "11")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_deviates _*",
            "chaos verdict 'deviated', expected passed",
            "  vector_db: max_error_rate 0.1, observed 1",
            "*_ test_unfired_fault_is_inconclusive _*",
            "chaos verdict 'inconclusive', expected passed",
            "  fault error on ['vector_db'] never fired",
        ]
    )


def test_assert_verdict_in_the_body(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_verdict=VERDICT_AGENT
        + """
from aumai_chaos import Verdict

@pytest.mark.chaos(steady_state={"component": "vector_db", "max_error_rate": 0.6})
def test_passes(chaos):
    chaos.inject("vector_db", fault_type="error", probability=1.0, times=5)
    assert agent(20) == 15
    result = chaos.assert_verdict()
    assert result.verdict is Verdict.passed
    assert result.summary["total_faults_fired"] == 5
    assert agent(5) == 5  # the experiment has ended: no more faults

def test_deviated_is_expected(chaos):
    chaos.inject("vector_db", fault_type="error", probability=1.0)
    agent(3)
    with pytest.raises(AssertionError, match="chaos verdict 'passed', expected deviated"):
        chaos.assert_verdict(Verdict.deviated)
    assert chaos.result.verdict is Verdict.passed
    assert [o.event for o in chaos.observations()].count("fault_injected") == 3
"""
    )
    run("--chaos-seed", "12").assert_outcomes(passed=2)


def test_markers_in_pytestmark_on_modules_and_classes(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_stack=VERDICT_AGENT
        + """
from aumai_chaos import ChaosError

pytestmark = pytest.mark.chaos("vector_db", fault_type="error", times=1)

def test_module_level(chaos):
    assert agent(3) == 2
    assert chaos.fired() == 1

class TestStacked:
    pytestmark = [pytest.mark.chaos("vector_db", fault_type="latency", duration_ms=0, times=2)]

    def test_class_and_module(self, chaos):
        assert agent(3) == 2
        assert chaos.fired("vector_db", "error") == 1
        assert chaos.fired("vector_db", "latency") == 2
        faults = chaos.result.summary["faults"]
        assert [f["fault_type"] for f in faults] == ["error", "latency"]  # module first

    @pytest.mark.chaos("vector_db", fault_type="error", after_calls=2)
    def test_all_three(self, chaos):
        chaos.inject("vector_db", fault_type="latency", duration_ms=0)
        assert agent(4) == 1  # call 1: module's error; calls 3 and 4: the function's
        assert chaos.fired("vector_db", "error") == 3
        assert chaos.fired("vector_db", "latency") == 2 + 4  # the class's twice, the injected
        assert chaos.result.summary["total_faults_fired"] == 9  # one on every call
"""
    )
    run("--chaos-seed", "13").assert_outcomes(passed=3)
