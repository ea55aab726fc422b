"""The latency histogram against exact nearest-rank percentiles, within its documented error."""

from __future__ import annotations

import math
import random

import pytest

from aumai_chaos.experiments._histogram import RELATIVE_ERROR, LogHistogram
from aumai_chaos.experiments._stats import CallStats, percentile


def _exact_and_histogram(values: list[float]) -> tuple[list[float], LogHistogram]:
    histogram = LogHistogram()
    for v in values:
        histogram.add(v)
    return sorted(values), histogram


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 95, 99, 99.9, 100])
def test_percentiles_are_within_the_relative_error(seed: int, q: float) -> None:
    rng = random.Random(seed)
    # latencies from a microsecond to minutes, heavy-tailed as real ones are
    values = [rng.lognormvariate(math.log(20.0), 2.5) for _ in range(5_000)]
    values += [0.001 * rng.random() for _ in range(50)]
    ordered, histogram = _exact_and_histogram(values)
    exact = percentile(ordered, q)
    assert abs(histogram.percentile(q) - exact) <= RELATIVE_ERROR * exact
    assert RELATIVE_ERROR < 0.008


def test_out_of_range_values_and_empty() -> None:
    assert LogHistogram().percentile(50) == 0.0
    _, histogram = _exact_and_histogram([0.0, 0.0, 3.5, 1e12])
    assert histogram.percentile(0) == 0.0
    assert histogram.percentile(50) == 0.0
    assert histogram.percentile(75) == pytest.approx(3.5, rel=RELATIVE_ERROR)
    assert histogram.percentile(100) == pytest.approx(2.0**26, rel=0.02)  # the range's end
    assert histogram.total == 4


def test_memory_does_not_grow_with_the_number_of_calls() -> None:
    stats = CallStats()
    size = len(stats.latency.counts)
    for i in range(100_000):
        stats.add_call(float(i % 997) + 0.5, None)
    assert len(stats.latency.counts) == size
    assert stats.calls == stats.latency.total == 100_000


def test_merge_adds_counts() -> None:
    a, b = LogHistogram(), LogHistogram()
    for v in (1.0, 2.0):
        a.add(v)
    for v in (3.0, 400.0):
        b.add(v)
    a.merge(b)
    assert a.total == 4
    assert a.percentile(100) == pytest.approx(400.0, rel=RELATIVE_ERROR)
    assert a.percentile(50) == pytest.approx(2.0, rel=RELATIVE_ERROR)
