"""Common pattern 5: abort a long experiment from another thread.

A 2-minute experiment runs in a background thread and is aborted after 3 seconds; ``run``
returns within 100 ms of the abort.
"""

# ruff: noqa: F401, I001

# The code from "# fmt: off" to "# fmt: on" is the user's guide's (getting-started.md), verbatim:
# tests/test_examples.py checks that it still matches the guide.

# fmt: off
import threading
import time
from aumai_chaos import (
    ChaosExperiment, ExperimentScheduler, ExperimentStatus,
    FaultConfig, FaultType,
)

long_experiment = ChaosExperiment(
    experiment_id="long-exp",
    name="Long experiment",
    duration_seconds=120,  # Would run for 2 minutes
    faults=[
        FaultConfig(fault_type=FaultType.latency, probability=0.3, duration_ms=200)
    ],
)

scheduler = ExperimentScheduler()
exp_id = scheduler.schedule(long_experiment)

# Run in a background thread
thread = threading.Thread(target=scheduler.run, args=(exp_id,), daemon=True)
thread.start()

# Abort after 3 seconds
time.sleep(3)
scheduler.abort(exp_id)
thread.join(timeout=5)

result = scheduler.get_result(exp_id)
print(f"Status: {result.status.value}")  # "aborted"
print(f"Ran for: {result.summary.get('duration_seconds', '?'):.1f}s")
# fmt: on
