"""The hot path of an experiment's observer: one watched call folded in as it ends.

:meth:`CallRecorder.record` is :meth:`ExperimentObserver.record_call` bound to one component
(the engine's ``RecordCall``). Its common case, a call that succeeded, is written out here,
with the latency histogram's and the per-second series' steps inlined: it runs on every watched
call. It reads and writes the observer's state under the observer's lock, as
``record_call`` does, and keeps what it looked up once (the component's tallies and series
counts) for as long as the observer keeps them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aumai_chaos.experiments._histogram import (
    _LOWEST,
    _SIZE,
    _TWO_SUB,
    MIN_EXPONENT,
    SUB_BUCKETS,
    _frexp,
)
from aumai_chaos.experiments._stats import CallStats

if TYPE_CHECKING:
    from aumai_chaos.experiments._stats import Tally
    from aumai_chaos.experiments.observer import ExperimentObserver

__all__ = ["CallRecorder", "Note"]

#: Told of every call as it ends: ``(component, ok)`` (a run's recovery tracker).
Note = Callable[[str, bool], None]

_log = logging.getLogger("aumai_chaos")
#: A recorder's tallies before its component's first call (never written: see ``record``).
_UNSET = CallStats()


class CallRecorder:
    """:meth:`ExperimentObserver.record_call` bound to one component; :meth:`record` is an
    engine ``RecordCall``. ``note``, when given, is told of each call after it is recorded."""

    __slots__ = (
        "_hi",
        "_index",
        "_latency",
        "_lock",
        "_name",
        "_note",
        "_observer",
        "_stats",
        "_step",
        "_tally",
        "_values",
    )

    def __init__(self, observer: ExperimentObserver, name: str, note: Note | None = None) -> None:
        self._observer = observer
        self._lock = observer._lock
        self._name = name
        self._note = note
        # What the common case looked up, valid while the observer keeps the same tally and
        # series (``clear()`` replaces both): the component's tallies, its latency counts, and
        # its series' current bucket of calls (``_values[_index]``, until ``_hi`` on the
        # ``perf_counter`` clock, while the series' step stays ``_step``). Unset until the
        # component's first call.
        self._tally: Tally | None = None
        self._stats = _UNSET
        self._latency = _UNSET.latency.counts
        self._values: list[int] = []
        self._index = 0
        self._hi = 0.0
        self._step = 0

    def record(
        self, start: float, end: float, error_type: str | None, message: str | None, traced: bool
    ) -> None:
        """A call from ``start`` to ``end`` (``time.perf_counter()`` values) has ended, failing
        with ``error_type`` and ``message`` (or not); ``traced`` when it had a component-call
        span. The common case, a call that succeeded, is
        :meth:`ExperimentObserver.record_call` written out."""
        observer = self._observer
        duration_ms = (end - start) * 1000.0
        lock = self._lock
        lock.acquire()
        try:
            if error_type is None and observer.tally is self._tally and not observer._sealed:
                self._stats.calls += 1
                # stats.latency.add(duration_ms)
                if duration_ms > _LOWEST:
                    m, e = _frexp(duration_ms)
                    i = (e - MIN_EXPONENT) * SUB_BUCKETS + int(m * _TWO_SUB) - SUB_BUCKETS
                    self._latency[i if i < _SIZE else _SIZE - 1] += 1
                else:
                    self._latency[0] += 1
                # series.call(ns, name, False), its common case: the current bucket
                if end < self._hi and observer.series.step == self._step:
                    self._values[self._index] += 1
                else:
                    observer.series.call(time.time_ns(), self._name, False)
                    self._remember(end)
                if traced:  # a component-call span: the call keeps its observation
                    details = {"duration_ms": round(duration_ms, 3), "status": "ok"}
                    details["error_type"] = None
                    observer._keep((self._name, "call", time.time_ns(), details))
            else:
                observer._fold_call(self._name, duration_ms, error_type, message, traced)
                self._remember(end)
        except Exception as err:  # pragma: no cover - never raise into user code
            if not observer._failed:
                observer._failed = True
                _log.warning("recording a call failed: %r", err)
        finally:
            lock.release()
        note = self._note
        if note is not None:
            note(self._name, error_type is None)

    def _remember(self, now: float) -> None:
        """Look up, for the calls that follow, the component's tallies and the series bucket
        that ``now`` (``perf_counter``) falls in. Called with the lock held, after the call
        was counted: the component has its tallies and its list of calls by then."""
        observer = self._observer
        series = observer.series
        stats = observer.tally.components.get(self._name)
        lists = series.counts_of(self._name)
        values = None if lists is None else lists.get("calls")
        if stats is None or values is None or observer._recent is not None:
            self._tally = None  # every call takes the general path
            return
        step = series.step
        index = int(now - series.origin_perf) // step
        if not 0 <= index < len(values):
            self._tally = None
            return
        self._tally = observer.tally
        self._stats, self._latency = stats, stats.latency.counts
        self._values, self._index, self._step = values, index, step
        self._hi = series.origin_perf + (index + 1) * step
