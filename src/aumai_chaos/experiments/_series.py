"""The per-second series behind an experiment's charts: bounded, with the summary's exact counts.

Every event the observer counts in its totals (a workload iteration, a component call, a fault
fired) is also counted in the bucket of the second it happened in, relative to the series'
origin (the run's start). So each list sums to its total in the summary, exactly.

The bound: at most :data:`MAX_BUCKETS` buckets. The step starts at one second; when an event, or
the run's duration, would need a bucket past the last, the step doubles and neighbouring buckets
are merged pairwise (counts added, latency histograms merged), as often as needed. So the step
is always the smallest power of two seconds (1, 2, 4, ...) that fits the run in
:data:`MAX_BUCKETS` buckets: a run of an hour or less keeps one-second buckets, a day-long run
gets 32-second buckets.

Latency p95 per bucket comes from a log-scale histogram (bins 2% wide), so it is within 1% of the
exact nearest-rank value while each bucket stays small; it is 0.0 for a bucket without
iterations.
"""

from __future__ import annotations

import math
import time

from aumai_chaos.experiments.summary import SeriesComponent, SeriesWorkload, SummarySeries

__all__ = ["MAX_BUCKETS", "Series"]

MAX_BUCKETS = 3_600
_NS = 1_000_000_000
_RATIO = 1.02
_LOG_RATIO = math.log(_RATIO)
#: Latencies at or below this (ms) share the lowest bin.
_FLOOR_MS = 0.001


def _bin(ms: float) -> int:
    if not ms > _FLOOR_MS:  # also NaN
        return 0
    return 1 + int(math.log(ms / _FLOOR_MS) / _LOG_RATIO)


def _bin_value(index: int) -> float:
    """The geometric middle of a bin, in ms."""
    if index <= 0:
        return 0.0
    return float(_FLOOR_MS * _RATIO ** (index - 0.5))


def _p95(histogram: dict[int, int]) -> float:
    total = sum(histogram.values())
    if not total:
        return 0.0
    rank = max(1, math.ceil(0.95 * total))
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return round(_bin_value(index), 3)
    return 0.0  # pragma: no cover - the loop always reaches the rank


class _Counts:
    """One list of counts per name, grown on demand."""

    __slots__ = ("lists",)

    def __init__(self) -> None:
        self.lists: dict[str, list[int]] = {}

    def add(self, name: str, index: int) -> None:
        values = self.lists.get(name)
        if values is None:
            values = self.lists[name] = []
        if index >= len(values):
            values.extend([0] * (index + 1 - len(values)))
        values[index] += 1


def _merge_pairs(values: list[int]) -> list[int]:
    return [sum(values[i : i + 2]) for i in range(0, len(values), 2)]


class Series:
    """Counts per time bucket. Not thread-safe: the observer calls it under its lock."""

    __slots__ = (
        "_components",
        "_faults_by_type",
        "_latency",
        "_workload",
        "origin_ns",
        "origin_perf",
        "step",
    )

    def __init__(self, origin_ns: int, origin_perf: float | None = None) -> None:
        self.origin_ns = origin_ns
        #: The same instant on ``time.perf_counter()``'s clock: the hot path's bucket index
        #: comes from the call's end time it already read (see ``perf_index``).
        if origin_perf is None:
            origin_perf = time.perf_counter() - (time.time_ns() - origin_ns) / _NS
        self.origin_perf = origin_perf
        self.step = 1
        self._workload = _Counts()  # "iterations", "failures"
        self._latency: list[dict[int, int]] = []
        self._components: dict[str, _Counts] = {}  # "calls", "errors", "faults"
        self._faults_by_type: dict[str, _Counts] = {}  # per component: fault type -> counts

    def _index(self, ns: int) -> int:
        seconds = max(0, ns - self.origin_ns) // _NS
        while seconds // self.step >= MAX_BUCKETS:
            self._coarsen()
        return int(seconds // self.step)

    def _count(self, lists: dict[str, list[int]], name: str, ns: int) -> None:
        """One more event in the bucket of ``ns``, the common case first: a bucket that is
        already there (one per second, so most events land in the last one)."""
        values = lists.get(name)
        if values is not None:
            index = (ns - self.origin_ns) // _NS // self.step
            if 0 <= index < len(values):
                values[index] += 1
                return
        self._count_slow(lists, name, ns)

    def _count_slow(self, lists: dict[str, list[int]], name: str, ns: int) -> None:
        index = self._index(ns)
        values = lists.get(name)
        if values is None:
            values = lists[name] = []
        if index >= len(values):
            values.extend([0] * (index + 1 - len(values)))
        values[index] += 1

    def _coarsen(self) -> None:
        self.step *= 2
        for counts in (self._workload, *self._components.values(), *self._faults_by_type.values()):
            # In place: the observer's recorders keep each component's dict of lists.
            lists = counts.lists
            for key, values in lists.items():
                lists[key] = _merge_pairs(values)
        merged: list[dict[int, int]] = []
        for i in range(0, len(self._latency), 2):
            pair = dict(self._latency[i])
            for k, v in (self._latency[i + 1] if i + 1 < len(self._latency) else {}).items():
                pair[k] = pair.get(k, 0) + v
            merged.append(pair)
        self._latency = merged

    def counts_of(self, name: str) -> dict[str, list[int]] | None:
        """The lists of counts of a component (``"calls"``, ``"errors"``, ``"faults"``), once it
        has any; the same dict for the series' whole life."""
        counts = self._components.get(name)
        return None if counts is None else counts.lists

    def _component(self, name: str) -> _Counts:
        counts = self._components.get(name)
        if counts is None:
            counts = self._components[name] = _Counts()
        return counts

    # -- recording (the same events as the totals) -----------------------------------------------

    def iteration(self, ns: int, duration_ms: float, failed: bool) -> None:
        index = self._index(ns)
        self._workload.add("iterations", index)
        if failed:
            self._workload.add("failures", index)
        latency = self._latency
        if index >= len(latency):
            latency.extend({} for _ in range(index + 1 - len(latency)))
        b = _bin(duration_ms)
        latency[index][b] = latency[index].get(b, 0) + 1

    def call(self, ns: int, component: str, failed: bool) -> None:
        counts = self._component(component)
        self._count(counts.lists, "calls", ns)
        if failed:
            self._count(counts.lists, "errors", ns)

    def fault(self, ns: int, component: str, fault_type: str) -> None:
        index = self._index(ns)
        self._component(component).add("faults", index)
        by_type = self._faults_by_type.get(component)
        if by_type is None:
            by_type = self._faults_by_type[component] = _Counts()
        by_type.add(fault_type, index)

    # -- reading -------------------------------------------------------------------------------

    def summary(self, duration_seconds: float | None = None) -> SummarySeries:
        """The series: ``step_seconds``, ``buckets`` and equal-length lists."""
        if duration_seconds is not None and duration_seconds > 0:
            # The last second of the run is a bucket too, even when nothing happened in it.
            self._index(self.origin_ns + max(0, math.ceil(duration_seconds) - 1) * _NS)
        lengths = [len(self._latency)]
        for counts in (self._workload, *self._components.values(), *self._faults_by_type.values()):
            lengths += [len(v) for v in counts.lists.values()]
        n = max(lengths)
        if duration_seconds is not None and duration_seconds > 0:
            n = max(n, math.ceil(math.ceil(duration_seconds) / self.step))

        def padded(values: list[int] | None) -> list[int]:
            values = values or []
            return values + [0] * (n - len(values))

        latency = self._latency + [{}] * (n - len(self._latency))
        components: dict[str, SeriesComponent] = {}
        for name in sorted(self._components):
            lists = self._components[name].lists
            by_type = self._faults_by_type.get(name)
            components[name] = SeriesComponent(
                calls=padded(lists.get("calls")),
                errors=padded(lists.get("errors")),
                faults=padded(lists.get("faults")),
                faults_by_type={
                    t: padded(v) for t, v in sorted(by_type.lists.items() if by_type else ())
                },
            )
        return SummarySeries(
            step_seconds=self.step,
            buckets=n,
            workload=SeriesWorkload(
                iterations=padded(self._workload.lists.get("iterations")),
                failures=padded(self._workload.lists.get("failures")),
                latency_p95_ms=[_p95(h) for h in latency],
            ),
            components=components,
        )
