"""The MCP client instrumentation's cost on a real in-memory ``call_tool`` round trip.

The real ``mcp`` client and a real ``MCPServer`` in this process (the SDK's in-memory
transport), as in the tests. Against the same round trip uninstrumented:

- ``instrument()`` active with no experiment running: at most 1.02x (wrapt's ``enabled=`` gate
  reads ``state.routing`` in C and calls the SDK's own methods directly); 151 short rounds,
  as it compares two nearly equal costs;
- an experiment that watches the tool and never fires on it: the decision and the
  component-call span;
- a fault firing on every call (``latency`` of 0 ms): what firing adds over not firing, in
  microseconds and in the cost of one OpenTelemetry SDK span measured in the same run.

The uninstrumented floor is a client session on a ``JSONRPCDispatcher`` subclass whose methods
are the SDK's originals, so nothing is re-patched between samples (instrument() stays on; the
server's own dispatcher carries the idle gate in every variant alike). Samples are timed in
process CPU time, client and server together, on one event loop in a thread of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import statistics
import threading
import time
from typing import Any

from .harness import Budget, Row, Variant, interleave

__all__ = ["run"]

SECTION = "MCP client"
ARGS = {"text": "hi"}


class _Host:
    """One task on an event loop in a thread of its own, holding the sessions open (anyio
    wants a session entered and left in one task) and timing bursts of calls on request."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()
        self.ready.result(timeout=60)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._host())
        self.loop.close()

    async def _host(self) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                self.sessions = await _open(stack)
                self.ready.set_result(None)
                while (item := await self.queue.get()) is not None:
                    key, tool, n, done = item
                    try:
                        done.set_result(await self._burst(self.sessions[key], tool, n))
                    except BaseException as exc:
                        done.set_exception(exc)
        except BaseException as exc:
            if not self.ready.done():
                self.ready.set_exception(exc)
            raise

    @staticmethod
    async def _burst(session: Any, tool: str, n: int) -> int:
        call = session.call_tool
        it = itertools.repeat(None, n)
        t0 = time.process_time_ns()
        for _ in it:
            await call(tool, ARGS)
        return time.process_time_ns() - t0

    def timer(self, key: str, tool: str = "echo") -> Any:
        def burst(n: int) -> int:
            done: concurrent.futures.Future[int] = concurrent.futures.Future()
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (key, tool, n, done))
            return done.result()

        return burst

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, None)
        self.thread.join(30)


async def _open(stack: contextlib.AsyncExitStack) -> dict[str, Any]:
    """Two client sessions to one in-memory server: on the SDK's dispatcher (instrumented) and
    on an unpatched subclass of it (the floor)."""
    from mcp.client._memory import InMemoryTransport
    from mcp.client.session import ClientSession
    from mcp.server.mcpserver import MCPServer
    from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher

    from aumai_chaos.mcp._client import _state

    unpatched = type("Unpatched", (JSONRPCDispatcher,), _state.patches.originals(JSONRPCDispatcher))
    server = MCPServer("bench")

    @server.tool()
    def echo(text: str) -> str:
        return text

    @server.tool()
    def echo2(text: str) -> str:
        return text

    sessions = {}
    for key, cls in (("bare", unpatched), ("instrumented", JSONRPCDispatcher)):
        read, write = await stack.enter_async_context(InMemoryTransport(server))
        session = await stack.enter_async_context(ClientSession(dispatcher=cls(read, write)))
        await session.initialize()
        sessions[key] = session
    return sessions


def run(*, quick: bool) -> list[Row]:
    try:
        from opentelemetry.sdk.trace import TracerProvider

        import aumai_chaos
        import mcp  # noqa: F401
        from aumai_chaos.mcp import instrument, uninstrument
    except ImportError as exc:
        return [Row(SECTION, "mcp", note=f"unavailable: {exc}")]

    logging.getLogger("mcp").setLevel(logging.CRITICAL)
    # The idle budget compares two nearly equal costs: more, shorter rounds than the others.
    rounds, target = (5, 5_000_000) if quick else (61, 30_000_000)
    idle_rounds, idle_target = (5, 5_000_000) if quick else (151, 20_000_000)
    instrument()
    host = _Host()
    rows: list[Row] = []
    try:
        idle = interleave(
            [
                Variant("bare", host.timer("bare")),
                Variant("instrumented", host.timer("instrumented")),
            ],
            rounds=idle_rounds,
            target_ns=idle_target,
        )
        provider = TracerProvider()
        # echo fires on every call; echo2 is watched by the same experiment, never fired on
        faults = [
            {"fault_type": "latency", "duration_ms": 0, "affected_components": ["mcp.tool.echo"]},
            {
                "fault_type": "latency",
                "duration_ms": 0,
                "probability": 0.0,
                "affected_components": ["mcp.tool.echo2"],
            },
        ]
        with aumai_chaos.experiment(faults=faults, scope="process", tracer_provider=provider):
            firing = interleave(
                [
                    Variant("bare", host.timer("bare")),
                    Variant("watched", host.timer("instrumented", "echo2")),
                    Variant("firing", host.timer("instrumented")),
                ],
                rounds=rounds,
                target_ns=target,
            )
        span_ns = _span_ns(provider)
    finally:
        host.close()
        uninstrument()
    bare = idle["bare"].median()
    rows.append(
        Row(SECTION, "in-memory call_tool round trip, uninstrumented", bare / 1000, "us CPU/call")
    )
    rows.append(
        Row(
            SECTION,
            "in-memory call_tool, instrument() active, no experiment",
            idle["instrumented"].median() / 1000,
            "us CPU/call",
            _spread(idle["instrumented"]),
            ratio=_median_ratio(idle, "instrumented", "bare"),
            floor="uninstrumented (median of per-round ratios)",
            budget=Budget(1.02, "<= 1.02x uninstrumented"),
        )
    )
    for key, name, note in (
        (
            "watched",
            "an experiment watches it, nothing fires (p=0)",
            "the decision and the component-call span",
        ),
        ("firing", "a fault fires on every call (latency 0 ms)", ""),
    ):
        added = firing[key].median() - firing["bare"].median()
        if key == "firing":
            over = firing["firing"].median() - firing["watched"].median()
            note = (
                f"firing adds {over / 1000:+.1f} us over not firing = {over / span_ns:.1f}x "
                f"one SDK span ({span_ns / 1000:.1f} us): the chaos.fault span, its event "
                "and count"
            )
        rows.append(
            Row(
                SECTION,
                f"in-memory call_tool, {name}",
                firing[key].median() / 1000,
                "us CPU/call",
                _spread(firing[key]),
                ratio=_median_ratio(firing, key, "bare"),
                floor="uninstrumented (median of per-round ratios)",
                note=f"adds {added / 1000:+.1f} us; {note}",
            )
        )
    return rows


def _span_ns(provider: Any) -> float:
    """The CPU cost of one OpenTelemetry SDK span, started and ended (no exporter)."""
    tracer = provider.get_tracer("bench")
    attrs = {"chaos.component": "mcp.tool.echo", "mcp.method.name": "tools/call"}
    samples = []
    for _ in range(7):
        t0 = time.process_time_ns()
        for _ in range(2000):
            tracer.start_span("chaos.fault", attributes=attrs).end()
        samples.append((time.process_time_ns() - t0) / 2000)
    return statistics.median(samples)


def _median_ratio(samples: dict[str, Any], key: str, floor: str) -> float:
    pairs = zip(samples[key].per_call, samples[floor].per_call, strict=True)
    return statistics.median(a / b for a, b in pairs)


def _spread(sample: Any) -> str:
    p25, p75 = sample.quartiles()
    return f"{p25 / 1000:.1f}-{p75 / 1000:.1f}"
