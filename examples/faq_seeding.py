"""FAQ: how do I seed the PRNG for reproducible fault injection in tests?

``random.seed(42)`` makes ``should_inject()`` deterministic: running this file replays the
same 20 decisions twice.
"""

# ruff: noqa: I001

# The code from "# fmt: off" to "# fmt: on" is the user's guide's (getting-started.md), verbatim:
# tests/test_examples.py checks that it still matches the guide.

# fmt: off
import random

def test_resilience_with_known_seed():
    random.seed(42)  # Makes should_inject() deterministic
    # ... run your test
# fmt: on


if __name__ == "__main__":
    from aumai_chaos import FaultConfig, FaultInjector, FaultType

    fault = FaultConfig(fault_type=FaultType.error, probability=0.5)
    injector = FaultInjector()
    runs = []
    for _ in range(2):
        test_resilience_with_known_seed()
        runs.append("".join("X" if injector.should_inject(fault) else "." for _ in range(20)))
    print(f"run 1: {runs[0]}")
    print(f"run 2: {runs[1]}")
    print("identical" if runs[0] == runs[1] else "different")
