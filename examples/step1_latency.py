"""Getting started, Step 1: one-line injection with the ``@chaos_monkey`` decorator.

Ten calls to a tool that is slow (500 ms) half of the time.
"""

# ruff: noqa: B007, E402, I001

# The code from "# fmt: off" to "# fmt: on" is the user's guide's (getting-started.md), verbatim:
# tests/test_examples.py checks that it still matches the guide.

# fmt: off
# my_agent.py
from aumai_chaos import chaos_monkey, FaultType

@chaos_monkey(fault_type=FaultType.latency, probability=0.5, duration_ms=500)
def call_search_tool(query: str) -> list[str]:
    """A tool that will be slow 50% of the time."""
    # Simulate the real tool work
    return [f"Result for: {query}"]

# Test it manually
import time

slow_count = 0
for i in range(10):
    start = time.perf_counter()
    result = call_search_tool("test query")
    elapsed_ms = (time.perf_counter() - start) * 1000
    if elapsed_ms > 400:
        slow_count += 1

print(f"{slow_count}/10 calls were artificially slowed (expected ~5)")
# fmt: on
