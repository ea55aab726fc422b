"""A fixed-size log-linear latency histogram: constant time and memory per recorded value.

The layout is HdrHistogram's and OpenTelemetry's exponential histogram's idea, kept simple:
each power of two (an *octave*) of milliseconds is split into :data:`SUB_BUCKETS` equal-width
buckets. A value ``v = m * 2**e`` (``math.frexp``: ``0.5 <= m < 1``) falls in bucket
``(e - MIN_EXPONENT) * SUB_BUCKETS + floor((2m - 1) * SUB_BUCKETS)``. One bucket spans at most
``1 / SUB_BUCKETS`` of its lower bound, and a percentile is read as the middle of the bucket
that holds the nearest-rank value. So

    ``|reported - exact| <= RELATIVE_ERROR * exact``, ``RELATIVE_ERROR = 1 / (2 * SUB_BUCKETS)``

(0.78% with 64 sub-buckets), for every value between ``2**(MIN_EXPONENT - 1)`` ms (about half a
nanosecond) and ``2**(MAX_EXPONENT - 1)`` ms (about 18 hours). Smaller values (and zero) share
the first bucket, read as 0.0, and larger ones the last. Recording is a ``frexp``, a few integer
operations and one counter increment.
"""

from __future__ import annotations

import math

__all__ = ["MAX_EXPONENT", "MIN_EXPONENT", "RELATIVE_ERROR", "SUB_BUCKETS", "LogHistogram"]

SUB_BUCKETS = 64
MIN_EXPONENT = -20
MAX_EXPONENT = 27
RELATIVE_ERROR = 1.0 / (2 * SUB_BUCKETS)
_SIZE = (MAX_EXPONENT - MIN_EXPONENT) * SUB_BUCKETS
_LOWEST = 2.0 ** (MIN_EXPONENT - 1)  # frexp's m * 2**e, m in [0.5, 1): the first octave's start
_TWO_SUB = 2 * SUB_BUCKETS
_frexp = math.frexp


def _index(value: float) -> int:
    if not value > _LOWEST:  # also zero, negative and NaN
        return 0
    m, e = _frexp(value)
    i = (e - MIN_EXPONENT) * SUB_BUCKETS + int(m * _TWO_SUB) - SUB_BUCKETS
    return i if i < _SIZE else _SIZE - 1


def _middle(index: int) -> float:
    octave, sub = divmod(index, SUB_BUCKETS)
    width = 2.0 ** (octave + MIN_EXPONENT) / _TWO_SUB
    low = 2.0 ** (octave + MIN_EXPONENT - 1) + sub * width
    return low + width / 2


class LogHistogram:
    """Counts of values (ms) in fixed log-linear buckets; recording one is a single counter
    increment (the count is summed when read).

    Not thread-safe: the observer records into it under its lock.
    """

    __slots__ = ("counts",)

    def __init__(self) -> None:
        # A list: incrementing an item costs half what it costs in an ``array``.
        self.counts = [0] * _SIZE

    def add(self, value: float) -> None:
        # (an observer's recorder inlines this for the calls it records)
        self.counts[_index(value)] += 1

    @property
    def total(self) -> int:
        return sum(self.counts)

    def merge(self, other: LogHistogram) -> None:
        counts = self.counts
        for i, n in enumerate(other.counts):
            if n:
                counts[i] += n

    def percentile(self, q: float) -> float:
        """The nearest-rank percentile (``q`` in [0, 100]) within :data:`RELATIVE_ERROR`;
        0.0 when empty, and for values below the range."""
        total = self.total
        if not total:
            return 0.0
        rank = max(1, math.ceil(q / 100.0 * total))
        seen = 0
        for i, n in enumerate(self.counts):
            if n:
                seen += n
                if seen >= rank:
                    return _middle(i) if i else 0.0
        return 0.0  # pragma: no cover - the loop always reaches the rank
