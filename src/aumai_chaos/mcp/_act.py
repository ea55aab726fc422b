"""One MCP client request's faults, acting inside the SDK's own request handling.

:class:`Request` holds what :func:`~aumai_chaos._engine.calls.decide` fired on the request and
carries it out in the order the engine gives: ``latency`` holds the server's answer until its
deadline (on the SDK's request clock, which runs while the answer is awaited), an ``instead``
fault answers or withholds the answer, and ``after`` faults rewrite the server's real result
as it arrives. Every ``chaos.fault`` span begins in the context of the SDK's
``MCP send <method>`` span, so it is that span's child.

Imports the ``mcp`` SDK only inside functions that run once a fault acts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import anyio
from opentelemetry import context as otel_context
from opentelemetry.trace import StatusCode

from aumai_chaos._engine.act import CallSpan, CallTimer, Firing
from aumai_chaos.faults import Action, FaultType
from aumai_chaos.mcp._answers import (
    CONNECTION_CLOSED,
    REQUEST_TIMEOUT,
    Answer,
    answer,
    error_attributes,
    request_attributes,
    rewrite_result,
)

__all__ = ["Request", "deliver_after", "hold_response"]


class Request:
    """The faults fired on one outbound MCP request, and their state while it is in flight."""

    __slots__ = (
        "afters",
        "attrs",
        "begun",
        "context",
        "deadline",
        "delays",
        "instead",
        "method",
        "modern",
        "params",
        "start",
        "written",
    )

    def __init__(
        self, method: str, params: Mapping[str, Any] | None, firings: list[Firing], start: float
    ) -> None:
        self.method = method
        self.params = params
        self.start = start
        self.written = False
        #: For a session on a modern protocol version: what every result of its server carries
        #: (``resultType`` and the ``serverInfo`` stamp), else None.
        self.modern: dict[str, Any] | None = None
        self.deadline = 0.0
        self.context: Any = None
        self.attrs: dict[str, Any] = {}
        self.begun: list[Firing] = []
        self.delays = [f for f in firings if f.plan.action is Action.before]
        self.afters: list[Firing] = []
        self.instead: Firing | None = None
        for firing in firings:
            kind = firing.plan.fault_type
            if firing.plan.action is Action.after or (
                kind is FaultType.tool_vanished and method == "tools/list"
            ):
                self.afters.append(firing)
            elif firing.plan.action is Action.instead:
                if self.instead is None and answer(firing.plan.fault, method, params) is not None:
                    self.instead = firing
                else:  # a request is answered once; one that cannot act here is not counted
                    firing.skip()
            elif firing.plan.action is not Action.before:
                firing.skip()

    def timeout_for(self, client_timeout: float | None) -> float | None:
        """The request timeout to give the SDK for an ``mcp_timeout`` when the client set
        none: the fault's ``duration_ms``. ``None``: leave the client's own."""
        firing = self.instead
        if firing is None or firing.plan.fault_type is not FaultType.mcp_timeout:
            return None
        return firing.plan.delay if client_timeout is None else None

    def disconnects(self) -> bool:
        firing = self.instead
        return firing is not None and firing.plan.fault_type is FaultType.mcp_disconnect

    def holds(self) -> bool:
        """Whether the server's answer must pass through us (a delay or a rewrite)."""
        return bool(self.afters) or self.deadline > time.perf_counter()

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()

    def act(self, request_id: Any) -> Answer | None:
        """Begin the delays and the ``instead`` fault, in the SDK span's context (current now).
        The answer to give instead of the server's, or ``None``."""
        self.context = otel_context.get_current()
        attrs = self.attrs = request_attributes(self.method, self.params, request_id)
        for delay in self.delays:
            if delay.begin(attrs, start=self.start):
                self.begun.append(delay)
                self.deadline = max(self.deadline, delay.deadline)
        self.delays = []
        firing = self.instead
        if firing is None:
            return None
        fault = firing.plan.fault
        ans = answer(fault, self.method, self.params)
        if ans is None:  # pragma: no cover - checked when built
            return None
        extra = dict(attrs)
        if ans.error is not None:
            extra.update(error_attributes(ans.error[0]))
        elif ans.result is not None:
            extra.update(error_attributes("tool_error"))
        elif fault.fault_type is FaultType.mcp_timeout:
            extra.update(error_attributes(REQUEST_TIMEOUT))
        else:
            extra.update(error_attributes(CONNECTION_CLOSED))
        if not firing.begin(extra, start=self.start):
            self.instead = None
            return None
        self.begun.append(firing)
        if ans.result is not None and self.modern is not None:
            return Answer(result={**ans.result, **self.modern})
        return ans

    def rewrite(self, outcome: dict[str, Any]) -> dict[str, Any]:
        """The server's result with the ``after`` faults applied (each begun only when it
        applies, in the SDK span's context; one that cannot is not counted)."""
        token = otel_context.attach(self.context) if self.context is not None else None
        try:
            for firing in self.afters:
                new = rewrite_result(firing.plan.fault, self.method, outcome)
                if new is None:
                    firing.skip()
                elif firing.begin(self.attrs, start=self.start):
                    self.begun.append(firing)
                    outcome = new
            self.afters = []
        finally:
            if token is not None:
                otel_context.detach(token)
        return outcome

    def finish(self, result: Any, exc: BaseException | None) -> None:
        """End every fault span begun; give back what never acted."""
        for firing in self.delays + self.afters:
            firing.skip()
        if self.instead is not None and self.instead not in self.begun:
            self.instead.skip()
        for firing in self.begun:
            if firing is self.instead:
                try:
                    message = getattr(getattr(exc, "error", None), "message", None)
                    firing.span.set_status(StatusCode.ERROR, message)
                except Exception:  # pragma: no cover - telemetry never raises into the caller
                    pass
            firing.end()
        self.begun = []
        self.delays = self.afters = []

    def exit_call(self, call: CallSpan | CallTimer, result: Any, exc: BaseException | None) -> None:
        if exc is not None:
            call.exit(exc)
        elif isinstance(result, dict) and result.get("isError"):
            call.fail("tool_error", "the tool answered isError")
        else:
            call.exit(None)


def _outcome(ans: Answer) -> Any:
    if ans.error is not None:
        from mcp_types import ErrorData

        code, message = ans.error
        return ErrorData(code=code, message=message)
    return ans.result


def _send_later(dispatcher: Any, send: Any, outcome: Any, seconds: float) -> None:
    async def later() -> None:
        await anyio.sleep(seconds)
        # The waiter may be gone: it timed out or was cancelled, as with a late server.
        with contextlib.suppress(
            anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError
        ):
            send.send_nowait(outcome)

    task_group = dispatcher._tg
    if task_group is None:  # pragma: no cover - the dispatcher is closing
        return
    task_group.start_soon(later)


def deliver_after(dispatcher: Any, send: Any, request: Request, ans: Answer) -> None:
    """Put ``ans`` in the SDK's waiter for the response, at the request's deadline."""
    outcome = _outcome(ans)
    wait = request.remaining()
    if wait > 0:
        _send_later(dispatcher, send, outcome, wait)
    else:
        send.send_nowait(outcome)


class _Held:
    """The send side of the SDK's waiter for one response: the server's answer passes
    through it, rewritten and held to the request's deadline."""

    __slots__ = ("dispatcher", "request", "send")

    def __init__(self, send: Any, dispatcher: Any, request: Request) -> None:
        self.send = send
        self.dispatcher = dispatcher
        self.request = request

    def send_nowait(self, outcome: Any) -> None:
        if isinstance(outcome, dict):
            outcome = self.request.rewrite(outcome)
        elif getattr(outcome, "code", None) == CONNECTION_CLOSED:
            self.send.send_nowait(outcome)  # the connection closed: at once, as for anyone
            return
        wait = self.request.remaining()
        if wait > 0:
            _send_later(self.dispatcher, self.send, outcome, wait)
        else:
            self.send.send_nowait(outcome)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.send, name)


def hold_response(dispatcher: Any, pending: Any, request: Request) -> Any:
    """The SDK's pending entry for the request, with its send side held by us."""
    return dataclasses.replace(pending, send=_Held(pending.send, dispatcher, request))
