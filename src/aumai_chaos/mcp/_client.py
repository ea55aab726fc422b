"""``instrument()`` / ``uninstrument()``: every ``mcp`` client session goes through aumai-chaos.

With wrapt, two methods of the SDK's ``JSONRPCDispatcher`` (which every stream-backed client
session runs on: stdio, streamable HTTP, SSE, the in-memory transport) are wrapped:

- ``send_raw_request`` decides the request (:mod:`aumai_chaos.mcp._names` names its
  component) and runs it in the experiments' component-call span, so the SDK's own
  ``MCP send <method>`` span is its child;
- ``_write``, called inside that SDK span and before the SDK's request clock starts, is where
  a fault acts at the message level: it answers instead of the server (put in the SDK's own
  waiter for the response), withholds the answer (the SDK's own timeout fires), closes the
  dispatcher as a read EOF would, or holds and rewrites the server's real response.

So the SDK's timeouts, ``MCPError`` codes, span attributes and session state after a fault are
its own. Only client sessions are touched (a dispatcher whose stream-exception hook is a
``ClientSession``'s); a server's dispatcher passes through. The in-process
``Client(server)`` runs on a ``DirectDispatcher`` pair instead, with no messages: its
``send_raw_request`` is wrapped too, and a fault acts in place of the server's handler
(:mod:`._direct`).

Idle cost: the wrappers carry wrapt's ``enabled=`` gate on the engine's ``state.routing``
flag, read in C (``_engine.patches``): with no experiment running, the SDK's methods run as if
unwrapped.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from fnmatch import fnmatchcase
from typing import Any

from aumai_chaos._engine.calls import decide
from aumai_chaos._engine.patches import Patches
from aumai_chaos.faults import Site
from aumai_chaos.mcp._act import Request, deliver_after, hold_response
from aumai_chaos.mcp._direct import hook, unhook_all
from aumai_chaos.mcp._names import component_for

__all__ = ["instrument", "is_instrumented", "uninstrument"]


class _Instrumentation:
    __slots__ = ("lock", "on", "patches", "request_type", "session_type")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.on = False
        self.patches = Patches()
        self.session_type: type | None = None
        self.request_type: type | None = None


_state = _Instrumentation()
#: The request being sent in this task, between ``send_raw_request`` and its ``_write``.
_sending: ContextVar[Request | None] = ContextVar("aumai_chaos_mcp_sending", default=None)


def _session_of(dispatcher: Any) -> Any:
    """The ``ClientSession`` running ``dispatcher``, or None (a server's dispatcher): the
    owner of its stream-exception hook (JSON-RPC) or of its request handler (direct)."""
    hook = getattr(dispatcher, "on_stream_exception", None) or getattr(
        dispatcher, "_on_request", None
    )
    session = getattr(hook, "__self__", None)
    session_type = _state.session_type
    return session if session_type is not None and isinstance(session, session_type) else None


def _server_name(dispatcher: Any) -> str | None:
    session = _session_of(dispatcher)
    info = getattr(session, "server_info", None)
    name = getattr(info, "name", None)
    return name if isinstance(name, str) else None


def _modern_fields(session: Any) -> dict[str, Any] | None:
    """What a server on a modern protocol version (2026-07-28) puts on every result: the
    ``resultType`` and its ``serverInfo`` stamp; None on a handshake-era session."""
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS

    if getattr(session, "protocol_version", None) not in MODERN_PROTOCOL_VERSIONS:
        return None
    fields: dict[str, Any] = {"resultType": "complete"}
    info = getattr(session, "server_info", None)
    if info is not None:
        stamp = info.model_dump(by_alias=True, mode="json", exclude_none=True)
        fields["_meta"] = {"io.modelcontextprotocol/serverInfo": stamp}
    return fields


def _send_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if not _state.on or _session_of(instance) is None:
        return wrapped(*args, **kwargs)
    return _send(wrapped, instance, args, kwargs)


def _direct_send_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if not _state.on or _session_of(instance) is None:
        return wrapped(*args, **kwargs)
    peer = getattr(instance, "_peer", None)
    if peer is not None:
        hook(peer, _sending)
    return _send(wrapped, instance, args, kwargs)


async def _send(wrapped: Any, dispatcher: Any, args: Any, kwargs: Any) -> Any:
    method = args[0] if args else kwargs.get("method")
    params = args[1] if len(args) > 1 else kwargs.get("params")
    if not isinstance(method, str):
        return await wrapped(*args, **kwargs)
    decision = decide(component_for(method, params), None, site=Site.mcp)
    if decision is None:
        return await wrapped(*args, **kwargs)
    server = _server_name(dispatcher)
    firings = []
    for firing in decision.firings:
        glob = getattr(firing.plan.fault, "server", None)
        if glob is not None and (server is None or not fnmatchcase(server, glob)):
            firing.skip()
        else:
            firings.append(firing)
    request = Request(method, params, firings, decision.start)
    request.modern = _modern_fields(_session_of(dispatcher))
    opts = args[2] if len(args) > 2 else kwargs.get("opts")
    timeout = request.timeout_for(opts.get("timeout") if opts else None)
    if timeout is not None:  # mcp_timeout without a client timeout: the SDK's own clock
        args, kwargs = _with_timeout(args, kwargs, timeout)
    call = decision.call
    if call is not None:
        call.enter()
    token = _sending.set(request)
    exc: BaseException | None = None
    result: Any = None
    try:
        result = await wrapped(*args, **kwargs)
        return result
    except BaseException as error:
        exc = error
        raise
    finally:
        _sending.reset(token)
        request.finish(result, exc)
        if call is not None:
            request.exit_call(call, result, exc)


def _with_timeout(args: Any, kwargs: Any, timeout: float) -> tuple[Any, Any]:
    args = list(args)
    if len(args) > 2:
        args[2] = {**(args[2] or {}), "timeout": timeout}
    else:
        kwargs = {**kwargs, "opts": {**(kwargs.get("opts") or {}), "timeout": timeout}}
    return tuple(args), kwargs


def _write_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    request = _sending.get()
    message: Any = args[0] if args else kwargs.get("message")
    if (
        request is None
        or request.written
        or type(message) is not _state.request_type
        or getattr(message, "method", None) != request.method
    ):
        return wrapped(*args, **kwargs)
    request.written = True
    return _write(wrapped, instance, request, message, args, kwargs)


async def _write(
    wrapped: Any, dispatcher: Any, request: Request, message: Any, args: Any, kwargs: Any
) -> None:
    from mcp.shared.dispatcher import coerce_request_id

    key = coerce_request_id(message.id)
    pending = dispatcher._pending.get(key)
    if pending is None:  # not a request this dispatcher awaits: leave it alone
        await wrapped(*args, **kwargs)
        return
    answer = request.act(message.id)
    if answer is None:  # the server answers, maybe late or rewritten
        if request.holds():
            dispatcher._pending[key] = hold_response(dispatcher, pending, request)
        await wrapped(*args, **kwargs)
        return
    if answer.result is not None or answer.error is not None:
        deliver_after(dispatcher, pending.send, request, answer)
    elif request.disconnects():
        # As a read EOF: the dispatcher's run loop ends, it closes, every waiter gets -32000.
        task_group = dispatcher._tg
        if task_group is not None:
            task_group.cancel_scope.cancel()
    # mcp_timeout: nothing is sent and nothing comes back; the SDK's own clock fires.


def instrument() -> None:
    """Send every request of every ``mcp`` client session in this process through
    aumai-chaos: each is a component (``mcp.tool.<name>``, ``mcp.tools.list``...) that
    experiments target like any other. Idempotent. Raises ``ImportError`` without ``mcp``.
    """
    from mcp.client.session import ClientSession
    from mcp.shared.direct_dispatcher import DirectDispatcher
    from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
    from mcp_types import JSONRPCRequest

    with _state.lock:
        _state.session_type = ClientSession
        _state.request_type = JSONRPCRequest
        _state.on = True
        if _state.patches:
            return
        _state.patches.wrap(JSONRPCDispatcher, "send_raw_request", _send_wrapper)
        _state.patches.wrap(JSONRPCDispatcher, "_write", _write_wrapper)
        _state.patches.wrap(DirectDispatcher, "send_raw_request", _direct_send_wrapper)


def uninstrument() -> None:
    """Undo :func:`instrument`: restore every patched method. Idempotent."""
    with _state.lock:
        _state.on = False
        _state.patches.undo()
        unhook_all()


def is_instrumented() -> bool:
    """Whether :func:`instrument` is in effect."""
    return _state.on
