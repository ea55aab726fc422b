"""What the fault-outcome bookkeeping adds to an affected call (``python -m benchmarks.recovery``).

The affected-call rows of the per-call section (``trace_calls: all`` and ``faults``, nothing
fires), timed with the bookkeeping on and with it off (the run's record hook left unwrapped), in
one interleaved run: outside any unit, inside a unit, and inside a unit where a fault has fired
(each later call then updates the unit's ledger). Prints one line per row: median ns per call
on / off and the ratio. The budget (docs/recovery.md): at most +10%.

On a loaded machine whole calls vary more than the bookkeeping costs, so a second table times
the record hook alone (a no-op record, wrapped and not): the bookkeeping's own ns per call, to
hold against the per-call section's affected-call rows.
"""

from __future__ import annotations

import statistics
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import aumai_chaos
from aumai_chaos import chaos_target
from aumai_chaos.experiments import _dispatch, units

CALLS = 20_000
ROUNDS = 21
#: SDK providers with nothing exported, as the per-call section's rows have.
PROVIDERS: dict[str, Any] = {}


@contextmanager
def _bookkeeping(on: bool) -> Iterator[None]:
    """Off: the run's record hook left unwrapped, and its units not given to the dispatcher
    (which would follow spans)."""
    original = units.RecoveryTracker._wrap_recorder
    add_units = _dispatch._Dispatcher.add_units
    if not on:
        units.RecoveryTracker._wrap_recorder = lambda self, recorder: recorder  # type: ignore[method-assign]
        _dispatch._Dispatcher.add_units = lambda self, experiment_id, tracker: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        units.RecoveryTracker._wrap_recorder = original  # type: ignore[method-assign]
        _dispatch._Dispatcher.add_units = add_units  # type: ignore[method-assign]


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
            off_ns = statistics.median(rows[(trace_calls, where, False)])
            on_ns = statistics.median(rows[(trace_calls, where, True)])
            ratio = on_ns / off_ns
            print(f"| {trace_calls} | {where} | {off_ns:,.0f} | {on_ns:,.0f} | {ratio:.3f} |")


def _noop(
    start: float, end: float, error_type: str | None, message: str | None, traced: bool
) -> None:
    """A record that records nothing: the floor the hook is measured against."""


def _noting(component: str, note: Callable[[str, bool], None] | None) -> Callable[..., None]:
    """A record that records nothing but tells ``note`` of each call, as the observer's recorder
    does after recording (``_recorder.CallRecorder.record``)."""
    if note is None:
        return _noop

    def record(
        start: float, end: float, error_type: str | None, message: str | None, traced: bool
    ) -> None:
        note(component, error_type is None)

    return record


def hook_only() -> None:
    """The record hook's own cost: outside a unit, in one, and after a fault in it."""
    tracker = units.RecoveryTracker("bench")
    wrapped = tracker._wrap_recorder(_noting)("c")
    n = 200_000

    def t(f: Callable[..., None]) -> float:
        return (
            min(timeit.repeat(lambda: f(1.0, 1.0, None, None, False), number=n, repeat=1)) / n * 1e9
        )

    times: dict[str, list[float]] = {}
    for _ in range(ROUNDS):
        times.setdefault("no hook", []).append(t(_noop))
        times.setdefault("outside a unit", []).append(t(wrapped))
        token = tracker.begin("unit")
        times.setdefault("in a unit", []).append(t(wrapped))
        tracker.on_fault({"chaos.fault.type": "error", "chaos.component": "c"})
        wrapped(1.0, 1.0, "E", None, False)  # the call the fault hit ends
        times.setdefault("after a fault", []).append(t(wrapped))
        tracker.end(token, None)
    base = statistics.median(times["no hook"])
    print("\n| record hook | ns/call | added ns/call |")
    print("|---|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:,.0f} | {median - base:,.0f} |")


if __name__ == "__main__":
    main()
    hook_only()
