"""Read the aumai-chaos Grafana dashboard and the PromQL in it.

Shared by the configuration tests next to this file and by any test that runs the
dashboard's queries against a real Prometheus. Import it as ``dashboard`` from tests in
this folder (pytest puts a test module's folder on ``sys.path``), or as
``tests.otel_collector.dashboard`` when pytest runs as ``python -m pytest`` from the
repository root.

The names the dashboard may use come from the telemetry contract (telemetry.md, "Metrics"
and "Attributes"): the Prometheus names of its last column, and attribute keys with dots
replaced by underscores as the collector's prometheus exporter writes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ATTRIBUTES",
    "DASHBOARD_PATH",
    "DASHBOARD_SCHEMA",
    "GRAFANA_MACROS",
    "PROMETHEUS_METRICS",
    "REPO_ROOT",
    "PrometheusTarget",
    "allowed_label_names",
    "allowed_series_names",
    "dashboard_panels",
    "dashboard_prometheus_targets",
    "dashboard_queries",
    "load_dashboard",
    "prometheus_label",
    "promql_label_names",
    "promql_metric_names",
    "render_expr",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_PATH = REPO_ROOT / "otel-collector" / "grafana" / "dashboards" / "aumai-chaos.json"

# telemetry.md, "Metrics": Prometheus name after the collector -> Prometheus metric type.
PROMETHEUS_METRICS: dict[str, str] = {
    "chaos_fault_injections_total": "counter",
    "chaos_fault_delay_seconds": "histogram",
    "chaos_experiment_runs_total": "counter",
    "chaos_experiment_duration_seconds": "histogram",
    "chaos_experiment_active": "gauge",
}

# telemetry.md, "Attributes".
ATTRIBUTES: tuple[str, ...] = (
    "chaos.fault.type",
    "chaos.fault.probability",
    "chaos.fault.duration_ms",
    "chaos.fault.error_code",
    "chaos.fault.error_message",
    "chaos.component",
    "chaos.experiment.id",
    "chaos.experiment.name",
    "chaos.experiment.status",
    "chaos.seed",
    "error.type",
)

# Labels that Prometheus itself defines on the series above: `le` on histogram buckets.
_PROMETHEUS_LABELS = frozenset({"le"})


def prometheus_label(attribute: str) -> str:
    """Return the label name the collector gives an attribute (``chaos.fault.type`` ->
    ``chaos_fault_type``): every character outside ``[a-zA-Z0-9_]`` becomes ``_``."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", attribute)


def allowed_series_names() -> set[str]:
    """Every series name a query may select: the contract's names, plus the
    ``_bucket``/``_sum``/``_count`` series of its histograms."""
    names = set(PROMETHEUS_METRICS)
    for name, kind in PROMETHEUS_METRICS.items():
        if kind == "histogram":
            names.update(f"{name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
    return names


def allowed_label_names() -> set[str]:
    """Every label name a query may use: converted contract attributes and ``le``."""
    return {prometheus_label(attribute) for attribute in ATTRIBUTES} | _PROMETHEUS_LABELS


# --------------------------------------------------------------------------- dashboard


def load_dashboard(path: Path = DASHBOARD_PATH) -> dict[str, Any]:
    """Parse a dashboard JSON file; it must be a JSON object."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a dashboard must be a JSON object")
    return data


def dashboard_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield every panel, including those collapsed inside rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


@dataclass(frozen=True)
class PrometheusTarget:
    """One PromQL query of a dashboard panel."""

    panel_id: int
    panel_title: str
    ref_id: str
    expr: str
    # Grafana runs it as an instant query (one value at the end of the time range)
    # rather than as a range query.
    instant: bool
    exemplar: bool


def _datasource_type(target: dict[str, Any], panel: dict[str, Any]) -> str | None:
    for owner in (target, panel):
        datasource = owner.get("datasource")
        if isinstance(datasource, dict) and datasource.get("type"):
            return str(datasource["type"])
    return None


def dashboard_prometheus_targets(path: Path = DASHBOARD_PATH) -> list[PrometheusTarget]:
    """Every Prometheus query in the dashboard, in panel order."""
    targets = []
    for panel in dashboard_panels(load_dashboard(path)):
        for target in panel.get("targets", []):
            if _datasource_type(target, panel) != "prometheus":
                continue
            targets.append(
                PrometheusTarget(
                    panel_id=panel["id"],
                    panel_title=panel["title"],
                    ref_id=target["refId"],
                    expr=target["expr"],
                    instant=bool(target.get("instant")) and not target.get("range"),
                    exemplar=bool(target.get("exemplar")),
                )
            )
    return targets


def dashboard_queries(path: Path = DASHBOARD_PATH) -> list[tuple[str, str]]:
    """``(panel title, PromQL expression)`` for every Prometheus query in the dashboard."""
    return [(target.panel_title, target.expr) for target in dashboard_prometheus_targets(path)]


# Grafana's global variables that may appear in the dashboard's PromQL, with the value
# render_expr() gives each by default.
GRAFANA_MACROS: dict[str, str] = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
}


def render_expr(expr: str, **values: str) -> str:
    """Substitute Grafana's variables, so that Prometheus itself can run the query.

    ``render_expr(expr, __range="30s")`` overrides a value. A variable other than those
    of GRAFANA_MACROS is an error: the dashboard defines no template variables.
    """
    unknown = set(values) - set(GRAFANA_MACROS)
    if unknown:
        raise ValueError(f"unknown Grafana variables: {sorted(unknown)}")
    resolved = {**GRAFANA_MACROS, **values}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in resolved:
            raise ValueError(f"unknown Grafana variable ${name} in {expr!r}")
        return resolved[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", substitute, expr)


# --------------------------------------------------------------------------- PromQL

# PromQL's aggregation operators and functions (Prometheus 3.x, experimental ones too).
# fmt: off
_AGGREGATIONS = frozenset({
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
    "topk", "quantile", "limitk", "limit_ratio",
})
_FUNCTIONS = frozenset({
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "days_in_month", "day_of_month", "day_of_week", "day_of_year", "deg",
    "delta", "deriv", "double_exponential_smoothing", "exp", "floor", "histogram_avg",
    "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev",
    "histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "info",
    "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
    "mad_over_time", "max_over_time", "min_over_time", "minute", "month", "pi",
    "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets",
    "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_by_label", "sort_by_label_desc",
    "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh",
    "time", "timestamp", "vector", "year", "start", "end",
})
# fmt: on
# Keywords after which a parenthesised list of label names follows.
_LABEL_LIST_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_OTHER_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "atan2"})
_MATCH_OPERATORS = frozenset({"=", "!=", "=~", "!~"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    | (?P<brackets>\[[^\]]*\])               # range or subquery: durations, variables
    | (?P<duration>(?:\d+(?:ms|[smhdwy]))+\b)
    | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<variable>\$\{\w+\}|\$\w+)
    | (?P<identifier>[a-zA-Z_:][a-zA-Z0-9_:]*)
    | (?P<operator>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}@])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(expr: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None:
            raise ValueError(f"cannot read PromQL at {expr[position:]!r} in {expr!r}")
        kind = match.lastgroup
        assert kind is not None
        if kind not in ("space", "comment"):
            tokens.append(_Token(kind, match.group()))
        position = match.end()
    return tokens


def _names(expr: str) -> tuple[set[str], set[str]]:
    """Return (metric names, label names) that a PromQL expression refers to."""
    metrics: set[str] = set()
    labels: set[str] = set()
    tokens = _tokens(expr)
    brace_depth = 0
    label_list_depth: int | None = None  # paren depth of an open `by (...)`-style list
    paren_depth = 0
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.kind == "operator":
            if token.text == "{":
                brace_depth += 1
            elif token.text == "}":
                brace_depth -= 1
            elif token.text == "(":
                paren_depth += 1
            elif token.text == ")":
                if label_list_depth == paren_depth:
                    label_list_depth = None
                paren_depth -= 1
            continue
        if token.kind != "identifier":
            continue
        name = token.text
        if brace_depth > 0:
            # Inside a selector: `label op "value"`.
            if following is not None and following.text in _MATCH_OPERATORS:
                labels.add(name)
            continue
        if label_list_depth is not None:
            labels.add(name)
            continue
        opens_paren = following is not None and following.text == "("
        if name in _LABEL_LIST_KEYWORDS:
            if opens_paren:
                label_list_depth = paren_depth + 1
            continue
        if name in _OTHER_KEYWORDS or name.lower() in ("inf", "nan"):
            continue
        if name in _AGGREGATIONS or name in _FUNCTIONS:
            if not opens_paren and not (
                name in _AGGREGATIONS
                and following is not None
                and following.text in ("by", "without")
            ):
                raise ValueError(f"{name!r} is a PromQL function, not a metric, in {expr!r}")
            continue
        if opens_paren:
            raise ValueError(f"unknown PromQL function {name!r} in {expr!r}")
        metrics.add(name)
    if brace_depth != 0 or paren_depth != 0:
        raise ValueError(f"unbalanced brackets in {expr!r}")
    return metrics, labels


def promql_metric_names(expr: str) -> set[str]:
    """Names of the series that a PromQL expression selects.

    A small reader of PromQL's grammar, enough for dashboards: it skips strings, range
    brackets, functions, aggregations and keywords, and raises ValueError for a call of
    an unknown function (a typo such as ``rat(...)``). Run ``promtool check rules`` on
    the expressions for a full syntax check.
    """
    return _names(expr)[0]


def promql_label_names(expr: str) -> set[str]:
    """Label names that a PromQL expression matches on or groups by."""
    return _names(expr)[1]


# --------------------------------------------------------------------------- schema

_DATASOURCE_REF = {
    "type": "object",
    "required": ["type", "uid"],
    "properties": {
        "type": {"type": "string", "minLength": 1},
        "uid": {"type": "string", "minLength": 1},
    },
}

_PROMETHEUS_TARGET = {
    "required": ["expr"],
    "properties": {
        "expr": {"type": "string", "minLength": 1},
        "legendFormat": {"type": "string"},
        "instant": {"type": "boolean"},
        "range": {"type": "boolean"},
        "exemplar": {"type": "boolean"},
        "format": {"enum": ["time_series", "table", "heatmap"]},
        "editorMode": {"enum": ["code", "builder"]},
    },
}

# Grafana's Jaeger data source query model (queryType "search" lists matching traces).
_JAEGER_TARGET = {
    "required": ["queryType", "service"],
    "properties": {
        "queryType": {"enum": ["search", "upload", "dependencyGraph"]},
        "service": {"type": "string", "minLength": 1},
        "operation": {"type": "string", "minLength": 1},
        "tags": {"type": "string"},
        "limit": {"type": "integer", "minimum": 1},
    },
}

# The structure that Grafana's dashboard JSON model (v1, the "classic" model that file
# provisioning reads) requires of a dashboard, panel and query. The Grafana Foundation
# SDK check in test_configs.py covers the names and nesting of every other key; this
# covers presence and types, which that SDK does not check.
DASHBOARD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "uid",
        "title",
        "schemaVersion",
        "panels",
        "templating",
        "annotations",
        "time",
    ],
    "properties": {
        "uid": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,40}$"},
        "title": {"type": "string", "minLength": 1},
        # Versions below 36 predate data source references by uid.
        "schemaVersion": {"type": "integer", "minimum": 36},
        "version": {"type": "integer", "minimum": 0},
        "editable": {"type": "boolean"},
        "graphTooltip": {"enum": [0, 1, 2]},
        "refresh": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "timezone": {"type": "string"},
        "time": {
            "type": "object",
            "required": ["from", "to"],
            "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
        },
        "templating": {
            "type": "object",
            "required": ["list"],
            "properties": {"list": {"type": "array", "items": {"type": "object"}}},
        },
        "annotations": {
            "type": "object",
            "required": ["list"],
            "properties": {"list": {"type": "array", "items": {"type": "object"}}},
        },
        "panels": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/panel"}},
    },
    "$defs": {
        "gridPos": {
            "type": "object",
            "required": ["h", "w", "x", "y"],
            "properties": {
                "h": {"type": "integer", "minimum": 1},
                "w": {"type": "integer", "minimum": 1, "maximum": 24},
                "x": {"type": "integer", "minimum": 0, "maximum": 23},
                "y": {"type": "integer", "minimum": 0},
            },
        },
        "target": {
            "type": "object",
            "required": ["refId", "datasource"],
            "properties": {
                "refId": {"type": "string", "pattern": "^[A-Z]+$"},
                "datasource": _DATASOURCE_REF,
                "hide": {"type": "boolean"},
            },
            "allOf": [
                {
                    "if": {
                        "properties": {
                            "datasource": {"properties": {"type": {"const": "prometheus"}}}
                        }
                    },
                    "then": _PROMETHEUS_TARGET,
                },
                {
                    "if": {
                        "properties": {"datasource": {"properties": {"type": {"const": "jaeger"}}}}
                    },
                    "then": _JAEGER_TARGET,
                },
            ],
        },
        "panel": {
            "type": "object",
            "required": ["id", "type", "title", "gridPos"],
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "type": {"type": "string", "minLength": 1},
                "title": {"type": "string", "minLength": 1},
                "description": {"type": "string"},
                "gridPos": {"$ref": "#/$defs/gridPos"},
                "datasource": _DATASOURCE_REF,
                "targets": {"type": "array", "items": {"$ref": "#/$defs/target"}},
                "options": {"type": "object"},
                "fieldConfig": {
                    "type": "object",
                    "required": ["defaults", "overrides"],
                    "properties": {
                        "defaults": {"type": "object"},
                        "overrides": {"type": "array"},
                    },
                },
                "panels": {"type": "array", "items": {"$ref": "#/$defs/panel"}},
            },
            # A row only groups panels; every other panel shows the data of its queries.
            "if": {"properties": {"type": {"const": "row"}}},
            "then": {"required": ["panels"]},
            "else": {
                "required": ["datasource", "targets"],
                "properties": {"targets": {"minItems": 1}},
            },
        },
    },
}
