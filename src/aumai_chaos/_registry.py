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

from . import _telemetry as tm
from ._plan import FaultPlan
from .faults import FaultConfig

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

    __slots__ = ("experiment_ids", "instruments", "name", "plans", "span_attrs")

    def __init__(self, name: str, plans: Sequence[FaultPlan]) -> None:
        self.name = name
        self.plans = tuple(plans)
        ids = list(dict.fromkeys(p.experiment_id for p in self.plans if p.experiment_id))
        self.experiment_ids = tuple(ids)
        self.instruments = self.plans[0].instruments
        attrs: dict[str, Any] = {tm.ATTR_COMPONENT: name}
        if ids:
            attrs[tm.ATTR_EXPERIMENT_ID] = ids[0]
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
    """One running experiment's faults: by component, and those that apply everywhere.

    ``make_plan(fault, component)`` compiles a fault for one component, bound to the
    experiment's random source, telemetry and window.
    """

    __slots__ = ("by_component", "everywhere", "make_plan")

    def __init__(
        self,
        by_component: dict[str, list[FaultConfig]],
        everywhere: list[FaultConfig],
        make_plan: Callable[[FaultConfig, str], FaultPlan],
    ) -> None:
        self.by_component = by_component
        self.everywhere = everywhere
        self.make_plan = make_plan

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
        plans: list[FaultPlan] = []
        if state.enabled:
            for route in _routes.values():
                plans.extend(route.plans_for(name))
        slot[:] = [SlotState(name, plans)] if plans else []


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
        _refresh(_slots if route.everywhere else route.by_component)


def deactivate(key: object) -> None:
    """Stop routing an experiment's plans. No call that starts after this sees its faults."""
    with _lock:
        route = _routes.pop(key, None)
        if route is not None:
            _refresh(_slots if route.everywhere else route.by_component)


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
