"""The otel-collector/ stack's configuration files are valid and agree with one another
and with the telemetry contract (telemetry.md).

Nothing here starts a container: there is no Docker engine in CI. promtool (Debian's
`prometheus` package) checks the Prometheus configuration and the dashboard's PromQL;
the Grafana Foundation SDK's dashboard models and a JSON schema check the dashboard.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest
import yaml
from dashboard import (
    ATTRIBUTES,
    DASHBOARD_PATH,
    DASHBOARD_SCHEMA,
    PROMETHEUS_METRICS,
    REPO_ROOT,
    allowed_label_names,
    allowed_series_names,
    dashboard_panels,
    dashboard_prometheus_targets,
    dashboard_queries,
    load_dashboard,
    prometheus_label,
    promql_label_names,
    promql_metric_names,
    render_expr,
)

STACK = REPO_ROOT / "otel-collector"
COMPOSE = STACK / "docker-compose.yaml"
COLLECTOR_CONFIG = STACK / "otel-collector-config.yaml"
PROMETHEUS_CONFIG = STACK / "prometheus.yml"
PROMETHEUS_DIRECT_CONFIG = STACK / "prometheus-direct.yml"
DATASOURCES = STACK / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
DASHBOARD_PROVIDERS = STACK / "grafana" / "provisioning" / "dashboards" / "dashboards.yaml"

YAML_FILES = [
    COMPOSE,
    COLLECTOR_CONFIG,
    PROMETHEUS_CONFIG,
    PROMETHEUS_DIRECT_CONFIG,
    DATASOURCES,
    DASHBOARD_PROVIDERS,
]

# Where the telemetry contract may be found: in the repository's docs, or in the
# shared/ folder that sits beside the repository's clone.
#: The repository's copy of the telemetry contract (a fresh clone has nothing beside it).
TELEMETRY_SPEC = REPO_ROOT / "docs" / "telemetry.md"

PROMTOOL_INSTALL = "apt-get install -y prometheus"
# Test-only Python dependencies. The SDK's versions carry an epoch, so an unpinned
# install picks an old Grafana version's models: pin it exactly.
TEST_REQUIREMENTS = {
    "jsonschema": "jsonschema>=4.18",
    "grafana_foundation_sdk": "grafana-foundation-sdk==1769699379!11.6.0",
}


def missing_tool(message: str) -> NoReturn:
    """Fail in CI, which must have every tool; elsewhere skip with the reason."""
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must install it")
    pytest.skip(message)


def require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        missing_tool(f"{module} is not installed (pip install '{TEST_REQUIREMENTS[module]}')")


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} must hold a mapping"
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def collector() -> dict[str, Any]:
    return load_yaml(COLLECTOR_CONFIG)


@pytest.fixture(scope="module")
def datasources() -> dict[str, dict[str, Any]]:
    """Provisioned Grafana data sources by uid."""
    entries = load_yaml(DATASOURCES)["datasources"]
    return {entry["uid"]: entry for entry in entries}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return load_dashboard(DASHBOARD_PATH)


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        missing_tool(f"promtool is not installed (Debian: {PROMTOOL_INSTALL})")
    return path


def run_promtool(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=60, check=False
    )


def host_port(spec: str) -> tuple[str | None, int, int]:
    """Split a compose short-syntax port, `[host_ip:]published:target`."""
    parts = spec.split(":")
    if len(parts) == 3:
        return parts[0], int(parts[1]), int(parts[2])
    if len(parts) == 2:
        return None, int(parts[0]), int(parts[1])
    raise AssertionError(f"port {spec!r} publishes nothing on the host")


def endpoint_port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1].split("/", 1)[0])


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda path: path.name)
def test_yaml_file_parses_to_a_mapping(path: Path) -> None:
    load_yaml(path)


# --------------------------------------------------------------------------- compose


def test_compose_runs_the_four_services(compose: dict[str, Any]) -> None:
    images = {name: service["image"] for name, service in compose["services"].items()}
    assert set(images) == {"otel-collector", "jaeger", "prometheus", "grafana"}
    assert images["otel-collector"].startswith("otel/opentelemetry-collector-contrib:")
    assert images["jaeger"].startswith("jaegertracing/jaeger:2.")  # Jaeger v2: takes OTLP
    assert images["prometheus"].startswith("prom/prometheus:")
    assert images["grafana"].startswith("grafana/grafana:")


def test_compose_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        repository, _, tag = image.partition("@")[0].rpartition(":")
        assert repository, f"{name}: {image} has no tag"
        assert "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned"
        assert re.search(r"\d", tag), f"{name}: {image} is not pinned"


def test_compose_publishes_the_documented_ports_on_loopback(compose: dict[str, Any]) -> None:
    published = {}
    for name, service in compose["services"].items():
        for spec in service.get("ports", []):
            host_ip, host, _ = host_port(str(spec))
            assert host_ip == "127.0.0.1", f"{name} publishes {spec} beyond this machine"
            published[host] = name
    assert (
        published.items()
        >= {
            4317: "otel-collector",
            4318: "otel-collector",
            16686: "jaeger",
            9090: "prometheus",
            3000: "grafana",
        }.items()
    )


def test_compose_mounts_files_that_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (STACK / source).exists(), f"{name} mounts missing {source}"


def test_collector_runs_the_mounted_config(compose: dict[str, Any]) -> None:
    service = compose["services"]["otel-collector"]
    mounted = {
        volume.split(":")[1]
        for volume in service["volumes"]
        if volume.startswith("./otel-collector-config.yaml:")
    }
    config_flags = [arg.removeprefix("--config=") for arg in service["command"]]
    assert mounted
    assert set(config_flags) == mounted


def test_prometheus_stores_exemplars(compose: dict[str, Any]) -> None:
    command = compose["services"]["prometheus"]["command"]
    assert "--enable-feature=exemplar-storage" in command
    assert "--config.file=/etc/prometheus/prometheus.yml" in command
    assert (
        "./prometheus.yml:/etc/prometheus/prometheus.yml:ro"
        in compose["services"]["prometheus"]["volumes"]
    )


def test_grafana_lets_anonymous_viewers_in(compose: dict[str, Any]) -> None:
    environment = compose["services"]["grafana"]["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"


# --------------------------------------------------------------------------- collector


def test_collector_pipelines_use_defined_components(collector: dict[str, Any]) -> None:
    pipelines = collector["service"]["pipelines"]
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    for pipeline_name, pipeline in pipelines.items():
        for kind, used_ids in used.items():
            for component in pipeline.get(kind, []):
                assert component in (collector.get(kind) or {}), (
                    f"pipeline {pipeline_name} uses undefined {kind[:-1]} {component}"
                )
                used_ids.add(component)
    for kind, used_ids in used.items():
        assert set(collector.get(kind) or {}) == used_ids, f"unused {kind}"
    assert set(pipelines) >= {"traces", "metrics"}


def test_collector_memory_limiter_comes_first(collector: dict[str, Any]) -> None:
    for name, pipeline in collector["service"]["pipelines"].items():
        processors = pipeline["processors"]
        assert processors[0] == "memory_limiter", f"pipeline {name}: {processors}"
        assert "batch" in processors, f"pipeline {name} does not batch"
    assert collector["processors"]["memory_limiter"]["check_interval"]


def test_collector_receives_otlp_grpc_and_http(collector: dict[str, Any]) -> None:
    protocols = collector["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"


def test_collector_sends_traces_to_jaeger(
    collector: dict[str, Any], compose: dict[str, Any]
) -> None:
    (exporter,) = collector["service"]["pipelines"]["traces"]["exporters"]
    assert exporter.split("/")[0] == "otlp_grpc"
    host, port = collector["exporters"][exporter]["endpoint"].split(":")
    assert host == "jaeger"
    assert host in compose["services"]
    assert port == "4317"  # Jaeger v2's OTLP gRPC receiver


def test_collector_exposes_metrics_with_contract_names(collector: dict[str, Any]) -> None:
    assert collector["service"]["pipelines"]["metrics"]["exporters"] == ["prometheus"]
    exporter = collector["exporters"]["prometheus"]
    assert endpoint_port(exporter["endpoint"]) == 8889
    # Exemplars exist only in the OpenMetrics exposition.
    assert exporter["enable_open_metrics"] is True
    # Dots become underscores, and unit and type suffixes are added:
    # chaos.fault.delay (unit s) -> chaos_fault_delay_seconds, counters -> *_total.
    assert exporter.get("translation_strategy", "UnderscoreEscapingWithSuffixes") == (
        "UnderscoreEscapingWithSuffixes"
    )
    assert exporter.get("add_metric_suffixes", True) is True
    assert "namespace" not in exporter, "a namespace would prefix every metric name"


# --------------------------------------------------------------------------- prometheus


@pytest.mark.parametrize(
    "path", [PROMETHEUS_CONFIG, PROMETHEUS_DIRECT_CONFIG], ids=lambda path: path.name
)
def test_promtool_check_config(promtool: str, path: Path) -> None:
    result = run_promtool(promtool, "check", "config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def scrape_targets(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each static scrape target with the scrape config that scrapes it."""
    return {
        target: job
        for job in config["scrape_configs"]
        for group in job.get("static_configs", [])
        for target in group["targets"]
    }


def test_prometheus_scrapes_the_collector_exporter(
    collector: dict[str, Any], compose: dict[str, Any]
) -> None:
    targets = scrape_targets(load_yaml(PROMETHEUS_CONFIG))
    port = endpoint_port(collector["exporters"]["prometheus"]["endpoint"])
    job = targets[f"otel-collector:{port}"]
    assert "otel-collector" in compose["services"]
    # Keep job/instance from service.name/service.instance.id, as the exporter sets them.
    assert job["honor_labels"] is True


def test_prometheus_direct_scrapes_the_cli_endpoint() -> None:
    targets = scrape_targets(load_yaml(PROMETHEUS_DIRECT_CONFIG))
    assert set(targets) == {"127.0.0.1:9464"}


# --------------------------------------------------------------------------- grafana


def test_grafana_datasources_link_exemplars_to_jaeger(
    datasources: dict[str, dict[str, Any]], compose: dict[str, Any]
) -> None:
    prometheus, jaeger = datasources["prometheus"], datasources["jaeger"]
    assert prometheus["type"] == "prometheus"
    assert prometheus["url"] == "http://prometheus:9090"
    assert jaeger["type"] == "jaeger"
    assert jaeger["url"] == "http://jaeger:16686"
    assert {"prometheus", "jaeger"} <= set(compose["services"])
    # The collector's prometheus exporter labels exemplars with `trace_id`.
    assert prometheus["jsonData"]["exemplarTraceIdDestinations"] == [
        {"name": "trace_id", "datasourceUid": "jaeger"}
    ]


def test_grafana_dashboard_provider_reads_the_mounted_folder(compose: dict[str, Any]) -> None:
    (provider,) = load_yaml(DASHBOARD_PROVIDERS)["providers"]
    mounts = dict(
        volume.removesuffix(":ro").split(":", 1)
        for volume in compose["services"]["grafana"]["volumes"]
    )
    assert mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    home = compose["services"]["grafana"]["environment"][
        "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"
    ]
    assert home == f"{provider['options']['path']}/{DASHBOARD_PATH.name}"


# --------------------------------------------------------------------------- dashboard


def test_dashboard_identity(dashboard: dict[str, Any]) -> None:
    assert dashboard["title"] == "aumai-chaos"
    assert dashboard["uid"] == "aumai-chaos"


def test_dashboard_matches_the_schema(dashboard: dict[str, Any]) -> None:
    jsonschema = require("jsonschema")
    validator = jsonschema.Draft202012Validator(DASHBOARD_SCHEMA)
    errors = [
        f"{list(error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(dashboard)
    ]
    assert errors == []


def lost_keys(original: Any, decoded: Any, path: str = "$") -> list[str]:
    """Paths of `original` that are missing or different in `decoded`."""
    if isinstance(original, dict):
        if not isinstance(decoded, dict):
            return [path]
        return [
            lost
            for key, value in original.items()
            for lost in (
                lost_keys(value, decoded[key], f"{path}.{key}")
                if key in decoded
                else [f"{path}.{key}"]
            )
        ]
    if isinstance(original, list):
        if not isinstance(decoded, list) or len(original) != len(decoded):
            return [path]
        return [
            lost
            for index, (item, other) in enumerate(zip(original, decoded, strict=True))
            for lost in lost_keys(item, other, f"{path}[{index}]")
        ]
    return [] if original == decoded else [path]


def test_dashboard_round_trips_through_grafanas_models(dashboard: dict[str, Any]) -> None:
    """Decode with the Grafana Foundation SDK, whose models are generated from Grafana's
    own schema for dashboards, panels and queries: a key the schema does not know (a
    typo, a wrong nesting) is dropped by decoding, so every key must come back."""
    require("grafana_foundation_sdk")
    from grafana_foundation_sdk.cog import runtime
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard
    from grafana_foundation_sdk.models.prometheus import Dataquery as PrometheusQuery

    register_default_plugins()
    decoded = Dashboard.from_json(dashboard)
    assert lost_keys(dashboard, json.loads(JSONEncoder().encode(decoded))) == []
    # Without a known panel type or query type the SDK keeps options or queries as an
    # opaque bag, unchecked: every panel type must be one of Grafana's.
    for panel in dashboard_panels(dashboard):
        assert runtime.panelcfg_config(panel["type"]) is not None, panel["type"]
    for model in decoded.panels or []:
        for target in getattr(model, "targets", None) or []:
            if isinstance(target, runtime.UnknownDataquery):
                # Grafana's Jaeger queries have no model in the SDK; the schema checks them.
                assert target.data["datasource"]["type"] == "jaeger"
            else:
                assert isinstance(target, PrometheusQuery)


def test_dashboard_layout(dashboard: dict[str, Any]) -> None:
    panels = list(dashboard_panels(dashboard))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, f"{panel['title']} is wider than the dashboard"
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                other = cells.setdefault((x, y), panel["title"])
                assert other == panel["title"], f"{panel['title']} overlaps {other}"
        ref_ids = [target["refId"] for target in panel.get("targets", [])]
        assert len(ref_ids) == len(set(ref_ids)), f"{panel['title']}: duplicate refIds"


def test_dashboard_uses_the_provisioned_datasources(
    dashboard: dict[str, Any], datasources: dict[str, dict[str, Any]]
) -> None:
    for panel in dashboard_panels(dashboard):
        for owner in [panel, *panel.get("targets", [])]:
            reference = owner.get("datasource")
            if reference is None or reference["type"] == "grafana":
                continue
            assert reference["uid"] in datasources, f"{panel['title']}: {reference}"
            assert datasources[reference["uid"]]["type"] == reference["type"]


def panel_exprs(dashboard: dict[str, Any], title: str) -> list[str]:
    (panel,) = [panel for panel in dashboard_panels(dashboard) if panel["title"] == title]
    return [target["expr"] for target in panel["targets"]]


def test_dashboard_has_the_promised_panels(dashboard: dict[str, Any]) -> None:
    assert panel_exprs(dashboard, "Fault injections per second by type") == [
        "sum by (chaos_fault_type) (rate(chaos_fault_injections_total[$__rate_interval]))"
    ]
    assert panel_exprs(dashboard, "Fault injections per second by component") == [
        "sum by (chaos_component) (rate(chaos_fault_injections_total[$__rate_interval]))"
    ]
    assert panel_exprs(dashboard, "Running experiments") == ["sum(chaos_experiment_active)"]
    (runs,) = panel_exprs(dashboard, "Experiment runs by status")
    assert promql_metric_names(runs) == {"chaos_experiment_runs_total"}
    assert promql_label_names(runs) == {"chaos_experiment_status"}
    (duration,) = panel_exprs(dashboard, "Experiment duration (mean per experiment)")
    assert promql_metric_names(duration) == {
        "chaos_experiment_duration_seconds_sum",
        "chaos_experiment_duration_seconds_count",
    }
    (delays,) = panel_exprs(dashboard, "Injected delay distribution")
    assert promql_metric_names(delays) == {"chaos_fault_delay_seconds_bucket"}
    assert promql_label_names(delays) == {"le"}
    # MCP tools are components named mcp.tool.<name> (docs/mcp.md)
    assert panel_exprs(dashboard, "MCP tool faults per second by tool") == [
        "sum by (chaos_component, chaos_fault_type) (rate(chaos_fault_injections_total"
        '{chaos_component=~"mcp[.]tool[.].+"}[$__rate_interval]))'
    ]


def test_dashboard_searches_jaeger_for_fault_spans(dashboard: dict[str, Any]) -> None:
    jaeger_targets = [
        target
        for panel in dashboard_panels(dashboard)
        for target in panel.get("targets", [])
        if target["datasource"]["type"] == "jaeger"
    ]
    assert len(jaeger_targets) == 1
    target = jaeger_targets[0]
    assert target["queryType"] == "search"
    assert target["service"] == "aumai-chaos"
    assert target["operation"] == "chaos.fault"


def test_fault_rate_panels_show_exemplars() -> None:
    fault_rates = [
        target
        for target in dashboard_prometheus_targets()
        if "chaos_fault_injections_total" in promql_metric_names(target.expr)
        and "rate(" in target.expr
    ]
    assert len(fault_rates) >= 2
    assert all(target.exemplar for target in fault_rates)


def test_dashboard_metrics_are_in_the_contract() -> None:
    queries = dashboard_queries()
    assert queries
    used = set()
    for title, expr in queries:
        names = promql_metric_names(expr)
        assert names, f"{title}: {expr} selects no metric"
        unknown = names - allowed_series_names()
        assert not unknown, f"{title}: {sorted(unknown)} are not in telemetry.md"
        used |= names
    # Every instrument of the contract appears on the dashboard.
    assert {
        name for name in PROMETHEUS_METRICS if any(used_name.startswith(name) for used_name in used)
    } == set(PROMETHEUS_METRICS)


def test_dashboard_labels_are_converted_contract_attributes() -> None:
    for title, expr in dashboard_queries():
        unknown = promql_label_names(expr) - allowed_label_names()
        assert not unknown, f"{title}: labels {sorted(unknown)} are not telemetry.md attributes"


def test_promtool_parses_every_dashboard_query(promtool: str, tmp_path: Path) -> None:
    """Prometheus's own parser, through a recording-rules file of every query."""
    rules = [
        {
            "record": f"aumai_chaos:panel_{target.panel_id}_{target.ref_id}",
            "expr": render_expr(target.expr),
        }
        for target in dashboard_prometheus_targets()
    ]
    rules_file = tmp_path / "dashboard-queries.rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run_promtool(promtool, "check", "rules", str(rules_file))
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- contract


ADDED = "*(added)*"


def markdown_table(text: str, heading: str) -> list[list[str]]:
    """Rows (without the header) of the first table under a `## heading`."""
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines[2:]]


def contract_names(cells: list[str]) -> list[str]:
    """The code-quoted names of a table column, leaving out those that the repository's
    reference (docs/telemetry.md) marks as additions to the contract."""
    return [cell.split("`")[1] for cell in cells if ADDED not in cell]


def test_names_match_telemetry_md() -> None:
    text = TELEMETRY_SPEC.read_text(encoding="utf-8")
    metric_rows = [row for row in markdown_table(text, "Metrics") if ADDED not in row[0]]
    kinds = {"Counter": "counter", "Histogram": "histogram", "UpDownCounter": "gauge"}
    metrics = {row[-1].strip("`"): kinds[row[1]] for row in metric_rows}
    assert metrics == PROMETHEUS_METRICS
    attributes = contract_names([row[0] for row in markdown_table(text, "Attributes")])
    assert sorted(attributes) == sorted(ATTRIBUTES)


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("expr", "metrics", "labels"),
    [
        (
            'sum by (a, b) (rate(x_total{c="rate(y)", d=~"z|w"}[5m] offset 1m))',
            {"x_total"},
            {"a", "b", "c", "d"},
        ),
        (
            "sum(max_over_time(s_sum[$__range])) by (e) / on(f) group_left(g) sum(c_count)",
            {"s_sum", "c_count"},
            {"e", "f", "g"},
        ),
        ("histogram_quantile(0.95, sum by (le) (rate(h_bucket[1m:10s])))", {"h_bucket"}, {"le"}),
        ("up == bool 1 and on() vector(1) > -Inf", {"up"}, set()),
    ],
)
def test_promql_names(expr: str, metrics: set[str], labels: set[str]) -> None:
    assert promql_metric_names(expr) == metrics
    assert promql_label_names(expr) == labels


@pytest.mark.parametrize("expr", ["rat(x[1m])", "sum(rate)", 'sum(x{a="b"}'])
def test_promql_names_reject_broken_queries(expr: str) -> None:
    with pytest.raises(ValueError, match=r"PromQL|unbalanced"):
        promql_metric_names(expr)


def test_render_expr_fills_grafana_variables() -> None:
    expr = "rate(x[$__rate_interval]) + max_over_time(x[${__range}])"
    assert render_expr(expr, __range="30s") == "rate(x[1m]) + max_over_time(x[30s])"
    with pytest.raises(ValueError, match="job"):
        render_expr('x{job="$job"}')


def test_prometheus_label_conversion() -> None:
    assert prometheus_label("chaos.fault.type") == "chaos_fault_type"
    assert prometheus_label("chaos.experiment.id") == "chaos_experiment_id"
    assert prometheus_label("error.type") == "error_type"
