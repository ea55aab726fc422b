"""FAQ: ``ChaosTimeoutError`` vs ``TimeoutError`` — which should I catch?

``ChaosTimeoutError`` is a subclass of ``TimeoutError``: ``except TimeoutError`` handles real and
simulated timeouts alike, while ``except ChaosTimeoutError`` lets real timeouts through.
"""

from aumai_chaos import ChaosTimeoutError, FaultType, chaos_monkey


@chaos_monkey(fault_type=FaultType.timeout, duration_ms=10)
def fetch_with_simulated_timeout() -> dict:
    return {"data": "..."}


def fetch_with_real_timeout() -> dict:
    raise TimeoutError("the upstream really timed out")


for fetch in (fetch_with_simulated_timeout, fetch_with_real_timeout):
    try:
        fetch()
    except TimeoutError as exc:
        print(f"except TimeoutError caught {type(exc).__name__}")

try:
    try:
        fetch_with_real_timeout()
    except ChaosTimeoutError:
        print("except ChaosTimeoutError caught a real TimeoutError")
except TimeoutError:
    print("except ChaosTimeoutError let the real TimeoutError through")
