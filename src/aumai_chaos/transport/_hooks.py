"""The hook where stream and model-output faults plug into the transport.

The transport itself carries out the faults that act before or instead of the request
(``latency``, ``rate_limit``, ``http_error``, ``connect_error``, ``read_timeout`` and the
guide's four). Every other fault type that can act on a transport is handed to the
:class:`ResponseFault` registered for its type, if any, with a :class:`FaultContext`:

1. ``instead(ctx)`` before the request is sent (``ctx.response`` is None): return a response to
   answer with it (e.g. ``context_overflow``'s 400; the request never reaches the server), or
   None to send the request;
2. then ``after(ctx)`` (sync transports) or ``await aafter(ctx)`` (async ones) with the inner
   response, its body not read yet: return a replacement response, or None to leave it as it
   is. A replacement may rewrite the body (read it first: ``ctx.response.read()`` /
   ``await ctx.response.aread()``) or wrap its stream to act mid-stream (the wrapper owns the
   inner stream and closes it when closed). When it returns a new response that does not use
   the inner one's stream, the transport closes the inner response.

A handler calls ``ctx.act(extra_attrs)`` at the moment the fault really acts: that enters
the experiment's window, counts it (the experiment's totals, ``chaos.fault.injections``) and
opens its ``chaos.fault`` span with the transport's attributes plus ``extra_attrs`` (e.g.
``chaos.fault.after_chunks``), and puts the ``chaos.fault.injected`` event on the current
span. It returns the engine's :class:`~aumai_chaos._engine.act.Firing`, to ``end(exc=None)``
when the fault is done (a stall's span lasts the stall; ``sleep(s)`` / ``await asleep(s)``
wait and wake early when the experiment ends), or None when the window refused it (the
experiment has ended): then the handler passes everything through untouched. A handler that
finds nothing to corrupt calls ``ctx.skip()`` (nothing is emitted, nothing counted, and the
fault's ``times`` budget is given back); returning None without having acted does the same.

A handler that returns a replacement owns the inner response: reading it (``read()``) closes
it; a stream wrapper closes it when it is closed. Handlers raise into the transport only to
deliver the fault itself (a cut stream raises the client library's own error from the wrapped
stream, at the chunk); any other exception is logged once and the response passed through.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aumai_chaos._engine.act import Firing
from aumai_chaos.faults import FaultConfig, FaultType
from aumai_chaos.transport._clients import Library
from aumai_chaos.transport.routes import Route

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "FaultContext",
    "ResponseFault",
    "register_response_fault",
    "response_fault",
    "unregister_response_fault",
]


class FaultContext:
    """One response fault firing on one request; what a :class:`ResponseFault` works on."""

    __slots__ = (
        "_attrs",
        "acted",
        "component",
        "firing",
        "library",
        "request",
        "response",
        "route",
    )

    def __init__(
        self,
        firing: Firing,
        request: Any,
        library: Library,
        route: Route,
        component: str,
        attrs: Callable[[], dict[str, Any]],
    ) -> None:
        self.firing = firing
        #: The request (an ``httpx.Request`` or ``httpx2.Request``).
        self.request = request
        #: The inner response: None in ``instead``, set before ``after``/``aafter``.
        self.response: Any = None
        #: The client library of the request: its ``Response``, ``ReadError``... classes.
        self.library = library
        #: The route (``route.name``, ``route.provider``: ``"openai"``, ``"anthropic"``, None).
        self.route = route
        self.component = component
        #: Whether :meth:`act` or :meth:`skip` was called.
        self.acted = False
        self._attrs = attrs

    @property
    def fault(self) -> FaultConfig:
        return self.firing.plan.fault

    def request_json(self) -> Any:
        """The request body parsed as JSON, or None (no body, not JSON, a streamed upload)."""
        try:
            return json.loads(self.request.content)
        except Exception:
            return None

    def act(self, extra: Mapping[str, Any] | None = None) -> Firing | None:
        """The fault acts now (see the module docstring): its firing, or None if refused."""
        self.acted = True
        attrs = self._attrs()
        if extra:
            attrs.update(extra)
        return self.firing if self.firing.begin(attrs) else None

    def skip(self) -> None:
        """The fault cannot apply to this request: nothing is emitted or counted."""
        if not self.acted:
            self.acted = True
            self.firing.skip()


class ResponseFault:
    """Base for the handler of one response fault type; override what applies."""

    def instead(self, ctx: FaultContext) -> Any | None:
        """A response to answer with instead of sending the request, or None."""
        return None

    def after(self, ctx: FaultContext) -> Any | None:
        """Sync transports: a replacement for ``ctx.response``, or None."""
        return None

    async def aafter(self, ctx: FaultContext) -> Any | None:
        """Async transports: a replacement for ``ctx.response``, or None."""
        return None


_lock = threading.Lock()
_handlers: dict[FaultType, ResponseFault] = {}


def register_response_fault(fault_type: FaultType | str, handler: ResponseFault) -> None:
    """Hand faults of ``fault_type`` to ``handler`` on every transport."""
    with _lock:
        _handlers[FaultType(fault_type)] = handler


def unregister_response_fault(fault_type: FaultType | str) -> None:
    """Remove the handler :func:`register_response_fault` registered for ``fault_type``, if any."""
    with _lock:
        _handlers.pop(FaultType(fault_type), None)


def response_fault(fault_type: FaultType) -> ResponseFault | None:
    """The handler of ``fault_type``, or None."""
    return _handlers.get(fault_type)
