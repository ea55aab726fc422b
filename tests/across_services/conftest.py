"""A tool service in its own process, experiments armed in a directory it watches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO

TOOL_ERRORS = """\
experiment_id: tool-errors
name: tool errors
duration_seconds: {duration}
faults:
  - fault_type: error
    probability: 1.0
    affected_components: [tool.lookup]
"""


@dataclass
class ToolService:
    url: str
    proc: subprocess.Popen[str]
    armed_dir: Path
    results_dir: Path

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/stats", timeout=10) as response:
            data: dict[str, Any] = json.loads(response.read())
        return data

    def wait_armed(self, ids: list[str], timeout: float = 10.0) -> None:
        """Until the service reports exactly ``ids`` armed (bounded)."""
        deadline = time.monotonic() + timeout
        while (armed := self.stats()["armed"]) != ids:
            assert time.monotonic() < deadline, f"armed {armed}, waited for {ids}"
            time.sleep(0.05)

    def stop(self) -> str:
        """SIGTERM, wait; the service's stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
        _, stderr = self.proc.communicate(timeout=30)
        return stderr


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def start_tool_service(tmp_path: Path, **env: str) -> ToolService:
    armed_dir = tmp_path / "armed"
    results_dir = tmp_path / "results"
    armed_dir.mkdir(exist_ok=True)
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
        "AUMAI_CHAOS_ARMED": str(armed_dir),
        "AUMAI_CHAOS_RESULTS_DIR": str(results_dir),
        "OTEL_SERVICE_NAME": "tool-service",
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "examples.chaostoolkit.tool_service"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=REPO,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise AssertionError(f"tool service did not start: {line!r} {proc.communicate()[1]}")
    return ToolService(f"http://127.0.0.1:{line.split()[1]}", proc, armed_dir, results_dir)


@pytest.fixture
def tool_service(tmp_path: Path) -> Iterator[ToolService]:
    """The service, with ``tool-errors`` (600 s) armed from the start."""
    armed = tmp_path / "armed"
    armed.mkdir()
    (armed / "tool-errors.yaml").write_text(TOOL_ERRORS.format(duration=600), encoding="utf-8")
    service = start_tool_service(tmp_path)
    try:
        service.wait_armed(["tool-errors"])
        yield service
    finally:
        service.stop()
