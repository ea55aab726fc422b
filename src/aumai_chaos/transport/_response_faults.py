"""The stream and model-output faults, plugged into the transport's response-fault hook.

:func:`register` hands every stream fault type (``_streams``), every output fault type
(``_output_io``) and ``context_overflow`` to the transport (``_hooks.register_response_fault``);
``aumai_chaos.transport`` calls it on import. :class:`ContextHooks` is the
:class:`~aumai_chaos.transport._stamp.FaultHooks` over the transport's ``FaultContext``: a fault
is counted, and its ``chaos.fault`` span and event stamped, by ``ctx.act()`` at the moment it
acts (for a stream fault: at the chunk), in the OpenTelemetry context of the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from aumai_chaos.faults import FaultConfig, FaultType
from aumai_chaos.transport._hooks import FaultContext, ResponseFault, register_response_fault
from aumai_chaos.transport._output import OUTPUT_FAULTS
from aumai_chaos.transport._output_io import (
    apply_output_async,
    apply_output_sync,
    is_event_stream,
    overflow_response,
)
from aumai_chaos.transport._streams import STREAM_FAULTS, wrap_async_stream, wrap_sync_stream

__all__ = ["ContextHooks", "OutputFault", "OverflowFault", "StreamFault", "register"]

ATTR_HTTP_STATUS = "http.response.status_code"


class ContextHooks:
    """:class:`~aumai_chaos.transport._stamp.FaultHooks` on one firing of the transport."""

    __slots__ = ("_context", "_ctx")

    def __init__(self, ctx: FaultContext) -> None:
        self._ctx = ctx
        # The request's context (inside the SDK call): a stream fault acts later, while the
        # client iterates, and its span and event still belong to the model call.
        self._context = otel_context.get_current()

    def begin(self, fault: FaultConfig, attributes: Mapping[str, AttributeValue]) -> object | None:
        context = self._context
        if not trace.get_current_span(context).is_recording():
            # The request's span has ended (an experiment's component-call span ends with the
            # response's headers): stamp the fault in the reader's context instead, where the
            # stream is being consumed, so that its event is not lost.
            return self._ctx.act(dict(attributes))
        token = otel_context.attach(context)
        try:
            return self._ctx.act(dict(attributes))
        finally:
            otel_context.detach(token)

    def end(self, token: object, error: BaseException | None) -> None:
        token.end(error)  # type: ignore[attr-defined]

    def skip(self, fault: FaultConfig) -> None:
        self._ctx.skip()

    def sleep(self, token: object, seconds: float) -> None:
        token.sleep(seconds)  # type: ignore[attr-defined]

    async def asleep(self, token: object, seconds: float) -> None:
        await token.asleep(seconds)  # type: ignore[attr-defined]


def _seed(ctx: FaultContext) -> int:
    """The seed of ``wrong_tool_arguments``' values: the fault's occurrence, so a seeded run
    repeats them."""
    return int(ctx.firing.occurrence)


class StreamFault(ResponseFault):
    """Wraps the body of an event-stream response; any other response passes untouched."""

    def _wrap(self, ctx: FaultContext, wrap: Any) -> Any | None:
        response = ctx.response
        if response is None or response.status_code != 200 or not is_event_stream(response):
            return None
        response.stream = wrap(
            response.stream,
            (ctx.fault,),
            request=ctx.request,
            api=ctx.route.name if ctx.route.provider else None,
            hooks=ContextHooks(ctx),
        )
        return response

    def after(self, ctx: FaultContext) -> Any | None:
        return self._wrap(ctx, wrap_sync_stream)

    async def aafter(self, ctx: FaultContext) -> Any | None:
        return self._wrap(ctx, wrap_async_stream)


class OutputFault(ResponseFault):
    """Rewrites a successful model response (JSON or event stream) as the provider would."""

    def after(self, ctx: FaultContext) -> Any | None:
        return apply_output_sync(
            ctx.response,
            (ctx.fault,),
            request=ctx.request,
            api=ctx.route.name,
            hooks=ContextHooks(ctx),
            seed=_seed(ctx),
        )

    async def aafter(self, ctx: FaultContext) -> Any | None:
        return await apply_output_async(
            ctx.response,
            (ctx.fault,),
            request=ctx.request,
            api=ctx.route.name,
            hooks=ContextHooks(ctx),
            seed=_seed(ctx),
        )


class OverflowFault(ResponseFault):
    """``context_overflow``: the provider's own 400 instead of the call, on a model route."""

    def instead(self, ctx: FaultContext) -> Any | None:
        answer = overflow_response(ctx.fault, request=ctx.request, api=ctx.route.name)
        if answer is None:
            return None
        acting = ctx.act({ATTR_HTTP_STATUS: 400})
        if acting is None:
            answer.close()
            return None
        acting.end()
        return answer


def register() -> None:
    """Hand the stream, output and ``context_overflow`` faults to every transport."""
    stream, output = StreamFault(), OutputFault()
    for kind in STREAM_FAULTS:
        register_response_fault(kind, stream)
    for kind in OUTPUT_FAULTS:
        register_response_fault(kind, output)
    register_response_fault(FaultType.context_overflow, OverflowFault())
