"""The report page: the verdict, key numbers, the charts over time and the tables.

The numbers a reader checks carry ``data-*`` attributes (``data-field`` on table cells,
``data-verdict`` on the page) so that a test can compare them with the result they came from.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from aumai_chaos._version import __version__
from aumai_chaos.cli._html._style import CSS, VERDICT_COLORS, fault_color
from aumai_chaos.cli._html._svg import Lane, Threshold, line_chart, timeline
from aumai_chaos.experiments.models import ExperimentResult

__all__ = ["render_html"]

_WORKLOAD = "workload"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _pct(value: float) -> str:
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.3g} ms"


def _time(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


def _td(value: Any, field: str, *, num: bool = True, text: str | None = None) -> str:
    cls = ' class="num"' if num else ""
    shown = text if text is not None else value
    return f'<td{cls} data-field="{_e(field)}" data-value="{_e(value)}">{_e(shown)}</td>'


def _table(header: list[tuple[str, bool]], rows: list[str], ident: str, caption: str) -> str:
    head = "".join(
        f'<th{" class=num" if num else ""} scope="col">{_e(h)}</th>' for h, num in header
    )
    return (
        f'<table id="{ident}"><caption class="sub" style="text-align:left">{_e(caption)}'
        f"</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


# -- the parts -------------------------------------------------------------------------------------


def _header(result: ExperimentResult, summary: dict[str, Any]) -> str:
    status = result.status.value
    verdict = result.verdict.value if result.verdict is not None else status
    color, glyph = VERDICT_COLORS.get(verdict, ("#4b5563", "•"))
    meta = [
        ("Experiment id", f"<code>{_e(result.experiment_id)}</code>"),
        ("Seed", _e(result.seed) if result.seed is not None else "none"),
        ("Duration", _e(f"{_num(summary.get('duration_seconds')):.1f} s")),
        ("Started", _e(_time(result.start_time))),
    ]
    items = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in meta)
    return (
        '<header class="top"><div><p class="eyebrow">aumai-chaos experiment report</p>'
        f"<h1>{_e(result.name or result.experiment_id)}</h1>"
        f'<dl class="meta">{items}</dl></div>'
        f'<div class="verdict" style="background:{color}" data-verdict="{_e(verdict)}" '
        f'data-status="{_e(status)}" role="status">'
        '<div class="label">Verdict</div>'
        f'<div class="value"><span aria-hidden="true">{glyph}</span>{_e(verdict)}</div>'
        f'<div class="status">status: {_e(status)}</div></div></header>'
    )


def _notices(result: ExperimentResult, summary: dict[str, Any]) -> str:
    out = []
    if result.error:
        out.append(f'<div class="notice bad"><strong>Error:</strong> {_e(result.error)}</div>')
    if result.stopped_by is not None:
        s = result.stopped_by
        out.append(
            '<div class="notice bad"><strong>Stopped by a stop condition:</strong> '
            f"{_e(s.condition)} (observed {_e(f'{s.observed:g}')} at {_e(_time(s.at))})</div>"
        )
    for note in summary.get("notes") or []:
        out.append(f'<div class="notice">{_e(note)}</div>')
    return "".join(out)


def _card(key: str, value: str, field: str, raw: Any, small: str = "") -> str:
    extra = f" <small>{_e(small)}</small>" if small else ""
    return (
        f'<div class="card"><div class="k">{_e(key)}</div>'
        f'<div class="v" data-field="{_e(field)}" data-value="{_e(raw)}">{_e(value)}{extra}</div>'
        "</div>"
    )


def _cards(result: ExperimentResult, summary: dict[str, Any]) -> str:
    fired = int(_num(summary.get("total_faults_fired")))
    cards = [_card("Faults fired", f"{fired:,}", "total_faults_fired", fired)]
    workload = _dict(summary.get("workload"))
    if workload:
        iterations = int(_num(workload.get("iterations")))
        rate = _num(workload.get("failure_rate"))
        p95 = _num(_dict(workload.get("latency_ms")).get("p95"))
        cards.append(_card("Workload iterations", f"{iterations:,}", "iterations", iterations))
        cards.append(_card("Workload failure rate", _pct(rate), "failure_rate", rate))
        cards.append(_card("Workload latency p95", _ms(p95), "latency_p95_ms", p95))
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
    return _num(result.baseline.get("duration_seconds")) if result.baseline else None


def _span(result: ExperimentResult, series: dict[str, Any]) -> tuple[float, float]:
    step = max(_num(series.get("step_seconds")), 1.0)
    duration = _num(result.summary.get("duration_seconds"))
    return step, duration if duration > 0 else max(_num(series.get("buckets")) * step, 1.0)


def _timeline_section(result: ExperimentResult, series: dict[str, Any]) -> str:
    step, total = _span(result, series)
    declared: dict[str, list[str]] = {}
    for fault in result.summary.get("faults") or []:
        for comp in _dict(fault).get("affected_components") or []:
            declared.setdefault(str(comp), []).append(str(fault.get("fault_type")))
    lanes = []
    comps = _dict(series.get("components"))
    for name in sorted(set(comps) | set(declared)):
        by_type = dict(_dict(_dict(comps.get(name)).get("faults_by_type")))
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
        f'<li><span class="swatch" style="background:{fault_color(t)}"></span>{_e(t)}</li>'
        for t in types
    )
    if result.baseline:
        legend += '<li><span class="swatch band"></span>baseline (no faults)</li>'
    return (
        "<section><h2>Timeline</h2>"
        f'<p class="sub">Faults fired, one lane per component and a row per fault type; '
        f"each mark is {_e(f'{step:g}')} s, taller for more faults.</p>"
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


def _merged(result: ExperimentResult, series: dict[str, Any], key: str) -> list[float]:
    """A workload list of the fault window, with the baseline's buckets filled in."""
    main = [_num(v) for v in _dict(series.get("workload")).get(key) or []]
    base = _dict(_dict(result.baseline).get("series"))
    if not base:
        return main
    extra = [_num(v) for v in _dict(base.get("workload")).get(key) or []]
    if key == "latency_p95_ms":
        iters = _dict(series.get("workload")).get("iterations") or []
        return [
            extra[i] if i < len(extra) and not (i < len(iters) and iters[i]) else v
            for i, v in enumerate(main)
        ]
    return [v + (extra[i] if i < len(extra) else 0.0) for i, v in enumerate(main)]


def _workload_section(result: ExperimentResult, series: dict[str, Any]) -> str:
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
    shown = [r for r in rates if r is not None]
    errors = line_chart(
        "error-rate",
        title="Workload error rate over time",
        values=rates,
        thresholds=_thresholds(result, "max_error_rate", _pct),
        fmt=_pct,
        floor_max=0.05,
        desc=(
            f"Failed iterations per {step:g} s bucket: from {_pct(min(shown, default=0))} to "
            f"{_pct(max(shown, default=0))}."
        ),
        **common,
    )
    lat_shown = [v for v in latency if v is not None]
    lat = line_chart(
        "latency",
        title="Workload latency p95 over time",
        values=latency,
        thresholds=_thresholds(result, "max_latency_p95_ms", _ms),
        fmt=_ms,
        floor_max=1.0,
        desc=(
            f"p95 of the iterations per {step:g} s bucket: from {_ms(min(lat_shown, default=0))} "
            f"to {_ms(max(lat_shown, default=0))}."
        ),
        **common,
    )
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


def _faults_section(result: ExperimentResult, series: dict[str, Any]) -> str:
    comps = _dict(series.get("components"))
    probabilities: dict[tuple[str, str], list[float]] = {}
    for fault in result.summary.get("faults") or []:
        fault = _dict(fault)
        targets = fault.get("affected_components") or ["(every component)"]
        for comp in targets:
            key = (str(comp), str(fault.get("fault_type")))
            probabilities.setdefault(key, []).append(_num(fault.get("probability")))
    fired: dict[tuple[str, str], int] = {}
    for name, lists in comps.items():
        for fault_type, values in _dict(_dict(lists).get("faults_by_type")).items():
            fired[(name, fault_type)] = int(sum(_num(v) for v in values))
    if not series:  # an older result: each fault's own count, where it names one component
        for fault in result.summary.get("faults") or []:
            targets = _dict(fault).get("affected_components") or []
            if len(targets) == 1:
                key = (str(targets[0]), str(fault.get("fault_type")))
                fired[key] = fired.get(key, 0) + int(_num(fault.get("fired")))
    rows = []
    for comp, fault_type in sorted(set(probabilities) | set(fired)):
        probs = probabilities.get((comp, fault_type))
        probs = probs or probabilities.get(("(every component)", fault_type))
        shown = ", ".join(f"{p:g}" for p in probs) if probs else "-"
        count = fired.get((comp, fault_type), 0)
        rows.append(
            f'<tr data-component="{_e(comp)}" data-fault-type="{_e(fault_type)}">'
            f'<td>{_e(comp)}</td><td><span class="swatch" style="background:'
            f'{fault_color(fault_type)}"></span> {_e(fault_type)}</td>'
            f"{_td(shown, 'probability')}{_td(count, 'fired')}</tr>"
        )
    faults = _table(
        [("component", False), ("fault type", False), ("probability", True), ("fired", True)],
        rows,
        "faults",
        "Faults by component: declared probability and how many fired.",
    )
    rows = []
    for name, stats in sorted(_dict(result.summary.get("components")).items()):
        stats = _dict(stats)
        latency = _dict(stats.get("latency_ms"))
        rate = _num(stats.get("error_rate"))
        rows.append(
            f'<tr data-component="{_e(name)}"><td>{_e(name)}</td>'
            + _td(stats.get("calls", 0), "calls")
            + _td(stats.get("faults", 0), "faults")
            + _td(stats.get("errors", 0), "errors")
            + _td(rate, "error_rate", text=_pct(rate))
            + _td(latency.get("p95", 0.0), "latency_p95_ms", text=_ms(_num(latency.get("p95"))))
            + "</tr>"
        )
    components = _table(
        [
            ("component", False),
            ("calls", True),
            ("faults", True),
            ("errors", True),
            ("error rate", True),
            ("p95", True),
        ],
        rows,
        "components",
        "Calls into each component during the fault window.",
    )
    return (
        f'<div class="grid2"><section><h2>Faults</h2>{faults}</section>'
        f"<section><h2>Components</h2>{components}</section></div>"
    )


def _objectives_section(result: ExperimentResult) -> str:
    if not result.objectives:
        return (
            '<section><h2>Objectives</h2><p class="muted">This experiment states no '
            "steady-state objectives.</p></section>"
        )
    rows = []
    for o in result.objectives:
        fmt = _pct if "rate" in o.limit else _ms if "latency" in o.limit else "{:g}".format
        pill = (
            '<span class="pill pass">✓ passed</span>'
            if o.passed
            else '<span class="pill fail">✗ FAILED</span>'
        )
        rows.append(
            f'<tr data-component="{_e(o.component)}" data-limit="{_e(o.limit)}" '
            f'data-phase="{_e(o.phase)}"><td>{_e(o.phase)}</td><td>{_e(o.component)}</td>'
            f"<td><code>{_e(o.limit)}</code></td>"
            + _td(o.threshold, "threshold", text=fmt(o.threshold))
            + _td(o.observed, "observed", text=fmt(o.observed))
            + f'<td data-field="passed" data-value="{str(o.passed).lower()}">{pill}</td></tr>'
        )
    table = _table(
        [
            ("phase", False),
            ("component", False),
            ("limit", False),
            ("threshold", True),
            ("observed", True),
            ("result", False),
        ],
        rows,
        "objectives",
        "Each limit of the steady-state hypothesis, checked per phase.",
    )
    return f"<section><h2>Objectives</h2>{table}</section>"


def render_html(result: ExperimentResult) -> str:
    """``result`` as one self-contained HTML page (inline CSS and SVG, no script)."""
    summary = result.summary
    series = _dict(summary.get("series"))
    title = f"{result.name or result.experiment_id}: {result.verdict or result.status.value}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="aumai-chaos {_e(__version__)}">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f'<main data-experiment-id="{_e(result.experiment_id)}">',
        _header(result, summary),
        _notices(result, summary),
        _cards(result, summary),
    ]
    if series:
        parts.append(_timeline_section(result, series))
        if summary.get("workload") is not None:
            parts.append(_workload_section(result, series))
    else:
        parts.append(
            '<section><h2>Timeline</h2><p class="muted">This result has no per-second series '
            "(it was saved by an older aumai-chaos), so there is nothing to draw over time."
            "</p></section>"
        )
    parts += [
        _faults_section(result, series),
        _objectives_section(result),
        f"<footer>aumai-chaos {_e(__version__)} · {_e(_time(result.end_time))}</footer>",
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"
