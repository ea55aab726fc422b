"""The handle of a unit of work: ``with run.unit("question 3"):`` (:class:`Unit`). Nothing here
raises into user code."""

from __future__ import annotations

import contextvars
import time
from typing import TYPE_CHECKING

from opentelemetry import trace

from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.managed import DualManaged

if TYPE_CHECKING:
    from aumai_chaos.experiments.recovery import UnitLedger
    from aumai_chaos.experiments.units import RecoveryTracker

__all__ = ["Unit"]


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
