"""How a stream or output fault tells the engine that it acts, and waits.

The stream wrappers and the output rewriters decide *whether* a fault can act (a stall after
more events than the stream has, a tool-call fault on an answer without tool calls: it cannot)
and act only then. At that moment they call :meth:`FaultHooks.begin`, which stamps the
``chaos.fault`` span and the ``chaos.fault.injected`` event and counts the injection, and
:meth:`FaultHooks.end` when the fault is over. The transport passes an implementation backed
by the engine (experiment windows, occurrence numbers); :class:`TelemetryHooks` is the plain
one, with the telemetry contract's names and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import INVALID_SPAN, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from aumai_chaos._engine import telemetry as tm
from aumai_chaos.faults import FaultConfig

__all__ = ["ATTR_FAULT_AFTER_CHUNKS", "FaultHooks", "TelemetryHooks", "fault_attributes"]

#: The number of stream events delivered before a stream fault acted (telemetry contract).
ATTR_FAULT_AFTER_CHUNKS = "chaos.fault.after_chunks"

_log = logging.getLogger("aumai_chaos")
_warned: set[str] = set()


def _failed(where: str, exc: BaseException) -> None:
    if where not in _warned:
        _warned.add(where)
        _log.warning("aumai-chaos telemetry failed in %s (%r); faults still act", where, exc)


class FaultHooks(Protocol):
    """The engine's side of a fault that acts inside a response."""

    def begin(self, fault: FaultConfig, attributes: Mapping[str, AttributeValue]) -> object | None:
        """The fault acts now: stamp and count it. ``None``: it must not act after all (its
        experiment's window has closed), and the response goes on untouched."""
        ...

    def end(self, token: object, error: BaseException | None) -> None:
        """The fault is over (``error``: the exception it raised into the client)."""
        ...

    def sleep(self, token: object, seconds: float) -> None:
        """Wait in a thread, while the fault of ``token`` acts (an experiment's window may
        end the wait early)."""
        ...

    async def asleep(self, token: object, seconds: float) -> None:
        """Wait without blocking the event loop."""
        ...


def fault_attributes(fault: FaultConfig) -> dict[str, AttributeValue]:
    """The ``chaos.fault.*`` attributes that every fault's span and event carry."""
    attrs: dict[str, AttributeValue] = {
        tm.ATTR_FAULT_TYPE: fault.fault_type.value,
        tm.ATTR_FAULT_PROBABILITY: float(fault.probability),
    }
    duration_ms = getattr(fault, "duration_ms", None)
    if duration_ms is not None:
        attrs[tm.ATTR_FAULT_DURATION_MS] = duration_ms
    message = getattr(fault, "error_message", None)
    if message is not None:
        attrs[tm.ATTR_FAULT_ERROR_MESSAGE] = message
    return attrs


class TelemetryHooks:
    """Span, event and counter per the telemetry contract; plain sleeps.

    The ``chaos.fault`` span is a child of the context that was current when the hooks were
    made (the request, inside the SDK call), and starts when the fault acts; the
    ``chaos.fault.injected`` event goes on that context's span, with the same timestamp.
    """

    __slots__ = ("_component", "_context", "_instruments")

    def __init__(
        self,
        *,
        component: str | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        context: otel_context.Context | None = None,
    ) -> None:
        self._component = component
        self._instruments = tm.instruments_for(tracer_provider, meter_provider)
        self._context = otel_context.get_current() if context is None else context

    def begin(self, fault: FaultConfig, attributes: Mapping[str, AttributeValue]) -> object | None:
        attrs = fault_attributes(fault)
        attrs.update(attributes)
        if self._component is not None:
            attrs[tm.ATTR_COMPONENT] = self._component
        inst = self._instruments
        try:
            span: Any = inst.tracer.start_span(tm.SPAN_FAULT, self._context, attributes=attrs)
        except Exception as exc:
            _failed("stream fault start", exc)
            span = INVALID_SPAN
        try:
            parent = trace.get_current_span(self._context)
            if parent.is_recording():
                parent.add_event(tm.EVENT_FAULT_INJECTED, attrs)
        except Exception as exc:
            _failed("stream fault event", exc)
        try:
            metric_attrs: dict[str, AttributeValue] = {tm.ATTR_FAULT_TYPE: fault.fault_type.value}
            if self._component is not None:
                metric_attrs[tm.ATTR_COMPONENT] = self._component
            inst.fault_injections.add(1, metric_attrs)
        except Exception as exc:
            _failed("stream fault count", exc)
        return span

    def end(self, token: object, error: BaseException | None) -> None:
        span: Any = token
        try:
            if error is not None:
                span.record_exception(error)
                span.set_attribute(tm.ATTR_ERROR_TYPE, tm.qualified_name(type(error)))
                span.set_status(Status(StatusCode.ERROR, str(error)))
            span.end()
        except Exception as exc:
            _failed("stream fault end", exc)

    def sleep(self, token: object, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, token: object, seconds: float) -> None:
        await asyncio.sleep(seconds)
