"""The hot path of an experiment's observer: one watched call folded in as it ends.

:class:`CallRecorder` is :meth:`ExperimentObserver.record_call` bound to one component (the
engine's ``RecordCall``). Its common case, a call that succeeded, is written out here, with the
latency histogram's and the per-second series' steps inlined: it runs on every watched call.
It reads and writes the observer's state under the observer's lock, as ``record_call`` does.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aumai_chaos._engine import telemetry as tm
from aumai_chaos.experiments._histogram import (
    _LOWEST,
    _SIZE,
    _TWO_SUB,
    MIN_EXPONENT,
    SUB_BUCKETS,
    _frexp,
)

if TYPE_CHECKING:
    from aumai_chaos.experiments.observer import ExperimentObserver

__all__ = ["CallRecorder"]

_log = logging.getLogger("aumai_chaos")
_time_ns = time.time_ns
_perf_counter = time.perf_counter


class CallRecorder:
    """:meth:`ExperimentObserver.record_call` bound to one component (an engine
    ``RecordCall``), with the common case written out: a call that succeeded (:meth:`timed`).
    It runs on every watched call, so the histogram's and the series' steps are inlined there."""

    __slots__ = ("_name", "_observer")

    def __init__(self, observer: ExperimentObserver, name: str) -> None:
        self._observer = observer
        self._name = name

    def __call__(
        self, duration_ms: float, error_type: str | None, message: str | None, traced: bool
    ) -> None:
        self._observer.record_call(self._name, duration_ms, error_type, message, traced)

    def timed(
        self,
        start: float,
        exc: BaseException | None,
        traced: bool = False,
        end: float | None = None,
    ) -> None:
        """A call from ``start`` to ``end`` (``time.perf_counter()``; default now) has ended,
        raising ``exc`` (or not); ``traced`` when it had a component-call span. The common
        case, a call that succeeded, is :meth:`ExperimentObserver.record_call` written out."""
        now = _perf_counter() if end is None else end
        duration_ms = (now - start) * 1000.0
        if exc is not None:
            error_type = tm.qualified_name(type(exc))
            self._observer.record_call(self._name, duration_ms, error_type, str(exc), traced)
            return
        observer = self._observer
        name = self._name
        try:
            with observer._lock:
                if observer._sealed:
                    return
                stats = observer.tally.components.get(name)
                series = observer.series
                counts = series._components.get(name)
                if stats is None or counts is None or observer._recent is not None:
                    observer._fold_call(name, duration_ms, None, None, traced)
                    return
                stats.calls += 1
                # stats.latency.add(duration_ms)
                if duration_ms > _LOWEST:
                    m, e = _frexp(duration_ms)
                    i = (e - MIN_EXPONENT) * SUB_BUCKETS + int(m * _TWO_SUB) - SUB_BUCKETS
                    stats.latency.counts[i if i < _SIZE else _SIZE - 1] += 1
                else:
                    stats.latency.counts[0] += 1
                # series.call(ns, name, False), its common case: a bucket that is already there
                values = counts.lists.get("calls")
                index = int(now - series.origin_perf) // series.step
                if values is not None and 0 <= index < len(values):
                    values[index] += 1
                else:
                    series.call(_time_ns(), name, False)
                if traced:
                    details = {"duration_ms": round(duration_ms, 3), "status": "ok"}
                    details["error_type"] = None
                    observer._keep((name, "call", _time_ns(), details))
        except Exception as err:  # pragma: no cover - never raise into user code
            if not observer._failed:
                observer._failed = True
                _log.warning("recording a call failed: %r", err)
