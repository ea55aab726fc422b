"""Did the agent recover? The outcome rules for fired faults, and their statistics.

Pure: no OpenTelemetry, no clock, no threads. :mod:`~aumai_chaos.experiments.units` feeds a
:class:`UnitLedger` per unit of work and folds the outcomes into a :class:`RecoveryTally`.

The rules (docs/recovery.md), for each fault fired inside a unit of work:

- ``recovered`` when the unit ended without error, by
  - ``retry``: a later call into the same component, in the same unit, succeeded;
  - ``fallback``: a later call into another component succeeded, and the faulted component was
    not called again successfully;
  - ``absorbed``: the unit succeeded with no later successful call;
- ``propagated`` when the unit failed (with the error type that ended it);
- ``unknown`` when the fault fired outside any unit, or its unit had not ended with the run.

The time to recovery runs from the fault's start to the end of the call that recovered (for
``absorbed``, to the end of the unit).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aumai_chaos.experiments._stats import percentile
from aumai_chaos.experiments.summary import RecoveryRow

__all__ = [
    "MAX_FAULTS_PER_UNIT",
    "MECHANISMS",
    "FaultOutcome",
    "RecoveryTally",
    "UnitLedger",
    "pass_hat_k",
    "wilson_interval",
]

MECHANISMS = ("retry", "fallback", "absorbed")
#: The faults one unit judges one by one; past this, a unit's faults are only counted, by its
#: end (recovered or propagated, no mechanism, no time), so memory stays bounded per unit.
MAX_FAULTS_PER_UNIT = 256
#: Recovery times kept per row for the percentiles (beyond: the first ones only).
MAX_TIMES = 10_000
#: Propagated faults listed one by one (the pytest failure section).
MAX_LISTED = 100
_Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """The Wilson score interval (Wilson 1927) of ``successes`` out of ``n``; (0, 1) for n = 0.

    centre = (p + z²/2n) / (1 + z²/n), half-width = z·√(p(1-p)/n + z²/4n²) / (1 + z²/n).
    """
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # At 0/n and n/n the bound is exactly 0 or 1 (rounding would leave 1e-17).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def pass_hat_k(trials: Iterable[tuple[int, int]], k: int) -> float:
    """pass^k (Yao et al. 2024, τ-bench): the mean over tasks of C(c, k) / C(n, k), where a
    task was tried ``n`` times and passed ``c`` of them: the chance that ``k`` trials drawn
    without replacement all pass. Tasks with fewer than ``k`` trials are left out."""
    if k < 1:
        raise ValueError("k must be >= 1")
    values = [math.comb(c, k) / math.comb(n, k) for n, c in trials if n >= k]
    return sum(values) / len(values) if values else 0.0


@dataclass(slots=True)
class FaultOutcome:
    """The judged outcome of one fired fault."""

    fault_type: str
    component: str
    occurrence: int | None
    outcome: str  # recovered | propagated | unknown
    mechanism: str | None = None  # retry | fallback | absorbed, when recovered and known
    error_type: str | None = None  # what ended the unit, when propagated
    recovery_ms: float | None = None
    unit: str | None = None
    #: How many faults this stands for (more than one for a unit's faults past the bound).
    count: int = 1


class _Pending:
    __slots__ = ("component", "done_at", "fallback_at", "fault_type", "occurrence", "start")

    def __init__(self, fault_type: str, component: str, occurrence: int | None, t: float) -> None:
        self.fault_type = fault_type
        self.component = component
        self.occurrence = occurrence
        self.start = t
        self.done_at: float | None = None  # a later call into the same component succeeded
        self.fallback_at: float | None = None  # a later call into another one succeeded


class UnitLedger:
    """The minimum one unit of work keeps: its faults, and for each whether a later call
    succeeded. Calls are looked at only once a fault has fired in the unit; each fault enters
    and leaves each waiting list once, so a call costs O(1) amortised, and memory is bounded by
    :data:`MAX_FAULTS_PER_UNIT` however many calls the unit makes."""

    __slots__ = ("faults", "hit", "name", "overflow", "retry", "span", "unplaced")

    def __init__(self, name: str, span: object = None) -> None:
        self.name = name
        #: The span the outcome events go to when the unit ends (``None``: none).
        self.span = span
        self.faults: list[_Pending] = []
        #: Per component, the faults whose own call (the one they hit) has not ended yet.
        self.hit: dict[str, list[_Pending]] = {}
        #: Per component, the faults waiting for a later successful call into it.
        self.retry: dict[str, list[_Pending]] = {}
        #: The faults waiting for a later successful call anywhere (a fallback, or a retry).
        self.unplaced: list[_Pending] = []
        #: Faults past the bound, counted by (fault type, component).
        self.overflow: dict[tuple[str, str], int] = {}

    def fault(self, fault_type: str, component: str, occurrence: int | None, t: float) -> None:
        if len(self.faults) >= MAX_FAULTS_PER_UNIT:
            key = (fault_type, component)
            self.overflow[key] = self.overflow.get(key, 0) + 1
            return
        pending = _Pending(fault_type, component, occurrence, t)
        self.faults.append(pending)
        self.hit.setdefault(component, []).append(pending)

    def waiting(self) -> bool:
        """Whether a call can still change an outcome (else calls need not be looked at)."""
        return bool(self.hit or self.retry or self.unplaced)

    def call(self, component: str, ok: bool, t: float) -> None:
        """A call into ``component`` ended at ``t`` (successfully or not)."""
        hit = self.hit.get(component)
        own = None
        if hit:
            own = hit.pop(0)  # the call the fault hit (a latency fault succeeds)
            if not hit:
                del self.hit[component]
        if ok:
            for p in self.retry.pop(component, ()):
                p.done_at = t
            if self.unplaced:
                for p in self.unplaced:
                    if p.component != component and p.fallback_at is None:
                        p.fallback_at = t
                self.unplaced = []
        if own is not None:
            self.retry.setdefault(component, []).append(own)
            self.unplaced.append(own)

    def close(self, error_type: str | None, t: float) -> list[FaultOutcome]:
        """The outcome of each fault, the unit having ended at ``t`` (failed with
        ``error_type``, or not)."""
        out: list[FaultOutcome] = []
        for p in self.faults:
            if error_type is not None:
                out.append(
                    FaultOutcome(
                        p.fault_type, p.component, p.occurrence, "propagated",
                        error_type=error_type, unit=self.name,
                    )
                )  # fmt: skip
                continue
            if p.done_at is not None:
                mechanism, end = "retry", p.done_at
            elif p.fallback_at is not None:
                mechanism, end = "fallback", p.fallback_at
            else:
                mechanism, end = "absorbed", t
            ms = max(0.0, (end - p.start) * 1000.0)
            out.append(
                FaultOutcome(
                    p.fault_type, p.component, p.occurrence, "recovered",
                    mechanism=mechanism, recovery_ms=ms, unit=self.name,
                )
            )  # fmt: skip
        outcome = "propagated" if error_type is not None else "recovered"
        for (fault_type, component), n in self.overflow.items():
            out.append(
                FaultOutcome(
                    fault_type, component, None, outcome,
                    error_type=error_type, unit=self.name, count=n,
                )
            )  # fmt: skip
        return out

    def abandon(self) -> list[FaultOutcome]:
        """The unit had not ended with the run: its faults' outcomes are unknown."""
        out = [
            FaultOutcome(p.fault_type, p.component, p.occurrence, "unknown", unit=self.name)
            for p in self.faults
        ]
        for (fault_type, component), n in self.overflow.items():
            out.append(FaultOutcome(fault_type, component, None, "unknown", count=n))
        return out


class _Row:
    __slots__ = ("fired", "mechanisms", "propagated", "recovered", "times", "unknown")

    def __init__(self) -> None:
        self.fired = self.recovered = self.propagated = self.unknown = 0
        self.mechanisms = dict.fromkeys(MECHANISMS, 0)
        self.times: list[float] = []


class RecoveryTally:
    """Outcomes folded per (fault type, component): the summary's ``recovery`` rows. Not
    thread-safe on its own (its owner holds a lock)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], _Row] = {}
        #: The first propagated faults, one by one (for the pytest failure section).
        self.propagated: list[FaultOutcome] = []

    def add(self, outcome: FaultOutcome) -> None:
        key = (outcome.fault_type, outcome.component)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = _Row()
        n = outcome.count
        row.fired += n
        if outcome.outcome == "recovered":
            row.recovered += n
            if outcome.mechanism is not None:
                row.mechanisms[outcome.mechanism] += n
            if outcome.recovery_ms is not None and len(row.times) < MAX_TIMES:
                row.times.append(outcome.recovery_ms)
        elif outcome.outcome == "propagated":
            row.propagated += n
            if len(self.propagated) < MAX_LISTED:
                self.propagated.append(outcome)
        else:
            row.unknown += n

    def rows(self) -> list[RecoveryRow]:
        return [_row(ft, comp, row) for (ft, comp), row in sorted(self._rows.items())]


def _row(fault_type: str, component: str, row: _Row) -> RecoveryRow:
    # Recovered of fired: an unknown outcome counts against the rate (nothing shows it
    # recovered), so a run without units cannot look good.
    judged = row.fired
    low, high = wilson_interval(row.recovered, judged)
    times: Sequence[float] = sorted(row.times)
    return RecoveryRow(
        fault_type=fault_type,
        component=component,
        fired=row.fired,
        recovered=row.recovered,
        propagated=row.propagated,
        unknown=row.unknown,
        mechanisms=dict(row.mechanisms),
        rate=round(row.recovered / judged, 6) if judged else 0.0,
        rate_low=round(low, 6),
        rate_high=round(high, 6),
        recovery_ms_p50=round(percentile(times, 50), 3),
        recovery_ms_p95=round(percentile(times, 95), 3),
    )
