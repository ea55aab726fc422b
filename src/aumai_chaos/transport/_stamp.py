"""How a stream or output fault tells the engine that it acts, and waits.

The stream wrappers and the output rewriters decide *whether* a fault can act (a stall after
more events than the stream has, a tool-call fault on an answer without tool calls: it cannot)
and act only then. At that moment they call :meth:`FaultHooks.begin`, which counts the fault
and stamps its ``chaos.fault`` span and ``chaos.fault.injected`` event, and :meth:`FaultHooks.end`
when the fault is over. The transport's implementation is
:class:`~aumai_chaos.transport._response_faults.ContextHooks`; tests may pass their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from opentelemetry.util.types import AttributeValue

from aumai_chaos._engine.telemetry import ATTR_FAULT_AFTER_CHUNKS, ATTR_FAULT_TOOL_CALLS
from aumai_chaos.faults import FaultConfig

__all__ = ["ATTR_FAULT_AFTER_CHUNKS", "ATTR_FAULT_TOOL_CALLS", "FaultHooks"]


class FaultHooks(Protocol):
    """The engine's side of a fault that acts inside a response."""

    def begin(self, fault: FaultConfig, attributes: Mapping[str, AttributeValue]) -> object | None:
        """The fault acts now: count and stamp it. ``None``: it must not act after all (its
        experiment's window has closed, ``times`` is used up), and the response goes on
        untouched."""
        ...

    def end(self, token: object, error: BaseException | None) -> None:
        """The fault is over (``error``: the exception it raised into the client)."""
        ...

    def skip(self, fault: FaultConfig) -> None:
        """The fault never acted on this response (nothing to corrupt, fewer events than
        ``after_chunks``): nothing is counted, and its ``times`` budget is given back."""
        ...

    def sleep(self, token: object, seconds: float) -> None:
        """Wait in a thread, while the fault of ``token`` acts (an experiment's window may
        end the wait early)."""
        ...

    async def asleep(self, token: object, seconds: float) -> None:
        """Wait without blocking the event loop."""
        ...
