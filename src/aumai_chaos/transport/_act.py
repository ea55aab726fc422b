"""What each fault does to one request on a transport, and the sync and async drivers.

An :class:`Exchange` is decided before anything is sent: the delays (``latency``), at most one
*terminal* fault (answer or raise instead of the request: the first declared wins, as a call
can fail only once) and the response faults handed to issue 14's hooks (``_hooks``).
:func:`run_sync` and :func:`run_async` carry it out with ``time.sleep`` / ``asyncio.sleep``
(window-aware inside an experiment), so an async client's loop is never blocked.

Every answer is a complete response of the request's own library with its body in memory, and
every raise happens before a byte is sent: a fault never holds a connection of the pool.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aumai_chaos.faults import FaultType, Site
from aumai_chaos.transport import providers
from aumai_chaos.transport._clients import Library
from aumai_chaos.transport._engine import Acting, Firing, act
from aumai_chaos.transport._hooks import FaultContext, response_fault
from aumai_chaos.transport.routes import Route

__all__ = [
    "ATTR_HTTP_METHOD",
    "ATTR_HTTP_STATUS",
    "ATTR_PROVIDER",
    "ATTR_REQUEST_MODEL",
    "ATTR_RETRY_AFTER",
    "ATTR_SERVER_ADDRESS",
    "Exchange",
    "run_async",
    "run_sync",
]

ATTR_HTTP_METHOD = "http.request.method"
ATTR_SERVER_ADDRESS = "server.address"
ATTR_HTTP_STATUS = "http.response.status_code"
ATTR_PROVIDER = "gen_ai.provider.name"
ATTR_REQUEST_MODEL = "gen_ai.request.model"
ATTR_RETRY_AFTER = "chaos.fault.retry_after_s"

_log = logging.getLogger("aumai_chaos")
_warned: set[str] = set()
_MAX_MODEL_PARSE = 4_000_000

_ANSWERS = frozenset(
    {FaultType.rate_limit, FaultType.http_error, FaultType.error, FaultType.resource_exhaustion}
)
_RAISES = frozenset({FaultType.connect_error, FaultType.read_timeout, FaultType.timeout})
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


class Exchange:
    """The faults that fire on one request, sorted by what they do."""

    __slots__ = (
        "_base",
        "component",
        "delays",
        "library",
        "request",
        "responses",
        "route",
        "terminal",
    )

    def __init__(
        self, request: Any, library: Library, route: Route, component: str, fired: list[Firing]
    ) -> None:
        self.request = request
        self.library = library
        self.route = route
        self.component = component
        self.delays: list[Firing] = []
        self.terminal: Firing | None = None
        self.responses: list[Firing] = []
        self._base: dict[str, Any] | None = None
        for firing in fired:
            fault = firing.plan.fault
            kind = fault.fault_type
            if Site.transport not in fault.sites:
                _warn_once(
                    f"site{kind}", "aumai-chaos: %s cannot act on a transport: %s",
                    kind.value, fault.site_reason,
                )  # fmt: skip
            elif kind is FaultType.latency:
                self.delays.append(firing)
            elif kind in _TERMINAL:
                if self.terminal is None:
                    self.terminal = firing
            elif response_fault(kind) is not None:
                self.responses.append(firing)

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

    def act(self, firing: Firing, extra: dict[str, Any] | None = None, **kw: Any) -> Acting | None:
        attrs = self.attrs()
        if extra:
            attrs.update(extra)
        return act(firing, attrs, component=self.component, **kw)

    def context(self, firing: Firing) -> FaultContext:
        return FaultContext(
            firing, self.request, self.library, self.route, self.component, self.attrs
        )

    def terminal_step(self) -> tuple[Acting, float, Any, BaseException | None] | None:
        """Open the terminal fault: (acting, wait, response, exception), or None if it does
        not act after all."""
        firing = self.terminal
        if firing is None:
            return None
        fault: Any = firing.plan.fault
        kind = fault.fault_type
        request, lib = self.request, self.library
        if kind in _ANSWERS:
            answer = _answer(fault, self.route.provider)
            if answer is None:
                return None
            extra: dict[str, Any] = {ATTR_HTTP_STATUS: answer.status}
            if kind is FaultType.rate_limit:
                extra[ATTR_RETRY_AFTER] = float(fault.retry_after_s)
            acting = self.act(firing, extra)
            if acting is None:
                return None
            response = lib.response(answer.status, answer.headers, answer.body, request)
            return acting, 0.0, response, None
        if kind is FaultType.connect_error:
            acting = self.act(firing)
            if acting is None:
                return None
            message = fault.error_message or "[Errno 111] Connection refused (injected)"
            return acting, 0.0, None, lib.ConnectError(message, request=request)
        wait = _read_wait(fault, request)
        acting = self.act(firing, delay=wait)
        if acting is None:
            return None
        message = fault.error_message or "The read operation timed out (injected)"
        return acting, wait, None, lib.ReadTimeout(message, request=request)


def _after_failed(kind: FaultType, exc: BaseException) -> None:
    _warn_once(f"after{kind}", "aumai-chaos: %s handler failed (%r); passed through", kind, exc)


def run_sync(ex: Exchange, send: Callable[[Any], Any]) -> Any:
    """Carry out ``ex`` in a thread; ``send`` is the inner transport's ``handle_request``."""
    for firing in ex.delays:
        delay = firing.plan.delay
        acting = ex.act(firing, delay=delay)
        if acting is not None:
            try:
                acting.sleep(delay)
            finally:
                acting.end()
    step = ex.terminal_step()
    if step is not None:
        acting, wait, response, exc = step
        try:
            acting.sleep(wait)
        except BaseException as err:
            acting.end(err)
            raise
        acting.end(exc)
        if exc is not None:
            raise exc
        return response
    contexts = [ex.context(f) for f in ex.responses]
    for ctx in contexts:
        handler = response_fault(ctx.fault.fault_type)
        if handler is not None and (instead := handler.instead(ctx)) is not None:
            return instead
    response = send(ex.request)
    for ctx in contexts:
        handler = response_fault(ctx.fault.fault_type)
        if handler is None:
            continue
        ctx.response = response
        try:
            replaced = handler.after(ctx)
        except ex.library.module.HTTPError:
            raise
        except Exception as err:
            _after_failed(ctx.fault.fault_type, err)
            replaced = None
        if replaced is not None:
            response = replaced
    return response


async def run_async(ex: Exchange, send: Callable[[Any], Awaitable[Any]]) -> Any:
    """Carry out ``ex`` in a coroutine; waits yield to the event loop."""
    for firing in ex.delays:
        delay = firing.plan.delay
        acting = ex.act(firing, delay=delay)
        if acting is not None:
            try:
                await acting.asleep(delay)
            finally:
                acting.end()
    step = ex.terminal_step()
    if step is not None:
        acting, wait, response, exc = step
        try:
            await acting.asleep(wait)
        except BaseException as err:  # cancelled: the span still ends
            acting.end(err)
            raise
        acting.end(exc)
        if exc is not None:
            raise exc
        return response
    contexts = [ex.context(f) for f in ex.responses]
    for ctx in contexts:
        handler = response_fault(ctx.fault.fault_type)
        if handler is not None and (instead := handler.instead(ctx)) is not None:
            return instead
    response = await send(ex.request)
    for ctx in contexts:
        handler = response_fault(ctx.fault.fault_type)
        if handler is None:
            continue
        ctx.response = response
        try:
            replaced = await handler.aafter(ctx)
        except ex.library.module.HTTPError:
            raise
        except Exception as err:
            _after_failed(ctx.fault.fault_type, err)
            replaced = None
        if replaced is not None:
            response = replaced
    return response
