"""The proxy as an ASGI application: one request in, the same request to the upstream, and
the upstream's response streamed back as it arrives (``aiter_raw``: the bytes as sent, still
content-encoded, never buffered).

What a fault does reaches the client as the same failure from a real server would:

- an answer (``rate_limit``'s 429, ``http_error``, ``context_overflow``...) is sent as it is;
- an injected ``connect_error`` resets the client's connection before any byte;
- an injected ``read_timeout`` never answers: the request is held until the client gives up
  (its own timeout) or the proxy stops;
- a stream that fails mid-body (``stream_cut``, or a real upstream reset) resets the client's
  connection after the bytes already sent; stalls, truncations and rewritten events simply
  stream through.

A real upstream failure before the response (refused, TLS, DNS, a malformed request httpx will
not send) is a 502 whose JSON body says what failed. The client's disconnect cancels the
upstream request and closes its connection. Nothing a client sends changes the experiment: the
proxy reads no control header or path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, cast

import httpx
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from aumai_chaos._version import __version__
from aumai_chaos.proxy._exchange import CLOSE, REWRITTEN, UPSTREAM_ERROR
from aumai_chaos.proxy._headers import request_headers, response_headers
from aumai_chaos.proxy._server import Connections
from aumai_chaos.proxy._upstreams import Upstreams

__all__ = ["MAX_BODY_BYTES", "ProxyApp"]

_log = logging.getLogger("aumai_chaos")
#: The largest request body the proxy forwards (a model request with images fits easily).
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Upstream timeouts: connecting is bounded; reading is the client's to decide, as without us.
_TIMEOUT = {"connect": 30.0, "read": None, "write": None, "pool": None}
#: How many parsed upstream URLs are kept (parsing one costs some 25 µs; agents call a few).
_URL_CACHE = 1024

Scope = dict[str, Any]


class _TooLargeError(Exception):
    pass


async def _read_body(receive: Any) -> bytes | None:
    """The whole request body, or None when the client left first."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLargeError
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def _wait_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _reply(send: Any, status: int, message: str, code: str) -> None:
    """A JSON error in the shape the provider SDKs read (``error.message``)."""
    body = json.dumps(
        {"error": {"message": message, "type": "aumai_chaos_proxy_error", "code": code}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or repr(exc)
    return f"{type(exc).__name__}: {text}"[:500]


class ProxyApp:
    """The reverse proxy (an ASGI 3 application)."""

    def __init__(
        self,
        upstreams: Upstreams,
        transport: httpx.AsyncBaseTransport,
        connections: Connections,
        *,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> None:
        self._upstreams = upstreams
        self._transport = transport
        self._urls: dict[str, httpx.URL] = {}
        self._connections = connections
        self._tracer = trace.get_tracer(
            "aumai_chaos.proxy", __version__, tracer_provider=tracer_provider
        )

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        started = False

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._http(scope, receive, tracked)
        except Exception as exc:  # never crash the server; say what went wrong
            _log.warning("aumai-chaos proxy: %s", _describe(exc))
            if not started:
                with contextlib.suppress(Exception):
                    await _reply(send, 502, f"aumai-chaos proxy: {_describe(exc)}", "proxy_error")

    async def _http(self, scope: Scope, receive: Any, send: Any) -> None:
        method: str = scope["method"]
        target = self._upstreams.resolve(scope.get("raw_path") or b"", scope["query_string"])
        if target is None:
            known = ", ".join(self._upstreams.prefixes()) or "(none)"
            await _reply(
                send,
                404,
                f"aumai-chaos proxy: no upstream for {scope['path']!r}; the upstreams are "
                f"reached under {known}",
                "no_upstream",
            )
            return
        try:
            body = await _read_body(receive)
        except _TooLargeError:
            await _reply(
                send,
                413,
                f"aumai-chaos proxy: request body over {MAX_BODY_BYTES} bytes",
                "body_too_large",
            )
            return
        if body is None:
            return
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        parent = propagate.extract(carrier)
        span = self._tracer.start_span(
            method, context=parent, kind=SpanKind.SERVER, attributes=_server_attrs(scope)
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            injected: dict[str, str] = {}
            propagate.inject(injected)
            try:
                request = httpx.Request(
                    method,
                    self._url(target.url),
                    headers=request_headers(scope["headers"], len(body), injected),
                    content=body,
                    extensions={"timeout": dict(_TIMEOUT)},
                )
            except Exception as exc:  # a request httpx will not send (a bad header, URL...)
                await _reply(
                    send, 502, f"aumai-chaos proxy: cannot forward: {_describe(exc)}", "bad_request"
                )
                span.set_attribute("http.response.status_code", 502)
                return
            status = await self._exchange(scope, receive, send, request)
            if status is not None:
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_attribute("error.type", str(status))
                    span.set_status(Status(StatusCode.ERROR))
        finally:
            otel_context.detach(token)
            span.end()

    def _url(self, text: str) -> httpx.URL:
        url = self._urls.get(text)
        if url is None:
            url = httpx.URL(text)
            if len(self._urls) >= _URL_CACHE:
                self._urls.clear()
            self._urls[text] = url
        return url

    async def _exchange(
        self, scope: Scope, receive: Any, send: Any, request: httpx.Request
    ) -> int | None:
        """Forward ``request`` while watching for the client's disconnect; the status sent."""
        state: dict[str, Any] = {"status": None, "done": False}
        forward = asyncio.create_task(self._forward(scope, send, request, state))
        gone = asyncio.create_task(_wait_disconnect(receive))
        try:
            await asyncio.wait({forward, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not forward.done() and not state["done"]:
                forward.cancel()  # the client left: so does the upstream request
            with contextlib.suppress(asyncio.CancelledError):
                await forward
        finally:
            gone.cancel()
            if not forward.done():
                forward.cancel()
        status: int | None = state["status"]
        return status

    async def _forward(
        self, scope: Scope, send: Any, request: httpx.Request, state: dict[str, Any]
    ) -> None:
        try:
            response = await self._transport.handle_async_request(request)
        except httpx.HTTPError as exc:
            injected = not request.extensions.get(UPSTREAM_ERROR)
            if injected and request.extensions.get(CLOSE):
                self._connections.close(scope.get("client"))
            elif injected and isinstance(exc, httpx.ConnectError):
                await self._connections.reset(scope.get("client"))
            elif injected and isinstance(exc, httpx.TimeoutException):
                await asyncio.Event().wait()  # no answer, until the client gives up
            else:
                state["status"] = 502
                await _reply(
                    send,
                    502,
                    f"aumai-chaos proxy: the upstream {request.url.host} failed: {_describe(exc)}",
                    "upstream_error",
                )
            return
        try:
            keep_length = not response.extensions.get(REWRITTEN, True)
            state["status"] = response.status_code
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": response_headers(response, keep_length),
                }
            )
            try:
                if response.is_stream_consumed:  # a fault's answer, its body in memory
                    await send(_chunk(response.content))
                else:  # the bytes as sent (what ``aiter_raw`` gives, without its layers)
                    async for chunk in cast(httpx.AsyncByteStream, response.stream):
                        if chunk:
                            await send(_chunk(chunk))
            except httpx.HTTPError:
                # A stream that fails mid-body (an injected cut, a real upstream reset): the
                # client's connection fails at the same byte.
                await self._connections.reset(scope.get("client"))
                return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            state["done"] = True
        finally:
            await response.aclose()


def _chunk(body: bytes) -> dict[str, Any]:
    return {"type": "http.response.body", "body": body, "more_body": True}


def _server_attrs(scope: Scope) -> dict[str, Any]:
    """The OpenTelemetry HTTP server attributes of the request."""
    attrs: dict[str, Any] = {
        "http.request.method": scope["method"],
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    server = scope.get("server")
    if server:
        attrs["server.address"] = str(server[0])
        if server[1] is not None:
            attrs["server.port"] = int(server[1])
    client = scope.get("client")
    if client:
        attrs["client.address"] = str(client[0])
    for key, value in scope["headers"]:
        if key == b"user-agent":
            attrs["user_agent.original"] = value.decode("latin-1")
            break
    return attrs
