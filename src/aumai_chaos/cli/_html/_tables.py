"""The report's tables: faults by component, the components' calls, and the objectives.

Each number sits in a cell with ``data-field`` and ``data-value`` (the raw value), and each row
names its component (and fault type or limit), so that a test can read them back.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from aumai_chaos._engine.registry import is_glob
from aumai_chaos.cli._html._format import e, ms, pct, table, td
from aumai_chaos.cli._html._style import fault_color
from aumai_chaos.experiments.models import ExperimentResult
from aumai_chaos.experiments.summary import SummarySeries

__all__ = ["faults_section", "objectives_section"]


def faults_section(result: ExperimentResult, series: SummarySeries) -> str:
    faults = result.summary.faults
    probabilities: dict[tuple[str, str], list[float]] = {}
    for fault in faults:
        for comp in fault.affected_components or ["(every component)"]:
            probabilities.setdefault((comp, fault.fault_type), []).append(fault.probability)
    fired: dict[tuple[str, str], int] = {}
    for name, lists in series.components.items():
        for fault_type, values in lists.faults_by_type.items():
            fired[(name, fault_type)] = sum(values)
    if not series:  # an older result: each fault's own count, where it names one component
        for fault in faults:
            if len(fault.affected_components) == 1:
                key = (fault.affected_components[0], fault.fault_type)
                fired[key] = fired.get(key, 0) + fault.fired
    for fault in faults:
        if not fault.affected_components:  # a fault on every component: its own total
            key = ("(every component)", fault.fault_type)
            fired[key] = fired.get(key, 0) + fault.fired
    # A glob (mcp.tool.*) is a row of its own only while no component it matches has one.
    keys = set(fired) | {
        (comp, t)
        for comp, t in probabilities
        if not is_glob(comp) or not any(fnmatchcase(c, comp) for c, _ in fired)
    }
    rows = []
    for comp, fault_type in sorted(keys):
        probs: list[float] | None = probabilities.get((comp, fault_type)) or [
            p
            for (pattern, t), values in probabilities.items()
            if t == fault_type and is_glob(pattern) and fnmatchcase(comp, pattern)
            for p in values
        ]
        probs = probs or probabilities.get(("(every component)", fault_type))
        shown = ", ".join(f"{p:g}" for p in probs) if probs else "-"
        count = fired.get((comp, fault_type), 0)
        rows.append(
            f'<tr data-component="{e(comp)}" data-fault-type="{e(fault_type)}">'
            f'<td>{e(comp)}</td><td class="type"><span class="swatch" style="background:'
            f'{fault_color(fault_type)}"></span> {e(fault_type)}</td>'
            f"{td(shown, 'probability')}{td(count, 'fired')}</tr>"
        )
    faults_table = table(
        [("component", False), ("fault type", False), ("probability", True), ("fired", True)],
        rows,
        "faults",
        "Faults by component: declared probability and how many fired.",
    )
    rows = []
    for name, stats in sorted(result.summary.components.items()):
        p95 = stats.latency_ms.p95
        rows.append(
            f'<tr data-component="{e(name)}"><td>{e(name)}</td>'
            + td(stats.calls, "calls")
            + td(stats.faults, "faults")
            + td(stats.errors, "errors")
            + td(stats.error_rate, "error_rate", text=pct(stats.error_rate))
            + td(p95, "latency_p95_ms", text=ms(p95))
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
        f'<div class="grid2"><section><h2>Faults</h2>{faults_table}</section>'
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
