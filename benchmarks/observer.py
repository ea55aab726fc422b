"""``ExperimentObserver``: ns per span in ``on_end``, and memory over 1,000,000 spans.

Spans are built once as SDK ``ReadableSpan`` objects and handed to ``on_end`` again and again:
an application span it ignores, a component-call span (one ``call`` observation) and a
component-call span carrying a ``chaos.fault.injected`` event (two observations). The memory
check feeds a million of them, cycling, to an observer bounded at 10,000 observations: once the
bound is reached the resident set must stay flat, and the store must hold no more than the bound.
"""

from __future__ import annotations

import functools
import gc
import itertools
import time
import tracemalloc
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

from .harness import Budget, Row, Variant, call_ns, interleave
from .soak import rss_bytes

__all__ = ["run"]

SECTION = "Observer"
EXP = "bench-observer"
MAX_OBS = 10_000


def _spans() -> dict[str, ReadableSpan]:
    ctx = SpanContext(trace_id=0x1234, span_id=0x5678, is_remote=False, trace_flags=TraceFlags(1))
    now = time.time_ns()
    comp = "bench.tool"
    call_attrs = {"chaos.component": comp, "chaos.experiment.id": EXP}
    fault_attrs = {
        "chaos.fault.type": "error",
        "chaos.fault.probability": 0.5,
        "chaos.fault.error_code": 503,
        "chaos.component": comp,
        "chaos.experiment.id": EXP,
    }

    def span(name: str, attrs: dict[str, Any], **kw: Any) -> ReadableSpan:
        return ReadableSpan(
            name, context=ctx, attributes=attrs, start_time=now, end_time=now + 1_500_000, **kw
        )

    return {
        "application span (ignored)": span("GET /search", {"http.request.method": "GET"}),
        "component-call span": span(comp, call_attrs),
        "component-call span with a fault event": span(
            comp,
            {**call_attrs, "error.type": "aumai_chaos.errors.ChaosError"},
            events=(Event("chaos.fault.injected", fault_attrs, timestamp=now + 1000),),
            status=Status(StatusCode.ERROR, "injected"),
        ),
    }


def run(*, quick: bool) -> list[Row]:
    try:
        from aumai_chaos import ExperimentObserver
    except ImportError as exc:
        return [Row(SECTION, "ExperimentObserver", note=f"pending: {exc}")]
    spans = _spans()
    rows: list[Row] = []
    observer = ExperimentObserver(max_observations=MAX_OBS, experiment_id=EXP)
    variants = [
        Variant(name, functools.partial(_on_end_ns, observer.on_end, span))
        for name, span in spans.items()
    ]
    samples = interleave(
        variants, rounds=5 if quick else 25, target_ns=1_000_000 if quick else 10_000_000
    )
    for name, s in samples.items():
        p25, p75 = s.quartiles()
        rows.append(Row(SECTION, f"on_end: {name}", s.median(), spread=f"{p25:.0f}-{p75:.0f}"))
    rows += _memory(ExperimentObserver, list(spans.values()), 30_000 if quick else 1_000_000)
    return rows


def _on_end_ns(on_end: Any, span: ReadableSpan, n: int) -> int:
    return call_ns(functools.partial(on_end, span), n)


def _memory(observer_cls: Any, spans: list[ReadableSpan], total: int) -> list[Row]:
    gc.collect()
    tracemalloc.start()
    observer = observer_cls(max_observations=MAX_OBS, experiment_id=EXP)
    cycle = itertools.cycle(spans)
    on_end = observer.on_end
    warm = min(total // 2, 3 * MAX_OBS)  # past the bound: the store is full from here on
    for span in itertools.islice(cycle, warm):
        on_end(span)
    gc.collect()
    store_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    full = rss_bytes()
    samples = []
    t0 = time.perf_counter()
    step = max(1, (total - warm) // 10)
    fed = warm
    while fed < total:
        for span in itertools.islice(cycle, min(step, total - fed)):
            on_end(span)
        fed += min(step, total - fed)
        samples.append(rss_bytes())
    elapsed = time.perf_counter() - t0
    gc.collect()
    after = rss_bytes()
    kept = len(observer.get_observations())
    mb = 1024 * 1024
    growth = (after - full) / mb
    return [
        Row(
            SECTION,
            f"observations kept after {total:,} spans (bound {MAX_OBS:,}; {observer.dropped:,} "
            "dropped)",
            float(kept),
            "observations",
            # Faults and the rest are bounded separately (ExperimentObserver): MAX_OBS each.
            budget=Budget(
                2 * MAX_OBS,
                f"≤ {MAX_OBS:,} of each kind (enforced, exact)",
                ratio=False,
                tolerance=0.0,
            ),
        ),
        Row(
            SECTION,
            f"memory of a full store ({MAX_OBS:,} observations, tracemalloc)",
            store_bytes / mb,
            "MB",
        ),
        Row(
            SECTION,
            f"RSS growth from full store to {total:,} spans",
            growth,
            "MB",
            f"peak +{(max(samples, default=after) - full) / mb:.2f} MB; "
            f"{elapsed / max(1, total - warm) * 1e9:.0f} ns/span in the loop",
            budget=Budget(
                2.0,
                "≤ 2 MB (flat once the bound is reached; enforced, +50%)",
                ratio=False,
                tolerance=0.5,
            ),
        ),
    ]
