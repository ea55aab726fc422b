"""Pure decisions: which faults fire on this call. No I/O, no telemetry, no sleeping.

A :class:`FaultPlan` is a :class:`~aumai_chaos.FaultConfig` compiled once into plain slots that the
hot path can read cheaply: pydantic attribute reads cost several times a slots read, and the span
and metric attribute dictionaries are built here once instead of on every firing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aumai_chaos._engine import telemetry as tm
from aumai_chaos.errors import (
    ChaosError,
    ChaosTimeoutError,
    InjectedFaultError,
    ResourceExhaustedError,
)
from aumai_chaos.faults import FaultConfig, FaultType

if TYPE_CHECKING:
    from aumai_chaos._engine.window import Window

__all__ = ["Draw", "FaultPlan", "OwnFaults", "order_fired"]

#: A source of uniform floats in [0, 1), such as ``random.random``.
Draw = Callable[[], float]


class FaultPlan:
    """One fault, ready to decide and to act, for one component (and maybe one experiment)."""

    __slots__ = (
        "component",
        "delay",
        "draw",
        "experiment_id",
        "fault",
        "fault_type",
        "instruments",
        "metric_attrs",
        "on_fire",
        "probability",
        "raises",
        "span_attrs",
        "window",
    )

    def __init__(
        self,
        fault: FaultConfig,
        *,
        draw: Draw,
        instruments: tm.Instruments,
        component: str | None = None,
        experiment_id: str | None = None,
        window: Window | None = None,
        on_fire: Callable[[FaultPlan], None] | None = None,
    ) -> None:
        self.fault = fault
        self.window = window
        #: Called as the fault fires (inside its window): an experiment counts it there.
        self.on_fire = on_fire
        self.fault_type = fault.fault_type
        self.probability = fault.probability
        self.delay = fault.delay_seconds
        self.raises = fault.fault_type.raises
        self.draw = draw
        self.instruments = instruments
        self.component = component
        self.experiment_id = experiment_id
        span_attrs: dict[str, Any] = {
            tm.ATTR_FAULT_TYPE: fault.fault_type.value,
            tm.ATTR_FAULT_PROBABILITY: float(fault.probability),
        }
        duration_ms = getattr(fault, "duration_ms", None)
        if duration_ms is not None:
            span_attrs[tm.ATTR_FAULT_DURATION_MS] = duration_ms
        if fault.fault_type is FaultType.error:
            span_attrs[tm.ATTR_FAULT_ERROR_CODE] = _error_code(fault)
        error_message = getattr(fault, "error_message", None)
        if error_message is not None:
            span_attrs[tm.ATTR_FAULT_ERROR_MESSAGE] = error_message
        metric_attrs: dict[str, Any] = {tm.ATTR_FAULT_TYPE: fault.fault_type.value}
        if component is not None:
            span_attrs[tm.ATTR_COMPONENT] = component
            metric_attrs[tm.ATTR_COMPONENT] = component
        if experiment_id is not None:
            span_attrs[tm.ATTR_EXPERIMENT_ID] = experiment_id
            metric_attrs[tm.ATTR_EXPERIMENT_ID] = experiment_id
        self.span_attrs = span_attrs
        self.metric_attrs = metric_attrs

    def exception(self) -> InjectedFaultError:
        """A new exception for this fault (raising faults only)."""
        fault: Any = self.fault
        if self.fault_type is FaultType.error:
            return ChaosError(
                _error_code(fault), fault.error_message or "Injected error", fault=fault
            )
        if self.fault_type is FaultType.timeout:
            message = fault.error_message or f"Injected timeout after {fault.duration_ms or 0} ms"
            return ChaosTimeoutError(message, fault=fault)
        if self.fault_type is FaultType.resource_exhaustion:
            return ResourceExhaustedError(
                fault.error_message or "Injected resource exhaustion", fault=fault
            )
        raise AssertionError(f"{self.fault_type} does not raise")  # pragma: no cover

    def fires(self) -> bool:
        """One independent draw against this fault's probability."""
        return self.draw() < self.probability

    def __repr__(self) -> str:
        return f"FaultPlan({self.fault!r}, component={self.component!r})"


def _error_code(fault: FaultConfig) -> int:
    code = getattr(fault, "error_code", None)
    return code if code is not None else ChaosError().error_code


def order_fired(fired: Sequence[FaultPlan]) -> list[FaultPlan]:
    """What actually happens, in order: every delay first, then at most one raising fault.

    When several raising faults fire on one call, the first declared wins; a call can only
    fail once.
    """
    delays = [p for p in fired if not p.raises]
    for plan in fired:
        if plan.raises:
            delays.append(plan)
            break
    return delays


class OwnFaults:
    """A decorator's own faults, drawn independently on every call, with a one-draw gate.

    The gate asks one question per call, "does any fault fire?", with probability
    ``1 - prod(1 - p_i)``. Only when it says yes does :meth:`choose` draw which ones fired,
    conditioned on at least one firing. Together the two steps give exactly the distribution of
    independent per-fault draws, while a call on which nothing fires costs a single draw.
    """

    __slots__ = ("_conditional", "draw", "plans", "probability")

    def __init__(self, plans: Sequence[FaultPlan], draw: Draw) -> None:
        self.plans = tuple(plans)
        self.draw = draw
        # tail[i] = P(at least one of plans[i:] fires)
        tail = [0.0] * (len(self.plans) + 1)
        for i in range(len(self.plans) - 1, -1, -1):
            p = self.plans[i].probability
            tail[i] = 1.0 - (1.0 - p) * (1.0 - tail[i + 1])
        self.probability = tail[0] if self.plans else 0.0
        self._conditional = tuple(
            (plan.probability / tail[i]) if tail[i] > 0 else 0.0
            for i, plan in enumerate(self.plans)
        )

    def choose(self) -> list[FaultPlan]:
        """Which faults fire, given that at least one does."""
        draw = self.draw
        fired: list[FaultPlan] = []
        plans = self.plans
        for i, plan in enumerate(plans):
            if draw() < self._conditional[i]:
                fired.append(plan)
                fired.extend(p for p in plans[i + 1 :] if draw() < p.probability)
                break
        return fired
