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
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from aumai_chaos.faults import FaultConfig
from aumai_chaos.transport._hooks import FaultHooks
from aumai_chaos.transport._output import OUTPUT_APIS, overflow_error, rewrite_body
from aumai_chaos.transport._output_stream import OutputStreamCore, apply_each
from aumai_chaos.transport._run import READ, Run
from aumai_chaos.transport._sse import json_object
from aumai_chaos.transport._streams import AsyncStream, SyncStream, stream_class

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "OutputOptions",
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


class OutputOptions(TypedDict):
    """The keywords of :func:`apply_output_sync` / :func:`apply_output_async`: the request
    (its JSON body says which tools were offered), its route ``api``, the hooks that stamp
    each fault when it acts, and the seed of ``wrong_tool_arguments``' values."""

    request: Any
    api: str | None
    hooks: FaultHooks[Any]
    seed: NotRequired[int | None]


def _steps(
    response: Any,
    faults: Sequence[FaultConfig],
    wrapper: type[SyncStream] | type[AsyncStream],
    options: OutputOptions,
) -> Generator[object, bytes, Any]:
    """The decisions of :func:`apply_output_sync` / :func:`apply_output_async`: it yields
    :data:`READ` once to have the response's body read (the drivers' only I/O) and receives
    its bytes."""
    api, hooks, seed = options["api"], options["hooks"], options.get("seed")
    if not faults:
        return None
    if not _applies(response, api):
        for fault in faults:
            hooks.skip(fault)
        return None
    wanted = request_json(options["request"])
    if is_event_stream(response):
        core = OutputStreamCore(faults, api, wanted, seed, hooks)
        response.stream = stream_class(_library(response), wrapper)(response.stream, core)
        return response
    body = json_object((yield READ))
    if body is None:
        return None

    def rewrite(fault: FaultConfig, current: dict[str, Any], acted: list[int]) -> Any:
        return rewrite_body(fault, api, wanted, current, seed=seed, acted=acted)

    out = apply_each(faults, hooks, rewrite, body)
    if out is None:
        return None
    content = json.dumps(out, separators=(",", ":")).encode()
    return _new_response(response, content, options["request"])


def apply_output_sync(
    response: Any, faults: Sequence[FaultConfig], **options: Unpack[OutputOptions]
) -> Any:
    """``response`` with the output faults applied in order (each one that cannot apply is
    skipped, uncounted), or ``None`` when none applies and the response stays as it is. An
    event stream is returned with its stream wrapped: the faults act, or are skipped, when the
    client reads it."""
    run = Run(_steps(response, faults, SyncStream, options))
    while run.next() is not None:
        run.result = response.read()
    return run.result


async def apply_output_async(
    response: Any, faults: Sequence[FaultConfig], **options: Unpack[OutputOptions]
) -> Any:
    """The async twin of :func:`apply_output_sync`."""
    run = Run(_steps(response, faults, AsyncStream, options))
    while run.next() is not None:
        run.result = await response.aread()
    return run.result


def overflow_response(fault: FaultConfig, *, request: Any, api: str | None) -> Any | None:
    """The provider's own 400 for a prompt over the context window, as a response of the
    request's library; ``None`` on a route that is no model API."""
    answer = overflow_error(fault, api, request_json(request))
    if answer is None:
        return None
    status, headers, content = answer
    return _library(request).Response(status, headers=headers, content=content, request=request)
