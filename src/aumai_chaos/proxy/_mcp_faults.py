"""MCP faults on a proxied JSON-RPC request: the answer a real MCP server sends over streamable
HTTP, built by ``aumai_chaos.mcp``'s own helpers (:func:`~aumai_chaos.mcp.render_fault`,
:func:`~aumai_chaos.mcp.jsonrpc_response`, ``rewrite_result``), framed as the upstream frames
its answers (an event stream or a JSON body).

- ``mcp_tool_error``, ``jsonrpc_error``, ``tool_vanished`` on ``tools/call``: a 200 whose
  JSON-RPC response is the fault's (``isError`` result, error object); the upstream never sees
  the request;
- ``tool_vanished`` on ``tools/list``: the upstream's listing without the tool;
- ``mcp_timeout``: no answer; the client's own read timeout fires (as with a hung server);
- ``mcp_disconnect``: a server that died: for an event-stream server, its stream's headers and
  then the client's connection reset (``SSE stream ended without a response``, -32000, as the
  SDK says for a real death); for a JSON server, the connection closed with no answer.

The request's HTTP faults (``latency``, ``http_error``...) act through the transport's code in
the same decision: one call counted once, the first terminal fault declared wins.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from aumai_chaos._engine.act import Firing
from aumai_chaos._engine.calls import decide
from aumai_chaos.faults import FaultType, Site
from aumai_chaos.mcp import Answer, jsonrpc_response, render_fault
from aumai_chaos.mcp._answers import (
    CONNECTION_CLOSED,
    REQUEST_TIMEOUT,
    error_attributes,
    request_attributes,
    rewrite_result,
)
from aumai_chaos.proxy._exchange import CLOSE
from aumai_chaos.transport._clients import library_of
from aumai_chaos.transport._request_faults import _TERMINAL, Exchange, delay_steps, run_async
from aumai_chaos.transport._transport import Chaos, end_call
from aumai_chaos.transport.routes import Route

__all__ = ["Framing", "handle_mcp"]

Send = Callable[[httpx.Request], Awaitable[httpx.Response]]
_SSE = "text/event-stream"
#: The most endpoints whose framing is remembered at once.
_MAX_ENDPOINTS = 1024
_SSE_HEADERS = [("cache-control", "no-cache, no-transform"), ("x-accel-buffering", "no")]


class _Dies(httpx.AsyncByteStream):
    """A body that fails at its first byte (the proxy then resets the client's connection)."""

    def __init__(self, exc: httpx.HTTPError) -> None:
        self._exc = exc

    async def __aiter__(self) -> AsyncIterator[bytes]:
        raise self._exc
        yield b""  # pragma: no cover - makes this an async generator


def _dying_stream(request: httpx.Request, exc: httpx.HTTPError) -> httpx.Response:
    headers = [("content-type", _SSE), *_SSE_HEADERS]
    session = request.headers.get("mcp-session-id")
    if session is not None:
        headers.append(("mcp-session-id", session))
    return httpx.Response(200, headers=headers, stream=_Dies(exc), request=request)


class Framing:
    """How each upstream endpoint frames its answers to JSON-RPC requests, learnt from the
    answers that pass (an ``MCPServer`` answers with an event stream unless it was built with
    ``json_response=True``); before any, the client's ``Accept`` decides, as the SDK does."""

    def __init__(self) -> None:
        self._by_url: dict[str, bool] = {}

    @staticmethod
    def _key(request: httpx.Request) -> str:
        return str(request.url.copy_with(query=None))

    def learn(self, request: httpx.Request, response: httpx.Response) -> None:
        if response.status_code == 200:
            kind = response.headers.get("content-type", "")
            if kind.startswith((_SSE, "application/json")):
                if len(self._by_url) >= _MAX_ENDPOINTS:  # bounded, whatever clients send
                    self._by_url.clear()
                self._by_url[self._key(request)] = kind.startswith(_SSE)

    def sse(self, request: httpx.Request) -> bool:
        known = self._by_url.get(self._key(request))
        if known is not None:
            return known
        return _SSE in request.headers.get("accept", "")


def _encode(message: dict[str, Any], sse: bool) -> bytes:
    data = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    return f"event: message\r\ndata: {data}\r\n\r\n".encode() if sse else data.encode()


def _answer_response(request: httpx.Request, message: dict[str, Any], sse: bool) -> httpx.Response:
    headers = [("content-type", _SSE if sse else "application/json")]
    if sse:
        headers += _SSE_HEADERS
    session = request.headers.get("mcp-session-id")
    if session is not None:
        headers.append(("mcp-session-id", session))
    return httpx.Response(200, headers=headers, content=_encode(message, sse), request=request)


def _rewritten(
    fault: Any, method: str, response: httpx.Response, body: bytes, request: httpx.Request
) -> httpx.Response | None:
    """``response`` (its ``body`` read) with the JSON-RPC result rewritten by ``fault``, framed
    as it came; ``None`` when the fault does not apply to it."""
    sse = response.headers.get("content-type", "").startswith(_SSE)
    text = body.decode("utf-8")
    if sse:
        events = text.split("\r\n\r\n") if "\r\n\r\n" in text else text.split("\n\n")
        for i, event in enumerate(events):
            lines = event.splitlines()
            data = [ln[5:].lstrip() for ln in lines if ln.startswith("data:")]
            if not data:
                continue
            message = json.loads("\n".join(data))
            new = _rewrite_message(fault, method, message)
            if new is not None:
                events[i] = _encode(new, True).decode().rstrip("\r\n")
                return _framed(response, "\r\n\r\n".join(events).encode(), request)
        return None
    new = _rewrite_message(fault, method, json.loads(text))
    return None if new is None else _framed(response, _encode(new, False), request)


def _rewrite_message(fault: Any, method: str, message: Any) -> dict[str, Any] | None:
    if not isinstance(message, dict) or "result" not in message:
        return None
    result = rewrite_result(fault, method, message["result"])
    return None if result is None else {**message, "result": result}


def _framed(response: httpx.Response, content: bytes, request: httpx.Request) -> httpx.Response:
    drop = {"content-length", "transfer-encoding", "content-encoding"}
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in drop]
    return httpx.Response(response.status_code, headers=headers, content=content, request=request)


async def handle_mcp(
    chaos: Chaos, request: httpx.Request, send: Send, route: Route, framing: Framing
) -> httpx.Response:
    """One classified JSON-RPC request (``route`` ``mcp.*``) through the transport's and the
    MCP faults (one decision, at both sites)."""
    decision = decide(route.name, chaos.own, site=Site.transport, also=Site.mcp)
    if decision is None:
        response = await send(request)
        framing.learn(request, response)
        return response
    body: dict[str, Any] = json.loads(request.content)
    method: str = body["method"]
    instead: tuple[Firing, Answer] | None = None
    afters: list[Firing] = []
    http: list[Firing] = []
    for firing in decision.firings:
        fault = firing.plan.fault
        if Site.transport in fault.sites:
            http.append(firing)
        elif fault.fault_type is FaultType.tool_vanished and method == "tools/list":
            afters.append(firing)
        elif instead is None and (ans := render_fault(fault, body)) is not None:
            instead = (firing, ans)
        else:  # a request is answered once; one that cannot act here is not counted
            firing.skip()
    if instead is not None:
        terminal = [f for f in http if f.plan.fault.fault_type in _TERMINAL]
        first = decision.firings.index(instead[0])
        if terminal and decision.firings.index(terminal[0]) < first:
            instead[0].skip()  # an HTTP fault declared first answers instead
            instead = None
        else:
            for firing in http:
                if firing.plan.fault.fault_type is not FaultType.latency:
                    firing.skip()
            http = [f for f in http if f.plan.fault.fault_type is FaultType.latency]
    ex = Exchange(request, library_of(request), route, route.name, http, decision.start)
    call = decision.call
    if call is not None:
        call.enter()
    try:
        if instead is not None:
            response, acted = await _act(ex, request, send, body, instead, framing)
            failure = _failure(instead[1], instead[0]) if acted else None
        else:
            response = await run_async(ex, send)
            framing.learn(request, response)
            failure = None
            for firing in afters:
                response = await _after(ex, firing, method, body, response)
    except BaseException as exc:
        for firing in afters:
            firing.skip()
        if call is not None:
            call.exit(exc)
        raise
    if call is not None:
        if failure is not None:
            call.fail(failure, "the MCP fault's answer")
        else:
            end_call(call, response)
    return response


def _failure(ans: Answer, firing: Firing) -> str:
    """The call's ``error.type``, as the SDK records the failure (see ``error_attributes``)."""
    return str(_error_attrs(ans, firing)["error.type"])


def _error_attrs(ans: Answer, firing: Firing) -> dict[str, Any]:
    if ans.error is not None:
        return error_attributes(ans.error[0])
    if ans.result is not None:
        return error_attributes("tool_error")
    if firing.plan.fault.fault_type is FaultType.mcp_timeout:
        return error_attributes(REQUEST_TIMEOUT)
    return error_attributes(CONNECTION_CLOSED)


async def _act(
    ex: Exchange,
    request: httpx.Request,
    send: Send,
    body: dict[str, Any],
    instead: tuple[Firing, Answer],
    framing: Framing,
) -> tuple[httpx.Response, bool]:
    """The fault's answer (and True), or the upstream's when its window closed meanwhile."""
    await run_async(ex, send, delay_steps(ex))
    firing, ans = instead
    params = body.get("params")
    attrs = request_attributes(
        body["method"], params if isinstance(params, dict) else None, body.get("id")
    )
    attrs.update(_error_attrs(ans, firing))
    if not ex.begin(firing, attrs):
        return await send(request), False
    message = jsonrpc_response(body.get("id"), ans)
    if message is not None:
        firing.end()
        return _answer_response(request, message, framing.sse(request)), True
    if firing.plan.fault.fault_type is FaultType.mcp_timeout:
        exc: httpx.HTTPError = httpx.ReadTimeout(
            "no answer (injected mcp_timeout)", request=request
        )
    elif framing.sse(request):
        # A server that answers with an event stream has sent its headers before the tool
        # runs: its death ends that stream, with no response in it.
        firing.end()
        cut = httpx.ReadError("connection closed (injected mcp_disconnect)", request=request)
        return _dying_stream(request, cut), True
    else:
        request.extensions[CLOSE] = True
        exc = httpx.RemoteProtocolError(
            "connection closed (injected mcp_disconnect)", request=request
        )
    firing.end(exc)
    raise exc


async def _after(
    ex: Exchange, firing: Firing, method: str, body: dict[str, Any], response: httpx.Response
) -> httpx.Response:
    """``tool_vanished`` on a ``tools/list`` answer: the listing without the tool."""
    if response.status_code != 200:
        firing.skip()
        return response
    content = await response.aread()
    try:
        new = _rewritten(firing.plan.fault, method, response, content, ex.request)
    except ValueError:
        new = None
    if new is None:
        firing.skip()
        return response  # read into memory: the proxy sends it as it came
    if not ex.begin(firing, request_attributes(method, None, body.get("id"))):
        return response
    firing.end()
    return new
