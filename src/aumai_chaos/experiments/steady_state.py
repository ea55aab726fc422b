"""Steady-state hypothesis, stop conditions and the verdict of an experiment.

An experiment answers one question: *with these faults, does the system still meet its
objectives?* Each :class:`Objective` names a component (or ``workload``, the workload's own
iterations) and limits on what the observer measured there. The objectives are checked on an
optional fault-free baseline first, then over the fault window; :class:`StopCondition` limits are
watched continuously over a sliding window and abort the run the moment one is crossed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from aumai_chaos.experiments.summary import ComponentStats, Summary
from aumai_chaos.faults import ComponentName

__all__ = [
    "WORKLOAD",
    "Objective",
    "ObjectiveResult",
    "StopCondition",
    "StopEvent",
    "Verdict",
    "component_stats",
    "decide_verdict",
    "evaluate_objectives",
    "first_crossed",
    "unjudged",
]

#: The pseudo-component that stands for the workload's own iterations.
WORKLOAD = "workload"

Rate = Annotated[float, Field(ge=0.0, le=1.0, strict=True, allow_inf_nan=False)]
Millis = Annotated[float, Field(ge=0.0, le=3_600_000.0, strict=True, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=10**12, strict=True)]

#: Objective limits, in the order they are reported: (field, summary key, kind).
LIMITS: tuple[tuple[str, str, Literal["max", "min"]], ...] = (
    ("min_calls", "calls", "min"),
    ("max_error_rate", "error_rate", "max"),
    ("min_success_rate", "success_rate", "min"),
    ("max_latency_p50_ms", "latency_p50_ms", "max"),
    ("max_latency_p95_ms", "latency_p95_ms", "max"),
    ("max_latency_p99_ms", "latency_p99_ms", "max"),
)


class Verdict(StrEnum):
    """The answer an experiment gives. Exit codes of ``aumai-chaos run``: passed 0; deviated,
    inconclusive, failed and aborted-by-a-stop-condition 1; baseline_not_met 3; aborted by the
    user (Ctrl-C) 130."""

    passed = "passed"
    deviated = "deviated"
    baseline_not_met = "baseline_not_met"
    inconclusive = "inconclusive"
    aborted = "aborted"
    failed = "failed"


class Objective(BaseModel):
    """Limits one component (or ``workload``) must stay within. At least one limit is needed.

    ``min_recovery_rate`` limits the recovery rate of the faults of ``fault_type`` and/or
    ``component`` (every fault when neither is named), judged on the point estimate or on the
    lower bound of its Wilson 95% interval (``on``); ``min_pass_rate`` limits the share of
    trials that passed, across the trials of a ``repeat`` (docs/recovery.md).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    component: ComponentName | None = None
    max_error_rate: Rate | None = None
    min_success_rate: Rate | None = None
    max_latency_p50_ms: Millis | None = None
    max_latency_p95_ms: Millis | None = None
    max_latency_p99_ms: Millis | None = None
    min_calls: Count | None = None
    # -- recovery (experiments/_recovery_objectives.py) --
    fault_type: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    min_recovery_rate: Rate | None = None
    min_pass_rate: Rate | None = None
    on: Literal["lower", "point"] = "point"

    @model_validator(mode="after")
    def _needs_a_limit(self) -> Objective:
        recovery = (self.min_recovery_rate, self.min_pass_rate)
        if all(getattr(self, name) is None for name, _, _ in LIMITS) and recovery == (None, None):
            names = [name for name, _, _ in LIMITS] + ["min_recovery_rate", "min_pass_rate"]
            raise ValueError("an objective needs at least one limit: " + ", ".join(names))
        if self.component is None and any(getattr(self, n) is not None for n, _, _ in LIMITS):
            raise ValueError("an objective with call limits needs a component")
        if self.fault_type is not None and self.min_recovery_rate is None:
            raise ValueError("fault_type goes with min_recovery_rate")
        return self


class StopCondition(BaseModel):
    """A safeguard watched while the run goes on; crossing it aborts the run at once.

    ``max_error_rate`` is the error rate of ``component`` (every component when unset; or
    ``workload``) over the last ``window_seconds``, checked once at least ``min_calls`` calls
    fell in the window. ``max_injections`` caps the faults the run may inject in total.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    component: ComponentName | None = None
    max_error_rate: Rate | None = None
    window_seconds: Annotated[float, Field(gt=0, le=3600, strict=True, allow_inf_nan=False)] = 5.0
    min_calls: Annotated[int, Field(ge=1, le=10**9, strict=True)] = 5
    max_injections: Annotated[int, Field(ge=1, le=10**12, strict=True)] | None = None

    @model_validator(mode="after")
    def _needs_a_limit(self) -> StopCondition:
        if self.max_error_rate is None and self.max_injections is None:
            raise ValueError("a stop condition needs max_error_rate or max_injections")
        return self

    def describe(self, limit: Literal["max_error_rate", "max_injections"] | None = None) -> str:
        """The condition as people read it; ``limit`` names the one that was crossed when both
        are set (by default the error rate, when set)."""
        if limit is None:
            limit = "max_error_rate" if self.max_error_rate is not None else "max_injections"
        if limit == "max_injections":
            return f"max_injections {self.max_injections}"
        target = self.component or "all components"
        return f"{target}: max_error_rate {self.max_error_rate} over {self.window_seconds:g}s"


class ObjectiveResult(BaseModel):
    """One limit of one objective, checked in one phase (``baseline`` or ``faults``)."""

    model_config = ConfigDict(extra="forbid")

    phase: Literal["baseline", "faults"]
    component: str
    limit: str
    threshold: float
    observed: float
    passed: bool


class StopEvent(BaseModel):
    """Which stop condition aborted the run, when, and what was observed."""

    model_config = ConfigDict(extra="forbid")

    condition: str
    index: int
    at: AwareDatetime
    observed: float


def _measures(stats: ComponentStats | None) -> dict[str, float]:
    if not stats:
        return {
            "calls": 0.0,
            "error_rate": 0.0,
            "success_rate": 0.0,
            "latency_p50_ms": 0.0,
            "latency_p95_ms": 0.0,
            "latency_p99_ms": 0.0,
        }
    calls = float(stats.calls)
    error_rate = float(stats.error_rate)
    latency = stats.latency_ms
    return {
        "calls": calls,
        "error_rate": error_rate,
        "success_rate": (1.0 - error_rate) if calls else 0.0,
        "latency_p50_ms": float(latency.p50),
        "latency_p95_ms": float(latency.p95),
        "latency_p99_ms": float(latency.p99),
    }


def component_stats(summary: Summary | Mapping[str, Any], component: str) -> ComponentStats | None:
    """A component's statistics from a run summary (``workload`` for the iterations: their
    ``calls``, ``error_rate`` and ``latency_ms``)."""
    if not isinstance(summary, Summary):
        summary = Summary.model_validate(summary)
    if component == WORKLOAD:
        wl = summary.workload
        if not wl:
            return None
        stats = ComponentStats(calls=wl.iterations, error_rate=wl.failure_rate)
        if "latency_ms" in wl:
            stats.latency_ms = wl.latency_ms
        return stats
    return summary.components.get(component)


def unjudged(objectives: list[Objective], summary: Summary) -> list[tuple[Objective, str]]:
    """The objectives that nothing measured can judge, each with why: a ``workload`` objective
    when the run recorded no units of work (a block or test in which no unit ended; each one
    that ends is a workload iteration, as a scheduled run's iterations are).
    They are left out of :func:`evaluate_objectives` and make the verdict ``inconclusive``:
    "nothing was measured" is neither a pass nor a deviation."""
    if summary.workload is not None:
        return []
    return [
        (o, f"{o.component} objective not judged: no units observed")
        for o in objectives
        if o.component == WORKLOAD
    ]


def evaluate_objectives(
    objectives: list[Objective],
    summary: Summary | Mapping[str, Any],
    phase: Literal["baseline", "faults"],
) -> list[ObjectiveResult]:
    """Check every limit of every objective against a run summary."""
    if not isinstance(summary, Summary):
        summary = Summary.model_validate(summary)
    results = []
    for objective in objectives:
        if objective.component is None:
            continue  # recovery and pass-rate limits only, below and across trials
        measures = _measures(component_stats(summary, objective.component))
        no_calls = measures["calls"] == 0
        for field, key, kind in LIMITS:
            threshold = getattr(objective, field)
            if threshold is None:
                continue
            observed = measures[key]
            passed = observed >= threshold if kind == "min" else observed <= threshold
            if no_calls and key != "calls":
                passed = False  # nothing was measured: a limit cannot be said to hold
            results.append(
                ObjectiveResult(
                    phase=phase,
                    component=objective.component,
                    limit=field,
                    threshold=float(threshold),
                    observed=round(observed, 6),
                    passed=passed,
                )
            )
    if phase == "faults":  # recovery hook: a baseline has no faults to recover from
        from aumai_chaos.experiments._recovery_objectives import evaluate_recovery

        results += evaluate_recovery(objectives, summary)
    return results


class _Recent(Protocol):
    def recent(self, component: str | None, seconds: float) -> tuple[int, int]: ...


def first_crossed(
    conditions: list[StopCondition], injections: int, observer: _Recent
) -> StopEvent | None:
    """The first stop condition crossed, after ``injections`` faults and with the calls that
    ``observer.recent`` counts in each condition's window; ``None`` when none is."""
    for index, cond in enumerate(conditions):
        observed: float | None = None
        crossed = ""
        if cond.max_injections is not None and injections >= cond.max_injections:
            observed = float(injections)
            crossed = cond.describe("max_injections")
        elif cond.max_error_rate is not None:
            calls, failures = observer.recent(cond.component, cond.window_seconds)
            if calls >= cond.min_calls and failures / calls > cond.max_error_rate:
                observed = round(failures / calls, 6)
                crossed = cond.describe("max_error_rate")
        if observed is not None:
            return StopEvent(
                condition=crossed, index=index, at=datetime.now(UTC), observed=observed
            )
    return None


def decide_verdict(
    *,
    failed: bool,
    aborted: bool,
    baseline_failed: bool,
    objectives: list[ObjectiveResult],
    unfired_faults: int,
    require_faults_fired: bool,
    injection_disabled: bool = False,
    unjudged_objectives: int = 0,
) -> Verdict:
    """The verdict, in order of precedence: failed > aborted > baseline_not_met > deviated >
    inconclusive > passed. An abort outranks the baseline: a baseline cut short proves nothing.
    With fault injection disabled (the kill switch) no fault could fire, so a run that got past
    its baseline is ``inconclusive``: its objectives say nothing about the faults. So is a run
    with an objective nothing measured (``unjudged_objectives``, see :func:`unjudged`)."""
    if failed:
        return Verdict.failed
    if aborted:
        return Verdict.aborted
    if baseline_failed:
        return Verdict.baseline_not_met
    if injection_disabled:
        return Verdict.inconclusive
    if any(not r.passed for r in objectives if r.phase == "faults"):
        return Verdict.deviated
    if unjudged_objectives:
        return Verdict.inconclusive
    if require_faults_fired and unfired_faults:
        return Verdict.inconclusive
    return Verdict.passed
