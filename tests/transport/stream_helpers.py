"""Until the transport of issue 13 is merged: an ``httpx2``/``httpx`` transport that wraps the
body of each event-stream response with the stream faults, and rewrites model output, exactly
the calls that ``ChaosTransport`` makes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import httpx2

from aumai_chaos.faults import FaultConfig
from aumai_chaos.transport._hooks import FaultHooks, TelemetryHooks
from aumai_chaos.transport._streams import wrap_async_stream, wrap_sync_stream

ROUTES = {
    "/v1/chat/completions": "openai.chat.completions",
    "/v1/responses": "openai.responses",
    "/v1/messages": "anthropic.messages",
}


def route(request: Any) -> str | None:
    return ROUTES.get(request.url.path)


def _is_sse(response: Any) -> bool:
    return str(response.headers.get("content-type", "")).startswith("text/event-stream")


def _hooks(given: FaultHooks | None, tracer_provider: Any) -> FaultHooks:
    return given if given is not None else TelemetryHooks(tracer_provider=tracer_provider)


def stream_transport(
    faults: Sequence[FaultConfig],
    *,
    lib: Any = httpx2,
    hooks: FaultHooks | None = None,
    tracer_provider: Any = None,
) -> Any:
    class Sync(lib.HTTPTransport):  # type: ignore[misc,name-defined]
        def handle_request(self, request: Any) -> Any:
            response = super().handle_request(request)
            if _is_sse(response):
                response.stream = wrap_sync_stream(
                    response.stream,
                    faults,
                    request=request,
                    api=route(request),
                    hooks=_hooks(hooks, tracer_provider),
                )
            return response

    return Sync()


def async_stream_transport(
    faults: Sequence[FaultConfig],
    *,
    lib: Any = httpx2,
    hooks: FaultHooks | None = None,
    tracer_provider: Any = None,
) -> Any:
    class Async(lib.AsyncHTTPTransport):  # type: ignore[misc,name-defined]
        async def handle_async_request(self, request: Any) -> Any:
            response = await super().handle_async_request(request)
            if _is_sse(response):
                response.stream = wrap_async_stream(
                    response.stream,
                    faults,
                    request=request,
                    api=route(request),
                    hooks=_hooks(hooks, tracer_provider),
                )
            return response

    return Async()


__all__ = ["async_stream_transport", "httpx", "route", "stream_transport"]
