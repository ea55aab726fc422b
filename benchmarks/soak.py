"""The soak (issue 8): a workload calling targeted components for ``--soak-seconds`` (600 s by
default) inside a running experiment whose faults fire, with observations capped. The resident
set is sampled every few seconds; its growth after warm-up must stay under a few MB.

Two threads call sync components and one thread runs an event loop with 20 tasks calling async
components; error and latency faults fire on a few percent of calls and are caught as a user's
code would. The SDK tracer provider counts spans and keeps none, so that nothing but aumai-chaos
itself could grow. ``make bench`` runs it for ten minutes and reports the growth;
``make bench-quick`` (CI) runs :data:`QUICK_SECONDS` of it and *enforces* the bound: a leak of a
few bytes a call (the 2026 observer leak kept ~100 bytes a call) grows by tens of MB in that time.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import threading
import time

from aumai_chaos import FaultConfig, InjectedFaultError, chaos_target

from . import env
from .harness import Budget, Row

__all__ = ["rss_bytes", "run"]

SECTION = "Soak"
GROWTH_BUDGET_MB = 5.0
SAMPLE_EVERY = 5.0
#: The quick soak: long enough that the store of observations is full and RSS has settled
#: (the warm-up) and then a bounded time in which per-call growth would show.
QUICK_SECONDS = 45.0
QUICK_WARMUP = 15.0
#: Enforced in the quick soak: the budget plus this fraction (settled runs grow < 0.3 MB).
QUICK_TOLERANCE = 0.5


def rss_bytes() -> int:
    """The resident set size of this process now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run(*, seconds: float, warmup: float | None = None, enforce: bool = False) -> list[Row]:
    """Soak for ``seconds``; the growth counts from ``warmup`` seconds (default 10% of the run,
    5 to 60 s). With ``enforce`` the growth budget is enforced (``--enforce``)."""
    if env.experiment_mode().startswith("unavailable"):
        return [Row(SECTION, "soak", note="pending: no experiment runner")]
    sdk = env.sdk(keep_spans=False)
    comps = ("soak.search", "soak.llm")

    @chaos_target(comps[0])
    def search() -> int:
        return 1

    @chaos_target(comps[1])
    async def llm() -> int:
        return 1

    faults = [
        FaultConfig(fault_type="error", probability=0.02, affected_components=comps),
        FaultConfig(
            fault_type="latency", duration_ms=1, probability=0.05, affected_components=comps
        ),
    ]
    stop = threading.Event()
    calls = [0]
    injected = [0]
    lock = threading.Lock()

    def sync_worker() -> None:
        n = k = 0
        while not stop.is_set():
            try:
                search()
            except InjectedFaultError:
                k += 1
            n += 1
        with lock:
            calls[0] += n
            injected[0] += k

    async def task() -> None:
        n = k = 0
        while not stop.is_set():
            try:
                await llm()
            except InjectedFaultError:
                k += 1
            n += 1
            await asyncio.sleep(0)
        with lock:
            calls[0] += n
            injected[0] += k

    async def tasks() -> None:
        await asyncio.gather(*(task() for _ in range(20)))

    if warmup is None:
        warmup = min(60.0, max(5.0, seconds * 0.1))
    samples: list[tuple[float, int]] = []
    with env.running_experiment(
        "soak",
        faults,
        tracer_provider=sdk.tracer_provider,
        meter_provider=sdk.meter_provider,
        duration_seconds=seconds + 60,
    ) as exp:
        workers = [threading.Thread(target=sync_worker, daemon=True) for _ in range(2)]
        workers.append(threading.Thread(target=lambda: asyncio.run(tasks()), daemon=True))
        t0 = time.monotonic()
        for w in workers:
            w.start()
        while (now := time.monotonic() - t0) < seconds:
            samples.append((now, rss_bytes()))
            time.sleep(min(SAMPLE_EVERY, max(0.0, seconds - now)))
        stop.set()
        for w in workers:
            w.join(10)
        elapsed = time.monotonic() - t0
        gc.collect()
        samples.append((elapsed, rss_bytes()))
    result = exp.result
    sdk.shutdown()
    mb = 1024 * 1024
    base = next((rss for t, rss in samples if t >= warmup), samples[-1][1])
    final = samples[-1][1]
    peak = max(rss for _, rss in samples)
    kept = len(result.observations) if result is not None else 0
    dropped = result.dropped_observations if result is not None else 0
    spans = sdk.counter.ended if sdk.counter else 0
    detail = (
        f"{calls[0]:,} calls in {elapsed:.0f} s, {injected[0]:,} injected errors caught, "
        f"{spans:,} spans; observations kept {kept:,}, dropped {dropped:,}"
    )
    return [
        Row(
            SECTION,
            f"RSS growth after {warmup:.0f} s warm-up, {seconds:.0f} s run",
            (final - base) / mb,
            "MB",
            f"RSS {base / mb:.1f} → {final / mb:.1f} MB, peak {peak / mb:.1f} MB",
            budget=Budget(
                GROWTH_BUDGET_MB,
                f"< {GROWTH_BUDGET_MB:g} MB" + ("; enforced, +50%" if enforce else ""),
                ratio=False,
                tolerance=QUICK_TOLERANCE if enforce else None,
            ),
            note=detail,
        )
    ]
