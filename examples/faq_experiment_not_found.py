"""FAQ: ``ExperimentNotFoundError`` from ``scheduler.run(experiment_id)``.

"You must call ``scheduler.schedule(experiment)`` before ``scheduler.run(experiment_id)``. The
``schedule`` call registers the experiment and returns its ID." This file shows both sides.
"""

from aumai_chaos import (
    ChaosExperiment,
    ExperimentNotFoundError,
    ExperimentScheduler,
    FaultConfig,
    FaultType,
)

experiment = ChaosExperiment(
    experiment_id="faq-not-found",
    name="Schedule before run",
    duration_seconds=1,
    faults=[FaultConfig(fault_type=FaultType.error, probability=0.5)],
)
scheduler = ExperimentScheduler()

try:
    scheduler.run("faq-not-found")
except ExperimentNotFoundError as exc:
    print(f"run() before schedule(): ExperimentNotFoundError: {exc}")

experiment_id = scheduler.schedule(experiment)
print(f"schedule() returned {experiment_id!r}")
result = scheduler.run(experiment_id)
print(f"run() after schedule(): {result.status.value}")
