"""Every Prometheus query of the aumai-chaos dashboard, end to end against a real Prometheus.

A Prometheus server from Debian's ``prometheus`` package runs on loopback, with its storage in
a temporary folder, scraping ``aumai-chaos run --prometheus-port`` every second (the no-Docker
path of otel-collector/prometheus-direct.yml, scrape job ``aumai-chaos``). After the run, each
dashboard query is evaluated through Prometheus's HTTP API, as Grafana would (instant or range),
and checked against the run's JSON summary.

On this direct path the series carry no labels from the collector (no ``job`` from
``service.name``); the dashboard's queries select on none, so they match as they are.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from dashboard import PrometheusTarget, dashboard_prometheus_targets, render_expr
from tests.cli.support import free_port, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXPERIMENT_ID = "prom-e2e"
# Two components, latency and error faults on both, and latency on an MCP tool's component:
# every panel gets data.
EXPERIMENT = f"""\
experiment_id: "{EXPERIMENT_ID}"
name: "Prometheus end-to-end"
duration_seconds: 4
tick_seconds: 0.25
target_components: [tool_executor, llm_client, mcp.tool.search_docs]
faults:
  - fault_type: latency
    probability: 0.8
    duration_ms: 20
    affected_components: [tool_executor, llm_client, mcp.tool.search_docs]
  - fault_type: error
    probability: 0.5
    error_code: 503
    error_message: "Simulated upstream failure"
    affected_components: [tool_executor, llm_client]
"""
# The injected delay (20 ms) lies in this bucket of the delay histogram.
DELAY_BUCKET = (0.01, 0.025)

# Grafana's variables: $__range covers the whole run; $__rate_interval spans several scrapes.
MACROS = {"__range": "5m", "__rate_interval": "5s", "__interval": "1s"}
READY_TIMEOUT = 20.0
SCRAPE_START_TIMEOUT = 15.0


def missing_tool(message: str) -> NoReturn:
    """Fail in CI, which must have every tool; elsewhere skip with the reason."""
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must install it")
    pytest.skip(message)


def _get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return bytes(response.read())


class Prometheus:
    """Client for the few endpoints of Prometheus's HTTP API the test needs."""

    def __init__(self, base: str) -> None:
        self.base = base

    def api(self, endpoint: str, **params: Any) -> dict[str, Any]:
        query = urllib.parse.urlencode({k: str(v) for k, v in params.items()})
        try:
            body = _get(f"{self.base}/api/v1/{endpoint}?{query}")
        except urllib.error.HTTPError as error:  # a bad query: show Prometheus's message
            raise AssertionError(f"{endpoint} {params}: {error.read().decode()}") from error
        answer = json.loads(body)
        assert answer["status"] == "success", answer
        return dict(answer["data"])

    def instant(self, expr: str, at: float) -> list[dict[str, Any]]:
        data = self.api("query", query=expr, time=at)
        assert data["resultType"] == "vector", data
        return list(data["result"])

    def range(self, expr: str, start: float, end: float, step: float = 1) -> list[dict[str, Any]]:
        # Evaluated at start, start + step, ...: align them so that ``end`` is one of them.
        start = end - math.ceil((end - start) / step) * step
        data = self.api("query_range", query=expr, start=start, end=end, step=step)
        assert data["resultType"] == "matrix", data
        return list(data["result"])

    def raw(self, selector: str, at: float, window: str = "5m") -> list[tuple[float, float]]:
        """The scraped samples of one series (the only one ``selector`` matches)."""
        data = self.api("query", query=f"{selector}[{window}]", time=at)
        assert data["resultType"] == "matrix", data
        [series] = data["result"]
        return [(float(t), float(v)) for t, v in series["values"]]


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[Prometheus, int]]:
    """A Prometheus server scraping 127.0.0.1:<port> every second; yields it and the port."""
    binary = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )
    if binary is None:
        missing_tool("prometheus is not installed (Debian: apt-get install -y prometheus)")
    target_port = free_port()
    web_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: aumai-chaos\n"
        "    scrape_interval: 1s\n"
        "    scrape_timeout: 1s\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{target_port}']\n",
        encoding="utf-8",
    )
    log = (tmp_path / "prometheus.log").open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{web_port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{web_port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited ({proc.returncode}): {_log(tmp_path)}")
            try:
                _get(f"{base}/-/ready", timeout=1)
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"prometheus not ready in {READY_TIMEOUT:g}s: {_log(tmp_path)}")
                time.sleep(0.2)
        client = Prometheus(base)
        # Prometheus applies its scrape targets a few seconds after it is ready: wait for the
        # first scrape of the (not yet listening) target, so that the whole run gets scraped.
        while not client.instant('up{job="aumai-chaos"}', at=time.time()):
            if time.monotonic() > deadline + SCRAPE_START_TIMEOUT:
                pytest.fail(f"prometheus never scraped its target: {_log(tmp_path)}")
            time.sleep(0.2)
        yield client, target_port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def _log(tmp_path: Path) -> str:
    return (tmp_path / "prometheus.log").read_text(encoding="utf-8", errors="replace")[-2000:]


def _value(sample: dict[str, Any]) -> float:
    return float(sample["value"][1])


def _by(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    return {sample["metric"].get(label, ""): _value(sample) for sample in result}


def _series_max(series: dict[str, Any]) -> float:
    values = [float(v) for _, v in series["values"] if not math.isnan(float(v))]
    return max(values, default=math.nan)


def test_every_dashboard_query_agrees_with_the_run(
    prometheus: tuple[Prometheus, int], tmp_path: Path
) -> None:
    prom, port = prometheus
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(EXPERIMENT, encoding="utf-8")

    started = time.time()
    result = run_cli(
        "run", "--experiment", str(experiment), "--seed", "7", "--json-output",
        "--prometheus-port", str(port), "--prometheus-linger", "20",
        timeout=45,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "no Prometheus scrape" not in result.stderr, result.stderr
    run = json.loads(result.stdout)
    assert run["experiment_id"] == EXPERIMENT_ID
    assert run["status"] == "completed"
    summary = run["summary"]
    faults_by_type: dict[str, int] = summary["faults_by_type"]
    assert set(faults_by_type) == {"latency", "error"}, summary
    components = {name for name, stats in summary["components"].items() if stats["faults"]}
    assert components == {"tool_executor", "llm_client", "mcp.tool.search_docs"}, summary

    # The last scrape that reached the process holds the final values; after it the target
    # is down and its series go stale. Grafana's "now" is that moment.
    active = prom.raw("chaos_experiment_active", at=time.time())
    end = active[-1][0]
    assert active[-1][1] == 0  # nothing runs at the end...
    assert any(value == 1 for _, value in active), active  # ...but the experiment ran while scraped
    start = started - 1

    seen: set[tuple[int, str]] = set()
    for target in dashboard_prometheus_targets():
        check = CHECKS.get(target.panel_id)
        assert check is not None, f"no check for panel {target.panel_id} {target.panel_title!r}"
        expr = render_expr(target.expr, **MACROS)
        if target.instant:
            data: list[dict[str, Any]] = prom.instant(expr, at=end)
        else:
            data = prom.range(expr, start=start, end=end)
        assert data, f"panel {target.panel_title!r} ({target.ref_id}): no data for {expr}"
        check(target, data, summary)
        seen.add((target.panel_id, target.ref_id))
    assert {panel for panel, _ in seen} == set(CHECKS)

    # What the panels sum up, broken down and exact.
    injected = prom.instant(
        "sum by (chaos_fault_type, chaos_component, chaos_experiment_id)"
        "(max_over_time(chaos_fault_injections_total[5m]))",
        at=end,
    )
    assert {s["metric"]["chaos_experiment_id"] for s in injected} == {EXPERIMENT_ID}
    by_type: dict[str, float] = {}
    by_component: dict[str, float] = {}
    for sample in injected:
        fault_type = sample["metric"]["chaos_fault_type"]
        component = sample["metric"]["chaos_component"]
        by_type[fault_type] = by_type.get(fault_type, 0) + _value(sample)
        by_component[component] = by_component.get(component, 0) + _value(sample)
    assert by_type == faults_by_type
    assert by_component == {
        name: stats["faults"] for name, stats in summary["components"].items() if stats["faults"]
    }
    runs = prom.instant("max_over_time(chaos_experiment_runs_total[5m])", at=end)
    assert [(s["metric"]["chaos_experiment_id"], s["metric"]["chaos_experiment_status"],
             _value(s)) for s in runs] == [(EXPERIMENT_ID, "completed", 1)]  # fmt: skip
    delays = prom.instant("sum(max_over_time(chaos_fault_delay_seconds_count[5m]))", at=end)
    assert [_value(s) for s in delays] == [faults_by_type["latency"]]


# --------------------------------------------------------------------------- panel checks


def _rate_by(label: str, expected: set[str]) -> Any:
    def check(target: PrometheusTarget, data: list[dict[str, Any]], summary: Any) -> None:
        peaks = {series["metric"].get(label, ""): _series_max(series) for series in data}
        assert set(peaks) == expected, (target.panel_title, peaks)
        assert all(peak > 0 for peak in peaks.values()), (target.panel_title, peaks)

    return check


def _check_rate_by_type(t: PrometheusTarget, data: list[dict[str, Any]], summary: Any) -> None:
    _rate_by("chaos_fault_type", set(summary["faults_by_type"]))(t, data, summary)


def _check_rate_by_component(t: PrometheusTarget, data: list[dict[str, Any]], summary: Any) -> None:
    faulted = {name for name, stats in summary["components"].items() if stats["faults"]}
    _rate_by("chaos_component", faulted)(t, data, summary)


def _check_mcp_tools(t: PrometheusTarget, data: list[dict[str, Any]], summary: Any) -> None:
    # Only the MCP tool's component, and only latency faults fired on it.
    assert {series["metric"].get("chaos_fault_type") for series in data} == {"latency"}
    _rate_by("chaos_component", {"mcp.tool.search_docs"})(t, data, summary)


def _check_running(t: PrometheusTarget, data: list[dict[str, Any]], summary: Any) -> None:
    [series] = data
    values = [float(v) for _, v in series["values"]]
    assert values[-1] == 0, values  # over at the end
    assert 1 in values, values  # running while it ran
    assert set(values) <= {0, 1}, values


def _check_total(t: PrometheusTarget, data: list[dict[str, Any]], summary: Any) -> None:
    assert [_value(s) for s in data] == [summary["total_faults_fired"]]


def _check_runs(t: PrometheusTarget, data: list[dict[str, Any]], summary: Any) -> None:
    assert _by(data, "chaos_experiment_status") == {"completed": 1}


def _check_duration(t: PrometheusTarget, data: list[dict[str, Any]], summary: Any) -> None:
    means = _by(data, "chaos_experiment_id")
    assert set(means) == {EXPERIMENT_ID}, means
    assert means[EXPERIMENT_ID] == pytest.approx(summary["duration_seconds"], abs=0.5)


def _check_heatmap(t: PrometheusTarget, data: list[dict[str, Any]], summary: Any) -> None:
    peaks = {series["metric"]["le"]: _series_max(series) for series in data}
    low, high = DELAY_BUCKET
    assert peaks["+Inf"] > 0, peaks
    # Every delay lies in (low, high]: buckets below it stay empty, those above it fill.
    for le, peak in peaks.items():
        bound = math.inf if le == "+Inf" else float(le)
        if bound <= low:
            assert peak == 0, (le, peaks)
        elif bound >= high:
            assert peak > 0, (le, peaks)


def _check_quantiles(t: PrometheusTarget, data: list[dict[str, Any]], summary: Any) -> None:
    # Only latency faults observe a delay.
    assert {series["metric"].get("chaos_fault_type") for series in data} == {"latency"}
    values = [float(v) for series in data for _, v in series["values"]]
    quantiles = [v for v in values if not math.isnan(v)]
    assert quantiles, values
    low, high = DELAY_BUCKET
    assert all(low <= q <= high for q in quantiles), quantiles


CHECKS = {
    1: _check_rate_by_type,
    2: _check_rate_by_component,
    3: _check_running,
    4: _check_total,
    5: _check_runs,
    6: _check_duration,
    7: _check_heatmap,
    8: _check_quantiles,
    10: _check_mcp_tools,
}
