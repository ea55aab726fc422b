"""The report's tables: faults by component, the components' calls, and the objectives.

Each number sits in a cell with ``data-field`` and ``data-value`` (the raw value), and each row
names its component (and fault type or limit), so that a test can read them back.
"""

from __future__ import annotations

from typing import Any

from aumai_chaos.cli._html._format import dict_of, e, ms, num, pct, table, td
from aumai_chaos.cli._html._style import fault_color
from aumai_chaos.experiments.models import ExperimentResult

__all__ = ["faults_section", "objectives_section"]


def faults_section(result: ExperimentResult, series: dict[str, Any]) -> str:
    comps = dict_of(series.get("components"))
    probabilities: dict[tuple[str, str], list[float]] = {}
    for fault in result.summary.get("faults") or []:
        fault = dict_of(fault)
        targets = fault.get("affected_components") or ["(every component)"]
        for comp in targets:
            key = (str(comp), str(fault.get("fault_type")))
            probabilities.setdefault(key, []).append(num(fault.get("probability")))
    fired: dict[tuple[str, str], int] = {}
    for name, lists in comps.items():
        for fault_type, values in dict_of(dict_of(lists).get("faults_by_type")).items():
            fired[(name, fault_type)] = int(sum(num(v) for v in values))
    if not series:  # an older result: each fault's own count, where it names one component
        for fault in result.summary.get("faults") or []:
            targets = dict_of(fault).get("affected_components") or []
            if len(targets) == 1:
                key = (str(targets[0]), str(fault.get("fault_type")))
                fired[key] = fired.get(key, 0) + int(num(fault.get("fired")))
    for fault in map(dict_of, result.summary.get("faults") or []):
        if not fault.get("affected_components"):  # a fault on every component: its own total
            key = ("(every component)", str(fault.get("fault_type")))
            fired[key] = fired.get(key, 0) + int(num(fault.get("fired")))
    rows = []
    for comp, fault_type in sorted(set(probabilities) | set(fired)):
        probs = probabilities.get((comp, fault_type))
        probs = probs or probabilities.get(("(every component)", fault_type))
        shown = ", ".join(f"{p:g}" for p in probs) if probs else "-"
        count = fired.get((comp, fault_type), 0)
        rows.append(
            f'<tr data-component="{e(comp)}" data-fault-type="{e(fault_type)}">'
            f'<td>{e(comp)}</td><td class="type"><span class="swatch" style="background:'
            f'{fault_color(fault_type)}"></span> {e(fault_type)}</td>'
            f"{td(shown, 'probability')}{td(count, 'fired')}</tr>"
        )
    faults = table(
        [("component", False), ("fault type", False), ("probability", True), ("fired", True)],
        rows,
        "faults",
        "Faults by component: declared probability and how many fired.",
    )
    rows = []
    for name, stats in sorted(dict_of(result.summary.get("components")).items()):
        stats = dict_of(stats)
        latency = dict_of(stats.get("latency_ms"))
        rate = num(stats.get("error_rate"))
        rows.append(
            f'<tr data-component="{e(name)}"><td>{e(name)}</td>'
            + td(stats.get("calls", 0), "calls")
            + td(stats.get("faults", 0), "faults")
            + td(stats.get("errors", 0), "errors")
            + td(rate, "error_rate", text=pct(rate))
            + td(latency.get("p95", 0.0), "latency_p95_ms", text=ms(num(latency.get("p95"))))
            + "</tr>"
        )
    components = table(
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


def objectives_section(result: ExperimentResult) -> str:
    if not result.objectives:
        return (
            '<section><h2>Objectives</h2><p class="muted">This experiment states no '
            "steady-state objectives.</p></section>"
        )
    rows = []
    for o in result.objectives:
        fmt = pct if "rate" in o.limit else ms if "latency" in o.limit else "{:g}".format
        pill = (
            '<span class="pill pass">✓ passed</span>'
            if o.passed
            else '<span class="pill fail">✗ FAILED</span>'
        )
        rows.append(
            f'<tr data-component="{e(o.component)}" data-limit="{e(o.limit)}" '
            f'data-phase="{e(o.phase)}"><td>{e(o.phase)}</td><td>{e(o.component)}</td>'
            f"<td><code>{e(o.limit)}</code></td>"
            + td(o.threshold, "threshold", text=fmt(o.threshold))
            + td(o.observed, "observed", text=fmt(o.observed))
            + f'<td data-field="passed" data-value="{str(o.passed).lower()}">{pill}</td></tr>'
        )
    rendered = table(
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
    return f"<section><h2>Objectives</h2>{rendered}</section>"
