"""The report page: the verdict, key numbers, the charts over time and the tables.

The numbers a reader checks carry ``data-*`` attributes (``data-field`` on table cells,
``data-verdict`` on the page) so that a test can compare them with the result they came from.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from aumai_chaos._engine.registry import is_glob
from aumai_chaos._version import __version__
from aumai_chaos.cli._html._format import e, ms, num, pct, when
from aumai_chaos.cli._html._recovery import recovery_section
from aumai_chaos.cli._html._style import CSS, VERDICT_COLORS, fault_color
from aumai_chaos.cli._html._svg import Lane, Threshold, line_chart, timeline
from aumai_chaos.cli._html._tables import faults_section, objectives_section
from aumai_chaos.experiments.models import ExperimentResult
from aumai_chaos.experiments.summary import Summary, SummarySeries

__all__ = ["render_html"]

_WORKLOAD = "workload"


# -- the parts -------------------------------------------------------------------------------------


def _header(result: ExperimentResult, summary: Summary) -> str:
    status = result.status.value
    verdict = result.verdict.value if result.verdict is not None else status
    color, glyph = VERDICT_COLORS.get(verdict, ("#4b5563", "•"))
    meta = [
        ("Experiment id", f"<code>{e(result.experiment_id)}</code>"),
        ("Seed", e(result.seed) if result.seed is not None else "none"),
        ("Duration", e(f"{num(summary.duration_seconds):.1f} s")),
        ("Started", e(when(result.start_time))),
    ]
    items = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in meta)
    return (
        '<header class="top"><div><p class="eyebrow">aumai-chaos experiment report</p>'
        f"<h1>{e(result.name or result.experiment_id)}</h1>"
        f'<dl class="meta">{items}</dl></div>'
        f'<div class="verdict" style="background:{color}" data-verdict="{e(verdict)}" '
        f'data-status="{e(status)}" role="status">'
        '<div class="label">Verdict</div>'
        f'<div class="value"><span aria-hidden="true">{glyph}</span>{e(verdict)}</div>'
        f'<div class="status">status: {e(status)}</div></div></header>'
    )


def _notices(result: ExperimentResult, summary: Summary) -> str:
    out = []
    if result.error:
        out.append(f'<div class="notice bad"><strong>Error:</strong> {e(result.error)}</div>')
    if result.stopped_by is not None:
        s = result.stopped_by
        out.append(
            '<div class="notice bad"><strong>Stopped by a stop condition:</strong> '
            f"{e(s.condition)} (observed {e(f'{s.observed:g}')} at {e(when(s.at))})</div>"
        )
    unfired = [
        f"{f.fault_type} on {', '.join(f.affected_components or ['all'])}"
        for f in summary.faults
        if not f.fired
    ]
    if unfired and result.verdict is not None and result.verdict.value == "inconclusive":
        out.append(
            '<div class="notice"><strong>Inconclusive:</strong> declared but never fired: '
            f"{e('; '.join(unfired))}. A fault that never fired proves nothing.</div>"
        )
    for note in summary.notes:
        out.append(f'<div class="notice">{e(note)}</div>')
    return "".join(out)


def _card(key: str, value: str, field: str, raw: Any, small: str = "") -> str:
    extra = f" <small>{e(small)}</small>" if small else ""
    return (
        f'<div class="card"><div class="k">{e(key)}</div>'
        f'<div class="v" data-field="{e(field)}" data-value="{e(raw)}">{e(value)}{extra}</div>'
        "</div>"
    )


def _cards(result: ExperimentResult, summary: Summary) -> str:
    fired = summary.total_faults_fired
    cards = [_card("Faults fired", f"{fired:,}", "total_faults_fired", fired)]
    workload = summary.workload
    if workload:
        iterations = workload.iterations
        rate = workload.failure_rate
        p95 = workload.latency_ms.p95
        cards.append(_card("Workload iterations", f"{iterations:,}", "iterations", iterations))
        cards.append(_card("Workload failure rate", pct(rate), "failure_rate", rate))
        cards.append(_card("Workload latency p95", ms(p95), "latency_p95_ms", p95))
    faults_phase = [o for o in result.objectives if o.phase == "faults"] or result.objectives
    if faults_phase:
        ok = sum(o.passed for o in faults_phase)
        cards.append(
            _card("Objectives met", f"{ok} / {len(faults_phase)}", "objectives_passed", ok)
        )
    return f'<div class="cards">{"".join(cards)}</div>'


def _stop_at(result: ExperimentResult) -> float | None:
    if result.stopped_by is None or result.start_time is None:
        return None
    return max(0.0, (result.stopped_by.at - result.start_time).total_seconds())


def _baseline(result: ExperimentResult) -> float | None:
    return num(result.baseline.duration_seconds) if result.baseline else None


def _span(result: ExperimentResult, series: SummarySeries) -> tuple[float, float]:
    step = max(float(series.step_seconds), 1.0)
    duration = num(result.summary.duration_seconds)
    return step, duration if duration > 0 else max(series.buckets * step, 1.0)


def _timeline_section(result: ExperimentResult, series: SummarySeries) -> str:
    step, total = _span(result, series)
    declared: dict[str, list[str]] = {}
    comps = series.components
    for fault in result.summary.faults:
        for comp in fault.affected_components:
            if is_glob(comp):  # the components it matched have their lanes, if any fired
                for name in comps:
                    if fnmatchcase(name, comp):
                        declared.setdefault(name, []).append(fault.fault_type)
            else:
                declared.setdefault(comp, []).append(fault.fault_type)
    lanes = []
    for name in sorted(set(comps) | set(declared)):
        lists = comps.get(name)
        by_type: dict[str, list[int]] = dict(lists.faults_by_type) if lists else {}
        for fault_type in declared.get(name, []):
            by_type.setdefault(fault_type, [])
        if by_type or name in declared:
            lanes.append(Lane(name, by_type))
    if not lanes:
        body = '<p class="muted">No fault fired, and no component was declared.</p>'
        types: list[str] = []
    else:
        types = sorted({t for lane in lanes for t in lane.by_type})
        body = timeline(
            "timeline",
            lanes,
            step=step,
            total=total,
            colors=fault_color,
            baseline=_baseline(result),
            stop_at=_stop_at(result),
        )
    legend = "".join(
        f'<li><span class="swatch" style="background:{fault_color(t)}"></span>{e(t)}</li>'
        for t in types
    )
    if result.baseline:
        legend += '<li><span class="swatch band"></span>baseline (no faults)</li>'
    return (
        "<section><h2>Timeline</h2>"
        f'<p class="sub">Faults fired, one lane per component and a row per fault type; '
        f"each mark is {e(f'{step:g}')} s, taller for more faults.</p>"
        f'{body}<ul class="legend">{legend}</ul></section>'
    )


def _thresholds(result: ExperimentResult, limit: str, fmt: Any) -> list[Threshold]:
    seen: dict[float, Threshold] = {}
    for o in result.objectives:
        if o.component != _WORKLOAD or o.limit != limit:
            continue
        if o.threshold in seen and o.phase != "faults":
            continue
        word = "met" if o.passed else "missed"
        seen[o.threshold] = Threshold(
            o.threshold, f"objective ≤ {fmt(o.threshold)} ({word})", o.passed
        )
    return list(seen.values())


def _merged(result: ExperimentResult, series: SummarySeries, key: str) -> list[float]:
    """A workload list of the fault window, with the baseline's buckets filled in."""
    main = [float(v) for v in getattr(series.workload, key)]
    base = result.baseline.series if result.baseline else None
    if not base:
        return main
    extra = [float(v) for v in getattr(base.workload, key)]
    if key == "latency_p95_ms":
        iters = series.workload.iterations
        return [
            extra[i] if i < len(extra) and not (i < len(iters) and iters[i]) else v
            for i, v in enumerate(main)
        ]
    return [v + (extra[i] if i < len(extra) else 0.0) for i, v in enumerate(main)]


#: The workload's charts: title, the objective drawn on it, how a value reads, the least top
#: of its axis, and what a bucket's value is.
_WORKLOAD_CHARTS: dict[str, tuple[str, str, Callable[[float], str], float, str]] = {
    "error-rate": (
        "Workload error rate over time",
        "max_error_rate",
        pct,
        0.05,
        "Failed iterations",
    ),
    "latency": (
        "Workload latency p95 over time",
        "max_latency_p95_ms",
        ms,
        1.0,
        "p95 of the iterations",
    ),
}


def _workload_chart(
    result: ExperimentResult, ident: str, values: list[float | None], common: dict[str, Any]
) -> str:
    title, objective, fmt, floor_max, what = _WORKLOAD_CHARTS[ident]
    shown = [v for v in values if v is not None]
    return line_chart(
        ident,
        title=title,
        values=values,
        thresholds=_thresholds(result, objective, fmt),
        fmt=fmt,
        floor_max=floor_max,
        desc=(
            f"{what} per {common['step']:g} s bucket: from {fmt(min(shown, default=0))} to "
            f"{fmt(max(shown, default=0))}."
        ),
        **common,
    )


def _workload_section(result: ExperimentResult, series: SummarySeries) -> str:
    step, total = _span(result, series)
    iterations = _merged(result, series, "iterations")
    failures = _merged(result, series, "failures")
    p95 = _merged(result, series, "latency_p95_ms")
    pairs = list(zip(failures, p95, iterations, strict=True))
    rates: list[float | None] = [f / n if n else None for f, _, n in pairs]
    latency: list[float | None] = [p if n else None for _, p, n in pairs]
    common: dict[str, Any] = {
        "baseline": _baseline(result),
        "step": step,
        "total": total,
        "stop_at": _stop_at(result),
    }
    errors = _workload_chart(result, "error-rate", rates, common)
    lat = _workload_chart(result, "latency", latency, common)
    legend = (
        '<ul class="legend"><li><span class="swatch" style="background:#2563eb"></span>'
        'per bucket</li><li><span class="swatch dash"></span>objective: green met, red missed'
        "</li></ul>"
    )
    return (
        '<div class="grid2"><section><h2>Error rate</h2><p class="sub">Failed workload '
        f"iterations in each bucket.</p>{errors}{legend}</section>"
        '<section><h2>Latency p95</h2><p class="sub">The slowest 5% of workload iterations in '
        f"each bucket begin here.</p>{lat}{legend}</section></div>"
    )


def render_html(result: ExperimentResult) -> str:
    """``result`` as one self-contained HTML page (inline CSS and SVG, no script)."""
    summary = result.summary
    series = summary.series or SummarySeries()
    title = f"{result.name or result.experiment_id}: {result.verdict or result.status.value}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="aumai-chaos {e(__version__)}">',
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
        f'<main data-experiment-id="{e(result.experiment_id)}">',
        _header(result, summary),
        _notices(result, summary),
        _cards(result, summary),
    ]
    if series:
        parts.append(_timeline_section(result, series))
        if summary.workload is not None:
            parts.append(_workload_section(result, series))
    else:
        parts.append(
            '<section><h2>Timeline</h2><p class="muted">This result has no per-second series '
            "(it was saved by an older aumai-chaos), so there is nothing to draw over time."
            "</p></section>"
        )
    parts += [
        faults_section(result, series),
        recovery_section(result),
        objectives_section(result),
        f"<footer>aumai-chaos {e(__version__)} · {e(when(result.end_time))}</footer>",
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"
