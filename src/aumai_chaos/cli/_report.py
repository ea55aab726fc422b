"""Rendering an :class:`~aumai_chaos.ExperimentResult` for people: text, Markdown, JSON and HTML
(the page lives in :mod:`aumai_chaos.cli._html`).

The text form is the user's guide's (Step 3)::

    Status    : completed
    Verdict   : passed
    Experiment: Quick latency test (id=quick-test)
    Start     : 2024-01-15T10:00:00.000000+00:00
    End       : 2024-01-15T10:00:05.012345+00:00
    Summary   :
      total_faults_fired: 5
      faults_by_type: {"latency": 3, "error": 1}
      errors_by_type: {"error": 1}
      duration_seconds: 5.012
      components:
        tool_executor: calls=5 faults=4 errors=1 error_rate=0.200 latency_ms p50=... p95=... p99=...
    Observations: 12 recorded

``Verdict`` (with a ``Reason`` line when it is not ``passed``), ``Experiment`` and ``Seed`` go
beyond the guide's sample; each failure type of a component or the workload gets a ``first``
line with its first message.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aumai_chaos.cli._recovery_report import RECOVERY_COLUMNS, recovery_rows, trials_line
from aumai_chaos.experiments.models import ExperimentResult

__all__ = ["FORMATS", "render", "render_json", "render_markdown", "render_text"]

FORMATS = ("text", "json", "markdown", "html")

#: The guide's summary keys, shown first and in this order.
_GUIDE_KEYS = ("total_faults_fired", "faults_by_type", "errors_by_type", "duration_seconds")
_NESTED_KEYS = ("components", "workload")
#: Data for charts, not for reading: only the html format draws it.
_HIDDEN_KEYS = ("series", "recovery", "trials")  # recovery, trials: their own sections
#: Keys of a component's (or the workload's) statistics shown apart from its one line.
_OWN_LINES = ("latency_ms", "first_errors")


def _first_errors(stats: Any, indent: str) -> list[str]:
    """The first message of each failure type, one line each."""
    found = stats.get("first_errors") if isinstance(stats, dict) else None
    if not isinstance(found, dict):
        return []
    return [f"{indent}first {kind}: {message}" for kind, message in found.items()]


def render(result: ExperimentResult, fmt: str) -> str:
    """``result`` in one of :data:`FORMATS`, ending with a newline."""
    if fmt == "json":
        return render_json(result)
    if fmt == "markdown":
        return render_markdown(result)
    if fmt == "html":
        from aumai_chaos.cli._html import render_html

        return render_html(result)
    return render_text(result)


def render_json(result: ExperimentResult) -> str:
    return result.model_dump_json(indent=2) + "\n"


def _time(value: datetime | None) -> str:
    return value.isoformat(timespec="microseconds") if value is not None else "-"


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _latency(stats: Any) -> str:
    if not isinstance(stats, dict) or not stats:
        return ""
    parts = [f"{k}={_scalar(v)}" for k, v in stats.items()]
    return "latency_ms " + " ".join(parts)


def _component_line(name: str, stats: Any) -> str:
    if not isinstance(stats, dict):
        return f"{name}: {_scalar(stats)}"
    parts = [f"{k}={_scalar(v)}" for k, v in stats.items() if k not in _OWN_LINES]
    latency = _latency(stats.get("latency_ms"))
    if latency:
        parts.append(latency)
    return f"{name}: " + " ".join(parts)


def _ordered_keys(summary: dict[str, Any]) -> list[str]:
    first = [k for k in _GUIDE_KEYS if k in summary]
    rest = [k for k in summary if k not in _GUIDE_KEYS + _NESTED_KEYS and k not in _HIDDEN_KEYS]
    nested = [k for k in _NESTED_KEYS if k in summary]
    return first + rest + nested


def _observations(result: ExperimentResult) -> str:
    text = f"{len(result.observations)} recorded"
    if result.dropped_observations:
        text += f" ({result.dropped_observations} dropped)"
    return text


def _fault_line(item: Any) -> str:
    if not isinstance(item, dict):
        return f"- {_scalar(item)}"
    head = str(item.get("fault_type", "fault"))
    comps = item.get("affected_components")
    if comps:
        head += " on " + ", ".join(str(c) for c in comps)
    rest = {k: v for k, v in item.items() if k not in ("fault_type", "affected_components")}
    return f"- {head}: " + " ".join(f"{k}={_scalar(v)}" for k, v in rest.items())


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _summary_lines(summary: dict[str, Any], indent: str) -> list[str]:
    lines: list[str] = []
    for key in _ordered_keys(summary):
        value = summary[key]
        if key == "components" and isinstance(value, dict):
            lines.append(f"{indent}components:")
            for n, stats in value.items():
                lines.append(f"{indent}  {_component_line(n, stats)}")
                lines += _first_errors(stats, indent + "    ")
            if any(isinstance(s, dict) and s.get("errors") for s in value.values()):
                lines.append(f"{indent}  {ERRORS_LEGEND}")
        elif key == "workload" and isinstance(value, dict):
            lines.append(f"{indent}workload:")
            lines.extend(
                f"{indent}  {_component_line(k, v)}"
                for k, v in value.items()
                if k not in _OWN_LINES
            )
            if "latency_ms" in value:
                lines.append(f"{indent}  {_component_line('latency_ms', value['latency_ms'])}")
            lines += _first_errors(value, indent + "  ")
        elif _is_records(value):
            lines.append(f"{indent}{key}:")
            lines.extend(f"{indent}  {_fault_line(v)}" for v in value)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            lines.append(f"{indent}{key}:")  # notes: one line each
            lines.extend(f"{indent}  - {v}" for v in value)
        else:
            lines.append(f"{indent}{key}: {_scalar(value)}")
    return lines


#: Under the components when one has errors: what each error count counts.
ERRORS_LEGEND = (
    "(errors=: every call that failed, injected or not; errors_by_type: the injected faults "
    "that failed their call, by fault type)"
)

OBJECTIVE_COLUMNS = ("phase", "component", "limit", "threshold", "observed", "result")


def objective_rows(result: ExperimentResult) -> list[list[str]]:
    """One row per checked objective limit, in :data:`OBJECTIVE_COLUMNS` order."""
    return [
        [
            o.phase,
            o.component,
            o.limit,
            _scalar(o.threshold),
            _scalar(o.observed),
            "passed" if o.passed else "FAILED",
        ]
        for o in result.objectives
    ]


def _text_table(header: tuple[str, ...], rows: list[list[str]], indent: str) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]

    def line(cells: Any) -> str:
        return (
            indent + "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False))
        ).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _stopped_by(item: Any) -> str:
    data = item.model_dump() if hasattr(item, "model_dump") else dict(item)
    at = data.get("at")
    when = _time(at) if isinstance(at, datetime) else str(at)
    return f"{data.get('condition')} (observed {_scalar(data.get('observed'))} at {when})"


def _value(result: ExperimentResult, name: str) -> Any:
    value = getattr(result, name, None)
    return getattr(value, "value", value)


def render_text(result: ExperimentResult) -> str:
    lines = [f"Status    : {result.status.value}"]
    verdict = _value(result, "verdict")
    if verdict is not None:
        lines.append(f"Verdict   : {verdict}")
    if result.verdict_reason and result.verdict_reason != result.error:
        lines.append(f"Reason    : {result.verdict_reason}")
    # The report names its experiment itself: `run > report.txt` keeps which one it was.
    lines.append(f"Experiment: {result.name or result.experiment_id} (id={result.experiment_id})")
    lines += [f"Start     : {_time(result.start_time)}", f"End       : {_time(result.end_time)}"]
    if result.seed is not None:
        lines.append(f"Seed      : {result.seed}")
    if result.error:
        lines.append(f"Error     : {result.error}")
    stopped = getattr(result, "stopped_by", None)
    if stopped is not None:
        lines.append(f"Stopped by: {_stopped_by(stopped)}")
    lines.append("Summary   :")
    lines += _summary_lines(result.summary.model_dump(mode="json"), "  ")
    if result.baseline:
        lines.append("Baseline  :")
        lines += _summary_lines(result.baseline.model_dump(mode="json"), "  ")
    if result.summary.recovery:
        lines.append("Recovery  :")
        lines += _text_table(RECOVERY_COLUMNS, recovery_rows(result), "  ")
    trials = result.summary.trials
    if trials is not None:
        lines.append(f"Trials    : {trials_line(trials)}")
        lines.extend(f"  trial {t.trial}: seed={t.seed} verdict={t.verdict}" for t in trials.trials)
    if result.objectives:
        lines.append("Objectives:")
        lines += _text_table(OBJECTIVE_COLUMNS, objective_rows(result), "  ")
    lines.append(f"Observations: {_observations(result)}")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return _scalar(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(result: ExperimentResult) -> str:
    title = result.name or result.experiment_id
    lines = [
        f"# Chaos experiment: {_cell(title)}",
        "",
        "| | |",
        "|---|---|",
        f"| Experiment id | `{_cell(result.experiment_id)}` |",
        f"| Status | **{result.status.value}** |",
        *([f"| Verdict | **{_value(result, 'verdict')}** |"] if _value(result, "verdict") else []),
        *(
            [f"| Reason | {_cell(result.verdict_reason)} |"]
            if result.verdict_reason and result.verdict_reason != result.error
            else []
        ),
        f"| Start | {_time(result.start_time)} |",
        f"| End | {_time(result.end_time)} |",
    ]
    if result.seed is not None:
        lines.append(f"| Seed | {result.seed} |")
    if result.error:
        lines.append(f"| Error | {_cell(result.error)} |")
    if getattr(result, "stopped_by", None) is not None:
        lines.append(f"| Stopped by | {_cell(_stopped_by(result.stopped_by))} |")
    summary = result.summary.model_dump(mode="json")
    listed = [k for k in _ordered_keys(summary) if _is_records(summary[k])]
    for key in _ordered_keys(summary):
        if key not in _NESTED_KEYS and key not in listed and key not in _HIDDEN_KEYS:
            lines.append(f"| {_cell(key)} | {_cell(summary[key])} |")
    lines.append(f"| Observations | {_observations(result)} |")
    components = summary.get("components")
    if isinstance(components, dict) and components:
        lines += [
            "",
            "## Components",
            "",
            "| component | calls | faults | errors | error rate | p50 ms | p95 ms | p99 ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, stats in components.items():
            stats = stats if isinstance(stats, dict) else {}
            found = stats.get("latency_ms")
            latency: dict[str, Any] = found if isinstance(found, dict) else {}
            cells = [stats.get(k, "") for k in ("calls", "faults", "errors", "error_rate")]
            cells += [latency.get(k, "") for k in ("p50", "p95", "p99")]
            lines.append(f"| {_cell(name)} | " + " | ".join(_cell(c) for c in cells) + " |")
    for key in listed:
        lines += ["", f"## {key.replace('_', ' ').capitalize()}", ""]
        lines += [f"- {_cell(_fault_line(item)[2:])}" for item in summary[key]]
    if result.summary.recovery:
        lines += ["", "## Recovery", ""]
        lines.append("| " + " | ".join(RECOVERY_COLUMNS) + " |")
        lines.append("|---|---|" + "---:|" * 4 + "---|---|---:|---:|")
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in recovery_rows(result)]
    trials = result.summary.trials
    if trials is not None:
        lines += ["", "## Trials", "", _cell(trials_line(trials)), ""]
        lines += ["| trial | seed | verdict |", "|---:|---:|---|"]
        lines += [f"| {t.trial} | {t.seed} | {_cell(t.verdict)} |" for t in trials.trials]
    if result.objectives:
        lines += ["", "## Objectives", ""]
        lines.append("| " + " | ".join(OBJECTIVE_COLUMNS) + " |")
        lines.append("|---|---|---|---:|---:|---|")
        for row in objective_rows(result):
            row[-1] = "✅ passed" if row[-1] == "passed" else "❌ **FAILED**"
            lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    workload = summary.get("workload")
    if isinstance(workload, dict) and workload:
        lines += ["", "## Workload", "", "| | |", "|---|---|"]
        lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in workload.items()]
    return "\n".join(lines) + "\n"
