"""``aumai-chaos proxy --prometheus-port``: the run's metrics, as ``run`` serves them, count the
faults injected into proxied requests."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cli.support import free_port
from tests.proxy.support import proxy, write_experiment
from tests.proxy.upstream import fixed_upstream

pytestmark = pytest.mark.integration

EXPERIMENT = """\
experiment_id: proxy-prom
name: Proxy Prometheus
duration_seconds: {duration}
faults:
  - fault_type: http_error
    status_code: 503
    times: 2
    affected_components: [127.0.0.1]
"""


def test_the_metrics_count_the_proxied_faults(tmp_path: Path) -> None:
    port = free_port()
    extra = ("--prometheus-port", str(port))
    with (
        fixed_upstream() as upstream,
        proxy(write_experiment(tmp_path, EXPERIMENT), upstream.url, extra=extra) as run,
    ):
        statuses = [httpx.get(run.url + "/v1/json", timeout=10).status_code for _ in range(3)]
        body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert statuses == [503, 503, 200]
    assert f"Serving Prometheus metrics on http://127.0.0.1:{port}/metrics" in run.stderr
    injected = sum(
        s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name == "chaos_fault_injections_total"
        and s.labels.get("chaos_experiment_id") == "proxy-prom"
    )
    assert injected == 2
