"""Process-wide routing of running experiments to components, and the kill switch.

Every decorated component owns a :class:`ComponentSlot`: a list that is empty unless a running
experiment affects that component, in which case it holds exactly one :class:`SlotState`. The
decorators hand the slot itself to wrapt as the ``enabled=`` gate, which wrapt tests for truth
in C before it would enter any Python wrapper: with no experiment affecting a component, a call
into it costs less than a ``functools.wraps`` passthrough.

A context variable would not do here: what the scheduler sets in its own thread would be
invisible to the other threads and tasks that call the components. Slots are rewritten under a
lock, by whole-slice assignment, which readers on other threads see atomically.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from aumai_chaos._engine import selection
from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.act import (
    CallSpan,
    CallTimer,
    ExitCost,
    Firing,
    RecordCall,
    record_all,
)
from aumai_chaos._engine.plan import Counter, FaultPlan, new_counter
from aumai_chaos._engine.scopes import Scope, enter_scope, exit_scope, in_any_scope
from aumai_chaos._engine.switch import DISABLED_ENV, state
from aumai_chaos.faults import Site

__all__ = [
    "DISABLED_ENV",
    "ComponentSlot",
    "ExperimentRoute",
    "SlotState",
    "activate",
    "add_fault",
    "deactivate",
    "disable",
    "enable",
    "enter_scope",
    "exit_scope",
    "is_enabled",
    "is_glob",
    "registered_components",
    "slot_for",
    "state",
]


class _Group:
    """One route's faults on one component: its call counter and its plans by site."""

    __slots__ = ("by_site", "count", "key", "route", "scope")

    def __init__(
        self, key: object, route: ExperimentRoute, name: str, with_plans: bool = True
    ) -> None:
        plans = route.plans_for(name) if with_plans else []
        self.key = key
        self.route = route
        self.scope = route.scope
        self.count = route.counter_for(name)
        #: The plans that can act at each site (a call, a transport, MCP).
        self.by_site = {site: tuple(p for p in plans if p.fault.acts_at(site)) for site in Site}


class SlotState:
    """What the running experiments do to one component, precomputed for the call path."""

    __slots__ = (
        "_by_site",
        "_views",
        "counters_at",
        "exit_cost",
        "groups",
        "instruments",
        "name",
        "quiet",
        "record",
        "records",
        "scoped",
        "span_attrs",
        "trace_all",
    )

    def __init__(self, name: str, groups: Sequence[_Group]) -> None:
        self.name = name
        self.groups = tuple(groups)
        routes = [g.route for g in self.groups]
        ids = list(dict.fromkeys(r.experiment_id for r in routes))
        self.instruments = routes[0].instruments
        attrs: dict[str, Any] = {tm.ATTR_COMPONENT: name, tm.ATTR_EXPERIMENT_ID: ids[0]}
        if len(ids) > 1:
            attrs[tm.ATTR_EXPERIMENT_IDS] = ids
        self.span_attrs = attrs
        #: Whether some route wants a component-call span on every call (``trace_calls: all``).
        self.trace_all = any(r.trace_all for r in routes)
        #: Where each call is recorded as it ends (the experiments' observers).
        self.records = tuple(r.recorder(name) for r in routes if r.recorder is not None)
        #: A call on which nothing fires is timed without a span: ``record`` (a ``RecordCall``)
        #: records it as it ends, straight into the one recorder when there is one.
        self.quiet = not self.trace_all
        self.record: RecordCall = self.records[0] if len(self.records) == 1 else self._record_all
        self.scoped = any(g.scope is not None for g in self.groups)
        self.exit_cost = ExitCost()
        #: (call counter, plans) of the routes with faults at each site, for :meth:`fire`; a
        #: fault of probability 0 never fires, so it costs no draw (its route still counts).
        self._by_site = {
            site: tuple(
                (g.count, tuple(p for p in g.by_site[site] if p.probability > 0))
                for g in self.groups
                if g.by_site[site]
            )
            for site in Site
        }
        #: Per site, when no fault can fire there: the counters a call ticks instead of
        #: :meth:`fire` (``None``: some fault may fire, call :meth:`fire`).
        self.counters_at: dict[Site, tuple[Counter, ...] | None] = {
            site: None if any(plans for _, plans in groups) else tuple(c for c, _ in groups)
            for site, groups in self._by_site.items()
        }
        #: Per set of admitting scopes: the view, and the scoped routes still to be told that
        #: this component was called from outside every scope (see :meth:`_escaped`).
        self._views: dict[frozenset[object], tuple[SlotState | None, tuple[_Group, ...]]] = {}

    def view(self) -> SlotState | None:
        """This state as the current context sees it: a route with a scope applies only to
        the calls its scope admits now (``_engine.scopes``); ``None`` when nothing applies."""
        if not self.scoped:
            return self
        # One baggage lookup per call, however many routes ask (it counts an ignored entry).
        chosen = selection.selected() if selection.state.armed else None
        keys = frozenset(
            g.key for g in self.groups if g.scope is not None and g.scope.admits(chosen)
        )
        try:
            view, escaped = self._views[keys]
        except KeyError:
            groups = [g for g in self.groups if g.scope is None or g.key in keys]
            view = SlotState(self.name, groups) if groups else None
            if view is not None:
                view.scoped = False
            # A call that no scope admits may have escaped every block (a thread pool's
            # thread, a plain thread); one in another block is that block's (checked below).
            escaped = () if keys else tuple(g for g in self.groups if g.scope is not None)
            if len(self._views) < 64:
                self._views[keys] = (view, escaped)
        if escaped and not in_any_scope(chosen):
            self._escaped(keys, view, escaped)
        return view

    def _escaped(
        self, keys: frozenset[object], view: SlotState | None, groups: tuple[_Group, ...]
    ) -> None:
        """Tell each block's route, once, that this component was called outside it."""
        if keys in self._views:
            self._views[keys] = (view, ())
        for group in groups:
            hook = group.route.on_escape
            if hook is not None:
                with contextlib.suppress(Exception):  # never fail a user's call over a note
                    hook(self.name)

    def fire(self, site: Site) -> list[Firing]:
        """Number this call for each route and decide which of its faults fire on it."""
        fired: list[Firing] = []
        for count, plans in self._by_site[site]:
            n = count()
            for plan in plans:
                if plan.selects(n):
                    fired.append(Firing(plan, n))
        return fired

    def fire_any(self, sites: tuple[Site, ...]) -> list[Firing]:
        """:meth:`fire` for a call at several sites at once (an MCP request through the HTTP
        proxy is both a transport's and MCP's): each route counts the call once, and a fault
        that can act at more than one of them fires once."""
        fired: list[Firing] = []
        for group in self.groups:
            seen: set[int] = set()
            plans = []
            for site in sites:
                for plan in group.by_site[site]:
                    if id(plan) not in seen:
                        seen.add(id(plan))
                        plans.append(plan)
            if not plans:
                continue
            n = group.count()
            for plan in plans:
                if plan.selects(n):
                    fired.append(Firing(plan, n))
        return fired

    def _record_all(
        self, start: float, end: float, error_type: str | None, message: str | None, traced: bool
    ) -> None:
        record_all(self.records, start, end, error_type, message, traced)

    def call(self, fired: bool) -> CallSpan | CallTimer:
        """The component-call span, or a timer when no route wants a span for this call."""
        if fired or self.trace_all:
            # Only a call that fires waits, and so needs the estimate of what ending it costs.
            exit_cost = self.exit_cost if fired else None
            return CallSpan(
                self.instruments.tracer, self.name, self.span_attrs, self.records, exit_cost
            )
        return CallTimer(self.name, self.records)


class ComponentSlot(list[SlotState]):
    """Empty, or one :class:`SlotState` while an experiment affects the component."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def current(self) -> SlotState | None:
        """What the running experiments do to this component in this context, or ``None``."""
        try:
            state = self[0]
        except IndexError:
            return None
        return state.view() if state.scoped else state


class ExperimentRoute:
    """What one running experiment does to components.

    ``by_component`` names the faults of each component, ``everywhere`` the faults of every
    component, each fault by its position in the experiment; ``watch`` names components to
    observe (component-call spans) even where no fault applies, and ``watch_all`` observes every
    component. ``make_plan(position, component)`` compiles the fault at ``position`` for one
    component, bound to the experiment's random source, telemetry and
    window; plans and call counters are made once per component and kept for the route's life
    (so a ``times`` budget survives other experiments starting). ``instruments`` trace the
    component calls. ``recorder(component)`` gives what records each call into a component as it
    ends (:data:`~aumai_chaos._engine.act.RecordCall`); with it, ``trace_all=False`` times a call
    on which nothing fired without a span. ``scope``: the route applies only to the calls it
    admits (``_engine.scopes``; ``None``: every call of the process). A name of
    ``by_component`` or ``watch`` may be a glob (``mcp.tool.*``, ``openai.*``;
    :func:`fnmatch.fnmatchcase`): it covers every component it matches, and a fault that
    several of its names match applies once.
    """

    __slots__ = (
        "_counters",
        "_plans",
        "by_component",
        "everywhere",
        "experiment_id",
        "globs",
        "instruments",
        "make_plan",
        "on_escape",
        "recorder",
        "scope",
        "trace_all",
        "watch",
        "watch_all",
    )

    def __init__(
        self,
        experiment_id: str,
        instruments: tm.Instruments,
        make_plan: Callable[[int, str], FaultPlan],
        by_component: dict[str, list[int]],
        everywhere: Sequence[int] = (),
        watch: Iterable[str] = (),
        watch_all: bool = False,
        *,
        trace_all: bool = True,
        recorder: Callable[[str], RecordCall] | None = None,
        scope: Scope | None = None,
    ) -> None:
        self.experiment_id = experiment_id
        self.instruments = instruments
        self.make_plan = make_plan
        self.by_component = by_component
        self.everywhere = tuple(everywhere)
        self.watch = frozenset(watch) | frozenset(by_component)
        self.globs = _globs(self.watch)
        self.watch_all = watch_all or bool(self.everywhere)
        self.trace_all = trace_all or recorder is None  # nothing records a span-less call
        self.recorder = recorder
        self.scope = scope
        #: For a scoped route: called with a component's name when a call into it came from
        #: a context outside every scope (it got none of the route's faults).
        self.on_escape: Callable[[str], None] | None = None
        self._plans: dict[str, list[FaultPlan]] = {}
        self._counters: dict[str, Counter] = {}

    def affects(self, component: str) -> bool:
        return (
            self.watch_all
            or component in self.watch
            or any(fnmatchcase(component, g) for g in self.globs)
        )

    def refreshes(self) -> Iterable[str]:
        """The names of the slots a change to this route may concern."""
        return _slots if self.watch_all or self.globs else self.watch

    def faults_for(self, component: str) -> list[int]:
        """The positions of the faults of ``component``: by its name or a glob matching it,
        then everywhere's; each once, in the order they were given."""
        faults = list(self.by_component.get(component, ()))
        for pattern in self.globs:
            if pattern in self.by_component and fnmatchcase(component, pattern):
                faults.extend(self.by_component[pattern])
        if self.globs:
            rank: dict[int, int] = {}
            for listed in self.by_component.values():
                for position in listed:
                    rank.setdefault(position, len(rank))
            faults = sorted(set(faults), key=rank.__getitem__)
        return [*faults, *self.everywhere]

    def plans_for(self, component: str) -> list[FaultPlan]:
        plans = self._plans.get(component)
        if plans is None:
            faults = self.faults_for(component)
            plans = self._plans[component] = [self.make_plan(f, component) for f in faults]
        return plans

    def add(self, position: int, components: Sequence[str]) -> None:
        """One more fault (at ``position``), declared after the others, for ``components``
        (empty: every component). The plans and call counters made so far go on: ``times``
        budgets and call numbers continue. Called under the registry's lock (:func:`add_fault`)."""
        if components:
            for name in dict.fromkeys(components):
                self.by_component.setdefault(name, []).append(position)
            self.watch = self.watch | frozenset(components)
            self.globs = _globs(self.watch)
        else:
            self.everywhere = (*self.everywhere, position)
            self.watch_all = True
        for name, plans in self._plans.items():
            if not components or any(name == c or fnmatchcase(name, c) for c in components):
                plans.append(self.make_plan(position, name))

    def counter_for(self, component: str) -> Counter:
        counter = self._counters.get(component)
        if counter is None:
            counter = self._counters[component] = new_counter()
        return counter


def is_glob(name: str) -> bool:
    """Whether a component name is a glob (holds ``*``, ``?`` or ``[``)."""
    return any(c in name for c in "*?[")


def _globs(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(n for n in names if is_glob(n))


_lock = threading.Lock()
_slots: dict[str, ComponentSlot] = {}
_routes: dict[object, ExperimentRoute] = {}


def _refresh(names: Iterable[str]) -> None:
    state.routing = bool(_routes)
    for name in names:
        slot = _slots.get(name)
        if slot is None:
            continue
        # With the kill switch on, calls are still observed (and counted), but nothing fires.
        groups = [_Group(k, r, name, state.enabled) for k, r in _routes.items() if r.affects(name)]
        slot[:] = [SlotState(name, groups)] if groups else []


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


def activate(key: object, route: ExperimentRoute) -> None:
    """Start routing an experiment's faults to the components they affect."""
    with _lock:
        _routes[key] = route
        _refresh(route.refreshes())


def add_fault(key: object, position: int, components: Sequence[str]) -> None:
    """Route one more fault of a running experiment, at ``position`` in its faults (see
    :meth:`ExperimentRoute.add`); from the next call on, the components it affects get it."""
    with _lock:
        route = _routes[key]
        route.add(position, components)
        _refresh(route.refreshes())


def deactivate(key: object) -> None:
    """Stop routing an experiment's plans. No call that starts after this sees its faults."""
    with _lock:
        route = _routes.pop(key, None)
        if route is not None:
            _refresh(route.refreshes())


def is_enabled() -> bool:
    """Whether fault injection is on (the kill switch is off)."""
    return state.enabled


def disable() -> None:
    """Kill switch: stop all fault injection in this process at once, experiments included.

    Also set by ``AUMAI_CHAOS_DISABLED=1`` in the environment at import time.
    """
    state.switch(False)  # waits for faults already starting: outside the registry's lock
    with _lock:
        _refresh(_slots)


def enable() -> None:
    """Turn fault injection back on after :func:`disable`."""
    with _lock:
        state.switch(True)
        _refresh(_slots)


def registered_components() -> list[str]:
    """Names of every component a decorator has marked so far."""
    with _lock:
        return sorted(_slots)
