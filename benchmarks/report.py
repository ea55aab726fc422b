"""The markdown report: a header with the machine and versions, then one table per section."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata

from .harness import Row

__all__ = ["METHOD", "header", "machine", "render", "table", "versions"]

METHOD = """\
Per-call rows come from one interleaved run: each round times every variant once (an inner
loop of N calls, N calibrated per variant to a fixed sample length), in an order shuffled per
round with a fixed seed, so drifts of a shared machine hit every row alike. ns/call is the median
over rounds with the cost of the empty loop (measured as a variant of its own) taken off; the
spread is the interquartile range over rounds. Ratios are to floor rows of the *same* run and
shape: plain functions to the `functools.wraps` passthrough, methods to the wrapt passthrough (a
method pays wrapt's binding either way); the methods budget is applied to every method row that
does not fire. A firing row with the SDK is "firing bookkeeping, the delay excluded": its ratio is
what firing adds to the same call not firing (`@chaos_monkey` p=0, or `@chaos_target` in the
experiment at p=0, whose component-call span is paid either way) over one SDK span carrying one
event on the same provider.

Async rows await the callable N times inside one coroutine driven by `coro.send(None)` with no
event loop: nothing suspends, so no loop scheduling is timed, only the per-call cost of creating
and awaiting the coroutine. The async `functools.wraps` floor is an `async def` passthrough (it
stays a coroutine function, as ours does). "SDK" is a `TracerProvider` with
`SimpleSpanProcessor(InMemorySpanExporter())` and a `MeterProvider(InMemoryMetricReader())`,
passed as `tracer_provider=`/`meter_provider=`; "no SDK" is the OpenTelemetry API with nothing
installed (experiments then observe through their private SDK provider)."""


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, str]:
    load = ""
    if hasattr(os, "getloadavg"):
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "Python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "load average (1/5/15 min) at start": load,
    }


def versions(extra: dict[str, str] | None = None) -> dict[str, str]:
    out = {}
    for name in ("aumai-chaos", "wrapt", "opentelemetry-api", "opentelemetry-sdk"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out.update(extra or {})
    return out


def header(mode: str, info: dict[str, str], vers: dict[str, str], notes: Sequence[str] = ()) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# aumai-chaos overhead benchmarks",
        "",
        f"Run {now}, mode **{mode}**. Regenerate with `make bench` (`make bench-quick` for the "
        "quick mode CI runs, whose numbers are not meant to be read).",
        "",
        "| machine | |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += ["", "| package | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in vers.items()]
    lines += ["", "## Method", "", METHOD]
    if notes:
        lines += ["", *[f"- {n}" for n in notes]]
    return "\n".join(lines)


def _fmt(value: float | None, unit: str) -> str:
    if value is None or value != value:
        return "—"
    if unit == "ns/call":
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def _verdict(row: Row) -> str:
    if row.note.startswith(("pending", "unavailable")):
        return row.note.split(":", 1)[0]
    ok = row.ok
    if ok is None:
        return ""
    return "pass" if ok else "**FAIL**"


def table(rows: Sequence[Row]) -> str:
    per_call = all(r.unit == "ns/call" for r in rows if r.value is not None)
    head = "ns/call" if per_call else "value"
    lines = [
        f"| name | {head} | spread | ratio to its floor | budget | pass/fail |",
        "|---|---:|---|---:|---|---|",
    ]
    for r in rows:
        ratio = f"{r.ratio:.2f}x {r.floor}" if r.ratio is not None else ""
        value = _fmt(r.value, r.unit)
        budget = r.budget.text if r.budget else ""
        name = f"{r.name} ({r.note})" if r.note else r.name
        lines.append(f"| {name} | {value} | {r.spread} | {ratio} | {budget} | {_verdict(r)} |")
    return "\n".join(lines)


def render(head: str, rows: Sequence[Row]) -> str:
    sections: dict[str, list[Row]] = {}
    for r in rows:
        sections.setdefault(r.section, []).append(r)
    parts = [head]
    failed = [r for r in rows if r.ok is False]
    budgeted = [r for r in rows if r.ok is not None]
    enforced = [r for r in rows if r.enforced_ok is not None]
    missed = [r for r in enforced if r.enforced_ok is False]
    parts += [
        "",
        "## Budgets",
        "",
        f"{len(budgeted) - len(failed)} of {len(budgeted)} budgeted rows pass."
        + (" Failing: " + "; ".join(r.name for r in failed) + "." if failed else ""),
        "",
        f"Enforced (`--enforce`, which CI runs): {len(enforced) - len(missed)} of "
        f"{len(enforced)} pass within their tolerance"
        + (". Missed: " + "; ".join(r.name for r in missed) + "." if missed else "."),
    ]
    for section, items in sections.items():
        parts += ["", f"## {section}", "", table(items)]
    return "\n".join(parts) + "\n"


def missed_enforced(rows: Sequence[Row]) -> list[Row]:
    """The rows whose enforced budget was missed (beyond its tolerance, or not measured)."""
    return [r for r in rows if r.enforced_ok is False]
