"""Experiment models: what to run (:class:`ChaosExperiment`) and what came of it
(:class:`ExperimentResult`, :class:`Observation`).

All of them are validated on construction with unknown keys refused, and ``ExperimentResult``
round-trips through JSON losslessly (``model_dump_json`` / ``model_validate_json``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from aumai_chaos.experiments.steady_state import (
    Objective,
    ObjectiveResult,
    StopCondition,
    StopEvent,
    Verdict,
)
from aumai_chaos.experiments.summary import Summary
from aumai_chaos.faults import AnyFault, ComponentName, FaultConfig
from aumai_chaos.transport.routes import check_fault_on_route, check_route_name

__all__ = [
    "MAX_CONCURRENCY",
    "MAX_EXPERIMENT_SECONDS",
    "ChaosExperiment",
    "ExperimentResult",
    "ExperimentStatus",
    "LocatedProblemsError",
    "Observation",
    "WorkloadConfig",
]

#: The longest experiment aumai-chaos will run: one day. Longer values are refused.
MAX_EXPERIMENT_SECONDS = 86_400.0
MAX_CONCURRENCY = 1024
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")

Seconds = Annotated[float, Field(gt=0, le=MAX_EXPERIMENT_SECONDS, strict=True, allow_inf_nan=False)]


class LocatedProblemsError(ValueError):
    """Problems a model-level check found, each with the field it is about (a location in
    pydantic's form, ``("faults", 0, "affected_components", 1)``), so that an experiment file
    names the line, the column and the field of each, like any field's own error."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        # Built in code, the error is one line with every problem and its field.
        super().__init__("; ".join(f"{_path(loc)}: {message}" for loc, message in problems))
        self.problems = problems


def _path(loc: tuple[str | int, ...]) -> str:
    """``("faults", 0, "affected_components", 1)`` as ``faults[0].affected_components[1]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class ExperimentStatus(StrEnum):
    """Where an experiment run is: ``pending`` until run, then ``running``, then one of
    ``completed``, ``aborted`` or ``failed``."""

    pending = "pending"
    running = "running"
    completed = "completed"
    aborted = "aborted"
    failed = "failed"

    @property
    def finished(self) -> bool:
        return self in (
            ExperimentStatus.completed,
            ExperimentStatus.aborted,
            ExperimentStatus.failed,
        )


class WorkloadConfig(BaseModel):
    """The code an experiment exercises: ``"package.module:function"``, sync or async.

    It is called repeatedly for the experiment's duration by ``concurrency`` workers, with
    ``interval_seconds`` between one worker's iterations. Written as a plain string in an
    experiment file, it means ``{target: ..., concurrency: 1}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
    concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY, strict=True)] = 1
    interval_seconds: Annotated[float, Field(ge=0, le=3600, strict=True, allow_inf_nan=False)] = 0.0

    @field_validator("target")
    @classmethod
    def _check_target(cls, value: str) -> str:
        if not _TARGET.match(value):
            raise ValueError("must look like 'package.module:function'")
        return value


class ChaosExperiment(BaseModel):
    """A timed experiment: which faults, on which components, for how long.

    While it runs, every call from any thread or task into a component named in a fault's
    ``affected_components`` gets that fault with its probability. A fault with no
    ``affected_components`` applies to ``target_components``, or to every component when those
    are empty too. Without a ``workload``, each tick (every ``tick_seconds``) fires each fault once
    against a synthetic call of its components.

    ``steady_state`` objectives are checked over the fault window (and first over a fault-free
    ``baseline_seconds``, when given); ``stop_conditions`` abort the run the moment one is
    crossed; with ``require_faults_fired`` a declared fault that never fired makes the verdict
    ``inconclusive``.

    ``trace_calls`` says which component calls get a component-call span: ``all`` (the
    default) or only those on which a fault fires (``faults``); the others are then counted and
    timed without a span and keep no observation, so calls and errors stay exact and latency
    percentiles within 0.78%, at a fraction of the cost.

    ``scope: baggage`` carries the experiment across services: its own traffic names it in W3C
    baggage (``aumai.chaos.experiment=<experiment_id>``), so services that armed it
    (``aumai_chaos.arm``) fault that traffic too (docs/across-services.md). An experiment block
    then acts, in this process, on its own context (as ``scope="context"``); a scheduled run's
    workload runs with the entry in its context.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    experiment_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    name: Annotated[str, StringConstraints(max_length=500)]
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    duration_seconds: Seconds
    target_components: list[ComponentName] = Field(default_factory=list)
    faults: list[AnyFault] = Field(default_factory=list)
    tick_seconds: Seconds = 1.0
    seed: Annotated[int, Field(ge=0, le=2**63 - 1, strict=True)] | None = None
    workload: WorkloadConfig | None = None
    steady_state: list[Objective] = Field(default_factory=list)
    baseline_seconds: Seconds | None = None
    stop_conditions: list[StopCondition] = Field(default_factory=list)
    require_faults_fired: Annotated[bool, Field(strict=True)] = True
    trace_calls: Literal["all", "faults"] = "all"
    #: Run the experiment this many times, trial i with the seed ``seed + i`` (needs a
    #: workload): the result has the trials, the pass rate and pass^k (docs/recovery.md).
    repeat: Annotated[int, Field(ge=1, le=1000, strict=True)] = 1
    scope: Literal["baggage"] | None = None

    @field_validator("workload", mode="before")
    @classmethod
    def _workload_shorthand(cls, value: Any) -> Any:
        return {"target": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_tick(self) -> ChaosExperiment:
        if self.tick_seconds > self.duration_seconds:
            raise ValueError("tick_seconds must not exceed duration_seconds")
        return self

    @model_validator(mode="after")
    def _check_routes(self) -> ChaosExperiment:
        # Provider routes are components like any other, but a typo in one ("openai.chat")
        # would silently never match a request, and a transform has no HTTP response to act on.
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for j, name in enumerate(self.target_components):
            if (why := check_route_name(name)) is not None:
                problems.append((("target_components", j), why))
        for i, fault in enumerate(self.faults):
            own = bool(fault.affected_components)
            for j, name in enumerate(self.components_of(fault)):
                if own:
                    why = check_route_name(name) or check_fault_on_route(fault, name)
                    loc: tuple[str | int, ...] = ("faults", i, "affected_components", j)
                else:  # from target_components: a bad name is reported there, once
                    why = check_fault_on_route(fault, name)
                    if why is not None:
                        why = why.replace(f" {name}", f" {name} (from target_components)", 1)
                    loc = ("faults", i)
                if why is not None:
                    problems.append((loc, why))
        if problems:
            raise LocatedProblemsError(problems)
        return self

    def components_of(self, fault: FaultConfig) -> tuple[str, ...]:
        """The components ``fault`` applies to in this experiment: its ``affected_components``,
        else ``target_components``; empty means every component."""
        return tuple(fault.affected_components or self.target_components)


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing an :class:`~aumai_chaos.ExperimentObserver` saw.

    ``timestamp`` is a timezone-aware UTC ``datetime``; ``details`` holds JSON-compatible values.
    """

    component: str
    event: str
    timestamp: datetime
    details: dict[str, Any] = field(default_factory=dict)


class ExperimentResult(BaseModel):
    """The outcome of one experiment run.

    ``summary`` (a :class:`~aumai_chaos.experiments.summary.Summary`, read by attribute or, as
    the guide does, by key) holds the guide's keys (``total_faults_fired``, ``faults_by_type``,
    ``errors_by_type``, ``duration_seconds``) plus per-component and workload statistics;
    ``error`` says why a ``failed`` run failed, ``verdict_reason`` why the verdict is not
    ``passed``, and ``injection_disabled`` that the kill switch was on during the run (no fault
    could fire; calls were still observed).
    """

    model_config = ConfigDict(extra="forbid")

    experiment_id: str
    name: str = ""
    status: ExperimentStatus
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    summary: Summary = Field(default_factory=Summary)
    observations: list[Observation] = Field(default_factory=list)
    dropped_observations: int = 0
    seed: int | None = None
    error: str | None = None
    verdict: Verdict | None = None
    objectives: list[ObjectiveResult] = Field(default_factory=list)
    baseline: Summary | None = None
    stopped_by: StopEvent | None = None
    verdict_reason: str | None = None
    injection_disabled: bool = False


def checked_for_run(experiment: ChaosExperiment) -> ChaosExperiment:
    """The experiment validated again, as its run is made.

    A model can change after it was validated (attribute assignment, ``model_copy(update=...)``,
    ``model_construct``), so the limits that keep a run safe, the maximum duration first, are
    checked again where they matter: a ``pydantic.ValidationError`` here refuses the run.
    A run tells faults apart by their position, so the same FaultConfig object may be listed
    twice: each place counts on its own.
    """
    # Faults are frozen models, validated when built: they are passed back as they are (a
    # ``transform`` fault's callable has no dumped form, and injected exceptions carry the
    # caller's own object).
    faults: list[Any] = list(experiment.faults)
    data = experiment.model_dump(warnings=False, exclude={"faults"})
    checked = type(experiment).model_validate({**data, "faults": faults})
    return checked.model_copy(update={"faults": faults})
