"""The Chaos Toolkit example with the real ``chaos run``: a tool service in its own process,
the agent in another (``aumai-chaos run``, started by our ``run_experiment`` action)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from aumai_chaos import load_result_file
from tests.across_services.conftest import TOOL_ERRORS, ToolService, start_tool_service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

CHAOS = str(Path(sys.executable).parent / "chaos")
EXAMPLE = REPO / "examples" / "chaostoolkit" / "experiment.json"


def test_chaos_discover_lists_our_activities_with_their_arguments(tmp_path: Path) -> None:
    out = tmp_path / "discovery.json"
    proc = subprocess.run(
        [CHAOS, "discover", "--no-install", "chaostoolkit-aumai", "--discovery-path", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    found = {
        (a["type"], a["name"]): [arg["name"] for arg in a["arguments"]]
        for a in json.loads(out.read_text())["activities"]
    }
    assert found == {
        ("action", "arm"): ["experiment", "directory"],
        ("action", "disarm"): ["experiment_id", "directory"],
        ("action", "run_experiment"): ["path", "output", "workload", "seed", "timeout"],
        ("action", "proxy"): ["arguments", "duration_seconds"],
        ("probe", "verdict"): ["experiment_id", "results_dir"],
        ("probe", "faults_fired"): ["experiment_id", "results_dir", "prometheus_url"],
        ("probe", "recovery_rate"): ["experiment_id", "results_dir"],
    }


def _chaos_run(service: ToolService, tmp_path: Path, experiment: Path) -> dict[str, Any]:
    """``chaos run`` on ``experiment`` against ``service``; its journal."""
    journal_path = tmp_path / "journal.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
        "TOOL_URL": service.url,
        "AUMAI_ARMED_DIR": str(service.armed_dir),
        "AUMAI_RESULTS_DIR": str(service.results_dir),
    }
    proc = subprocess.run(
        [
            CHAOS,
            "--no-version-check",
            "--log-file",
            str(tmp_path / "chaostoolkit.log"),
            "run",
            "--journal-path",
            str(journal_path),
            str(experiment),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    journal: dict[str, Any] = json.loads(journal_path.read_text())
    return journal


def test_the_example_runs_with_chaos_run(tmp_path: Path) -> None:
    service = start_tool_service(tmp_path)
    try:
        journal = _chaos_run(service, tmp_path, EXAMPLE)
        stats = service.stats()
    finally:
        service.stop()
    assert journal["status"] == "completed", journal
    assert journal["deviated"] is False
    outputs = {run["activity"]["name"]: run.get("output") for run in journal["run"]}
    assert outputs["arm-tool-errors-in-the-tool-service"] == "tool-errors"
    agent = outputs["run-the-agent"]
    assert agent["verdict"] == "passed"
    assert agent["exit_code"] == 0
    assert outputs["disarm-tool-errors"] is True
    tool = json.loads((service.results_dir / "tool-errors.tool-service.json").read_text())
    fired = tool["summary"]["total_faults_fired"]
    assert fired > 0
    # One call in two failed in the tool service; the agent's retries absorbed each.
    assert outputs["faults-fired-across-services"] == fired
    assert outputs["verdict-across-services"] == "passed"
    assert isinstance(outputs["recovery-rate"], float)
    [rollback] = journal["rollbacks"]
    assert rollback["status"] == "succeeded"
    assert rollback["activity"]["name"] == "disarm-whatever-is-left"
    assert rollback["output"] is False  # the method disarmed already: nothing was left
    assert stats["armed"] == []
    assert list(service.armed_dir.iterdir()) == []
    # every: 2 faults calls 2, 4, 6...: the odd ones got through.
    assert stats["calls"]["lookup"] - fired in (0, 1)


def test_the_rollback_disarms_what_a_method_left_armed(tmp_path: Path) -> None:
    """The example cut after its first action (as if the method had stopped there): the
    rollback disarms, and the tool service ends the experiment and writes its result."""
    example = json.loads(EXAMPLE.read_text())
    example["method"] = example["method"][:1]
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(example))
    service = start_tool_service(tmp_path)
    try:
        journal = _chaos_run(service, tmp_path, cut)
        assert list(service.armed_dir.iterdir()) == []
        service.wait_armed([])
    finally:
        service.stop()
    [rollback] = journal["rollbacks"]
    assert rollback["output"] is True
    result = load_result_file(service.results_dir / "tool-errors.tool-service.json")
    assert result.status == "completed"
    assert result.summary.total_faults_fired == 0


def test_faults_fired_reads_a_services_prometheus_endpoint_live(tmp_path: Path) -> None:
    from chaosaumai.probes import faults_fired

    armed = tmp_path / "armed"
    armed.mkdir()
    (armed / "t.yaml").write_text(TOOL_ERRORS.format(duration=600), encoding="utf-8")
    service = start_tool_service(tmp_path, TOOL_PROMETHEUS="1")
    try:
        service.wait_armed(["tool-errors"])
        metrics = service.url + "/metrics"
        assert faults_fired("tool-errors", prometheus_url=metrics) == 0
        headers = {"baggage": "aumai.chaos.experiment=tool-errors"}
        with httpx.Client() as client:
            codes = [client.post(service.url + "/tool", headers=headers).status_code for _ in "ab"]
            codes.append(client.post(service.url + "/tool").status_code)  # no baggage
        assert codes == [503, 503, 200]
        assert faults_fired("tool-errors", prometheus_url=metrics) == 2
        assert faults_fired("other", prometheus_url=metrics) == 0
    finally:
        service.stop()
