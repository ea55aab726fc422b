"""Names of everything we emit (../docs/telemetry.md) and the instruments that emit it.

Only the OpenTelemetry *API* is used here. Instruments are built once per (tracer provider,
meter provider) pair and cached; with the global providers they are proxies that follow whatever
SDK the application installs later, and cost next to nothing while none is installed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context

from aumai_chaos._version import __version__

__all__ = [
    "ATTR_COMPONENT",
    "ATTR_ERROR_TYPE",
    "ATTR_EXPERIMENT_ID",
    "ATTR_EXPERIMENT_IDS",
    "ATTR_EXPERIMENT_NAME",
    "ATTR_EXPERIMENT_STATUS",
    "ATTR_EXPERIMENT_VERDICT",
    "ATTR_OBJECTIVE_COMPONENT",
    "ATTR_OBJECTIVE_LIMIT",
    "ATTR_OBJECTIVE_OBSERVED",
    "ATTR_OBJECTIVE_OUTCOME",
    "ATTR_OBJECTIVE_PHASE",
    "ATTR_OBJECTIVE_THRESHOLD",
    "ATTR_STOP_CONDITION",
    "ATTR_FAULT_AFTER_CHUNKS",
    "ATTR_FAULT_TOOL_CALLS",
    "ATTR_FAULT_DURATION_MS",
    "ATTR_FAULT_ERROR_CODE",
    "ATTR_FAULT_ERROR_MESSAGE",
    "ATTR_FAULT_OCCURRENCE",
    "ATTR_FAULT_PROBABILITY",
    "ATTR_FAULT_RETRY_AFTER_S",
    "ATTR_GEN_AI_PROVIDER_NAME",
    "ATTR_GEN_AI_REQUEST_MODEL",
    "ATTR_HTTP_REQUEST_METHOD",
    "ATTR_HTTP_RESPONSE_STATUS_CODE",
    "ATTR_SERVER_ADDRESS",
    "ATTR_FAULT_TYPE",
    "ATTR_SEED",
    "EVENT_EXPERIMENT_ABORTED",
    "EVENT_EXPERIMENT_STOPPED",
    "EVENT_FAULT_INJECTED",
    "EVENT_OBJECTIVE",
    "FLUSH_INSTRUMENT",
    "SCOPE_NAME",
    "SPAN_EXPERIMENT",
    "SPAN_FAULT",
    "Instruments",
    "PendingCount",
    "instruments_for",
    "qualified_name",
]

SCOPE_NAME = "aumai_chaos"
_log = logging.getLogger("aumai_chaos")

SPAN_EXPERIMENT = "chaos.experiment"
SPAN_FAULT = "chaos.fault"
EVENT_FAULT_INJECTED = "chaos.fault.injected"
EVENT_EXPERIMENT_ABORTED = "chaos.experiment.aborted"
#: Our additions: one event per checked objective limit, one when a stop condition fires.
EVENT_OBJECTIVE = "chaos.objective"
EVENT_EXPERIMENT_STOPPED = "chaos.experiment.stopped"

ATTR_FAULT_TYPE = "chaos.fault.type"
ATTR_FAULT_PROBABILITY = "chaos.fault.probability"
ATTR_FAULT_DURATION_MS = "chaos.fault.duration_ms"
ATTR_FAULT_ERROR_CODE = "chaos.fault.error_code"
ATTR_FAULT_ERROR_MESSAGE = "chaos.fault.error_message"
#: Faults beyond the call (telemetry.md): the call number n, stream position, Retry-After.
ATTR_FAULT_OCCURRENCE = "chaos.fault.occurrence"
ATTR_FAULT_AFTER_CHUNKS = "chaos.fault.after_chunks"
#: The indexes (from 0) of the tool calls of an answer that a tool-call output fault changed.
ATTR_FAULT_TOOL_CALLS = "chaos.fault.tool_calls"
ATTR_FAULT_RETRY_AFTER_S = "chaos.fault.retry_after_s"
#: OpenTelemetry HTTP and GenAI conventions, on transport faults.
ATTR_HTTP_REQUEST_METHOD = "http.request.method"
ATTR_SERVER_ADDRESS = "server.address"
ATTR_HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
ATTR_GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
ATTR_GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
ATTR_COMPONENT = "chaos.component"
ATTR_EXPERIMENT_ID = "chaos.experiment.id"
#: Our addition: every experiment that affected a component call, when more than one did.
ATTR_EXPERIMENT_IDS = "chaos.experiment.ids"
ATTR_EXPERIMENT_NAME = "chaos.experiment.name"
ATTR_EXPERIMENT_STATUS = "chaos.experiment.status"
ATTR_SEED = "chaos.seed"
ATTR_EXPERIMENT_VERDICT = "chaos.experiment.verdict"
ATTR_OBJECTIVE_PHASE = "chaos.objective.phase"
ATTR_OBJECTIVE_COMPONENT = "chaos.objective.component"
ATTR_OBJECTIVE_LIMIT = "chaos.objective.limit"
ATTR_OBJECTIVE_THRESHOLD = "chaos.objective.threshold"
ATTR_OBJECTIVE_OBSERVED = "chaos.objective.observed"
ATTR_OBJECTIVE_OUTCOME = "chaos.objective.outcome"
ATTR_STOP_CONDITION = "chaos.stop_condition"
ATTR_ERROR_TYPE = "error.type"

#: Histogram buckets in seconds. The SDK's default boundaries (0, 5, 10, 25, ... 10000) are made
#: for milliseconds: every delay under 5 s would fall in one bucket and the quantiles would be
#: meaningless.
DELAY_BUCKETS_S = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    30.0,
    60.0,
)
EXPERIMENT_DURATION_BUCKETS_S = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


def qualified_name(cls: type) -> str:
    """The fully qualified class name, as ``error.type`` wants it (builtins stay bare)."""
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


class PendingCount:
    """One counter's count for one attribute set, added to the counter in one measurement when
    a metric reader collects, instead of one measurement per event.

    An SDK measurement costs several microseconds (its attributes are cleaned, hashed and
    offered an exemplar every time), as much as a fault's span; :meth:`add` is a locked
    increment. :meth:`flush` runs from the observable callback that the SDK runs first in every
    collection (:class:`Instruments`), so a reader always reads the exact count. The point's
    exemplar links to the span of the last event counted (``span``), as one measurement per
    event made in that span's context would.
    """

    __slots__ = ("_lock", "attrs", "counter", "pending", "span")

    def __init__(self, counter: metrics.Counter, attrs: dict[str, Any]) -> None:
        self.counter = counter
        self.attrs = attrs
        self.pending = 0
        self.span: trace.Span | None = None
        self._lock = threading.Lock()

    def add(self, n: int = 1, span: trace.Span | None = None) -> None:
        with self._lock:
            self.pending += n
            if span is not None:
                self.span = span

    def flush(self) -> None:
        with self._lock:
            n, span = self.pending, self.span
            if not n:
                return
            self.pending, self.span = 0, None
        context = trace.set_span_in_context(span) if span is not None else Context()
        self.counter.add(n, self.attrs, context=context)


#: The counters and histograms of :class:`Instruments`, by slot; the instrument's name is the
#: slot's under ``chaos.`` (``fault_delay``: ``chaos.fault.delay``). Histograms are in seconds.
_COUNTERS = {
    "fault_injections": ("{injection}", "Faults injected."),
    "experiment_runs": ("{run}", "Experiment runs, by final status."),
    "objective_checks": ("{check}", "Steady-state objective limits checked, by outcome."),
}
_HISTOGRAMS = {
    "fault_delay": ("Delay injected by latency and timeout faults.", DELAY_BUCKETS_S),
    "experiment_duration": (
        "Wall-clock duration of experiment runs.",
        EXPERIMENT_DURATION_BUCKETS_S,
    ),
}
#: An observable instrument that never reports a point: its callback, which the SDK runs first
#: in every collection, adds the pending counts to their counters (:class:`PendingCount`).
FLUSH_INSTRUMENT = "chaos.internal.flush"


def _scoped(provider: Any, method: str, from_global: Any) -> Any:
    """Our scope's tracer or meter (``method``) from ``provider``, or from the global one
    (``from_global``) when ``None``."""
    get = from_global if provider is None else getattr(provider, method)
    return get(SCOPE_NAME, __version__)


class Instruments:
    """The tracer and metric instruments for one pair of providers."""

    __slots__ = (
        "experiment_active",
        "experiment_duration",
        "experiment_runs",
        "fault_delay",
        "fault_injections",
        "meter",
        "objective_checks",
        "tracer",
    )
    fault_injections: metrics.Counter
    fault_delay: metrics.Histogram
    experiment_runs: metrics.Counter
    experiment_duration: metrics.Histogram
    experiment_active: metrics.UpDownCounter
    objective_checks: metrics.Counter
    tracer: trace.Tracer
    meter: metrics.Meter

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None,
        meter_provider: metrics.MeterProvider | None,
    ) -> None:
        # A provider that raises must never break a decorator or a user call: fall back to
        # the API's no-op implementations and say so once.
        try:
            self.tracer = _scoped(tracer_provider, "get_tracer", trace.get_tracer)
        except Exception as exc:
            _log.warning("aumai-chaos: the tracer provider failed (%r); tracing is off", exc)
            self.tracer = trace.NoOpTracer()
        try:
            self.meter = _scoped(meter_provider, "get_meter", metrics.get_meter)
            self._create_instruments(self.meter)
        except Exception as exc:
            _log.warning("aumai-chaos: the meter provider failed (%r); metrics are off", exc)
            self.meter = metrics.NoOpMeter(SCOPE_NAME)
            self._create_instruments(self.meter)

    def _create_instruments(self, m: metrics.Meter) -> None:
        for slot, (unit, description) in _COUNTERS.items():
            name = "chaos." + slot.replace("_", ".")
            setattr(self, slot, m.create_counter(name, unit=unit, description=description))
        for slot, (description, buckets) in _HISTOGRAMS.items():
            histogram = m.create_histogram(
                "chaos." + slot.replace("_", "."),
                unit="s",
                description=description,
                explicit_bucket_boundaries_advisory=buckets,
            )
            setattr(self, slot, histogram)
        self.experiment_active = m.create_up_down_counter(
            "chaos.experiment.active", unit="{experiment}", description="Experiments running now."
        )
        m.create_observable_gauge(FLUSH_INSTRUMENT, callbacks=[_flush_all])

    def pending(self, counter: metrics.Counter, attrs: dict[str, Any]) -> PendingCount:
        """The one :class:`PendingCount` of ``counter`` for ``attrs``."""
        key = (id(counter), frozenset(attrs.items()))
        found = _pending.get(key)
        if found is None:
            with _pending_lock:
                found = _pending.get(key)
                if found is None:
                    found = _pending[key] = PendingCount(counter, dict(attrs))
        return found


#: Every pending count, of every meter: one callback adds them all, so that whichever of its
#: registrations a meter keeps (a second instrument of the same name and scope on one provider,
#: e.g. through the global proxy and explicitly, is the first one), none is left out. Holding
#: the counters keeps their ids from being reused.
_pending: dict[tuple[int, frozenset[tuple[str, Any]]], PendingCount] = {}
_pending_lock = threading.Lock()


def _flush_all(options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
    """Add every pending count to its counter (a reader is collecting); report nothing."""
    for count in list(_pending.values()):
        try:
            count.flush()
        except Exception as exc:  # pragma: no cover - never into a reader's collection
            _log.warning("aumai-chaos: adding a pending count failed (%r)", exc)
    return ()


_cache: dict[tuple[int, int], tuple[Any, Any, Instruments]] = {}
_cache_lock = threading.Lock()


def instruments_for(
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> Instruments:
    """The cached :class:`Instruments` for these providers (``None``: the global ones)."""
    key = (id(tracer_provider), id(meter_provider))
    hit = _cache.get(key)
    if hit is not None and hit[0] is tracer_provider and hit[1] is meter_provider:
        return hit[2]
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] is tracer_provider and hit[1] is meter_provider:
            return hit[2]
        inst = Instruments(tracer_provider, meter_provider)
        # Holding the providers keeps their ids from being reused by other objects.
        _cache[key] = (tracer_provider, meter_provider, inst)
        return inst
