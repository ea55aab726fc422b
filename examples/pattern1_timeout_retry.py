"""Common pattern 1: test timeout handling in your agent.

A fetch that times out 20% of the time, behind a wrapper that retries up to three times.
"""

# ruff: noqa: F401, I001

# The code from "# fmt: off" to "# fmt: on" is the user's guide's (getting-started.md), verbatim:
# tests/test_examples.py checks that it still matches the guide.

# fmt: off
import signal
from aumai_chaos import chaos_monkey, ChaosTimeoutError, FaultType

@chaos_monkey(fault_type=FaultType.timeout, probability=0.2)
def fetch_external_data(url: str) -> dict:
    """20% chance of simulated timeout."""
    # Real HTTP call here
    return {"data": "..."}


def agent_fetch_with_retry(url: str, max_retries: int = 3) -> dict | None:
    """Agent wrapper with retry logic — should handle timeouts gracefully."""
    for attempt in range(max_retries):
        try:
            return fetch_external_data(url)
        except ChaosTimeoutError:
            print(f"  Attempt {attempt + 1} timed out — retrying...")
    print("  All retries exhausted.")
    return None


# Verify the retry logic actually works under fault conditions
result = agent_fetch_with_retry("https://api.example.com/data")
print(f"Result: {result}")
# fmt: on
