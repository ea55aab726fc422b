"""Until the transport of issue 13 is merged: an ``httpx2``/``httpx`` transport that wraps the
body of each event-stream response with the stream faults, and rewrites model output, exactly
the calls that ``ChaosTransport`` makes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import httpx2

from aumai_chaos.faults import FaultConfig, FaultType
from aumai_chaos.transport._stamp import FaultHooks, TelemetryHooks
from aumai_chaos.transport._output_io import (
    apply_output_async,
    apply_output_sync,
    overflow_response,
)
from aumai_chaos.transport._streams import STREAM_FAULTS, wrap_async_stream, wrap_sync_stream

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


def _split(
    faults: Sequence[FaultConfig],
) -> tuple[list[FaultConfig], list[FaultConfig], FaultConfig | None]:
    streams = [f for f in faults if f.fault_type in STREAM_FAULTS]
    overflow = next((f for f in faults if f.fault_type is FaultType.context_overflow), None)
    outputs = [f for f in faults if f not in streams and f is not overflow]
    return streams, outputs, overflow


def _overflow(fault: FaultConfig, request: Any, api: str | None, hooks: FaultHooks) -> Any:
    answer = overflow_response(fault, request=request, api=api)
    if answer is not None:
        token = hooks.begin(fault, {"http.response.status_code": 400})
        if token is not None:
            hooks.end(token, None)
    return answer


def stream_transport(
    faults: Sequence[FaultConfig],
    *,
    lib: Any = httpx2,
    hooks: FaultHooks | None = None,
    tracer_provider: Any = None,
    seed: int | None = None,
) -> Any:
    streams, outputs, overflow = _split(faults)

    class Sync(lib.HTTPTransport):  # type: ignore[misc,name-defined]
        def handle_request(self, request: Any) -> Any:
            api = route(request)
            used = _hooks(hooks, tracer_provider)
            if overflow is not None:
                answer = _overflow(overflow, request, api, used)
                if answer is not None:
                    return answer
            response = super().handle_request(request)
            response = apply_output_sync(
                response, outputs, request=request, api=api, hooks=used, seed=seed
            )
            if _is_sse(response) and streams:
                response.stream = wrap_sync_stream(
                    response.stream, streams, request=request, api=api, hooks=used
                )
            return response

    return Sync()


def async_stream_transport(
    faults: Sequence[FaultConfig],
    *,
    lib: Any = httpx2,
    hooks: FaultHooks | None = None,
    tracer_provider: Any = None,
    seed: int | None = None,
) -> Any:
    streams, outputs, overflow = _split(faults)

    class Async(lib.AsyncHTTPTransport):  # type: ignore[misc,name-defined]
        async def handle_async_request(self, request: Any) -> Any:
            api = route(request)
            used = _hooks(hooks, tracer_provider)
            if overflow is not None:
                answer = _overflow(overflow, request, api, used)
                if answer is not None:
                    return answer
            response = await super().handle_async_request(request)
            response = await apply_output_async(
                response, outputs, request=request, api=api, hooks=used, seed=seed
            )
            if _is_sse(response) and streams:
                response.stream = wrap_async_stream(
                    response.stream, streams, request=request, api=api, hooks=used
                )
            return response

    return Async()


__all__ = ["async_stream_transport", "httpx", "route", "stream_transport"]
