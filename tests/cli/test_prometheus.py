"""``aumai-chaos run --prometheus-port``: telemetry.md's Prometheus names, scraped from the real
endpoint, and the final values (runs, duration) scraped before the process exits."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from aumai_chaos import ExperimentResult
from tests.cli.support import assert_one_error_line, free_port, run_cli, start_cli

#: telemetry.md's last column: what each instrument is called in Prometheus.
PROMETHEUS_NAMES = {
    "chaos_fault_injections_total",
    "chaos_fault_delay_seconds",
    "chaos_experiment_runs_total",
    "chaos_experiment_duration_seconds",
    "chaos_experiment_active",
}


class Scraper(threading.Thread):
    """Scrapes ``url`` every ``interval`` seconds, keeping each body, until told to stop."""

    def __init__(self, url: str, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.interval = interval
        self.bodies: list[tuple[float, str]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    self.bodies.append((time.monotonic(), response.read().decode()))
            except (urllib.error.URLError, OSError):
                pass
            self.stop.wait(self.interval)


def samples(body: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(body) for s in family.samples]


def names(body: str) -> set[str]:
    """Sample names with the histogram suffixes folded back into the family name."""
    out = set()
    for sample in samples(body):
        name = sample.name
        for suffix in ("_bucket", "_count", "_sum", "_created"):
            if name.endswith(suffix) and not name.endswith("_total"):
                name = name.removesuffix(suffix)
        out.add(name)
    return out


def test_prometheus_serves_the_contract_names_and_the_final_values(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    port = free_port()
    saved = tmp_path / "result.json"
    path = write_experiment(exp_id="prom-test", duration=1.5, tick=0.25)
    scraper = Scraper(f"http://127.0.0.1:{port}/metrics")
    proc = start_cli(
        "run", "--experiment", str(path), "--output", str(saved), "--prometheus-port", str(port)
    )
    scraper.start()
    try:
        _, stderr = proc.communicate(timeout=30)
        exited = time.monotonic()
    finally:
        scraper.stop.set()
        scraper.join(5)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert f"Serving Prometheus metrics on http://127.0.0.1:{port}/metrics" in stderr
    assert "warning" not in stderr
    assert len(scraper.bodies) >= 3  # scraped while the experiment ran, and after

    last_at, last = scraper.bodies[-1]
    assert exited - last_at < 10  # it left after the final scrape, not the 15 s linger
    assert names(last) >= PROMETHEUS_NAMES

    total = ExperimentResult.model_validate_json(saved.read_text("utf-8")).summary[
        "total_faults_fired"
    ]
    final = samples(last)
    injected = sum(
        s.value
        for s in final
        if s.name == "chaos_fault_injections_total"
        and s.labels["chaos_experiment_id"] == "prom-test"
    )
    assert injected == total
    [runs] = [s for s in final if s.name == "chaos_experiment_runs_total"]
    assert runs.labels["chaos_experiment_status"] == "completed"
    assert runs.value == 1
    [count] = [s for s in final if s.name == "chaos_experiment_duration_seconds_count"]
    assert count.value == 1
    [active] = [s for s in final if s.name == "chaos_experiment_active"]
    assert active.value == 0
    # While it ran, the experiment was active.
    assert any(
        s.name == "chaos_experiment_active" and s.value == 1
        for _, body in scraper.bodies[:-1]
        for s in samples(body)
    )


def test_without_a_scrape_it_waits_no_longer_than_the_linger(
    write_experiment: Callable[..., Path],
) -> None:
    path = write_experiment(duration=1)
    started = time.monotonic()
    result = run_cli(
        "run", "--experiment", str(path), "--prometheus-port", str(free_port()),
        "--prometheus-linger", "1",
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 0
    assert "aumai-chaos: warning: no Prometheus scrape" in result.stderr
    assert elapsed < 1 + 1 + 4


def test_a_port_in_use_is_bad_input(write_experiment: Callable[..., Path]) -> None:
    path = write_experiment(duration=60)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_cli("run", "--experiment", str(path), "--prometheus-port", str(port))
    assert_one_error_line(result, f"--prometheus-port: cannot serve on 127.0.0.1:{port}")
    assert "Running experiment" not in result.stderr
