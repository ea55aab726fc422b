"""The commented starter experiment that ``aumai-chaos init`` writes."""

from __future__ import annotations

__all__ = ["STARTER_EXPERIMENT"]

STARTER_EXPERIMENT = """\
# An aumai-chaos experiment. Check it with `aumai-chaos validate FILE`,
# run it with `aumai-chaos run --experiment FILE`.
# Unknown keys are errors, so a typo cannot silently switch a fault off.

# A unique id: it labels every span and metric of the run (chaos.experiment.id).
experiment_id: "my-first-experiment"
name: "Latency and errors on the tool executor"
description: "Starter experiment written by aumai-chaos init"

# How long the experiment runs, in seconds (at most 86400).
duration_seconds: 10
# Without a workload, every tick fires each fault once against a synthetic call.
tick_seconds: 1

# Fix the random source to replay a run exactly (any integer >= 0).
# seed: 7

# Components the faults apply to when a fault names none of its own. A fault with neither
# affected_components nor target_components hits every component (every @chaos_target,
# @chaos_monkey and @resilience_test callable in the process).
target_components:
  - tool_executor

faults:
  # Slow calls: wait duration_ms, then let the call go through.
  - fault_type: latency
    probability: 0.5        # 0.0 (never) to 1.0 (every call)
    duration_ms: 200
    affected_components:
      - tool_executor

  # Failed calls: raise ChaosError with this code and message.
  - fault_type: error
    probability: 0.1
    error_code: 503
    error_message: "Simulated upstream failure"
    affected_components:
      - tool_executor

  # Also available:
  # - fault_type: timeout               # waits duration_ms, then raises ChaosTimeoutError
  #   probability: 0.05
  #   duration_ms: 1000
  # - fault_type: resource_exhaustion   # raises ResourceExhaustedError
  #   probability: 0.02

# Drive your own code instead of synthetic calls: "package.module:function", sync or async,
# called repeatedly for the whole duration (override with --workload).
# workload:
#   target: "my_agent:run_once"
#   concurrency: 2           # parallel workers
#   interval_seconds: 0.1    # pause between one worker's calls

# The question the experiment answers: "with these faults, does my code still meet its
# objectives?" With a steady state, `run` exits 0 only when every limit holds and every fault
# fired (verdict "passed"); `--junit-xml` reports each limit as a test case.
# Use `component: workload` for the workload's own iterations.
# steady_state:
#   - component: tool_executor
#     min_calls: 5
#     max_error_rate: 0.2
#     max_latency_p95_ms: 500
# baseline_seconds: 5        # check the steady state without faults first (needs a workload)

# Safeguards watched while the run goes on; crossing one aborts the run at once.
# stop_conditions:
#   - component: tool_executor
#     max_error_rate: 0.5
#     window_seconds: 5
#     min_calls: 10
#   - max_injections: 1000
"""
