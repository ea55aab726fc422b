"""Output faults applied to ``httpx``/``httpx2`` responses: what the transport calls.

- :func:`apply_output_sync` / :func:`apply_output_async`: a successful response, rewritten. A
  JSON body is read, rewritten and answered as a new response of the same library (the
  ``content-length`` fixed, a ``content-encoding`` dropped since the body is now plain); an event
  stream gets a byte stream that forwards the provider's events as they come until a fault has
  something to act on, and then holds and rewrites the rest (``_output_stream.py``). A fault
  that cannot apply leaves the response as it is.
- :func:`overflow_response`: the provider's 400 for ``context_overflow``, instead of the call.

Each fault that applies is stamped through :class:`~aumai_chaos.transport._hooks.FaultHooks`
when it acts, and only then.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from aumai_chaos.faults import FaultConfig
from aumai_chaos.transport._hooks import FaultHooks
from aumai_chaos.transport._output import OUTPUT_APIS, overflow_error, rewrite_body
from aumai_chaos.transport._output_stream import OutputStreamCore, tool_call_attributes

__all__ = [
    "apply_output_async",
    "apply_output_sync",
    "is_event_stream",
    "overflow_response",
    "request_json",
]


def _library(obj: Any) -> Any:
    return sys.modules[type(obj).__module__.partition(".")[0]]


def is_event_stream(response: Any) -> bool:
    """Whether ``response`` is a server-sent event stream (``text/event-stream``)."""
    return str(response.headers.get("content-type", "")).startswith("text/event-stream")


def request_json(request: Any) -> dict[str, Any] | None:
    """The request's JSON body, or ``None`` (not JSON, or a streaming body not yet read)."""
    try:
        body = json.loads(request.content)
    except Exception:
        return None
    return body if isinstance(body, dict) else None


def _applies(response: Any, api: str | None) -> bool:
    return api in OUTPUT_APIS and response.status_code == 200


def _rewritten(
    faults: Sequence[FaultConfig],
    api: str | None,
    request: Mapping[str, Any] | None,
    body: dict[str, Any],
    seed: int | None,
    hooks: FaultHooks[Any],
) -> dict[str, Any] | None:
    changed = False
    for fault in faults:
        acted: list[int] = []
        out = rewrite_body(fault, api, request, body, seed=seed, acted=acted)
        if out is None:
            hooks.skip(fault)
            continue
        token = hooks.begin(fault, tool_call_attributes(acted))
        if token is None:
            continue
        body, changed = out, True
        hooks.end(token, None)
    return body if changed else None


def _new_response(response: Any, content: bytes, request: Any) -> Any:
    headers = [
        (k, v)
        for k, v in response.headers.items()
        if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")
    ]
    headers.append(("content-length", str(len(content))))
    return _library(response).Response(
        response.status_code,
        headers=headers,
        content=content,
        request=request,
        extensions=dict(response.extensions),
    )


def _json_body(content: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def apply_output_sync(
    response: Any,
    faults: Sequence[FaultConfig],
    *,
    request: Any,
    api: str | None,
    hooks: FaultHooks[Any],
    seed: int | None = None,
) -> Any:
    """``response`` with the output faults applied in order (each one that cannot apply is
    skipped, uncounted), or ``None`` when none applies and the response stays as it is. An
    event stream is returned with its stream wrapped: the faults act, or are skipped, when the
    client reads it."""
    if not faults:
        return None
    if not _applies(response, api):
        for fault in faults:
            hooks.skip(fault)
        return None
    if is_event_stream(response):
        core = OutputStreamCore(faults, api, request_json(request), seed, hooks)
        response.stream = _stream_class(response, "SyncByteStream")(response.stream, core)
        return response
    body = _json_body(response.read())
    out = (
        None if body is None else _rewritten(faults, api, request_json(request), body, seed, hooks)
    )
    if out is None:
        return None
    return _new_response(response, json.dumps(out, separators=(",", ":")).encode(), request)


async def apply_output_async(
    response: Any,
    faults: Sequence[FaultConfig],
    *,
    request: Any,
    api: str | None,
    hooks: FaultHooks[Any],
    seed: int | None = None,
) -> Any:
    """The async twin of :func:`apply_output_sync`."""
    if not faults:
        return None
    if not _applies(response, api):
        for fault in faults:
            hooks.skip(fault)
        return None
    if is_event_stream(response):
        core = OutputStreamCore(faults, api, request_json(request), seed, hooks)
        response.stream = _stream_class(response, "AsyncByteStream")(response.stream, core)
        return response
    body = _json_body(await response.aread())
    out = (
        None if body is None else _rewritten(faults, api, request_json(request), body, seed, hooks)
    )
    if out is None:
        return None
    return _new_response(response, json.dumps(out, separators=(",", ":")).encode(), request)


def overflow_response(fault: FaultConfig, *, request: Any, api: str | None) -> Any | None:
    """The provider's own 400 for a prompt over the context window, as a response of the
    request's library; ``None`` on a route that is no model API."""
    answer = overflow_error(fault, api, request_json(request))
    if answer is None:
        return None
    status, headers, content = answer
    return _library(request).Response(status, headers=headers, content=content, request=request)


_classes: dict[tuple[str, str], type] = {}


def _stream_class(response: Any, name: str) -> type:
    lib = _library(response)
    key = (lib.__name__, name)
    cls = _classes.get(key)
    if cls is None:
        impl = _SyncOut if name == "SyncByteStream" else _AsyncOut
        cls = type(f"ChaosOutput{name}", (impl, getattr(lib, name)), {"__slots__": ()})
        _classes[key] = cls
    return cls


class _SyncOut:
    __slots__ = ("_core", "_inner")

    def __init__(self, inner: Any, core: OutputStreamCore) -> None:
        self._inner = inner
        self._core = core

    def __iter__(self) -> Iterator[bytes]:
        core = self._core
        try:
            for chunk in self._inner:
                out = core.feed(chunk)
                if out:
                    yield out
            last = core.finish()
            if last:
                yield last
        finally:
            core.settle()

    def close(self) -> None:
        self._core.settle()
        self._inner.close()


class _AsyncOut:
    __slots__ = ("_core", "_inner")

    def __init__(self, inner: Any, core: OutputStreamCore) -> None:
        self._inner = inner
        self._core = core

    async def __aiter__(self) -> AsyncIterator[bytes]:
        core = self._core
        try:
            async for chunk in self._inner:
                out = core.feed(chunk)
                if out:
                    yield out
            last = core.finish()
            if last:
                yield last
        finally:
            core.settle()

    async def aclose(self) -> None:
        self._core.settle()
        await self._inner.aclose()
