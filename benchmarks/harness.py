"""Timing primitives shared by every section: interleaved rounds, statistics, result rows.

Per-call costs are measured in *interleaved rounds*: each round times every variant once (an
inner loop of ``n`` calls, ``n`` calibrated per variant so that one sample lasts about the same
time), in an order shuffled per round with a fixed seed. Slow drifts of the machine (another
process, frequency scaling) then hit every variant alike instead of whichever ran last, and the
ratios between rows of the same run stay meaningful on a noisy machine.

The inner loops read :func:`clock_ns`: the CPU time of the calling thread
(``CLOCK_THREAD_CPUTIME_ID``), not the wall clock. On a shared machine a thread that is
descheduled in the middle of a sample charges the wall time it waited to that row alone, which
interleaving cannot undo; CPU time is charged only for what the thread ran. Every row timed this
way runs its whole cost in the calling thread (nothing of a call is handed to another thread:
an experiment's recording is folded in the call itself), so nothing is left uncounted.
"""

from __future__ import annotations

import gc
import itertools
import random
import statistics
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Budget",
    "Row",
    "Sample",
    "Timer",
    "Variant",
    "acall_ns",
    "aloop_ns",
    "amethod_ns",
    "call_ns",
    "calibrate",
    "interleave",
    "loop_ns",
    "method_ns",
    "percentile",
    "run_async_batch",
]

SEED = 20240601

#: The clock of the inner loops (see the module docstring).
clock_ns = time.thread_time_ns

#: Times ``n`` calls and returns the elapsed nanoseconds.
Timer = Callable[[int], int]


# -- inner loops -------------------------------------------------------------------------------
# Kept as small as the loop itself: the same ``for _ in repeat(None, n)`` as timeit. The cost of
# the empty loop is measured as a variant of its own and subtracted from every row.


def loop_ns(n: int) -> int:
    it = itertools.repeat(None, n)
    t0 = clock_ns()
    for _ in it:
        pass
    return clock_ns() - t0


def call_ns(f: Callable[[], Any], n: int) -> int:
    it = itertools.repeat(None, n)
    t0 = clock_ns()
    for _ in it:
        f()
    return clock_ns() - t0


def method_ns(o: Any, n: int) -> int:
    it = itertools.repeat(None, n)
    t0 = clock_ns()
    for _ in it:
        o.m()
    return clock_ns() - t0


def run_async_batch(coro: Coroutine[Any, Any, int]) -> int:
    """Drive a coroutine that never suspends to completion without an event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return int(stop.value)
    coro.close()
    raise RuntimeError("the benchmarked coroutine suspended; it must not wait on anything")


async def _aloop(n: int) -> int:
    it = itertools.repeat(None, n)
    t0 = clock_ns()
    for _ in it:
        pass
    return clock_ns() - t0


async def _acall(f: Callable[[], Any], n: int) -> int:
    it = itertools.repeat(None, n)
    t0 = clock_ns()
    for _ in it:
        await f()
    return clock_ns() - t0


async def _amethod(o: Any, n: int) -> int:
    it = itertools.repeat(None, n)
    t0 = clock_ns()
    for _ in it:
        await o.m()
    return clock_ns() - t0


def aloop_ns(n: int) -> int:
    return run_async_batch(_aloop(n))


def acall_ns(f: Callable[[], Any], n: int) -> int:
    return run_async_batch(_acall(f, n))


def amethod_ns(o: Any, n: int) -> int:
    return run_async_batch(_amethod(o, n))


# -- variants and rounds -----------------------------------------------------------------------


@dataclass
class Variant:
    """One thing to time. ``after`` runs after each sample, outside the timing."""

    key: str
    timer: Timer
    after: Callable[[], None] | None = None
    n: int = 0


@dataclass
class Sample:
    """Per-round ns/call of one variant."""

    key: str
    per_call: list[float] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.per_call)

    def quartiles(self) -> tuple[float, float]:
        return percentile(self.per_call, 25), percentile(self.per_call, 75)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in [0, 100]."""
    data = sorted(values)
    if not data:
        return float("nan")
    pos = (len(data) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def calibrate(v: Variant, target_ns: int, cap: int = 2_000_000) -> int:
    """The number of calls for one sample to last about ``target_ns``."""
    n = 1
    while True:
        elapsed = v.timer(n)
        if v.after is not None:
            v.after()
        if elapsed >= target_ns // 4 or n >= cap:
            break
        n *= 4
    per_call = max(elapsed / n, 1.0)
    return max(1, min(cap, int(target_ns / per_call)))


def interleave(
    variants: Sequence[Variant], *, rounds: int, target_ns: int, seed: int = SEED
) -> dict[str, Sample]:
    """Time every variant once per round, in a per-round shuffled order; ns/call per round."""
    for v in variants:
        v.timer(max(1, v.n or 10))  # warm up caches and specialisations
        if v.after is not None:
            v.after()
        if not v.n:
            v.n = calibrate(v, target_ns)
    samples = {v.key: Sample(v.key) for v in variants}
    rng = random.Random(seed)
    order = list(variants)
    gc_was_enabled = gc.isenabled()
    try:
        for _ in range(rounds):
            rng.shuffle(order)
            gc.collect()
            gc.disable()
            for v in order:
                elapsed = v.timer(v.n)
                if v.after is not None:
                    v.after()
                samples[v.key].per_call.append(elapsed / v.n)
            if gc_was_enabled:
                gc.enable()
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """An upper limit on a row's value (or on its ratio to a floor, when ``ratio`` is set).

    ``tolerance`` marks a budget that is stable on a shared 2-core machine and so *enforced*
    (``--enforce``, which CI runs): it fails the run when the value exceeds
    ``limit * (1 + tolerance)``. Budgets without one are reported, never enforced.
    """

    limit: float
    text: str
    ratio: bool = True
    tolerance: float | None = None

    def measured(self, value: float | None, ratio: float | None) -> float | None:
        measured = ratio if self.ratio else value
        if measured is None or measured != measured:  # NaN
            return None
        return measured

    def check(self, value: float | None, ratio: float | None) -> bool | None:
        measured = self.measured(value, ratio)
        return None if measured is None else measured <= self.limit

    @property
    def enforced(self) -> bool:
        return self.tolerance is not None

    def check_enforced(self, value: float | None, ratio: float | None) -> bool:
        """Within the limit plus the tolerance; a value that was not measured fails."""
        measured = self.measured(value, ratio)
        return measured is not None and measured <= self.limit * (1 + (self.tolerance or 0.0))


@dataclass
class Row:
    """One line of a results table."""

    section: str
    name: str
    value: float | None = None
    unit: str = "ns/call"
    spread: str = ""
    ratio: float | None = None
    floor: str = ""
    budget: Budget | None = None
    note: str = ""

    @property
    def ok(self) -> bool | None:
        if self.budget is None:
            return None
        return self.budget.check(self.value, self.ratio)

    @property
    def enforced_ok(self) -> bool | None:
        """``None`` unless the budget is enforced; then whether the row meets it."""
        if self.budget is None or not self.budget.enforced:
            return None
        return self.budget.check_enforced(self.value, self.ratio)
