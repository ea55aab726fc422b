"""What each fault does to one request on a transport, and the sync and async drivers.

An :class:`Exchange` sorts the engine's decision before anything is sent: the delays
(``latency``), at most one *terminal* fault (answer or raise instead of the request: the first
in the engine's order wins, as a call can fail only once; the others are skipped and keep their
``times``) and the response faults handed to the response-fault hooks (``_hooks``). What it
then does is written once, as steps (``_steps``: wait in a span, send, a handler's ``after``);
:func:`run_sync` and :func:`run_async` carry them out with ``time.sleep`` / ``asyncio.sleep``
(window-aware inside an experiment), so an async client's loop is never blocked.

Every answer is a complete response of the request's own library with its body in memory, and
every raise happens before a byte is sent: a fault never holds a connection of the pool.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Generator
from dataclasses import InitVar, dataclass, field
from typing import Any, Final

from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.act import Firing
from aumai_chaos.faults import FaultType, fault_types_that
from aumai_chaos.transport import providers
from aumai_chaos.transport._clients import Library
from aumai_chaos.transport._hooks import FaultContext, ResponseFault, make_context, response_fault
from aumai_chaos.transport._run import Run
from aumai_chaos.transport.routes import Route

__all__ = [
    "ATTR_HTTP_METHOD",
    "ATTR_HTTP_STATUS",
    "ATTR_PROVIDER",
    "ATTR_REQUEST_MODEL",
    "ATTR_RETRY_AFTER",
    "ATTR_SERVER_ADDRESS",
    "Exchange",
    "Wait",
    "delay_steps",
    "run_async",
    "run_sync",
]

ATTR_HTTP_METHOD = tm.ATTR_HTTP_REQUEST_METHOD
ATTR_SERVER_ADDRESS = tm.ATTR_SERVER_ADDRESS
ATTR_HTTP_STATUS = tm.ATTR_HTTP_RESPONSE_STATUS_CODE
ATTR_PROVIDER = tm.ATTR_GEN_AI_PROVIDER_NAME
ATTR_REQUEST_MODEL = tm.ATTR_GEN_AI_REQUEST_MODEL
ATTR_RETRY_AFTER = tm.ATTR_FAULT_RETRY_AFTER_S

_log = logging.getLogger("aumai_chaos")
_warned: set[str] = set()
_MAX_MODEL_PARSE = 4_000_000

#: The faults that answer instead of the call with the provider's error response.
_ANSWERS = fault_types_that("answers")
#: The faults that raise the client library's connection or timeout error instead of the call.
_RAISES = fault_types_that("breaks_connection")
_TERMINAL = _ANSWERS | _RAISES


def _warn_once(key: str, message: str, *args: Any) -> None:
    if key not in _warned:
        _warned.add(key)
        _log.warning(message, *args)


def _model_of(request: Any) -> str | None:
    """The ``model`` a JSON request body names (parsed only when a fault fires)."""
    try:
        content = request.content
        if not content or len(content) > _MAX_MODEL_PARSE or b'"model"' not in content:
            return None
        body = json.loads(content)
    except Exception:  # a streamed upload, not JSON...
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


def _status_of(fault: Any) -> int | None:
    code = fault.status_code if fault.fault_type is FaultType.http_error else fault.error_code
    code = 500 if code is None else code
    return code if 100 <= code <= 599 else None


def _answer(fault: Any, provider: str | None) -> providers.Answer | None:
    kind = fault.fault_type
    if kind is FaultType.rate_limit:
        return providers.rate_limit_answer(
            provider, fault.retry_after_s, quota=fault.quota, message=fault.error_message
        )
    if kind is FaultType.resource_exhaustion:
        return providers.quota_answer(provider, fault.error_message)
    status = _status_of(fault)
    if status is None:
        _warn_once(
            f"status{id(fault)}",
            "aumai-chaos: %s fault with error_code %s is not an HTTP status (100-599); "
            "it cannot act on a transport",
            kind.value,
            fault.error_code,
        )
        return None
    if kind is FaultType.http_error and fault.body is not None:
        base = providers.Answer(status, [("content-type", "text/plain")], fault.body.encode())
    else:
        base = providers.error_answer(provider, status, fault.error_message)
    if kind is FaultType.http_error and fault.headers:
        names = {k.lower() for k in fault.headers}
        kept = [(k, v) for k, v in base.headers if k not in names]
        return providers.Answer(status, [*kept, *fault.headers.items()], base.body)
    return base


def _read_wait(fault: Any, request: Any) -> float:
    """``duration_ms`` or the request's own read timeout, whichever is shorter."""
    wait = None if fault.duration_ms is None else fault.duration_ms / 1000.0
    try:
        read = request.extensions.get("timeout", {}).get("read")
    except Exception:
        read = None
    if read is not None and (wait is None or read < wait):
        wait = float(read)
    return wait or 0.0


@dataclass(slots=True, eq=False)
class Exchange:
    """The faults that fire on one request, sorted by what they do on a transport."""

    request: Any
    library: Library
    route: Route
    component: str
    fired: InitVar[list[Firing]]
    start: float
    delays: list[Firing] = field(init=False, default_factory=list)
    terminal: Firing | None = field(init=False, default=None)
    responses: list[Firing] = field(init=False, default_factory=list)
    #: No fault acts on this request (it is only observed): it is sent as it is.
    idle: bool = field(init=False, default=True)
    _base: dict[str, Any] | None = field(init=False, default=None)

    def __post_init__(self, fired: list[Firing]) -> None:
        for firing in fired:
            kind = firing.plan.fault.fault_type
            if kind is FaultType.latency:
                self.delays.append(firing)
            elif kind in _TERMINAL and self.terminal is None:
                self.terminal = firing
            elif kind not in _TERMINAL and response_fault(kind) is not None:
                self.responses.append(firing)
            else:  # a second terminal fault, or no handler for its type: it does not act
                firing.skip()
        if self.terminal is not None:
            for firing in self.responses:
                firing.skip()
            self.responses = []
        self.idle = not (self.delays or self.responses) and self.terminal is None

    def attrs(self) -> dict[str, Any]:
        """The transport's attributes of a fault on this request (a fresh dict)."""
        if self._base is None:
            request = self.request
            base: dict[str, Any] = {
                ATTR_HTTP_METHOD: request.method,
                ATTR_SERVER_ADDRESS: request.url.host,
            }
            if self.route.provider is not None:
                base[ATTR_PROVIDER] = self.route.provider
                model = _model_of(request)
                if model is not None:
                    base[ATTR_REQUEST_MODEL] = model
            self._base = base
        return dict(self._base)

    def begin(self, firing: Firing, extra: dict[str, Any] | None = None) -> bool:
        attrs = self.attrs()
        if extra:
            attrs.update(extra)
        return firing.begin(attrs, start=self.start)

    def context(self, firing: Firing) -> FaultContext:
        return make_context(
            firing, self.request, self.library, self.route, self.component, self.attrs
        )

    def terminal_step(self) -> tuple[Firing, float | None, Any, BaseException | None] | None:
        """Begin the terminal fault: (firing, wait, response, exception), or None if it does
        not act after all. ``wait`` None: the fault's own delay, timed from the decision."""
        firing = self.terminal
        if firing is None:
            return None
        fault: Any = firing.plan.fault
        kind = fault.fault_type
        request, lib = self.request, self.library
        if kind in _ANSWERS:
            answer = _answer(fault, self.route.provider)
            if answer is None:
                firing.skip()
                return None
            if not self.begin(firing, {ATTR_HTTP_STATUS: answer.status}):
                return None
            response = lib.response(answer.status, answer.headers, answer.body, request)
            return firing, 0.0, response, None
        if kind is FaultType.connect_error:
            if not self.begin(firing):
                return None
            message = fault.error_message or "[Errno 111] Connection refused (injected)"
            return firing, 0.0, None, lib.ConnectError(message, request=request)
        if not self.begin(firing):
            return None
        message = fault.error_message or "The read operation timed out (injected)"
        return firing, _read_wait(fault, request), None, lib.ReadTimeout(message, request=request)


@dataclass(slots=True)
class Wait:
    """A step: wait in ``firing``'s span (``seconds`` None: the fault's own delay)."""

    firing: Firing
    seconds: float | None


@dataclass(slots=True)
class _After:
    """A step: a response fault's handler acts on the response (``ctx.response``)."""

    handler: ResponseFault
    ctx: FaultContext


#: A step: send the request; the response is sent back into the steps.
_SEND: Final = object()

Step = Wait | _After | object
Steps = Generator[Step, Any, Any]


def _after_failed(kind: FaultType, exc: BaseException) -> None:
    _warn_once(f"after{kind}", "aumai-chaos: %s handler failed (%r); passed through", kind, exc)


def _instead(ex: Exchange, contexts: list[FaultContext]) -> Any:
    """The first response fault that answers instead of the request, or None."""
    for ctx in contexts:
        handler = response_fault(ctx.fault.fault_type)
        if handler is None:
            continue
        try:
            answer = handler.instead(ctx)
        except Exception as err:
            _after_failed(ctx.fault.fault_type, err)
            answer = None
        if answer is not None:
            for other in contexts:
                if other is not ctx:
                    other.skip()
            return answer
    return None


def _settle(ctx: FaultContext, replaced: Any) -> None:
    if replaced is None and not ctx.acted:
        ctx.skip()


def delay_steps(ex: Exchange) -> Generator[Step, Any, None]:
    """The waits of the latency faults, each in its own span."""
    for firing in ex.delays:
        if ex.begin(firing):
            try:
                yield Wait(firing, None)
            finally:
                firing.end()


def _steps(ex: Exchange) -> Steps:
    """What ``ex`` does, as steps for :func:`run_sync` / :func:`run_async` to carry out
    (wait, send, a handler's ``after``); an error of a step is thrown back in at its
    ``yield``. Returns the response."""
    yield from delay_steps(ex)
    step = ex.terminal_step()
    if step is not None:
        firing, wait, response, exc = step
        try:
            yield Wait(firing, wait)
        except BaseException as err:  # cancelled: the span still ends
            firing.end(err)
            raise
        firing.end(exc)
        if exc is not None:
            raise exc
        return response
    contexts = [ex.context(f) for f in ex.responses]
    if contexts and (answer := _instead(ex, contexts)) is not None:
        return answer
    response = yield _SEND
    for ctx in contexts:
        handler = response_fault(ctx.fault.fault_type)
        replaced = None
        if handler is not None:
            ctx.response = response
            try:
                replaced = yield _After(handler, ctx)
            except ex.library.module.HTTPError:
                raise
            except Exception as err:
                _after_failed(ctx.fault.fault_type, err)
        _settle(ctx, replaced)
        if replaced is not None:
            response = replaced
    return response


def run_sync(ex: Exchange, send: Callable[[Any], Any], steps: Steps | None = None) -> Any:
    """Carry out ``ex`` (or ``steps`` of it) in a thread; ``send`` is the inner transport's
    ``handle_request``."""
    if ex.idle and steps is None:
        return send(ex.request)
    run = Run(_steps(ex) if steps is None else steps)
    while (step := run.next()) is not None:
        try:
            if step is _SEND:
                run.result = send(ex.request)
            elif isinstance(step, Wait):
                step.firing.sleep(step.seconds)
            elif isinstance(step, _After):
                run.result = step.handler.after(step.ctx)
        except BaseException as err:
            run.error = err
    return run.result


async def run_async(
    ex: Exchange, send: Callable[[Any], Awaitable[Any]], steps: Steps | None = None
) -> Any:
    """Carry out ``ex`` (or ``steps`` of it) in a coroutine; waits yield to the event loop."""
    if ex.idle and steps is None:
        return await send(ex.request)
    run = Run(_steps(ex) if steps is None else steps)
    while (step := run.next()) is not None:
        try:
            if step is _SEND:
                run.result = await send(ex.request)
            elif isinstance(step, Wait):
                await step.firing.asleep(step.seconds)
            elif isinstance(step, _After):
                run.result = await step.handler.aafter(step.ctx)
        except BaseException as err:
            run.error = err
    return run.result
