"""The ``chaos`` fixture's members, and what it refuses."""

from __future__ import annotations

import pytest

from tests.pytest_plugin.conftest import Run
from tests.pytest_plugin.support import AGENT


def test_fixture_members(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_members=AGENT
        + """
from aumai_chaos import ExperimentStatus, FaultConfig, FaultType, Verdict
from aumai_chaos.pytest_plugin import ChaosFixture, test_seed

def test_members(chaos, request):
    assert isinstance(chaos, ChaosFixture)
    assert chaos.seed == test_seed(chaos.run_seed, request.node.nodeid)
    assert chaos.replay == f"pytest test_members.py::test_members --chaos-seed {chaos.run_seed}"
    fault = chaos.inject("vector_db", FaultConfig(fault_type="error", error_code=429, times=2))
    assert fault.affected_components == ("vector_db",)
    assert failing_calls(3) == [1, 2]
    assert chaos.fired() == chaos.fired("vector_db") == chaos.fired(fault_type=FaultType.error) == 2
    assert chaos.fired("elsewhere") == chaos.fired(fault_type="latency") == 0
    so_far = chaos.result
    assert so_far.status is ExperimentStatus.running
    assert so_far.seed == chaos.seed
    assert so_far.summary["total_faults_fired"] == 2
    assert so_far.summary["components"]["vector_db"]["calls"] == 3
    events = [(o.component, o.event) for o in chaos.observations()]
    assert events.count(("vector_db", "fault_injected")) == 2
    assert events.count(("vector_db", "call")) == 3
    final = chaos.assert_verdict()
    assert final.status is ExperimentStatus.completed
    assert final.verdict is Verdict.passed
    assert chaos.result is final

def test_inject_after_the_experiment_ended(chaos):
    chaos.assert_verdict("inconclusive", "passed")
    with pytest.raises(ValueError, match="after the test's experiment ended"):
        chaos.inject("vector_db", fault_type="error")

def test_inject_before_the_body_applies_to_the_body(chaos_in_setup):
    assert failing_calls(2) == [1, 2]
    assert chaos_in_setup.fired() == 2

@pytest.fixture
def chaos_in_setup(chaos):
    chaos.inject("vector_db", fault_type="error")
    assert failing_calls(2) == []  # setup: no experiment yet
    yield chaos
    assert failing_calls(2) == []  # teardown: over
"""
    )
    run("--chaos-seed", "21").assert_outcomes(passed=3)


def test_fixture_refuses_with_the_reason(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_refused="""
import pytest

def test_typo_in_a_route(chaos):
    with pytest.raises(ValueError, match="openai.chat.compleitons"):
        chaos.inject("openai.chat.compleitons", fault_type="rate_limit")

def test_unknown_field(chaos):
    with pytest.raises(ValueError, match="probabilty"):
        chaos.inject("db", fault_type="error", probabilty=0.5)

def test_both_forms(chaos):
    from aumai_chaos import FaultConfig
    with pytest.raises(ValueError, match="not both"):
        chaos.inject("db", FaultConfig(fault_type="error"), times=1)
"""
    )
    run().assert_outcomes(passed=3)


def test_spans_are_those_of_any_experiment(pytester: pytest.Pytester, run: Run) -> None:
    # The global tracer provider is set in the pytest subprocess only, never in this one.
    pytester.makeconftest(
        """
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

EXPORTER = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
trace.set_tracer_provider(provider)

@pytest.fixture
def exporter():
    return EXPORTER
"""
    )
    pytester.makepyfile(
        test_spans=AGENT
        + """
SEEN = {}

@pytest.mark.chaos("vector_db", fault_type="error", probability=0.5)
def test_with_faults(chaos):
    SEEN["failed"] = failing_calls(10)
    SEEN["seed"] = chaos.seed

def test_check(exporter):
    spans = exporter.get_finished_spans()
    [experiment] = [s for s in spans if s.name == "chaos.experiment"]
    assert experiment.attributes["chaos.experiment.id"] == "pytest:test_spans.py::test_with_faults"
    assert experiment.attributes["chaos.seed"] == SEEN["seed"]
    faults = [s for s in spans if s.name == "chaos.fault"]
    assert SEEN["failed"]
    assert sorted(s.attributes["chaos.fault.occurrence"] for s in faults) == SEEN["failed"]
    calls = [s for s in spans if s.name == "vector_db"]
    assert len(calls) == 10
    assert all(s.parent.span_id == experiment.context.span_id for s in calls)
"""
    )
    run("--chaos-seed", "17", subprocess=True).assert_outcomes(passed=2)
