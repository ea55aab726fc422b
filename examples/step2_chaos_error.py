"""Getting started, Step 2: catch a ``ChaosError``.

Twenty calls to an LLM API that fails with HTTP 503 30% of the time.
"""

# ruff: noqa: I001

# The code from "# fmt: off" to "# fmt: on" is the user's guide's (getting-started.md), verbatim:
# tests/test_examples.py checks that it still matches the guide.

# fmt: off
from aumai_chaos import chaos_monkey, ChaosError, FaultType

@chaos_monkey(fault_type=FaultType.error, probability=0.3, error_code=503)
def call_llm_api(prompt: str) -> str:
    return "LLM response"

successes, failures = 0, 0
for _ in range(20):
    try:
        call_llm_api("Hello")
        successes += 1
    except ChaosError as exc:
        failures += 1
        print(f"  Caught ChaosError: code={exc.error_code}")

print(f"Successes: {successes}, Failures: {failures} (expected ~6 failures in 20)")
# fmt: on
