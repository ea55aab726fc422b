"""The proxy's upstream transport: the transport's own fault code between httpx and the wire.

:class:`ProxyTransport` is an httpx transport that wraps the real ``AsyncHTTPTransport`` with
:func:`aumai_chaos.transport._transport.handle_async`, the function ``AsyncChaosTransport``
runs: the same route, the same engine decision, the same answers, raises, stream wrappers and
output rewrites. The proxy then turns what comes out into what its client sees (see ``_app``).
Two marks on the request tell the proxy what happened:

- :data:`UPSTREAM_ERROR`: the real upstream failed (refused, reset, bad TLS...): a 502 that
  says so. An error without the mark was injected: the client gets the failure itself.
- :data:`CLOSE`: an injected error that closes the client's connection with no answer (an
  MCP server that exited) rather than resetting it.
- :data:`REWRITTEN` on the response: its body streams from a fault's wrapper and may end
  anywhere, so no ``Content-Length`` crosses. The upstream's own body, and a body a fault
  built in memory (an answer, a rewritten JSON body: httpx framed it), keep theirs.

A :class:`RequestClassifier` may name a request's component from more than its URL (an MCP
``tools/call`` from its JSON-RPC body); the first that answers wins, else the router decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from aumai_chaos.transport._transport import HANDLED, Chaos, handle_async, layered
from aumai_chaos.transport.routes import Route

__all__ = ["CLOSE", "REWRITTEN", "UPSTREAM_ERROR", "ProxyTransport", "RequestClassifier"]

UPSTREAM_ERROR = "aumai_chaos.proxy.upstream_error"
#: On a request whose injected error stands for a server that exited: the client's
#: connection is closed (not reset) with no answer.
CLOSE = "aumai_chaos.proxy.close"
REWRITTEN = "aumai_chaos.proxy.rewritten"


class RequestClassifier:
    """Names the component of some requests (override both methods)."""

    #: The names it gives, for error messages (``"mcp.tool.<name>, mcp.<method>"``).
    hint = ""

    def classify(self, request: httpx.Request) -> Route | None:
        """The request's route, or None to leave it to the next classifier and the router."""
        return None

    def sees(self, component: str) -> bool:
        """Whether a request could ever be named ``component`` (checked against experiments)."""
        return False

    async def _handle(
        self, chaos: Chaos, request: httpx.Request, send: Any, route: Route
    ) -> httpx.Response:
        """Carry out the faults on a request this classifier named (default: the transport's)."""
        response: httpx.Response = await handle_async(chaos, request, send, route)
        return response


class ProxyTransport(httpx.AsyncBaseTransport):
    """``inner`` (the real transport) behind the transport's fault code."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        chaos: Chaos,
        classifiers: Sequence[RequestClassifier] = (),
    ) -> None:
        self._inner = inner
        self._chaos = chaos
        self._classifiers = tuple(classifiers)

    def _route(self, request: httpx.Request) -> tuple[Route, RequestClassifier] | None:
        for classifier in self._classifiers:
            try:
                route = classifier.classify(request)
            except Exception:  # a classifier never breaks a request
                route = None
            if route is not None:
                return route, classifier
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        seen: list[tuple[httpx.Response, Any]] = []
        inner = self._inner

        async def send(req: httpx.Request) -> httpx.Response:
            try:
                response = await inner.handle_async_request(req)
            except Exception:
                req.extensions[UPSTREAM_ERROR] = True
                raise
            seen.append((response, response.stream))
            return response

        if layered.on:  # instrument() is active in this process: it must not act a second time
            request.extensions[HANDLED] = True
        named = self._route(request) if self._classifiers else None
        response: httpx.Response
        if named is None:
            response = await handle_async(self._chaos, request, send, None)
        else:
            response = await named[1]._handle(self._chaos, request, send, named[0])
        if seen and response is seen[0][0] and response.stream is seen[0][1]:
            rewritten = False  # the upstream's response as it came
        else:
            # A body in memory (an answer, a rewritten JSON body) was framed by httpx with its
            # own length; a wrapped stream may end anywhere.
            rewritten = not isinstance(response.stream, httpx.ByteStream)
        response.extensions[REWRITTEN] = rewritten
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
