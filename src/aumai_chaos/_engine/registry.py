"""Process-wide routing of running experiments to components, and the kill switch.

Every decorated component owns a :class:`ComponentSlot`: a list that is empty unless a running
experiment affects that component, in which case it holds exactly one :class:`SlotState`. The
decorators hand ``slot.__len__`` to wrapt as the ``enabled=`` gate, which wrapt calls in C
before it would enter any Python wrapper: with no experiment affecting a component, a call into
it costs about what a ``functools.wraps`` passthrough costs.

A context variable would not do here: what the scheduler sets in its own thread would be
invisible to the other threads and tasks that call the components. Slots are rewritten under a
lock, by whole-slice assignment, which readers on other threads see atomically.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.plan import FaultPlan
from aumai_chaos.faults import FaultConfig

__all__ = [
    "DISABLED_ENV",
    "ComponentSlot",
    "Route",
    "SlotState",
    "activate",
    "deactivate",
    "disable",
    "enable",
    "is_enabled",
    "registered_components",
    "slot_for",
    "state",
]

DISABLED_ENV = "AUMAI_CHAOS_DISABLED"


class _State:
    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = os.environ.get(DISABLED_ENV, "").strip().lower() not in (
            "1",
            "true",
            "yes",
            "on",
        )


#: Read on the firing path of the decorators' gates; written only by enable()/disable().
state = _State()


class SlotState:
    """What the running experiments do to one component, precomputed for the call path."""

    __slots__ = ("instruments", "name", "plans", "span_attrs")

    def __init__(self, name: str, plans: Sequence[FaultPlan], routes: Sequence[Route]) -> None:
        self.name = name
        self.plans = tuple(plans)
        ids = list(dict.fromkeys(r.experiment_id for r in routes))
        self.instruments = routes[0].instruments
        attrs: dict[str, Any] = {tm.ATTR_COMPONENT: name, tm.ATTR_EXPERIMENT_ID: ids[0]}
        if len(ids) > 1:
            attrs[tm.ATTR_EXPERIMENT_IDS] = ids
        self.span_attrs = attrs


class ComponentSlot(list[SlotState]):
    """Empty, or one :class:`SlotState` while an experiment affects the component."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def current(self) -> SlotState | None:
        try:
            return self[0]
        except IndexError:
            return None


class Route:
    """What one running experiment does to components.

    ``by_component`` names the faults of each component, ``everywhere`` the faults of every
    component; ``watch`` names components to observe (component-call spans) even where no fault
    applies, and ``watch_all`` observes every component. ``make_plan(fault, component)``
    compiles a fault for one component, bound to the experiment's random source, telemetry and
    window; ``instruments`` trace the component calls.
    """

    __slots__ = (
        "by_component",
        "everywhere",
        "experiment_id",
        "instruments",
        "make_plan",
        "watch",
        "watch_all",
    )

    def __init__(
        self,
        experiment_id: str,
        instruments: tm.Instruments,
        make_plan: Callable[[FaultConfig, str], FaultPlan],
        by_component: dict[str, list[FaultConfig]],
        everywhere: Sequence[FaultConfig] = (),
        watch: Iterable[str] = (),
        watch_all: bool = False,
    ) -> None:
        self.experiment_id = experiment_id
        self.instruments = instruments
        self.make_plan = make_plan
        self.by_component = by_component
        self.everywhere = tuple(everywhere)
        self.watch = frozenset(watch) | frozenset(by_component)
        self.watch_all = watch_all or bool(self.everywhere)

    def affects(self, component: str) -> bool:
        return self.watch_all or component in self.watch

    def plans_for(self, component: str) -> list[FaultPlan]:
        faults = [*self.by_component.get(component, ()), *self.everywhere]
        return [self.make_plan(f, component) for f in faults]


_lock = threading.Lock()
_slots: dict[str, ComponentSlot] = {}
_routes: dict[object, Route] = {}


def _refresh(names: Iterable[str]) -> None:
    for name in names:
        slot = _slots.get(name)
        if slot is None:
            continue
        routes = [r for r in _routes.values() if r.affects(name)]
        # With the kill switch on, calls are still observed (and counted), but nothing fires.
        plans = [plan for r in routes for plan in r.plans_for(name)] if state.enabled else []
        slot[:] = [SlotState(name, plans, routes)] if routes else []


def slot_for(component: str) -> ComponentSlot:
    """The slot of a component, created (and filled from running experiments) on first use."""
    slot = _slots.get(component)
    if slot is not None:
        return slot
    with _lock:
        slot = _slots.get(component)
        if slot is None:
            slot = _slots[component] = ComponentSlot(component)
            _refresh((component,))
        return slot


def activate(key: object, route: Route) -> None:
    """Start routing an experiment's faults to the components they affect."""
    with _lock:
        _routes[key] = route
        _refresh(_slots if route.watch_all else route.watch)


def deactivate(key: object) -> None:
    """Stop routing an experiment's plans. No call that starts after this sees its faults."""
    with _lock:
        route = _routes.pop(key, None)
        if route is not None:
            _refresh(_slots if route.watch_all else route.watch)


def is_enabled() -> bool:
    """Whether fault injection is on (the kill switch is off)."""
    return state.enabled


def disable() -> None:
    """Kill switch: stop all fault injection in this process at once, experiments included.

    Also set by ``AUMAI_CHAOS_DISABLED=1`` in the environment at import time.
    """
    with _lock:
        state.enabled = False
        _refresh(_slots)


def enable() -> None:
    """Turn fault injection back on after :func:`disable`."""
    with _lock:
        state.enabled = True
        _refresh(_slots)


def registered_components() -> list[str]:
    """Names of every component a decorator has marked so far."""
    with _lock:
        return sorted(_slots)
