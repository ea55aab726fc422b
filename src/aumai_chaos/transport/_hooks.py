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
span. It returns an :class:`ActingFault`, to ``end(error=None)`` when the fault is done (a
stall's span lasts the stall; ``sleep(s)`` / ``await asleep(s)`` wait and wake early when the
experiment ends), or None when the window refused it (the experiment has ended): then the
handler passes everything through untouched. A handler that finds nothing to corrupt calls
``ctx.skip()`` (nothing is emitted, nothing counted, and the fault's ``times`` budget is given
back); returning None without having acted does the same.

A fault may act long after ``after`` returned: a stream fault acts at a chunk, while the client
reads the body. It is stamped in the OpenTelemetry context of the request all the same (its span
and event belong to the model call), unless the request's span has ended by then (an
experiment's component-call span ends with the response's headers): then in the reader's
context, where the stream is being consumed, so that its event is not lost.

:class:`FaultHooks` is that same contract as the stream wrappers (``_streams``) and the output
rewriters (``_output_io``) use it, with the fault passed along and a token per act; a
:class:`FaultContext` is one (its token an :class:`ActingFault`), and tests pass their own.

A handler that returns a replacement owns the inner response: reading it (``read()``) closes
it; a stream wrapper closes it when it is closed. Handlers raise into the transport only to
deliver the fault itself (a cut stream raises the client library's own error from the wrapped
stream, at the chunk); any other exception is logged once and the response passed through.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from aumai_chaos.faults import FaultConfig, FaultType
from aumai_chaos.transport._clients import Library
from aumai_chaos.transport.routes import Route

if TYPE_CHECKING:
    from collections.abc import Callable

    from aumai_chaos._engine.act import Firing

__all__ = [
    "ActingFault",
    "FaultContext",
    "FaultHooks",
    "ResponseFault",
    "make_context",
    "register_response_fault",
    "response_fault",
    "unregister_response_fault",
]

Token = TypeVar("Token")


class FaultHooks(Protocol[Token]):
    """The engine's side of a fault that acts inside a response, as the stream wrappers and
    the output rewriters see it: they decide *whether* the fault can act (a stall after more
    events than the stream has, a tool-call fault on an answer without tool calls: it cannot)
    and call :meth:`begin` only when it does."""

    def begin(self, fault: FaultConfig, attributes: Mapping[str, AttributeValue]) -> Token | None:
        """The fault acts now: count and stamp it. ``None``: it must not act after all (its
        experiment's window has closed, ``times`` is used up), and the response goes on
        untouched."""
        ...

    def end(self, token: Token, error: BaseException | None) -> None:
        """The fault is over (``error``: the exception it raised into the client)."""
        ...

    def skip(self, fault: FaultConfig) -> None:
        """The fault never acted on this response (nothing to corrupt, fewer events than
        ``after_chunks``): nothing is counted, and its ``times`` budget is given back."""
        ...

    def sleep(self, token: Token, seconds: float) -> None:
        """Wait in a thread, while the fault of ``token`` acts (an experiment's window may
        end the wait early)."""
        ...

    async def asleep(self, token: Token, seconds: float) -> None:
        """Wait without blocking the event loop."""
        ...


class ActingFault:
    """A response fault while it acts (what :meth:`FaultContext.act` returns): :meth:`end` it
    when it is done; :meth:`sleep` / :meth:`asleep` wait while it acts (a stall)."""

    __slots__ = ("_firing",)

    def __init__(self, ctx: FaultContext) -> None:
        self._firing = ctx._firing

    @property
    def fault(self) -> FaultConfig:
        return self._firing.plan.fault

    def end(self, error: BaseException | None = None) -> None:
        """The fault is over; ``error``: the exception it raised into the client, if any."""
        self._firing.end(error)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` in a thread; the end of the experiment wakes it early."""
        self._firing.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking the event loop; wakes early like :meth:`sleep`."""
        await self._firing.asleep(seconds)


@dataclass(eq=False, slots=True)
class FaultContext:
    """One response fault firing on one request; what a :class:`ResponseFault` works on.

    Made by the transport (see the module docstring). It is also the :class:`FaultHooks` that
    the built-in stream and output faults act through: :meth:`begin`, :meth:`end`,
    :meth:`sleep` and :meth:`asleep` with the :class:`ActingFault` of :meth:`act`.
    """

    #: The request (an ``httpx.Request`` or ``httpx2.Request``).
    request: Any
    #: The client library of the request: its ``Response``, ``ReadError``... classes.
    library: Library
    #: The route (``route.name``, ``route.provider``: ``"openai"``, ``"anthropic"``, None).
    route: Route
    #: The component the request is a call into.
    component: str
    #: The inner response: None in ``instead``, set before ``after``/``aafter``.
    response: Any = field(default=None, init=False)
    #: Whether :meth:`act` or :meth:`skip` was called.
    acted: bool = field(default=False, init=False)
    _firing: Firing = field(init=False, repr=False)
    _attrs: Callable[[], dict[str, Any]] = field(init=False, repr=False)
    #: The request's OpenTelemetry context, where the fault is stamped.
    _context: otel_context.Context = field(init=False, repr=False)

    @property
    def fault(self) -> FaultConfig:
        return self._firing.plan.fault

    @property
    def occurrence(self) -> int:
        """Which firing of its fault this is (``chaos.fault.occurrence``): a seed that a seeded
        run repeats."""
        return int(self._firing.occurrence)

    def request_json(self) -> Any:
        """The request body parsed as JSON, or None (no body, not JSON, a streamed upload)."""
        try:
            return json.loads(self.request.content)
        except Exception:
            return None

    def act(self, extra: Mapping[str, Any] | None = None) -> ActingFault | None:
        """The fault acts now (see the module docstring), or None if refused."""
        self.acted = True
        attrs = self._attrs()
        if extra:
            attrs.update(extra)
        firing, context = self._firing, self._context
        if (
            context is otel_context.get_current()
            or not trace.get_current_span(context).is_recording()
        ):
            began = firing.begin(attrs)
        else:  # later, while the client reads: in the request's context
            token = otel_context.attach(context)
            try:
                began = firing.begin(attrs)
            finally:
                otel_context.detach(token)
        return ActingFault(self) if began else None

    def skip(self, fault: FaultConfig | None = None) -> None:
        """The fault cannot apply to this request: nothing is emitted or counted. (``fault``:
        as :class:`FaultHooks` passes it; always this context's.)"""
        if not self.acted:
            self.acted = True
            self._firing.skip()

    # -- FaultHooks ----------------------------------------------------------------------------
    def begin(
        self, fault: FaultConfig, attributes: Mapping[str, AttributeValue]
    ) -> ActingFault | None:
        """:meth:`act` with ``attributes``, as :class:`FaultHooks` calls it."""
        return self.act(attributes)

    def end(self, token: ActingFault, error: BaseException | None) -> None:
        token.end(error)

    def sleep(self, token: ActingFault, seconds: float) -> None:
        token.sleep(seconds)

    async def asleep(self, token: ActingFault, seconds: float) -> None:
        await token.asleep(seconds)


def make_context(
    firing: Firing,
    request: Any,
    library: Library,
    route: Route,
    component: str,
    attrs: Callable[[], dict[str, Any]],
) -> FaultContext:
    """The :class:`FaultContext` of ``firing`` on ``request``, made in the request's
    OpenTelemetry context (where its fault is stamped, even when it acts later)."""
    ctx = FaultContext(request, library, route, component)
    ctx._firing, ctx._attrs = firing, attrs
    ctx._context = otel_context.get_current()
    return ctx


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
