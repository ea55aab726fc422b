"""Traces into Arize Phoenix (from PyPI, in its own virtual environment), read back through its
REST API: the no-Docker way to see faults.

``make test`` installs Phoenix into ``.venv-phoenix`` and sets ``AUMAI_PHOENIX_BIN``. Without it
the tests skip locally, and fail in CI (``CI`` set), where skipping would hide a broken path.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aumai_chaos import ExperimentResult
from tests.cli.support import cli_env, free_port, run_cli

STARTUP_TIMEOUT_S = 180
ARRIVAL_TIMEOUT_S = 30
#: Each test's own timeout: the first one also pays Phoenix's start-up (the module fixture), so
#: pytest's default 120 s would cut the 180 s start-up allowance short.
TEST_TIMEOUT_S = STARTUP_TIMEOUT_S + ARRIVAL_TIMEOUT_S + 90

pytestmark = [pytest.mark.integration, pytest.mark.timeout(TEST_TIMEOUT_S)]


@dataclass
class Phoenix:
    http_port: int
    grpc_port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            return json.load(response)

    def spans(self, experiment_id: str) -> list[dict[str, Any]]:
        """Every span of the default project that belongs to ``experiment_id``."""
        found: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = self.get(f"/v1/projects/default/spans?limit=1000{cursor}")
            found += [
                s
                for s in page["data"]
                if s["attributes"].get("chaos.experiment.id") == experiment_id
            ]
            if not page.get("next_cursor"):
                return found
            cursor = f"&cursor={page['next_cursor']}"


def _log_tail(log: Path) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    binary = os.environ.get("AUMAI_PHOENIX_BIN", "")
    if not binary:
        message = "AUMAI_PHOENIX_BIN is not set (make test installs Phoenix and sets it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("phoenix")
    server = Phoenix(http_port=free_port(), grpc_port=free_port(), log=work / "phoenix.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PHOENIX_"))}
    env.update(
        PHOENIX_WORKING_DIR=str(work),
        PHOENIX_HOST="127.0.0.1",
        PHOENIX_PORT=str(server.http_port),
        PHOENIX_GRPC_PORT=str(server.grpc_port),
        PHOENIX_TELEMETRY_ENABLED="false",
        PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
        HOME=str(work),
    )
    with server.log.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [binary, "serve"], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"phoenix serve exited with {proc.returncode}:\n{_log_tail(server.log)}"
                )
            try:
                with urllib.request.urlopen(server.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Phoenix not ready in {STARTUP_TIMEOUT_S}s:\n{_log_tail(server.log)}")
            time.sleep(0.5)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait_for_spans(phoenix: Phoenix, experiment_id: str, faults: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while True:
        spans = phoenix.spans(experiment_id)
        names = [s["name"] for s in spans]
        if "chaos.experiment" in names and names.count("chaos.fault") >= faults:
            return spans
        if time.monotonic() > deadline:
            pytest.fail(f"spans of {experiment_id} did not arrive in Phoenix: {sorted(names)}")
        time.sleep(0.5)


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_phoenix_shows_the_experiment_and_its_faults(
    phoenix: Phoenix, write_experiment: Callable[..., Path], tmp_path: Path, protocol: str
) -> None:
    exp_id = f"phoenix-{protocol.replace('/', '-')}"
    path = write_experiment(exp_id=exp_id, duration=1, tick=0.25)
    saved = tmp_path / "result.json"
    port = phoenix.http_port if protocol == "http/protobuf" else phoenix.grpc_port
    result = run_cli(
        "run", "--experiment", str(path), "--output", str(saved),
        "--otlp-endpoint", f"http://127.0.0.1:{port}", "--otlp-protocol", protocol,
        # Phoenix takes traces only: say so, and no warning about metrics is due.
        env=cli_env(OTEL_METRICS_EXPORTER="none"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr
    total = ExperimentResult.model_validate_json(saved.read_text("utf-8")).summary[
        "total_faults_fired"
    ]
    assert total > 0

    spans = _wait_for_spans(phoenix, exp_id, total)
    [experiment] = [s for s in spans if s["name"] == "chaos.experiment"]
    assert experiment["attributes"]["chaos.experiment.name"] == "Short CLI test"
    assert experiment["attributes"]["chaos.experiment.status"] == "completed"
    trace_id = experiment["context"]["trace_id"]

    faults = [s for s in spans if s["name"] == "chaos.fault"]
    assert len(faults) == total
    assert {s["context"]["trace_id"] for s in faults} == {trace_id}
    for span in faults:
        a = span["attributes"]
        assert a["chaos.component"] == "tool_executor"
        assert a["chaos.fault.type"] in ("latency", "error")
        assert a["chaos.fault.probability"] == 1.0
        if a["chaos.fault.type"] == "error":
            assert a["chaos.fault.error_code"] == 503
            assert span["status_code"] == "ERROR"
        else:
            assert a["chaos.fault.duration_ms"] == 5

    components = [s for s in spans if s["name"] == "tool_executor"]
    assert components
    assert all(s["context"]["trace_id"] == trace_id for s in components)
    assert any(e["name"] == "chaos.fault.injected" for s in components for e in s.get("events", []))
