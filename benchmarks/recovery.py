"""What the fault-outcome bookkeeping adds to an affected call (``python -m benchmarks.recovery``).

The affected-call rows of the per-call section (``trace_calls: all`` and ``faults``, nothing
fires), timed with the bookkeeping on and with it off (the run's record hook left unwrapped), in
one interleaved run: outside any unit, inside a unit, and inside a unit where a fault has fired
(each later call then updates the unit's ledger). Prints one line per row: median ns per call
on / off and the ratio. The budget (docs/recovery.md): at most +10%.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import aumai_chaos
from aumai_chaos import chaos_target
from aumai_chaos.experiments import units

CALLS = 20_000
ROUNDS = 21
#: SDK providers with nothing exported, as the per-call section's rows have.
PROVIDERS: dict[str, Any] = {}


@contextmanager
def _bookkeeping(on: bool) -> Iterator[None]:
    original = units.RecoveryTracker.wrap_record
    if not on:
        units.RecoveryTracker.wrap_record = lambda self, record: record  # type: ignore[method-assign]
    try:
        yield
    finally:
        units.RecoveryTracker.wrap_record = original  # type: ignore[method-assign]


def _time(trace_calls: str, where: str, on: bool, fn: Callable[[], Any], name: str) -> float:
    with (
        _bookkeeping(on),
        aumai_chaos.experiment(
            faults=[{"fault_type": "error", "times": 1 if where == "after a fault" else 0}]
            if where == "after a fault"
            else [{"fault_type": "error", "probability": 0.0}],
            target_components=[name],
            trace_calls=trace_calls,
            scope="process",
            **PROVIDERS,
        ) as run,
    ):
        unit = run.unit("bench") if where != "outside a unit" else nullcontext()
        with unit:
            if where == "after a fault":
                # The first call fails: the unit waits for a later success (this loop's
                # first call), then every call is looked at, and finds nothing to do.
                with suppress(aumai_chaos.ChaosError):
                    fn()
            t0 = time.perf_counter_ns()
            for _ in range(CALLS):
                fn()
            return (time.perf_counter_ns() - t0) / CALLS


def main() -> None:
    PROVIDERS.update(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
    rows: dict[tuple[str, str, bool], list[float]] = {}
    fns = {}
    for trace_calls in ("all", "faults"):
        name = f"bench.recovery.{trace_calls}"

        @chaos_target(name)
        def target() -> None:
            return None

        fns[trace_calls] = (name, target)
    for _ in range(ROUNDS):
        for trace_calls, (name, fn) in fns.items():
            for where in ("outside a unit", "in a unit", "after a fault"):
                for on in (True, False):
                    key = (trace_calls, where, on)
                    rows.setdefault(key, []).append(_time(trace_calls, where, on, fn, name))
    print("| trace_calls | where | off ns/call | on ns/call | on/off |")
    print("|---|---|---:|---:|---:|")
    for trace_calls in fns:
        for where in ("outside a unit", "in a unit", "after a fault"):
            off = statistics.median(rows[(trace_calls, where, False)])
            on = statistics.median(rows[(trace_calls, where, True)])
            print(f"| {trace_calls} | {where} | {off:,.0f} | {on:,.0f} | {on / off:.3f} |")


if __name__ == "__main__":
    main()
