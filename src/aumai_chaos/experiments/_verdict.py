"""Closing a run: the verdict, the objectives, and their telemetry on the experiment span; the
span's end and the run's metrics."""

from __future__ import annotations

import difflib
import fnmatch
import logging
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from aumai_chaos._engine import telemetry as tm
from aumai_chaos.experiments.models import ChaosExperiment, ExperimentStatus
from aumai_chaos.experiments.observer import ExperimentObserver
from aumai_chaos.experiments.steady_state import ObjectiveResult, StopEvent, Verdict
from aumai_chaos.experiments.summary import FaultReport
from aumai_chaos.faults import Site

__all__ = [
    "DISABLED_REASON",
    "broken_workload",
    "cannot_act",
    "end_span",
    "fault_report",
    "record_run_metrics",
    "record_verdict",
    "never_called",
    "reached",
    "unreached_components",
    "verdict_reason",
]

DISABLED_REASON = (
    "fault injection was disabled (AUMAI_CHAOS_DISABLED or aumai_chaos.disable()): no fault "
    "could fire, so this run says nothing about how the code copes with faults"
)

_log = logging.getLogger("aumai_chaos")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def fault_report(experiment: ChaosExperiment, fired: dict[int, int]) -> list[FaultReport]:
    """Each declared fault with how often it fired: the proof that it really did."""
    return [
        FaultReport(
            fault_type=fault.fault_type.value,
            affected_components=list(experiment.components_of(fault)),
            probability=fault.probability,
            fired=fired.get(position, 0),
        )
        for position, fault in enumerate(experiment.faults)
    ]


def broken_workload(*observers: ExperimentObserver | None) -> str | None:
    """Why the workload itself is broken, or ``None``: in one phase (one observer) every
    iteration failed, and the first failure came before any fault fired (or none fired at all),
    so no fault can be the cause."""
    for observer in observers:
        if observer is None:
            continue
        iterations = observer.tally.workload.calls
        failures = observer.tally.workload.errors
        first_failure_ns = observer.first_failure_ns
        if not iterations or failures < iterations or first_failure_ns is None:
            continue
        first_fault_ns = observer.first_fault_ns
        if first_fault_ns is not None and first_fault_ns <= first_failure_ns:
            continue
        return (
            f"the workload is broken: all {iterations} iteration(s) failed, starting before any "
            f"fault fired; the first failure: {observer.first_failure}"
        )
    return None


def unreached_components(
    experiment: ChaosExperiment, calls: Mapping[str, int], registered: list[str]
) -> list[str]:
    """One note for each component named by a fault or an objective that no call reached,
    with a "did you mean" among the components marked in this process. ``calls``: the calls
    each component received."""
    named: dict[str, str] = {}
    for fault in experiment.faults:
        for name in experiment.components_of(fault):
            named.setdefault(name, "a fault")
    for objective in experiment.steady_state:
        if objective.component not in (None, "workload"):
            named.setdefault(objective.component, "an objective")
    return [
        never_called(name, by, registered) for name, by in named.items() if not reached(name, calls)
    ]


def reached(name: str, calls: Mapping[str, int]) -> bool:
    """Whether a call reached the component ``name`` (for a glob, any component it matches)."""
    if calls.get(name):
        return True
    if not any(c in name for c in "*?["):
        return False
    return any(n and fnmatch.fnmatchcase(component, name) for component, n in calls.items())


def cannot_act(
    experiment: ChaosExperiment, decorated: Collection[str], fired: Mapping[int, int] | None = None
) -> list[str]:
    """One note for each fault aimed at a decorated function (one of ``decorated``) that acts
    only on an HTTP transport (``rate_limit``, ``http_error``, an output fault...): there it
    can never act. With ``fired`` (fault position -> count), only faults that never fired.

    A warning, not an error: a name may also be a transport route (``instrument(routes=...)``
    in code), which only the run can tell. The reverse (a fault that acts only on a decorated
    call, aimed at a built-in provider route) is refused when the experiment is built."""
    notes = []
    for index, fault in enumerate(experiment.faults):
        if fault.acts_at(Site.call) or (fired is not None and fired.get(index, 0)):
            continue
        kind = fault.fault_type.value
        for name in dict.fromkeys(experiment.components_of(fault)):
            if name in decorated:
                notes.append(
                    f"faults[{index}]: {kind} can never act on {name!r}, a decorated function "
                    f"(@chaos_target, @chaos_monkey, @resilience_test): {kind} acts only on an "
                    f"HTTP transport ({fault.site_reason})"
                )
    return notes


def never_called(name: str, by: str, known: list[str]) -> str:
    """``component 'x' (named by <by>) was never called``, with a "did you mean" among
    ``known`` (the components seen or marked), or the list of them."""
    note = f"component {name!r} (named by {by}) was never called"
    close = difflib.get_close_matches(name, [r for r in known if r != name], n=1)
    if close:
        note += f"; did you mean {close[0]!r}?"
    elif known:
        shown = ", ".join(repr(r) for r in known[:10])
        note += f"; the components seen or marked in this process: {shown}"
        note += ", ..." if len(known) > 10 else ""
    else:
        note += "; no component is marked (@chaos_target, @chaos_monkey, @resilience_test)"
    return note


def verdict_reason(
    verdict: Verdict,
    *,
    error: str | None,
    objectives: list[ObjectiveResult],
    faults: list[FaultReport],
    stopped_by: StopEvent | None,
    injection_disabled: bool,
    unjudged: list[str] | None = None,
    unreached: list[str] | None = None,
) -> str | None:
    """Why the verdict is what it is, in one line; ``None`` for ``passed``. ``unjudged``: the
    objectives nothing could judge (why each); ``unreached``: the components named by a fault or
    an objective that no call reached (with a "did you mean")."""
    if verdict is Verdict.passed:
        return None
    if verdict is Verdict.failed:
        return error
    if verdict is Verdict.aborted:
        return f"stopped by {stopped_by.condition}" if stopped_by else "aborted"
    phase = "baseline" if verdict is Verdict.baseline_not_met else "faults"
    failed = [
        f"{r.component} {r.limit} {r.threshold:g} (observed {r.observed:g})"
        for r in objectives
        if r.phase == phase and not r.passed
    ]
    if verdict is Verdict.inconclusive and injection_disabled:
        return DISABLED_REASON
    parts = []
    if failed:
        parts.append(f"{len(failed)} objective limit(s) not met: " + "; ".join(failed))
    elif verdict is Verdict.inconclusive:
        parts += unjudged or []
        unfired = [
            f"{f.fault_type} on {', '.join(f.affected_components) or 'every component'}"
            for f in faults
            if not f.fired
        ]
        if unfired:
            parts.append(f"{len(unfired)} declared fault(s) never fired: " + "; ".join(unfired))
    parts += unreached or []
    return "; ".join(parts) or verdict.value


def record_verdict(
    span: trace.Span,
    instruments: tm.Instruments,
    experiment_id: str,
    verdict: Verdict,
    objectives: list[ObjectiveResult],
    stopped_by: StopEvent | None,
) -> None:
    """Put the verdict and each objective's outcome on the span, and count the outcomes."""
    try:
        span.set_attribute(tm.ATTR_EXPERIMENT_VERDICT, verdict.value)
        if stopped_by is not None:
            span.add_event(
                tm.EVENT_EXPERIMENT_STOPPED,
                {
                    tm.ATTR_STOP_CONDITION: stopped_by.condition,
                    tm.ATTR_OBJECTIVE_OBSERVED: stopped_by.observed,
                },
                # When the condition fired, not when the run finished closing.
                timestamp=(stopped_by.at - _EPOCH) // timedelta(microseconds=1) * 1000,
            )
        for r in objectives:
            outcome = "passed" if r.passed else "failed"
            span.add_event(
                tm.EVENT_OBJECTIVE,
                {
                    tm.ATTR_OBJECTIVE_PHASE: r.phase,
                    tm.ATTR_OBJECTIVE_COMPONENT: r.component,
                    tm.ATTR_OBJECTIVE_LIMIT: r.limit,
                    tm.ATTR_OBJECTIVE_THRESHOLD: r.threshold,
                    tm.ATTR_OBJECTIVE_OBSERVED: r.observed,
                    tm.ATTR_OBJECTIVE_OUTCOME: outcome,
                },
            )
            instruments.objective_checks.add(
                1,
                {
                    tm.ATTR_EXPERIMENT_ID: experiment_id,
                    tm.ATTR_OBJECTIVE_PHASE: r.phase,
                    tm.ATTR_OBJECTIVE_COMPONENT: r.component,
                    tm.ATTR_OBJECTIVE_LIMIT: r.limit,
                    tm.ATTR_OBJECTIVE_OUTCOME: outcome,
                },
            )
    except Exception as exc:  # pragma: no cover - never fail a run over its telemetry
        _log.warning("recording the verdict failed: %r", exc)


def end_span(span: trace.Span, status: ExperimentStatus, error: BaseException | None) -> None:
    """Put the run's status (and error) on the ``chaos.experiment`` span and end it."""
    try:
        span.set_attribute(tm.ATTR_EXPERIMENT_STATUS, status.value)
        if status is ExperimentStatus.aborted:
            span.add_event(tm.EVENT_EXPERIMENT_ABORTED)
        if error is not None:
            span.record_exception(error)
            span.set_attribute(tm.ATTR_ERROR_TYPE, tm.qualified_name(type(error)))
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        span.end()
    except Exception as exc:  # pragma: no cover
        _log.warning("ending the experiment span failed: %r", exc)


def record_run_metrics(
    inst: tm.Instruments, experiment_id: str, status: ExperimentStatus, elapsed: float
) -> None:
    """Count the run, record its duration, and no longer count it as active."""
    attrs = {tm.ATTR_EXPERIMENT_ID: experiment_id, tm.ATTR_EXPERIMENT_STATUS: status.value}
    try:
        inst.experiment_runs.add(1, attrs)
        inst.experiment_duration.record(elapsed, attrs)
        inst.experiment_active.add(-1)
    except Exception as exc:  # pragma: no cover
        _log.warning("recording the experiment metrics failed: %r", exc)
