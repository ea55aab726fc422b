"""The handles of units of work: ``with run.unit("question 3"):`` (:class:`Unit`), and the
recorder that tells a run's :class:`~aumai_chaos.experiments.units.RecoveryTracker` each
component call as it ends. Nothing here raises into user code."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from opentelemetry import trace

from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.act import RecordCall
from aumai_chaos._engine.managed import DualManaged

if TYPE_CHECKING:
    from aumai_chaos.experiments.recovery import UnitLedger
    from aumai_chaos.experiments.units import RecoveryTracker

__all__ = ["Unit", "UnitRecorder"]


class Unit(DualManaged):
    """``with run.unit("question 3"):`` (or ``async with``): one unit of work."""

    __slots__ = ("_name", "_t0", "_token", "_tracker")

    def __init__(self, tracker: RecoveryTracker, name: str) -> None:
        self._tracker = tracker
        self._name = name
        self._token: contextvars.Token[UnitLedger | None] | None = None
        self._t0 = 0.0

    def _enter(self) -> None:
        span = trace.get_current_span()
        # The span around the unit takes its outcome events; not the run's own span, which a
        # block makes current (it would collect one event per fault of the whole run).
        own = span.is_recording() and getattr(span, "name", None) != tm.SPAN_EXPERIMENT
        self._token = self._tracker.begin(self._name, span if own else None)
        self._t0 = time.perf_counter()

    def _exit(self, exc_type: type[BaseException] | None, exc: BaseException | None) -> None:
        if self._token is not None:
            error = tm.qualified_name(exc_type) if exc_type is not None else None
            self._tracker.end(self._token, error)
            self._token = None
            self._tracker.unit_ended((time.perf_counter() - self._t0) * 1000.0, error, exc)


class UnitRecorder:
    """An engine ``RecordCall`` that records as ``inner`` does, then tells the unit."""

    __slots__ = ("_component", "_inner", "_note")

    def __init__(
        self, inner: RecordCall, component: str, note: Callable[[str, bool], None]
    ) -> None:
        self._inner = inner
        self._component = component
        self._note = note

    def __call__(
        self, duration_ms: float, error_type: str | None, message: str | None, traced: bool
    ) -> None:
        self._inner(duration_ms, error_type, message, traced)
        self._note(self._component, error_type is None)

    def timed(
        self,
        start: float,
        exc: BaseException | None,
        traced: bool = False,
        end: float | None = None,
    ) -> None:
        self._inner.timed(start, exc, traced, end)
        self._note(self._component, exc is None)
