"""Common pattern 2: multi-fault resilience testing with ``@resilience_test``.

The guide defines the functions; running this file calls ``robust_embed`` a few times.
"""

# ruff: noqa: I001

# The code from "# fmt: off" to "# fmt: on" is the user's guide's (getting-started.md), verbatim:
# tests/test_examples.py checks that it still matches the guide.

# fmt: off
from aumai_chaos import (
    resilience_test, FaultConfig, FaultType,
    ChaosError, ChaosTimeoutError, ResourceExhaustedError,
)

@resilience_test(faults=[
    FaultConfig(fault_type=FaultType.latency, probability=0.3, duration_ms=200),
    FaultConfig(fault_type=FaultType.error, probability=0.1, error_code=429,
                error_message="Rate limited"),
    FaultConfig(fault_type=FaultType.timeout, probability=0.05),
    FaultConfig(fault_type=FaultType.resource_exhaustion, probability=0.05),
])
def call_embedding_service(text: str) -> list[float]:
    """Embedding service call subjected to realistic fault conditions."""
    return [0.1, 0.2, 0.3]  # placeholder


def robust_embed(text: str) -> list[float] | None:
    """Demonstrate robust error handling around a fault-injected function."""
    try:
        return call_embedding_service(text)
    except ChaosError as exc:
        if exc.error_code == 429:
            print("  Rate limited — backing off")
        return None
    except (ChaosTimeoutError, ResourceExhaustedError):
        print("  Service unavailable — using fallback")
        return [0.0] * 3  # zero vector fallback
# fmt: on


if __name__ == "__main__":
    for i in range(12):
        print(f"call {i + 1}: {robust_embed('chaos engineering for agents')}")
