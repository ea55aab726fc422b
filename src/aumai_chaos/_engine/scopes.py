"""Scopes: which calls an experiment's faults reach, beyond the components it names.

A route without a scope (a scheduled run, ``aumai_chaos.experiment(scope="process")``) reaches
every thread and task of the process. A route with a :class:`Scope` reaches only the calls for
which ``scope.admits(selected)`` is true *now*, in the caller's context. The registry asks it on
every call into a component the route affects (``SlotState.view``), so ``admits`` must be cheap
and must not raise. ``selected`` is what the call's baggage selects
(:func:`aumai_chaos._engine.selection.selected`), looked up once per call by the registry, so
that an ignored baggage entry is counted once however many routes ask.

Two kinds are here: :class:`ContextScope` (``aumai_chaos.experiment(scope="context")``: the
block's own context and the tasks it starts) and :class:`BaggageScope` (an armed experiment:
the calls whose OpenTelemetry baggage names it, ``_engine.selection``). Adding a kind is one
class here with an ``admits(selected)`` method, handed to ``registry.ExperimentRoute(scope=...)``
(through ``ExperimentRun.open_block(scope=...)``) by whoever opens the route; nothing else in
the engine changes.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Protocol

__all__ = [
    "BaggageScope",
    "ContextScope",
    "Scope",
    "enter_scope",
    "exit_scope",
    "in_any_scope",
]


class Scope(Protocol):
    """Decides, in the caller's context, whether a call gets a route's faults."""

    def admits(self, selected: object | None) -> bool:
        """Whether the call being made now is inside the scope (``selected``: the registry key
        of the armed experiment the call's baggage selects, or None)."""
        ...


#: The context scopes (their keys) that the current context has entered.
_entered: ContextVar[frozenset[object]] = ContextVar("aumai_chaos_scopes", default=frozenset())


def enter_scope(key: object) -> Token[frozenset[object]]:
    """Make the calls in this context (and the tasks it starts) part of scope ``key``."""
    return _entered.set(_entered.get() | {key})


def exit_scope(token: Token[frozenset[object]]) -> None:
    _entered.reset(token)


def in_any_scope(selected: object | None) -> bool:
    """Whether the current context is in some scope: a block it entered, or an armed
    experiment its baggage selects (``selected``). A call in none escaped every scoped block."""
    return selected is not None or bool(_entered.get())


class ContextScope:
    """The calls made in the context that entered ``key`` (:func:`enter_scope`) and in the
    tasks it starts (``aumai_chaos.experiment(scope="context")``)."""

    __slots__ = ("key",)

    def __init__(self, key: object) -> None:
        self.key = key

    def admits(self, selected: object | None) -> bool:
        return self.key in _entered.get()


class BaggageScope:
    """The calls whose context's baggage selects the armed experiment of registry key ``key``
    (:func:`aumai_chaos._engine.selection.selected`)."""

    __slots__ = ("key",)

    def __init__(self, key: object) -> None:
        self.key = key

    def admits(self, selected: object | None) -> bool:
        return selected is self.key
