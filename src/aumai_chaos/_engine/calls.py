"""The one decider: whether and which faults fire on a call, for every caller.

Every caller decides here, so the kill switch, the scopes (in ``registry``: which experiments a
context gets) and the position rules (in ``plan``) act alike everywhere:

- the decorators: :func:`gate` is wrapt's ``enabled=`` gate (evaluated in C; it draws the
  decorator's own faults and hands what it drew to :func:`decide_call`, which adds the
  experiments' faults on the same thread);
- the transports (and any caller that sees its component only at request time):
  :func:`decide`, with its own faults as a :class:`FaultSet`;
- :class:`~aumai_chaos.FaultInjector` and a run's synthetic calls: :func:`decide_one`.

The kill switch (``state.enabled``) stops every firing here and nowhere else, while calls are
still numbered and observed.

A transport sees a component (e.g. ``"openai.chat.completions"``) only at request time. Per
request it calls :func:`decide` with its own :class:`FaultSet`, and gets back ``None`` (nothing
can fire and no experiment watches the component: pass the request through untouched) or a
:class:`Decision`: the faults that fire on this call (:class:`~aumai_chaos._engine.act.Firing`,
in the order they act) and the experiments' component-call span to run the request in.
See ``aumai_chaos._engine``'s docstring for the whole protocol.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.act import CallSpan, CallTimer, Firing
from aumai_chaos._engine.plan import Counter, Draw, FaultPlan, OwnFaults, refuse_at
from aumai_chaos._engine.registry import ComponentSlot, SlotState, slot_for, state
from aumai_chaos._engine.seeding import default_draw
from aumai_chaos.faults import Action, FaultConfig, Site

__all__ = [
    "Decision",
    "FaultSet",
    "decide",
    "decide_call",
    "decide_one",
    "gate",
    "order",
    "own_firings",
]

#: Most distinct components a FaultSet compiles plans for; past it, the oldest are dropped.
_MAX_COMPONENTS = 1024


class FaultSet:
    """A caller's own faults (``ChaosTransport(faults=..., seed=...)``), compiled per component
    on first use. Faults that cannot act at ``site`` are refused here with a ``ValueError``
    naming the fault type and the reason (``where`` names the caller in that message).

    Without ``seed`` draws come from ``rng`` or the module-level :mod:`random` (so
    ``random.seed()`` reproduces a single-threaded run); with ``seed`` selection replays
    (docs/replay.md). Call numbers ``n`` count per component, from 1.
    """

    def __init__(
        self,
        faults: Sequence[FaultConfig],
        *,
        site: Site = Site.transport,
        seed: int | None = None,
        rng: random.Random | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        where: str = "a transport",
    ) -> None:
        self.faults = tuple(
            f if isinstance(f, FaultConfig) else FaultConfig.model_validate(f) for f in faults
        )
        refuse_at(site, self.faults, where)
        self.site = site
        self.seed = seed
        self.draw: Draw = rng.random if rng is not None else default_draw()
        self.instruments = tm.instruments_for(tracer_provider, meter_provider)
        self._by_component: dict[str, OwnFaults] = {}
        self._lock = threading.Lock()

    def for_component(self, component: str) -> OwnFaults:
        own = self._by_component.get(component)
        if own is not None:
            return own
        with self._lock:
            own = self._by_component.get(component)
            if own is None:
                plans = [
                    FaultPlan(
                        f,
                        draw=self.draw,
                        instruments=self.instruments,
                        component=component,
                        position=i,
                        seed=self.seed,
                    )
                    for i, f in enumerate(self.faults)
                ]
                if len(self._by_component) >= _MAX_COMPONENTS:
                    self._by_component.pop(next(iter(self._by_component)))
                own = self._by_component[component] = OwnFaults(plans, self.draw)
            return own


def own_firings(own: OwnFaults) -> list[Firing]:
    """Number this call and decide which of ``own``'s faults fire on it (none under the kill
    switch: the call is still numbered)."""
    n = own.count()
    if not state.enabled:
        return []
    if own.simple:
        if own.draw() >= own.probability:
            return []
        plans = own.choose()
    else:
        plans = own.select(n)
    return [Firing(p, n) for p in plans]


_tls = threading.local()


def gate(own: OwnFaults | None, slot: ComponentSlot) -> Any:
    """wrapt's ``enabled=`` gate for a decorated component: the whole decision of whether our
    wrapper runs at all, evaluated before it is entered.

    Without own faults (or with none that can fire) it is the slot itself, which wrapt, finding
    it is not callable, tests for truth in C: true while an experiment watches the component.
    Simple faults (no seed, no position rule) keep the one-draw gate, plus the call counter that
    numbers the call (``chaos.fault.occurrence``); others decide each fault for call ``n`` here.
    What fired is left in a thread-local for :func:`decide_call`, which wrapt's wrapper calls
    next on the same thread with no user code in between. A gate that draws nothing returns
    the slot, whose truth wrapt tests in C (cheaper than asking for its length here).
    """
    if own is None or not own.plans:
        return slot
    count, tls, st = own.count, _tls, state
    if own.simple:
        if own.probability <= 0.0:
            return slot
        draw, probability = own.draw, own.probability

        def simple_gate() -> Any:
            n = count()
            if draw() < probability and st.enabled:
                tls.own = n
                return True
            return slot

        return simple_gate
    select = own.select

    def ruled_gate() -> Any:
        n = count()
        if st.enabled:
            fired = select(n)
            if fired:
                tls.own = (n, fired)
                return True
        return slot

    return ruled_gate


def decide_call(
    own: OwnFaults | None, slot: ComponentSlot, site: Site = Site.call
) -> tuple[list[Firing], SlotState | None]:
    """What fires on a decorated call (what :func:`gate` drew, then the experiments' faults at
    ``site``) in the order they act, and the experiments' state of the component when one
    watches it (``None`` otherwise)."""
    fired: list[Firing]
    if own is None:
        # slot.current(), written out: this runs on every watched call
        try:
            watched = slot[0]
        except IndexError:
            return [], None
        current = watched.view() if watched.scoped else watched
        if current is None:
            return [], None
        counters = current.counters_at[site]
        if counters is not None:  # no fault can fire here: only number the call
            for count in counters:
                count()
            return [], current
        fired = current.fire(site)
        return (order(fired) if len(fired) > 1 else fired), current
    taken = _tls.__dict__.pop("own", None)
    if taken is None:
        fired = []
    elif type(taken) is int:
        fired = [Firing(p, taken) for p in own.choose()]
    else:
        n, plans = taken
        fired = [Firing(p, n) for p in plans]
    current = slot.current()
    if current is not None:
        fired += current.fire(site)
    return (order(fired) if len(fired) > 1 else fired), current


def decide_one(plan: FaultPlan, count: Counter) -> Firing | None:
    """Number a call and decide one fault on it (an injector's, a run's synthetic call's)."""
    n = count()
    if not state.enabled:
        return None
    return Firing(plan, n) if plan.selects(n) else None


def order(fired: list[Firing]) -> list[Firing]:
    """The order faults act in: ``before`` delays, then at most one ``before`` fault that
    raises (the first declared; a call fails once, the others are skipped and keep their
    ``times``), then the ``instead``, ``after`` and ``during`` faults in declared order."""
    if len(fired) < 2:
        return fired
    before = [f for f in fired if f.plan.action is Action.before and not f.plan.raises]
    raising = [f for f in fired if f.plan.action is Action.before and f.plan.raises]
    if raising:
        before.append(raising[0])
        for extra in raising[1:]:
            extra.skip()
    before.extend(f for f in fired if f.plan.action is not Action.before)
    return before


class Decision:
    """What happens on one call: ``firings`` in the order they act, and ``call``, the
    experiments' component-call span (or span-less timer) to run the call in, or ``None`` when
    no experiment watches the component. ``start`` (``time.perf_counter()``) is when the
    decision was taken: pass it to ``Firing.begin(start=...)`` for a delay timed from it."""

    __slots__ = ("call", "firings", "start")

    def __init__(
        self, firings: list[Firing], call: CallSpan | CallTimer | None, start: float
    ) -> None:
        self.firings = firings
        self.call = call
        self.start = start

    def of(self, action: Action) -> list[Firing]:
        """The firings that act at ``action``."""
        return [f for f in self.firings if f.plan.action is action]


def decide(
    component: str,
    own: FaultSet | None = None,
    *,
    site: Site = Site.transport,
    also: Site | None = None,
) -> Decision | None:
    """Decide one call into ``component``: ``None`` when nothing fires and no experiment
    watches it (the caller then does nothing at all), else a :class:`Decision`.

    Honors the kill switch, the position rules, seeded replay and block experiments' scopes;
    an experiment's fault that cannot act at ``site`` is skipped for this caller. ``also``: a
    second site the call is at (the proxy's MCP requests: ``transport`` and ``mcp``), counted
    once.
    """
    start = time.perf_counter()
    fired = own_firings(own.for_component(component)) if own is not None else []
    call: CallSpan | CallTimer | None = None
    if state.routing:
        current = slot_for(component).current()
        if current is not None:
            fired.extend(current.fire(site) if also is None else current.fire_any((site, also)))
            call = current.call(bool(fired))
    if not fired and call is None:
        return None
    return Decision(order(fired), call, start)
