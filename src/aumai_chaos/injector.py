"""``FaultInjector``: decide and inject one fault at a point of your choosing."""

from __future__ import annotations

import random
import threading
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos._engine.act import Firing, fire_async, fire_sync
from aumai_chaos._engine.calls import decide_one
from aumai_chaos._engine.plan import Counter, FaultPlan, new_counter, refuse_at
from aumai_chaos._engine.registry import state
from aumai_chaos._engine.seeding import default_draw
from aumai_chaos._engine.telemetry import instruments_for
from aumai_chaos.faults import Action, FaultConfig, Site

__all__ = ["FaultInjector"]

_PLAN_CACHE_SIZE = 256
#: The draw without an ``rng``: the module-level ``random``, or aumai_chaos.seed()'s stream.
_default_draw = default_draw()


class FaultInjector:
    """Injects faults where you call it, with telemetry as for the decorators.

    Draws come from the module-level :mod:`random` by default, so ``random.seed(42)`` makes
    :meth:`should_inject` deterministic. ``FaultInjector(seed=7)`` or
    ``FaultInjector(rng=random.Random(7))`` gives an independent, reproducible stream instead.
    The kill switch (:func:`aumai_chaos.disable`) turns every injector off.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        rng: random.Random | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        if seed is not None and rng is not None:
            raise ValueError("give seed or rng, not both")
        self._rng: random.Random | None = random.Random(seed) if seed is not None else rng
        self._instruments = instruments_for(tracer_provider, meter_provider)
        self._plans: dict[tuple[FaultConfig, str | None], tuple[FaultPlan, Counter]] = {}
        self._lock = threading.Lock()

    def _draw(self) -> float:
        rng = self._rng
        return rng.random() if rng is not None else _default_draw()

    def _plan(self, fault: FaultConfig, component: str | None) -> tuple[FaultPlan, Counter]:
        key = (fault, component)
        entry = self._plans.get(key)
        if entry is None:
            if fault.action is not Action.before:
                refuse_at(Site.call, [fault], "FaultInjector")  # HTTP and output faults
                raise ValueError(
                    f"FaultInjector cannot inject a {fault.fault_type.value!r} fault: it acts "
                    "on a result or a stream; use a decorator"
                )
            plan = FaultPlan(
                fault, draw=self._draw, instruments=self._instruments, component=component
            )
            entry = (plan, new_counter())
            with self._lock:
                if len(self._plans) >= _PLAN_CACHE_SIZE:
                    self._plans.clear()
                self._plans[key] = entry
        return entry

    def should_inject(self, fault: FaultConfig) -> bool:
        """One draw against ``fault.probability``; ``False`` whenever the kill switch is on."""
        return state.enabled and self._draw() < fault.probability

    def _decide(self, fault: FaultConfig, component: str | None) -> Firing | None:
        return decide_one(*self._plan(fault, component))

    def inject(self, fault: FaultConfig, *, component: str | None = None) -> bool:
        """Maybe inject ``fault`` here: sleep for latency, raise for error/timeout/exhaustion.

        The position rules count the calls with this fault (and component) on this injector.
        Returns whether the fault fired (a raising fault raises instead of returning). Faults
        that act on an HTTP transport, a result or a stream are refused (``ValueError``).
        """
        firing = self._decide(fault, component)
        if firing is None:
            return False
        fire_sync((firing,))
        return True

    async def ainject(self, fault: FaultConfig, *, component: str | None = None) -> bool:
        """:meth:`inject` for coroutines: delays never block the event loop."""
        firing = self._decide(fault, component)
        if firing is None:
            return False
        await fire_async((firing,))
        return True

    def __repr__(self) -> str:
        source: Any = "random" if self._rng is None else self._rng
        return f"FaultInjector(source={source!r})"
