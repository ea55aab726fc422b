"""Common pattern 3: a timed experiment with observation collection.

A 5-second experiment: latency on the LLM, errors on the vector store, one synthetic call of each
fault's components per second (no workload), then the summary and the first observations.
"""

# ruff: noqa: I001

# The code from "# fmt: off" to "# fmt: on" is the user's guide's (getting-started.md), verbatim:
# tests/test_examples.py checks that it still matches the guide.

# fmt: off
from aumai_chaos import (
    ChaosExperiment, ExperimentScheduler, ExperimentStatus,
    FaultConfig, FaultType,
)

experiment = ChaosExperiment(
    experiment_id="obs-test-001",
    name="Observation collection test",
    duration_seconds=5,
    target_components=["llm", "vector_db"],
    faults=[
        FaultConfig(
            fault_type=FaultType.latency,
            probability=0.4,
            duration_ms=150,
            affected_components=["llm"],
        ),
        FaultConfig(
            fault_type=FaultType.error,
            probability=0.15,
            error_code=503,
            error_message="Service degraded",
            affected_components=["vector_db"],
        ),
    ],
)

scheduler = ExperimentScheduler()
experiment_id = scheduler.schedule(experiment)
result = scheduler.run(experiment_id)

# Analyse the results
assert result.status == ExperimentStatus.completed
print(f"Total faults: {result.summary['total_faults_fired']}")
print(f"Faults by type: {result.summary['faults_by_type']}")
print(f"Errors by type: {result.summary['errors_by_type']}")

# Inspect individual observation points
for obs in result.observations[:5]:
    print(f"  [{obs.component}] {obs.event} at {obs.timestamp.isoformat()}")
# fmt: on
