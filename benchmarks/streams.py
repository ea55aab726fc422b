"""Stream faults: the cost of a wrapped stream on which nothing fires, and how exact a stall is.

Per chunk: an ``httpx2`` client reads a streamed chat completion of ``EVENTS`` events (one
chunk each) from ``ProviderServer`` on loopback, through a plain ``HTTPTransport`` and through
one that wraps the body with a ``stream_stall`` after a million events (so the wrapper counts
every event and never fires). Rounds are interleaved; the value is the median ns per chunk, the
ratio is against the unwrapped stream. An in-memory row (the same events from a list, no
socket) shows the wrapper's own cost per chunk, with no budget.

Stall: a ``ChaosTransport`` with ``stream_stall`` after 2 events of 1, 20 and 100 ms over an
in-memory event stream (``MockTransport``), the SDK configured; the gap the client sees between
its second and third event, minus the stall, against a plain ``time.sleep`` of the same length.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time
from typing import Any

from aumai_chaos.faults import FaultConfig

from . import env
from .harness import SEED, Budget, Row, Variant, interleave, percentile

__all__ = ["run"]

SECTION = "Stream faults"
EVENTS = 400
DELAYS_MS = (1, 20, 100)
RATIO_BUDGET = Budget(1.05, "≤ 1.05x unwrapped, per chunk")
STALL_BUDGET = Budget(0.1, "median ≤ plain sleep's + 0.1 ms", ratio=False)
NEVER = FaultConfig(fault_type="stream_stall", after_chunks=1_000_000, duration_ms=1)


class _Quiet:
    """FaultHooks for the wrapper alone: nothing acts in these runs."""

    def begin(self, fault: Any, attributes: Any) -> object | None:  # pragma: no cover
        return None

    def end(self, token: object, error: BaseException | None) -> None:  # pragma: no cover
        pass

    def skip(self, fault: Any) -> None:
        pass

    def sleep(self, token: object, seconds: float) -> None:  # pragma: no cover
        time.sleep(seconds)

    async def asleep(self, token: object, seconds: float) -> None:  # pragma: no cover
        pass


def _wrapping_transport(httpx2: Any) -> Any:
    from aumai_chaos.transport._streams import wrap_sync_stream

    class Wrapping(httpx2.HTTPTransport):  # type: ignore[misc]
        def handle_request(self, request: Any) -> Any:
            response = super().handle_request(request)
            response.stream = wrap_sync_stream(
                response.stream, [NEVER], request=request, api=None, hooks=_Quiet()
            )
            return response

    return Wrapping()


def _per_chunk(quick: bool) -> list[Row]:
    import httpx2

    from aumai_chaos.testing import ProviderServer, TextReply
    from aumai_chaos.transport._streams import wrap_sync_stream

    text = " ".join(f"w{i}" for i in range(EVENTS))
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}
    rows: list[Row] = []
    with ProviderServer(responder=lambda _req: TextReply(text)) as server:
        url = f"{server.openai_base_url}/chat/completions"
        plain = httpx2.Client(transport=httpx2.HTTPTransport())
        wrapped = httpx2.Client(transport=_wrapping_transport(httpx2))
        counted: dict[str, int] = {}

        def reader(client: Any, key: str) -> Any:
            def timer(n: int) -> int:
                chunks = 0
                t0 = time.perf_counter_ns()
                for _ in range(n):
                    with client.stream("POST", url, json=body) as response:
                        for _chunk in response.iter_raw():
                            chunks += 1
                elapsed = time.perf_counter_ns() - t0
                counted[key] = chunks // n
                return elapsed // max(1, counted[key])

            return timer

        variants = [
            Variant("plain", reader(plain, "plain"), n=1),
            Variant("wrapped", reader(wrapped, "wrapped"), n=1),
        ]
        samples = interleave(variants, rounds=5 if quick else 40, target_ns=0)
        base = samples["plain"].median()
        for key, label in (("plain", "unwrapped"), ("wrapped", "wrapped, nothing fires")):
            s = samples[key]
            q1, q3 = s.quartiles()
            rows.append(
                Row(
                    SECTION,
                    f"loopback SSE read, httpx2, {label}",
                    s.median(),
                    "ns/chunk",
                    f"IQR {q1:.0f}-{q3:.0f} ({counted.get(key, 0)} chunks/stream)",
                    ratio=s.median() / base if key == "wrapped" else None,
                    floor="unwrapped" if key == "wrapped" else "",
                    budget=RATIO_BUDGET if key == "wrapped" else None,
                )
            )
        plain.close()
        wrapped.close()

    events = [b'data: {"choices":[{"index":0,"delta":{"content":"w"}}]}\n\n'] * EVENTS
    request = httpx2.Request("POST", "http://x/v1/chat/completions")

    class Inner:
        def __iter__(self) -> Any:
            return iter(events)

        def close(self) -> None:
            pass

    def memory(wrap: bool) -> Any:
        def timer(n: int) -> int:
            t0 = time.perf_counter_ns()
            for _ in range(n):
                stream: Any = Inner()
                if wrap:
                    stream = wrap_sync_stream(
                        stream, [NEVER], request=request, api=None, hooks=_Quiet()
                    )
                for _chunk in stream:
                    pass
            return (time.perf_counter_ns() - t0) // EVENTS

        return timer

    mem = interleave(
        [Variant("bare", memory(False)), Variant("wrap", memory(True))],
        rounds=5 if quick else 30,
        target_ns=2_000_000,
    )
    cost = mem["wrap"].median() - mem["bare"].median()
    rows.append(
        Row(
            SECTION,
            "in memory: the wrapper's own cost (wrapped - bare list iterator)",
            cost,
            "ns/chunk",
            f"bare {mem['bare'].median():.0f} ns/chunk",
        )
    )
    return rows


def _stalls(quick: bool) -> list[Row]:
    import httpx2

    from aumai_chaos.transport import ChaosTransport

    sdk = env.sdk()
    event = b'data: {"choices":[{"index":0,"delta":{"content":"w"}}]}\n\n'

    def handler(request: Any) -> Any:
        return httpx2.Response(
            200,
            headers={"content-type": "text/event-stream"},
            content=iter([event] * 4),
        )

    clients = {}
    for d in DELAYS_MS:
        fault = FaultConfig(fault_type="stream_stall", after_chunks=2, duration_ms=d)
        transport = ChaosTransport(
            httpx2.MockTransport(handler),
            faults=[fault],
            tracer_provider=sdk.tracer_provider,
            meter_provider=sdk.meter_provider,
        )
        clients[d] = httpx2.Client(transport=transport, timeout=None)

    def stalled(d: int) -> float:
        client = clients[d]
        url = "http://provider.test/v1/chat/completions"
        with client.stream("POST", url, json={"stream": True}) as response:
            it = iter(response.iter_raw())
            next(it)
            next(it)
            t0 = time.perf_counter()
            next(it)
            gap = time.perf_counter() - t0
            for _ in it:
                pass
        return gap * 1e3 - d

    def plain(d: int) -> float:
        t0 = time.perf_counter()
        time.sleep(d / 1000)
        return (time.perf_counter() - t0) * 1e3 - d

    counts = {1: 20, 20: 5, 100: 3} if quick else {1: 300, 20: 100, 100: 40}
    schedule = list(itertools.chain.from_iterable([d] * n for d, n in counts.items()))
    random.Random(SEED).shuffle(schedule)
    over: dict[tuple[str, int], list[float]] = {}
    rng = random.Random(SEED)
    for d in schedule:
        pair = [("plain", plain), ("stall", stalled)]
        rng.shuffle(pair)
        for who, fn in pair:
            over.setdefault((who, d), []).append(fn(d))
        sdk.clear()
    rows = []
    for d in DELAYS_MS:
        p = over[("plain", d)]
        s = over[("stall", d)]
        p_med = statistics.median(p)
        rows.append(
            Row(
                SECTION,
                f"stream_stall {d} ms, sync, plain sleep",
                p_med,
                "ms",
                f"overshoot median {p_med:.3f} ms, p99 {percentile(p, 99):.3f} ms (n={len(p)})",
            )
        )
        med = statistics.median(s)
        rows.append(
            Row(
                SECTION,
                f"stream_stall {d} ms, sync, ChaosTransport (excess over plain)",
                med - p_med,
                "ms",
                f"overshoot median {med:.3f} ms, p99 {percentile(s, 99):.3f} ms (n={len(s)})",
                budget=STALL_BUDGET,
            )
        )
    for client in clients.values():
        client.close()
    sdk.shutdown()
    return rows


def run(*, quick: bool) -> list[Row]:
    return _per_chunk(quick) + _stalls(quick)
