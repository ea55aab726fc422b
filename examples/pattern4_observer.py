"""Common pattern 4: use ExperimentObserver for custom instrumentation.

A tool call timed with ``observer.scope`` and annotated with ``observer.observe``, with a 25%
injected error; five calls, then every observation recorded.
"""

# ruff: noqa: I001

# The code from "# fmt: off" to "# fmt: on" is the user's guide's (getting-started.md), verbatim:
# tests/test_examples.py checks that it still matches the guide.

# fmt: off
from aumai_chaos import (
    ExperimentObserver, FaultInjector, FaultConfig, FaultType,
    ChaosError,
)

observer = ExperimentObserver()
injector = FaultInjector()

fault = FaultConfig(
    fault_type=FaultType.error,
    probability=0.25,
    error_code=500,
    error_message="Random failure",
)

def instrumented_tool_call(tool_name: str, payload: dict) -> dict | None:
    """Tool call with integrated observation and fault injection."""
    with observer.scope(tool_name, "tool_call"):
        try:
            injector.inject(fault)
            # Real tool invocation would go here
            result = {"output": f"{tool_name} succeeded"}
            observer.observe(tool_name, "result_received", {"output_keys": list(result.keys())})
            return result
        except ChaosError as exc:
            observer.observe(tool_name, "chaos_error", {"code": exc.error_code})
            return None


# Run several calls
for i in range(5):
    instrumented_tool_call("search_tool", {"query": f"query {i}"})

# Review observations
obs_list = observer.get_observations()
print(f"Recorded {len(obs_list)} observations:")
for obs in obs_list:
    print(f"  {obs.component} / {obs.event}: {obs.details}")
# fmt: on
