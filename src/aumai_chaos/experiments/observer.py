"""``ExperimentObserver``: an OpenTelemetry span processor that also keeps observations.

It records, from the spans it sees, a ``fault_injected`` observation for every
``chaos.fault.injected`` event and a ``call`` observation for every ended component-call span,
and keeps exact tallies for the experiment summary. :meth:`~ExperimentObserver.observe` and
:meth:`~ExperimentObserver.scope` record observations directly: they work with no OpenTelemetry
SDK at all, and also add an event to the current span when one is recording.

Like every span processor it never raises into the caller and keeps ``on_end`` cheap: a few
attribute reads, then a short critical section.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.act import RecordCall
from aumai_chaos._engine.managed import DualManaged
from aumai_chaos.experiments._recorder import CallRecorder, Note
from aumai_chaos.experiments._series import Series
from aumai_chaos.experiments._stats import Tally
from aumai_chaos.experiments.models import Observation
from aumai_chaos.experiments.summary import Summary
from aumai_chaos.faults import fault_types_that

__all__ = ["DEFAULT_MAX_OBSERVATIONS", "ExperimentObserver"]

DEFAULT_MAX_OBSERVATIONS = 10_000
FAULT_INJECTED = "fault_injected"
#: The faults that fail their call (``errors_by_type``), wherever they act.
_RAISING = frozenset(t.value for t in fault_types_that("fails"))
_SKIP_NAMES = frozenset((tm.SPAN_FAULT, tm.SPAN_EXPERIMENT))
_log = logging.getLogger("aumai_chaos")


_Raw = tuple[str, str, int, dict[str, Any]]


def _utc(ns: int | None) -> datetime:
    return datetime.fromtimestamp((ns or time.time_ns()) / 1e9, tz=UTC)


def _when(raw: _Raw) -> int:
    return raw[2]


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _attribute(value: Any) -> Any:
    """A span-attribute-compatible form of a detail value (JSON text for anything else)."""
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return json.dumps(value, default=str, sort_keys=True)


class ExperimentObserver(SpanProcessor):
    """Keeps :class:`~aumai_chaos.Observation` records, bounded, thread-safe.

    ``max_observations`` bounds each kind of observation on its own: ``fault_injected``
    observations have their bound, and everything else (``call``, ``iteration``, your own
    :meth:`observe` events) shares a second one. Past its bound a kind drops its own oldest
    (counted in :attr:`dropped`), so a flood of calls never pushes out the faults. Tallies used
    for the summary stay exact whatever is dropped.
    ``experiment_id`` restricts what it takes from spans to that experiment's faults and calls.
    """

    def __init__(
        self,
        *,
        max_observations: int = DEFAULT_MAX_OBSERVATIONS,
        experiment_id: str | None = None,
        recent_seconds: float | None = None,
        faults_from_spans: bool = True,
        calls_from_spans: bool = True,
    ) -> None:
        if max_observations < 0:
            raise ValueError("max_observations must be >= 0")
        self.experiment_id = experiment_id
        #: (end time in ns, component, failed) of the calls and iterations of the last
        #: ``recent_seconds``, kept only when asked for (stop conditions need it).
        self._recent: deque[tuple[int, str, bool]] | None = (
            deque() if recent_seconds is not None else None
        )
        self._recent_ns = int((recent_seconds or 0) * 1e9)
        self.max_observations = max_observations
        #: (component, event, time in ns since the epoch, details): plain tuples, turned into
        #: :class:`Observation` objects (with their datetimes) only when they are read.
        self._store: deque[_Raw] = deque(maxlen=max_observations)
        #: The ``fault_injected`` observations, bounded on their own (see the class docstring).
        self._faults: deque[_Raw] = deque(maxlen=max_observations)
        #: When the first fault fired and the first workload iteration failed (ns, or None).
        self.first_fault_ns: int | None = None
        self.first_failure_ns: int | None = None
        #: The first failing iteration's exception, as "type: message".
        self.first_failure: str | None = None
        self._lock = threading.Lock()
        self._dropped = 0
        self._failed = False
        #: ``False`` for the scheduler's runs, which record their faults as they fire
        #: (:meth:`record_fault`) and so skip the ``chaos.fault.injected`` span events: an
        #: event reaches ``on_end`` only when the affected call ends, which can be after the run
        #: has closed its window and written its summary.
        self._faults_from_spans = faults_from_spans
        #: ``False`` for the runs' observers too: their component calls are recorded as they
        #: end (:meth:`record_call`), so ``on_end`` has nothing left to do for them.
        self._calls_from_spans = calls_from_spans
        #: Set when a run has ended: late spans, iterations and faults no longer change what it
        #: reported.
        self._sealed = False
        self.tally = Tally()
        #: The same counts per second since ``series.origin_ns`` (the run sets it to its start;
        #: by default the observer's creation): the summary's ``series``.
        self.series = Series(time.time_ns())

    # -- the store -----------------------------------------------------------------------------

    @property
    def takes_spans(self) -> bool:
        """Whether this observer reads anything from ended spans (a run's observer does not:
        its calls and faults are recorded as they happen)."""
        return self._faults_from_spans or self._calls_from_spans

    def _keep(self, obs: _Raw) -> None:
        # Called with the lock held.
        store = self._faults if obs[1] == FAULT_INJECTED else self._store
        if len(store) == self.max_observations:
            self._dropped += 1
            if self.max_observations == 0:
                return
        store.append(obs)

    @property
    def dropped(self) -> int:
        """How many observations the bound has pushed out."""
        return self._dropped

    def get_observations(
        self,
        component: str | None = None,
        event: str | None = None,
        *,
        since: datetime | None = None,
    ) -> list[Observation]:
        """A snapshot of the kept observations, oldest first, optionally filtered."""
        with self._lock:
            items = list(self._store)
            if self._faults:
                items.extend(self._faults)
            items.sort(key=_when)
        since_ns = None if since is None else int(since.timestamp() * 1e9)
        return [
            Observation(c, e, _utc(ns), d)
            for c, e, ns, d in items
            if (component is None or c == component)
            and (event is None or e == event)
            and (since_ns is None or ns >= since_ns)
        ]

    def __iter__(self) -> Iterator[Observation]:
        return iter(self.get_observations())

    def __len__(self) -> int:
        with self._lock:
            return len(self._store) + len(self._faults)

    def clear(self) -> None:
        """Forget every observation and tally."""
        with self._lock:
            self._store.clear()
            self._faults.clear()
            self._dropped = 0
            self.tally = Tally()
            self.series = Series(self.series.origin_ns, self.series.origin_perf)

    # -- direct recording ------------------------------------------------------------------------

    def observe(
        self, component: str, event: str, details: Mapping[str, Any] | None = None
    ) -> Observation:
        """Record an observation now; also add it as an event to the current recording span."""
        ns = time.time_ns()
        obs = Observation(component, event, _utc(ns), dict(details or {}))
        with self._lock:
            self._keep((component, event, ns, obs.details))
        try:
            span = trace.get_current_span()
            if span.is_recording():
                attrs = {tm.ATTR_COMPONENT: component}
                # A span attribute cannot be None: leave it out rather than write "null".
                attrs.update({k: _attribute(v) for k, v in obs.details.items() if v is not None})
                span.add_event(event, attrs)
        except Exception as exc:  # pragma: no cover - never raise into user code
            _log.debug("observe: span event failed: %r", exc)
        return obs

    def scope(self, component: str, event: str) -> _Scope:
        """Time a block (``with`` or ``async with``) and record it as one observation.

        Its details: ``duration_ms``, ``status`` (``ok``/``error``) and ``error_type``. The
        block's exception, if any, propagates unchanged.
        """
        return _Scope(self, component, event)

    def record_iteration(
        self, duration_ms: float, error_type: str | None, message: str | None = None
    ) -> None:
        """Record one workload iteration (used by the scheduler); ``message`` is the failure's
        exception message, kept for the first failure of each type."""
        details = {
            "duration_ms": round(duration_ms, 3),
            "status": "error" if error_type else "ok",
            "error_type": error_type,
        }
        obs = ("workload", "iteration", time.time_ns(), details)
        with self._lock:
            if self._sealed:
                return
            self.tally.workload.add_call(duration_ms, error_type, message)
            self.series.iteration(obs[2], duration_ms, error_type is not None)
            if error_type is not None and self.first_failure_ns is None:
                self.first_failure_ns = obs[2]
                self.first_failure = f"{error_type}: {message}" if message else error_type
            if self._recent is not None:
                self._recent.append((time.time_ns(), "workload", error_type is not None))
            self._keep(obs)

    def record_call(
        self,
        component: str,
        duration_ms: float,
        error_type: str | None,
        message: str | None = None,
        traced: bool = True,
    ) -> None:
        """Record one component call as it ends (used by the runs): folded at once into the
        tallies and the series, in constant time. ``traced``: the call had a component-call
        span, and keeps a ``call`` observation as an ended span gives; a call timed without
        one (``trace_calls: faults``, nothing fired) is only counted."""
        with self._lock:
            self._fold_call(component, duration_ms, error_type, message, traced)

    def _fold_call(
        self,
        component: str,
        duration_ms: float,
        error_type: str | None,
        message: str | None,
        traced: bool,
    ) -> None:
        # Called with the lock held.
        if self._sealed:
            return
        ns = time.time_ns()
        self.tally.component(component).add_call(duration_ms, error_type, message)
        failed = error_type is not None
        self.series.call(ns, component, failed)
        if self._recent is not None:
            self._recent.append((ns, component, failed))
        if traced:
            details = {
                "duration_ms": round(duration_ms, 3),
                "status": "error" if failed else "ok",
                "error_type": error_type,
            }
            self._keep((component, "call", ns, details))

    def _recorder(self, component: str, note: Note | None = None) -> RecordCall:
        """:meth:`record_call` for one component: what a run's route hands the engine (an
        ``aumai_chaos._engine.act.RecordCall``). ``note`` is told ``(component, ok)`` after
        each call is recorded (a run's recovery tracker)."""
        return CallRecorder(self, component, note).record

    def record_fault(self, attributes: Mapping[str, Any]) -> None:
        """Record one injected fault now, from its ``chaos.fault`` attributes (used by the
        scheduler's runs, inside the run's firing window)."""
        fault_type = str(attributes.get(tm.ATTR_FAULT_TYPE, "unknown"))
        component = str(attributes.get(tm.ATTR_COMPONENT) or "unknown")
        details = dict(attributes)
        # A tuple (the tool calls an output fault changed) is kept as a list, as JSON has it.
        if tuple in map(type, details.values()):
            details = {k: _plain(v) for k, v in details.items()}
        obs = (component, FAULT_INJECTED, time.time_ns(), details)
        with self._lock:
            if self._sealed:
                return
            if self.first_fault_ns is None:
                self.first_fault_ns = obs[2]
            self.tally.add_fault(fault_type, component, fault_type in _RAISING)
            self.series.fault(obs[2], component, fault_type)
            self._keep(obs)

    def seal(self) -> None:
        """Take nothing more from spans, iterations or faults: the run has ended, and its
        summary and observations must agree (a span may still be on its way from the
        dispatcher on another thread)."""
        with self._lock:
            self._sealed = True

    # -- SpanProcessor -------------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        try:
            self._on_end(span)
        except Exception as exc:  # pragma: no cover - a processor must never raise
            if not self._failed:
                self._failed = True
                _log.warning("ExperimentObserver.on_end failed: %r", exc)

    def _on_end(self, span: ReadableSpan) -> None:
        if not (self._faults_from_spans or self._calls_from_spans):
            return
        attrs = span.attributes or {}
        name = span.name
        exp_id = self.experiment_id
        new: list[_Raw] = []
        faults: list[tuple[str, str, bool, int]] = []
        for ev in span.events if self._faults_from_spans else ():
            if ev.name != tm.EVENT_FAULT_INJECTED:
                continue
            ev_attrs = ev.attributes or {}
            if exp_id is not None and ev_attrs.get(tm.ATTR_EXPERIMENT_ID) != exp_id:
                continue
            component = ev_attrs.get(tm.ATTR_COMPONENT) or attrs.get(tm.ATTR_COMPONENT) or name
            fault_type = str(ev_attrs.get(tm.ATTR_FAULT_TYPE, "unknown"))
            details = {k: _plain(v) for k, v in ev_attrs.items()}
            ns = ev.timestamp or time.time_ns()
            faults.append((fault_type, str(component), fault_type in _RAISING, ns))
            new.append((str(component), FAULT_INJECTED, ns, details))
        call: tuple[str, float, str | None, str | None] | None = None
        if (
            self._calls_from_spans
            and attrs.get(tm.ATTR_COMPONENT) == name
            and name not in _SKIP_NAMES
            and self._mine(attrs)
        ):
            duration_ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
            error = span.status.status_code is StatusCode.ERROR
            error_type = str(attrs.get(tm.ATTR_ERROR_TYPE, "error")) if error else None
            call = (name, duration_ms, error_type, span.status.description if error else None)
            details = {
                "duration_ms": round(duration_ms, 3),
                "status": "error" if error else "ok",
                "error_type": error_type,
            }
            new.append((name, "call", span.end_time or time.time_ns(), details))
        if not new:
            return
        with self._lock:
            if self._sealed:
                return
            tally = self.tally
            for fault_type, comp, raises, ns in faults:
                tally.add_fault(fault_type, comp, raises)
                self.series.fault(ns, comp, fault_type)
            if call is not None:
                tally.component(call[0]).add_call(call[1], call[2], call[3])
                self.series.call(span.end_time or time.time_ns(), call[0], call[2] is not None)
                if self._recent is not None:
                    self._recent.append((span.end_time or time.time_ns(), call[0], bool(call[2])))
            for obs in new:
                self._keep(obs)

    def _mine(self, attrs: Mapping[str, Any]) -> bool:
        exp_id = self.experiment_id
        if exp_id is None or attrs.get(tm.ATTR_EXPERIMENT_ID) == exp_id:
            return True
        ids = attrs.get(tm.ATTR_EXPERIMENT_IDS)
        return isinstance(ids, list | tuple) and exp_id in ids

    def recent(self, component: str | None, seconds: float) -> tuple[int, int]:
        """(calls, failures) of ``component`` (any component but the workload when ``None``)
        that ended in the last ``seconds``. Needs ``recent_seconds`` at construction."""
        recent = self._recent
        if recent is None:
            return (0, 0)
        now = time.time_ns()
        horizon = now - int(seconds * 1e9)
        calls = failures = 0
        with self._lock:
            keep_after = now - self._recent_ns
            while recent and recent[0][0] < keep_after:
                recent.popleft()
            for ended, name, failed in recent:
                if ended < horizon:
                    continue
                if component is None and name == "workload":
                    continue
                if component is not None and name != component:
                    continue
                calls += 1
                failures += failed
        return (calls, failures)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    # -- summary -------------------------------------------------------------------------------

    def summary(self, duration_seconds: float | None = None) -> Summary:
        """The guide's summary keys, then per-component and workload statistics."""
        with self._lock:
            tally = self.tally
            summary = Summary(
                total_faults_fired=tally.total_faults,
                faults_by_type=dict(tally.faults_by_type),
                errors_by_type=dict(tally.errors_by_type),
                components={
                    name: stats.summary() for name, stats in sorted(tally.components.items())
                },
                series=self.series.summary(duration_seconds),
                observations_dropped=self._dropped,
            )
            if duration_seconds is not None:
                summary.duration_seconds = round(duration_seconds, 3)
            if tally.workload.calls:
                summary.workload = tally.workload.workload_summary()
        return summary


class _Scope(DualManaged):
    __slots__ = ("_component", "_event", "_observer", "_t0")

    def __init__(self, observer: ExperimentObserver, component: str, event: str) -> None:
        self._observer = observer
        self._component = component
        self._event = event
        self._t0 = 0.0

    def _enter(self) -> None:
        self._t0 = time.perf_counter()

    def _exit(self, exc_type: type[BaseException] | None, exc: BaseException | None) -> None:
        duration_ms = (time.perf_counter() - self._t0) * 1000.0
        self._observer.observe(
            self._component,
            self._event,
            {
                "duration_ms": round(duration_ms, 3),
                "status": "error" if exc_type is not None else "ok",
                "error_type": tm.qualified_name(exc_type) if exc_type is not None else None,
            },
        )
