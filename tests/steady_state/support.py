"""Helpers for the steady-state tests: the example agent's experiment, unique ids, one run."""

from __future__ import annotations

import itertools
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos import ChaosExperiment, ExperimentResult, ExperimentScheduler
from aumai_chaos.experiments.files import load_experiment_file
from tests.helpers import REPO

AGENT_EXPERIMENT = REPO / "examples" / "experiments" / "agent-experiment.yaml"
ROBUST = "examples.agent:run_once"
FRAGILE = "examples.agent:run_once_fragile"

_ids = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def agent_experiment(**changes: Any) -> ChaosExperiment:
    """The example agent's experiment file, as users run it, with ``changes`` applied (and
    validated) and an id of its own."""
    data = load_experiment_file(AGENT_EXPERIMENT).model_dump()
    data["experiment_id"] = unique(data["experiment_id"])
    data.update(changes)
    return ChaosExperiment.model_validate(data)


def experiment(**fields: Any) -> ChaosExperiment:
    """A seeded experiment with a unique id driving the example agent (robust) unless told."""
    fields.setdefault("experiment_id", unique("ss"))
    fields.setdefault("name", "steady-state test")
    fields.setdefault("seed", 7)
    fields.setdefault("workload", {"target": ROBUST, "concurrency": 4})
    fields.setdefault("tick_seconds", min(0.1, fields["duration_seconds"]))
    return ChaosExperiment.model_validate(fields)


def run(
    exp: ChaosExperiment,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    **kwargs: Any,
) -> ExperimentResult:
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return scheduler.run(scheduler.schedule(exp), **kwargs)
