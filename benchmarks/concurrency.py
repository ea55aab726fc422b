"""1,000 coroutines, each with a 100 ms latency fault, at once: total wall time.

Delays never block the event loop, so the whole batch should take about one delay. Timed for
``@chaos_monkey`` and for ``@chaos_target`` in a running experiment (whose delays wait on the
experiment's window), with the SDK configured, against 1,000 plain ``asyncio.sleep(0.1)``.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aumai_chaos import FaultConfig, chaos_monkey, chaos_target

from . import env
from .harness import Budget, Row

__all__ = ["run"]

SECTION = "Concurrency: 1,000 coroutines x 100 ms latency fault"
N = 1000
DELAY_MS = 100


async def _batch(f: Callable[[], Awaitable[Any]]) -> float:
    t0 = time.perf_counter()
    await asyncio.gather(*(f() for _ in range(N)))
    return time.perf_counter() - t0


def run(*, quick: bool) -> list[Row]:
    sdk = env.sdk()
    prov = {"tracer_provider": sdk.tracer_provider, "meter_provider": sdk.meter_provider}

    @chaos_monkey(fault_type="latency", duration_ms=DELAY_MS, component="conc.monkey", **prov)
    async def monkey() -> int:
        return 1

    @chaos_target("conc.target")
    async def target() -> int:
        return 1

    def plain() -> Awaitable[None]:
        return asyncio.sleep(DELAY_MS / 1000)

    variants: dict[str, Callable[[], Awaitable[Any]]] = {
        "plain asyncio.sleep": plain,
        "@chaos_monkey": monkey,
        "@chaos_target in experiment": target,
    }
    walls: dict[str, list[float]] = {k: [] for k in variants}
    fault = FaultConfig(
        fault_type="latency", duration_ms=DELAY_MS, affected_components=("conc.target",)
    )
    with env.running_experiment("concurrency", [fault], **prov):

        async def main() -> None:
            for _ in range(1 if quick else 5):
                for name, f in variants.items():
                    walls[name].append(await _batch(f))
                    sdk.clear()

        asyncio.run(main())
    sdk.shutdown()
    budget = Budget(0.5, "< 0.5 s (enforced, +50%)", ratio=False, tolerance=0.5)
    rows = []
    for name, xs in walls.items():
        rows.append(
            Row(
                SECTION,
                name,
                statistics.median(xs),
                "s",
                f"{min(xs):.3f}-{max(xs):.3f} s (n={len(xs)})",
                budget=None if name.startswith("plain") else budget,
            )
        )
    return rows
