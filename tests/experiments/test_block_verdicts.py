"""What a block's verdict says when it cannot judge: a ``workload`` objective with no units of
work, and a fault whose component no call reached (a misspelt name)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import aumai_chaos
from aumai_chaos import Verdict, chaos_target
from tests.experiments.support import unique


@pytest.fixture
def providers(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> dict[str, Any]:
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


def _target(name: str) -> Any:
    @chaos_target(name)
    def tool() -> str:
        return "ok"

    return tool


def test_a_workload_objective_in_a_block_is_inconclusive_never_a_false_deviated(
    providers: dict[str, Any],
) -> None:
    name = unique("llm")
    tool = _target(name)
    with aumai_chaos.experiment(
        faults=[{"fault_type": "latency", "duration_ms": 0, "affected_components": [name]}],
        steady_state=[{"component": "workload", "max_error_rate": 0.5}],
        **providers,
    ) as run:
        for _ in range(3):
            tool()
    result = run.result
    assert result is not None
    assert result.verdict is Verdict.inconclusive
    assert result.verdict_reason is not None
    assert "no units observed" in result.verdict_reason
    assert "workload" in result.verdict_reason
    # Nothing was judged on the workload: no objective result claims it failed (or passed).
    assert [o for o in result.objectives if o.component == "workload"] == []


def test_a_component_objective_next_to_a_workload_one_is_still_judged(
    providers: dict[str, Any],
) -> None:
    name = unique("llm")
    tool = _target(name)
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "affected_components": [name]}],
        steady_state=[
            {"component": "workload", "max_error_rate": 0.5},
            {"component": name, "max_error_rate": 0.1},
        ],
        **providers,
    ) as run:
        for _ in range(3):
            with contextlib.suppress(aumai_chaos.ChaosError):
                tool()
    result = run.result
    assert result is not None
    # A real deviation outranks what could not be judged.
    assert result.verdict is Verdict.deviated
    assert [(o.component, o.passed) for o in result.objectives] == [(name, False)]


def test_a_misspelt_component_says_did_you_mean_in_the_verdict_reason(
    providers: dict[str, Any],
) -> None:
    name = unique("vector_db")
    tool = _target(name)
    typo = name.replace("vector", "vectr")
    with aumai_chaos.experiment(
        faults=[{"fault_type": "error", "times": 1, "affected_components": [typo]}],
        **providers,
    ) as run:
        tool()
    result = run.result
    assert result is not None
    assert result.verdict is Verdict.inconclusive
    reason = result.verdict_reason or ""
    assert f"component {typo!r} (named by a fault) was never called" in reason
    assert f"did you mean {name!r}?" in reason
    assert any("did you mean" in n for n in result.summary.notes)


def test_a_glob_is_reached_by_any_component_it_matches() -> None:
    from aumai_chaos.experiments._verdict import reached

    calls = {"vector_db": 2, "llm": 0}
    assert reached("vector_db", calls)
    assert reached("vector_*", calls)
    assert not reached("llm", calls)
    assert not reached("ll?", calls)  # matched, but never called
    assert not reached("vectr_db", calls)
