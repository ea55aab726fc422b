"""Closing a run: the verdict, the objectives, and their telemetry on the experiment span."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import trace

from aumai_chaos._engine import telemetry as tm
from aumai_chaos.experiments.models import ChaosExperiment
from aumai_chaos.experiments.steady_state import ObjectiveResult, StopEvent, Verdict

__all__ = ["fault_report", "record_verdict"]

_log = logging.getLogger("aumai_chaos")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def fault_report(experiment: ChaosExperiment, fired: dict[int, int]) -> list[dict[str, Any]]:
    """Each declared fault with how often it fired: the proof that it really did."""
    return [
        {
            "fault_type": fault.fault_type.value,
            "affected_components": list(experiment.components_of(fault)),
            "probability": fault.probability,
            "fired": fired.get(id(fault), 0),
        }
        for fault in experiment.faults
    ]


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
