"""The stream and model-output faults, plugged into the transport's response-fault hook.

:func:`register` hands every stream fault type (``_streams``), every output fault type
(``_output_io``) and ``context_overflow`` to the transport (``_hooks.register_response_fault``);
``aumai_chaos.transport`` calls it on import. The stream wrappers and the output rewriters act
through the request's :class:`~aumai_chaos.transport._hooks.FaultContext`, their
:class:`~aumai_chaos.transport._hooks.FaultHooks`: a fault is counted, and its ``chaos.fault``
span and event stamped, at the moment it acts (for a stream fault: at the chunk), in the
OpenTelemetry context of the request.
"""

from __future__ import annotations

from typing import Any

from aumai_chaos.faults import FaultType
from aumai_chaos.transport._hooks import FaultContext, ResponseFault, register_response_fault
from aumai_chaos.transport._output import OUTPUT_FAULTS
from aumai_chaos.transport._output_io import (
    apply_output_async,
    apply_output_sync,
    is_event_stream,
    overflow_response,
)
from aumai_chaos.transport._streams import STREAM_FAULTS, wrap_async_stream, wrap_sync_stream

__all__ = ["OutputFault", "OverflowFault", "StreamFault", "register"]

ATTR_HTTP_STATUS = "http.response.status_code"


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
            hooks=ctx,
        )
        return response

    def after(self, ctx: FaultContext) -> Any | None:
        return self._wrap(ctx, wrap_sync_stream)

    async def aafter(self, ctx: FaultContext) -> Any | None:
        return self._wrap(ctx, wrap_async_stream)


class OutputFault(ResponseFault):
    """Rewrites a successful model response (JSON or event stream) as the provider would; the
    seed of ``wrong_tool_arguments``' values is the fault's occurrence, so a seeded run repeats
    them."""

    def after(self, ctx: FaultContext) -> Any | None:
        api, seed = ctx.route.name, ctx.occurrence
        return apply_output_sync(
            ctx.response, (ctx.fault,), request=ctx.request, api=api, hooks=ctx, seed=seed
        )

    async def aafter(self, ctx: FaultContext) -> Any | None:
        api, seed = ctx.route.name, ctx.occurrence
        return await apply_output_async(
            ctx.response, (ctx.fault,), request=ctx.request, api=api, hooks=ctx, seed=seed
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
