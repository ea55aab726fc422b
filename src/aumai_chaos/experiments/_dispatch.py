"""One span processor, registered once per provider, routing spans to running experiments.

The SDK cannot remove a processor from a ``TracerProvider``, so experiments never add their own:
the process-wide :data:`DISPATCHER` is added once to each SDK provider an experiment uses, and
routes each ended span by its ``chaos.experiment.id`` to that experiment's observer. When the
provider in use is not an SDK provider (no SDK configured), experiments trace through it as it
is: a run records its calls and faults as they happen, so it needs no span of its own to observe
them, and a span nobody exports would be work for nothing. The global provider is never set.
"""

from __future__ import annotations

import threading
import weakref
from typing import TypeVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

from aumai_chaos._engine import telemetry as tm
from aumai_chaos.experiments.observer import ExperimentObserver
from aumai_chaos.experiments.units import RecoveryTracker

__all__ = ["DISPATCHER", "observing_provider"]

_T = TypeVar("_T")


def _with(table: dict[str, _T], key: str, value: _T) -> dict[str, _T]:
    """A copy of ``table`` with ``key`` set to ``value``."""
    return {**table, key: value}


def _without(table: dict[str, _T], key: str, value: _T) -> dict[str, _T]:
    """A copy of ``table`` without ``key`` if it still holds ``value``, else ``table``."""
    if table.get(key) is not value:
        return table
    return {k: v for k, v in table.items() if k != key}


class _Dispatcher(SpanProcessor):
    def __init__(self) -> None:
        self._routes: dict[str, ExperimentObserver] = {}
        self._units: dict[str, RecoveryTracker] = {}
        self._lock = threading.Lock()

    # Copy-on-write tables: on_start, _on_ending and on_end read them without a lock.

    def add(self, experiment_id: str, observer: ExperimentObserver) -> None:
        if not observer.takes_spans:
            return  # a run's observer: its calls and faults are recorded as they happen
        with self._lock:
            self._routes = _with(self._routes, experiment_id, observer)

    def remove(self, experiment_id: str, observer: ExperimentObserver) -> None:
        with self._lock:
            self._routes = _without(self._routes, experiment_id, observer)

    # -- recovery hook: invoke_agent spans are units of work (experiments/units.py) -----------

    def add_units(self, experiment_id: str, tracker: RecoveryTracker) -> None:
        with self._lock:
            self._units = _with(self._units, experiment_id, tracker)

    def remove_units(self, experiment_id: str, tracker: RecoveryTracker) -> None:
        with self._lock:
            self._units = _without(self._units, experiment_id, tracker)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        units = self._units
        if units:
            parent = span.parent
            parent_id = parent.span_id if parent is not None else None
            for tracker in units.values():
                tracker.span_started(span, parent_id)

    def _on_ending(self, span: Span) -> None:
        # The SDK calls this before a span ends, while it can still take events.
        units = self._units
        if units:
            for tracker in units.values():
                tracker.span_ending(span)

    def on_end(self, span: ReadableSpan) -> None:
        routes = self._routes
        if not routes:
            return
        attrs = span.attributes
        if not attrs:
            return
        exp_id = attrs.get(tm.ATTR_EXPERIMENT_ID)
        if exp_id is None:
            return
        observer = routes.get(str(exp_id))
        if observer is not None:
            observer.on_end(span)
        others = attrs.get(tm.ATTR_EXPERIMENT_IDS)
        if not isinstance(others, list | tuple):
            return
        for other in others:
            if other != exp_id and (observer := routes.get(str(other))) is not None:
                observer.on_end(span)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


DISPATCHER = _Dispatcher()
_attached: weakref.WeakSet[SdkTracerProvider] = weakref.WeakSet()
_attach_lock = threading.Lock()


def observing_provider(provider: trace.TracerProvider | None) -> trace.TracerProvider:
    """The provider an experiment traces through: ``provider`` (or the global one when
    ``None``), with the dispatcher on it when it is an SDK provider."""
    candidate = provider if provider is not None else trace.get_tracer_provider()
    if isinstance(candidate, SdkTracerProvider):
        with _attach_lock:
            if candidate not in _attached:
                candidate.add_span_processor(DISPATCHER)
                _attached.add(candidate)
    return candidate
