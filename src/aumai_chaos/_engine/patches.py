"""Wrapping another library's methods with wrapt, innermost, behind the routing gate.

The zero-code ``instrument()`` of the HTTP transport and that of MCP each wrap a few methods of
a client library, as OpenTelemetry's instrumentations do, and must later take out exactly
their own wrappers, wherever other instrumentations have put theirs meanwhile.

Idle cost: every wrapper carries wrapt's ``enabled=`` gate :data:`ROUTING`, the registry's
``state.routing`` flag read in C (``partial(getattr, ...)``: no Python frame). While no
experiment routes anything, wrapt calls the original method without entering our wrapper.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import wrapt

from aumai_chaos._engine.registry import state

__all__ = ["ROUTING", "Patches"]

#: wrapt's ``enabled=`` gate: true while an experiment routes anything (under the kill switch
#: too, which observes).
ROUTING: Callable[[], Any] = partial(getattr, state, "routing")


class Patches:
    """The methods one instrumentation wrapped, to unwrap (not thread-safe: its owner's lock
    guards it)."""

    __slots__ = ("_done",)

    def __init__(self) -> None:
        #: (class, attribute, original, our wrapper), in the order they were wrapped.
        self._done: list[tuple[type, str, Any, Any]] = []

    def __bool__(self) -> bool:
        return bool(self._done)

    def wrap(self, cls: type, name: str, wrapper: Callable[..., Any]) -> None:
        """Wrap ``cls.name`` with ``wrapper`` innermost: under any wrapt wrapper already there
        (e.g. OpenTelemetry's httpx instrumentation), so that a fault acts where the network
        would, inside the client's span. An instrumentation applied later wraps us, which is
        just as good. Nothing when ``wrapper`` is there already."""
        holder: Any = None
        target = cls.__dict__[name]
        while isinstance(target, wrapt.FunctionWrapper):
            if getattr(target, "_self_wrapper", None) is wrapper:
                return
            holder, target = target, target.__wrapped__
        proxy = wrapt.FunctionWrapper(target, wrapper, enabled=ROUTING)
        if holder is None:
            setattr(cls, name, proxy)
        else:
            holder.__wrapped__ = proxy
        self._done.append((cls, name, target, proxy))

    def originals(self, cls: type) -> dict[str, Any]:
        """The methods of ``cls`` we wrapped, as they were (e.g. for an unwrapped subclass)."""
        return {name: original for owner, name, original, _ in self._done if owner is cls}

    def undo(self) -> None:
        """Take every wrapper of ours out of its chain, the latest first. Idempotent."""
        for cls, name, original, proxy in reversed(self._done):
            _unwrap(cls, name, original, proxy)
        self._done.clear()


def _unwrap(cls: type, name: str, original: Any, proxy: Any) -> None:
    """Take ``proxy`` out of the chain of wrappers on ``cls.name``, wherever it is now."""
    current = cls.__dict__.get(name)
    if current is proxy:
        setattr(cls, name, original)
        return
    while isinstance(current, wrapt.FunctionWrapper):
        inner = current.__wrapped__
        if inner is proxy:
            current.__wrapped__ = original
            return
        current = inner
    # not found: someone else already removed it
