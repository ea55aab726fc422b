"""The SDK's in-process path: ``mcp.client.Client(server)`` on a ``DirectDispatcher`` pair.

No JSON-RPC message travels there: the client's ``send_raw_request`` awaits the server side's
``_dispatch_request``, which runs the server's request handler inside the request's timeout
(``anyio.fail_after``) and turns what it raises into the SDK's ``MCPError``. So a fault acts in
place of that handler (:class:`Handler`, put on the server side's dispatcher on its first
client request): it returns the tool's ``isError`` result, raises the SDK's ``MCPError`` as a
failing handler does, waits on the request's own timeout (``mcp_timeout``: the SDK's
"Timed out" error), closes the server side (``mcp_disconnect``: this request and the later
ones get -32000, as from a closed peer), delays the handler (``latency``) or rewrites its
result. :mod:`._client` decides each request as for the stream transports.
"""

from __future__ import annotations

import weakref
from contextvars import ContextVar
from typing import Any

import anyio

from aumai_chaos.mcp._act import Request
from aumai_chaos.mcp._answers import CONNECTION_CLOSED

__all__ = ["Handler", "hook", "unhook_all"]

#: The server-side dispatchers whose handler is ours, to restore on ``uninstrument()``.
_hooked: weakref.WeakSet[Any] = weakref.WeakSet()


class Handler:
    """The server side's request handler, with the faults of the request being sent in this
    task (``sending``) acting in its place; every other request passes straight through."""

    __slots__ = ("inner", "peer", "sending")

    def __init__(self, inner: Any, peer: Any, sending: ContextVar[Request | None]) -> None:
        self.inner = inner
        self.peer = peer
        self.sending = sending

    async def __call__(self, dctx: Any, method: str, params: Any) -> Any:
        request = self.sending.get()
        if request is None or request.written or method != request.method:
            return await self.inner(dctx, method, params)
        request.written = True
        ans = request.act(getattr(dctx, "request_id", None))
        wait = request.remaining()
        if wait > 0:  # inside the request's own timeout, as a slow server is
            await anyio.sleep(wait)
        if ans is None:
            result = await self.inner(dctx, method, params)
            return request.rewrite(result) if isinstance(result, dict) else result
        from mcp.shared.exceptions import MCPError

        if ans.error is not None:
            raise MCPError(code=ans.error[0], message=ans.error[1])
        if ans.result is not None:
            return ans.result
        if request.disconnects():
            self.peer.close()  # as a peer that closed: later requests fail the same way
            raise MCPError(code=CONNECTION_CLOSED, message="Connection closed")
        await anyio.sleep_forever()  # mcp_timeout: the dispatcher's own timeout ends it
        return None  # pragma: no cover - never woken


def hook(peer: Any, sending: ContextVar[Request | None]) -> None:
    """Put :class:`Handler` on the server side ``peer`` (once)."""
    inner = getattr(peer, "_on_request", None)
    if inner is None or isinstance(inner, Handler):
        return
    peer._on_request = Handler(inner, peer, sending)
    _hooked.add(peer)


def unhook_all() -> None:
    """Give every hooked dispatcher its own handler back."""
    for peer in list(_hooked):
        handler = getattr(peer, "_on_request", None)
        if isinstance(handler, Handler):
            peer._on_request = handler.inner
    _hooked.clear()
