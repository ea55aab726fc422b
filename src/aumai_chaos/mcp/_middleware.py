"""``ChaosMiddleware``: MCP faults inside a server you own, as the server itself would fail.

A ``ServerMiddleware`` of the ``mcp`` SDK (``MCPServer(name, middleware=[...])`` or
``server.middleware.append(...)``). It runs inside the SDK's ``OpenTelemetryMiddleware``, so
a ``chaos.fault`` span is a child of the server's ``tools/call <tool>`` span, and what it
answers goes through the SDK's own error handling: ``jsonrpc_error`` raises the SDK's
``MCPError`` (a JSON-RPC error response), ``mcp_tool_error`` and ``tool_vanished`` return the
``isError`` result the server gives for a tool that raised or does not exist, ``latency`` and
``mcp_timeout`` hold the answer (a client that gives up cancels the request, which cancels the
wait), and output faults rewrite the real result.

Its own ``faults`` apply to the components their ``affected_components`` name (every request
when empty); experiments running in the server process apply too, as everywhere, and so do
experiments armed here (``aumai_chaos.arm``) that the caller's baggage names, carried in the
request's ``_meta`` by the ``mcp`` SDK.
``mcp_disconnect`` is refused: a server cannot die from its middleware without taking its
process down; the client-side ``instrument()`` stands for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import Token
from fnmatch import fnmatchcase
from typing import Any

import anyio
from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from aumai_chaos import propagation
from aumai_chaos._engine import selection
from aumai_chaos._engine.act import Firing
from aumai_chaos._engine.calls import FaultSet, decide
from aumai_chaos.errors import ConfigError
from aumai_chaos.faults import Action, FaultConfig, FaultType, Site
from aumai_chaos.mcp._answers import (
    REQUEST_TIMEOUT,
    answer,
    error_attributes,
    request_attributes,
    rewrite_result,
)
from aumai_chaos.mcp._names import component_for

__all__ = ["ChaosMiddleware"]


def _checked(index: int, fault: Any) -> FaultConfig:
    from pydantic import ValidationError

    from aumai_chaos.transport.routes import check_fault_on_route, check_route_name

    try:
        built: FaultConfig = (
            fault if isinstance(fault, FaultConfig) else FaultConfig.model_validate(fault)
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"] if not str(p).startswith("tagged-"))
        field = f"faults[{index}]" + (f".{where}" if where else "")
        raise ConfigError(f"ChaosMiddleware: {field}: {err['msg']}") from None
    kind = built.fault_type.value
    if Site.mcp not in built.sites:
        raise ConfigError(
            f"ChaosMiddleware cannot inject {kind}: it is no MCP failure (use mcp_tool_error, "
            "jsonrpc_error, mcp_timeout, tool_vanished, latency, empty_output or "
            "truncated_output)"
        )
    if built.fault_type is FaultType.mcp_disconnect:
        raise ConfigError(
            "ChaosMiddleware cannot inject mcp_disconnect: a server cannot die from its "
            "middleware; use aumai_chaos.mcp.instrument() on the client"
        )
    for name in built.affected_components:
        why = check_route_name(name) or check_fault_on_route(built, name)
        if why is not None:
            raise ConfigError(f"ChaosMiddleware: {why}")
    return built


class ChaosMiddleware:
    """A ``ServerMiddleware`` that injects MCP faults into the requests a server receives.

    ``faults`` are its own (validated here: a fault that cannot act on an MCP request raises
    :class:`~aumai_chaos.ConfigError`); ``seed`` makes their selection replay
    (docs/replay.md). Experiments running in the server process reach it as well.
    """

    __slots__ = ("_own", "_scoped", "_stamp")

    def __init__(
        self,
        *,
        faults: Iterable[FaultConfig | dict[str, Any]] = (),
        seed: int | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        checked = [_checked(i, f) for i, f in enumerate(faults)]
        self._own = (
            FaultSet(
                checked,
                site=Site.mcp,
                seed=seed,
                tracer_provider=tracer_provider,
                meter_provider=meter_provider,
                where="ChaosMiddleware",
            )
            if checked
            else None
        )
        self._scoped = any(f.affected_components for f in checked)
        #: The server's ``serverInfo`` stamp, as seen on a result that passed through.
        self._stamp: Any = None

    def _envelope(self, ctx: Any, result: dict[str, Any]) -> dict[str, Any]:
        """``result`` as the SDK would put the server's own on the wire: a middleware that
        answers is trusted with the envelope. On a modern protocol version, ``resultType``
        and the ``serverInfo`` stamp (learnt from the results that passed through)."""
        from mcp_types.version import MODERN_PROTOCOL_VERSIONS

        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            return result
        out = {**result, "resultType": "complete"}
        if self._stamp is not None:
            out["_meta"] = {_SERVER_INFO: self._stamp}
        return out

    def _learn(self, result: Any) -> None:
        if self._stamp is None and isinstance(result, dict):
            meta = result.get("_meta")
            if isinstance(meta, dict) and isinstance(meta.get(_SERVER_INFO), dict):
                self._stamp = dict(meta[_SERVER_INFO])

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        if self._own is None and not state_routing():
            result = await call_next(ctx)
            if self._stamp is None:
                self._learn(result)
            return result
        token = _baggage_from_meta(ctx.meta)
        try:
            return await self._decided(ctx, call_next)
        finally:
            if token is not None:
                otel_context.detach(token)

    async def _decided(self, ctx: Any, call_next: Any) -> Any:
        method = ctx.method
        params = ctx.params
        component = component_for(method, params)
        decision = decide(component, self._own, site=Site.mcp)
        if decision is None:
            return await call_next(ctx)
        call = decision.call
        if call is not None:
            call.enter()
        result: Any = None
        try:
            result = await self._act(ctx, call_next, component, decision.firings, decision.start)
        except BaseException as exc:
            if call is not None:
                call.exit(exc)
            raise
        if call is not None:
            if _is_error(result):
                call.fail("tool_error", "the tool answered isError")
            else:
                call.exit(None)
        return result

    async def _act(
        self, ctx: Any, call_next: Any, component: str, firings: list[Firing], start: float
    ) -> Any:
        method, params = ctx.method, ctx.params
        attrs = request_attributes(method, params, ctx.request_id)
        delays: list[Firing] = []
        afters: list[Firing] = []
        instead: Firing | None = None
        for firing in firings:
            fault = firing.plan.fault
            scope = fault.affected_components if firing.plan.experiment_id is None else ()
            if scope and not any(component == c or fnmatchcase(component, c) for c in scope):
                firing.skip()
            elif firing.plan.action is Action.before:
                delays.append(firing)
            elif firing.plan.action is Action.after or (
                fault.fault_type is FaultType.tool_vanished and method == "tools/list"
            ):
                afters.append(firing)
            elif (
                instead is None
                and fault.fault_type is not FaultType.mcp_disconnect
                and answer(fault, method, params) is not None
            ):
                instead = firing
            else:
                firing.skip()
        begun = [f for f in delays if f.begin(attrs, start=start)]
        try:
            for firing in begun:
                await anyio.sleep(max(0.0, firing.remaining()))
            if instead is not None:
                result = await self._instead(ctx, call_next, instead, attrs, start)
                if result is not _PASS:
                    return result
            result = await call_next(ctx)
            self._learn(result)
            for firing in afters:
                raw = _as_dict(result)
                new = rewrite_result(firing.plan.fault, method, raw) if raw is not None else None
                if new is None or not firing.begin(attrs, start=start):
                    firing.skip()
                    continue
                firing.end()
                result = _like(result, new)
            return result
        finally:
            for firing in begun:
                firing.end()

    async def _instead(
        self, ctx: Any, call_next: Any, firing: Firing, attrs: dict[str, Any], start: float
    ) -> Any:
        fault = firing.plan.fault
        ans = answer(fault, ctx.method, ctx.params)
        assert ans is not None  # checked by the caller
        extra = dict(attrs)
        if ans.error is not None:
            extra.update(error_attributes(ans.error[0]))
        elif ans.result is not None:
            extra.update(error_attributes("tool_error"))
        else:
            extra.update(error_attributes(REQUEST_TIMEOUT))
        if not firing.begin(extra, start=start):
            return _PASS
        try:
            if ans.error is not None:
                from mcp.shared.exceptions import MCPError

                code, message = ans.error
                raise MCPError(code=code, message=message)
            if ans.result is not None:
                return self._envelope(ctx, ans.result)
            # mcp_timeout: the server hangs; a client that gives up cancels this wait
            await anyio.sleep(max(0.0, firing.remaining()))
            return _PASS
        finally:
            firing.end()


_PASS = object()
_SERVER_INFO = "io.modelcontextprotocol/serverInfo"


def _baggage_from_meta(meta: Any) -> Token[Context] | None:
    """While experiments are armed here: put the experiment that the request's ``_meta``
    baggage names into the current context, when the SDK did not (it takes ``_meta``'s context
    only with a valid ``traceparent``). Only that one baggage entry: the span stays the SDK's."""
    if not selection.state.armed or not meta or propagation.experiment_id() is not None:
        return None
    carried = propagation.extract({k: v for k, v in meta.items() if isinstance(v, str)})
    ident = propagation.experiment_id(carried)
    if ident is None:
        return None
    return otel_context.attach(baggage.set_baggage(propagation.BAGGAGE_KEY, ident))


def state_routing() -> bool:
    from aumai_chaos._engine.registry import state

    return state.routing


def _like(original: Any, new: dict[str, Any]) -> Any:
    """``new`` as the same kind of value as ``original`` (a model of the same class, or a
    dict), so that the SDK serialises it as it would the handler's own result."""
    if isinstance(original, dict):
        return new
    validate = getattr(type(original), "model_validate", None)
    return validate(new) if validate is not None else new


def _as_dict(result: Any) -> dict[str, Any] | None:
    if isinstance(result, dict):
        return result
    dump = getattr(result, "model_dump", None)
    if dump is None:
        return None
    dumped: dict[str, Any] = dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


def _is_error(result: Any) -> bool:
    if isinstance(result, dict):
        return result.get("isError") is True
    return getattr(result, "is_error", False) is True
