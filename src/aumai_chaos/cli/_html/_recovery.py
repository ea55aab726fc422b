"""The report's recovery section: a chart of outcomes by fault type and the recovery table
(docs/recovery.md). Every number sits in a cell with ``data-field``/``data-value``; each bar
segment names its fault type and outcome, so that a test (or a browser) can read them back."""

from __future__ import annotations

from aumai_chaos.cli._html._format import e, ms, pct, table, td
from aumai_chaos.cli._recovery_report import mechanisms_text, pass_hat_k_text
from aumai_chaos.experiments.models import ExperimentResult
from aumai_chaos.experiments.summary import RecoveryRow

__all__ = ["OUTCOME_COLORS", "recovery_section"]

#: Outcome -> colour (Paul Tol: green, wine; grey), apart from the fault types' colours; the
#: legend says it in words.
OUTCOME_COLORS = {"recovered": "#117733", "propagated": "#882255", "unknown": "#9ca3af"}
_BAR_W, _BAR_H, _LABEL_W = 520, 22, 170


def _chart(rows: list[RecoveryRow]) -> str:
    by_type: dict[str, dict[str, int]] = {}
    for r in rows:
        counts = by_type.setdefault(r.fault_type, dict.fromkeys(OUTCOME_COLORS, 0))
        counts["recovered"] += r.recovered
        counts["propagated"] += r.propagated
        counts["unknown"] += r.unknown
    height = 30 + len(by_type) * (_BAR_H + 10)
    width = _LABEL_W + _BAR_W + 60
    parts = [
        f'<svg class="chart" id="outcomes-chart" viewBox="0 0 {width} {height}" width="100%" '
        'role="img" aria-labelledby="outcomes-t"><title id="outcomes-t">Fault outcomes by '
        "fault type</title>"
    ]
    x = _LABEL_W
    for name, color in OUTCOME_COLORS.items():  # the legend
        parts.append(
            f'<rect x="{x}" y="4" width="12" height="12" fill="{color}"/>'
            f'<text x="{x + 16}" y="15" font-size="12">{e(name)}</text>'
        )
        x += 110
    for i, (fault_type, counts) in enumerate(sorted(by_type.items())):
        y = 28 + i * (_BAR_H + 10)
        total = sum(counts.values()) or 1
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + 15}" font-size="12" text-anchor="end">'
            f"{e(fault_type)}</text>"
        )
        x0 = float(_LABEL_W)
        for outcome, n in counts.items():
            w = _BAR_W * n / total
            if n:
                parts.append(
                    f'<rect data-fault-type="{e(fault_type)}" data-outcome="{outcome}" '
                    f'data-value="{n}" x="{x0:.1f}" y="{y}" width="{w:.1f}" height="{_BAR_H}" '
                    f'fill="{OUTCOME_COLORS[outcome]}"><title>{e(fault_type)}: {n} {outcome}'
                    "</title></rect>"
                )
            x0 += w
        parts.append(
            f'<text x="{_LABEL_W + _BAR_W + 6}" y="{y + 15}" font-size="12">'
            f"{counts['recovered']}/{sum(counts.values())}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def recovery_section(result: ExperimentResult) -> str:
    rows = result.summary.recovery
    trials = result.summary.trials
    trials_html = ""
    if trials is not None:
        n = len(trials.trials)
        trials_html = (
            f'<p id="trials" data-passed="{trials.passed}" data-trials="{n}">'
            f"Trials: <strong>{trials.passed} of {n}</strong> passed, pass rate "
            f"{pct(trials.pass_rate)} [{pct(trials.pass_rate_low)}, "
            f"{pct(trials.pass_rate_high)}]; {e(pass_hat_k_text(trials))}</p>"
        )
    if not rows:
        return f"<section><h2>Recovery</h2>{trials_html}</section>" if trials_html else ""
    cells = []
    for r in rows:
        rate = f"{pct(r.rate)} [{pct(r.rate_low)}, {pct(r.rate_high)}]"
        cells.append(
            f'<tr data-component="{e(r.component)}" data-fault-type="{e(r.fault_type)}">'
            f"<td>{e(r.fault_type)}</td><td>{e(r.component)}</td>"
            + td(r.fired, "fired")
            + td(r.recovered, "recovered")
            + td(r.propagated, "propagated")
            + td(r.unknown, "unknown")
            + td(r.rate, "rate", text=rate)
            + td(mechanisms_text(r), "mechanisms", num=False)
            + td(r.recovery_ms_p50, "recovery_ms_p50", text=ms(r.recovery_ms_p50))
            + td(r.recovery_ms_p95, "recovery_ms_p95", text=ms(r.recovery_ms_p95))
            + "</tr>"
        )
    rendered = table(
        [
            ("fault type", False),
            ("component", False),
            ("fired", True),
            ("recovered", True),
            ("propagated", True),
            ("unknown", True),
            ("rate (95% CI)", True),
            ("how", False),
            ("p50", True),
            ("p95", True),
        ],
        cells,
        "recovery",
        "Did the agent recover? Each fired fault, judged by the unit of work it hit.",
    )
    return f"<section><h2>Recovery</h2>{_chart(rows)}{rendered}{trials_html}</section>"
