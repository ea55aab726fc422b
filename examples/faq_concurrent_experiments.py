"""FAQ: can I run multiple experiments concurrently on the same ``ExperimentScheduler``?

"Yes. Each call to ``scheduler.run(experiment_id)`` creates its own isolated
``ExperimentObserver``. The abort flags are keyed by experiment ID so aborting one experiment does
not affect others. However, ``run()`` is synchronous — you need to call it from separate threads
for concurrent execution." This file does exactly that.
"""

import threading
import time

from aumai_chaos import ChaosExperiment, ExperimentScheduler, FaultConfig, FaultType

scheduler = ExperimentScheduler()
short_id = scheduler.schedule(
    ChaosExperiment(
        experiment_id="short",
        name="Two seconds of errors",
        duration_seconds=2,
        faults=[FaultConfig(fault_type=FaultType.error, probability=1.0)],
    )
)
long_id = scheduler.schedule(
    ChaosExperiment(
        experiment_id="long",
        name="A minute of latency",
        duration_seconds=60,
        faults=[FaultConfig(fault_type=FaultType.latency, probability=1.0, duration_ms=50)],
    )
)

# run() is synchronous: one thread per experiment runs both at once.
threads = {
    experiment_id: threading.Thread(target=scheduler.run, args=(experiment_id,))
    for experiment_id in (short_id, long_id)
}
for thread in threads.values():
    thread.start()
time.sleep(0.5)
statuses = {eid: status.value for eid, status in scheduler.list_experiments().items()}
print(f"while both run: {statuses}")
observers = {scheduler.get_observer(short_id), scheduler.get_observer(long_id)}
print(f"separate observers: {len(observers) == 2}")

started = time.perf_counter()
scheduler.abort(long_id)
threads[long_id].join()
print(f"aborted 'long' within 100 ms: {time.perf_counter() - started < 0.1}")
print(f"'short' is still {scheduler.status(short_id).value}")

threads[short_id].join()
for experiment_id in (short_id, long_id):
    result = scheduler.get_result(experiment_id)
    types = sorted(result.summary["faults_by_type"])
    print(f"{experiment_id}: {result.status.value}, fault types {types}")
