"""``aumai-chaos run --otlp-endpoint`` against receivers nobody on the team wrote (oteltap), and
against collectors that are down, slow, or refuse metrics."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aumai_chaos import ExperimentResult
from tests.cli.support import (
    BlackHole,
    attrs,
    cli_env,
    collect_stream,
    free_port,
    run_cli,
    start_cli,
    status_collector,
)

pytestmark = pytest.mark.integration


async def _run_into_oteltap(
    *args: str, interrupt_after: float | None = None, **env: str
) -> tuple[Any, list[Any], list[Any]]:
    from oteltap import OtelTapHttpProtobufReceiver, OtelTapHttpProtobufReceiverSettings

    port = free_port()
    spans: list[Any] = []
    metrics: list[Any] = []
    settings = OtelTapHttpProtobufReceiverSettings(http_port=port)
    async with OtelTapHttpProtobufReceiver(settings) as receiver:
        tasks = [
            asyncio.create_task(collect_stream(receiver.stream_traces(), spans)),
            asyncio.create_task(collect_stream(receiver.stream_metrics(), metrics)),
        ]
        await asyncio.sleep(0.1)  # the streams subscribe when they start iterating
        endpoint = env.pop("endpoint", None)
        cli_args = list(args)
        if endpoint is None:
            cli_args += ["--otlp-endpoint", f"http://127.0.0.1:{port}"]
        else:
            env = {**env, endpoint: f"http://127.0.0.1:{port}"}
        if interrupt_after is None:
            result = await asyncio.to_thread(run_cli, *cli_args, env=cli_env(**env))
        else:
            result = await asyncio.to_thread(
                _interrupted, cli_args, cli_env(**env), interrupt_after
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            names = {m.name for m in metrics}
            if "chaos.experiment.runs" in names and any(
                s.name == "chaos.experiment" for s in spans
            ):
                break
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return result, spans, metrics


def _interrupted(args: list[str], env: dict[str, str], after: float) -> Any:
    """Start the CLI, Ctrl-C it ``after`` seconds into the run, and wait for it."""
    proc = start_cli(*args, env=env)
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("Running experiment")
        time.sleep(after)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _final_points(metrics: list[Any], name: str) -> list[Any]:
    """The data points of the last export of ``name`` (cumulative: the final values)."""
    found = [m for m in metrics if m.name == name]
    assert found, f"no {name} metric received"
    data = found[-1]
    kind = data.WhichOneof("data")
    return list(getattr(data, kind).data_points)


@pytest.mark.asyncio
async def test_oteltap_receives_the_contracted_traces_and_metrics(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    saved = tmp_path / "result.json"
    path = write_experiment(exp_id="otlp-oteltap", duration=1.5, tick=0.25)
    result, spans, metrics = await _run_into_oteltap(
        "run", "--experiment", str(path), "--output", str(saved), "--seed", "5"
    )
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    outcome = ExperimentResult.model_validate_json(saved.read_text(encoding="utf-8"))
    total = outcome.summary["total_faults_fired"]
    assert total > 0

    # Spans: names and attributes of docs/telemetry.md.
    [experiment] = [s for s in spans if s.name == "chaos.experiment"]
    exp_attrs = attrs(experiment)
    assert exp_attrs["chaos.experiment.id"] == "otlp-oteltap"
    assert exp_attrs["chaos.experiment.name"] == "Short CLI test"
    assert exp_attrs["chaos.experiment.status"] == "completed"
    assert exp_attrs["chaos.seed"] == 5

    faults = [s for s in spans if s.name == "chaos.fault"]
    assert len(faults) == total
    assert {s.trace_id for s in faults} == {experiment.trace_id}
    for span in faults:
        fa = attrs(span)
        assert fa["chaos.experiment.id"] == "otlp-oteltap"
        assert fa["chaos.component"] == "tool_executor"
        assert fa["chaos.fault.probability"] == 1.0
        if fa["chaos.fault.type"] == "latency":
            assert fa["chaos.fault.duration_ms"] == 5
        else:
            assert fa["chaos.fault.type"] == "error"
            assert fa["chaos.fault.error_code"] == 503
            assert fa["chaos.fault.error_message"] == "Simulated upstream failure"
            assert span.status.code == 2  # ERROR
            assert any(e.name == "exception" for e in span.events)

    components = [s for s in spans if s.name == "tool_executor"]
    assert components
    assert {s.trace_id for s in components} == {experiment.trace_id}
    for span in components:
        assert attrs(span)["chaos.component"] == "tool_executor"
    failed = [s for s in components if s.status.code == 2]
    assert failed
    assert all(attrs(s)["error.type"] == "aumai_chaos.errors.ChaosError" for s in failed)
    injected = [e for s in components for e in s.events if e.name == "chaos.fault.injected"]
    assert len(injected) == total

    # Metrics: the five instruments, and the injection count equals the summary's.
    names = {m.name for m in metrics}
    assert {
        "chaos.fault.injections",
        "chaos.fault.delay",
        "chaos.experiment.runs",
        "chaos.experiment.duration",
        "chaos.experiment.active",
    } <= names
    injections = [
        p
        for p in _final_points(metrics, "chaos.fault.injections")
        if attrs(p).get("chaos.experiment.id") == "otlp-oteltap"
    ]
    assert sum(p.as_int for p in injections) == total
    assert {attrs(p)["chaos.fault.type"] for p in injections} == {"latency", "error"}
    [run_point] = _final_points(metrics, "chaos.experiment.runs")
    assert attrs(run_point) == {
        "chaos.experiment.id": "otlp-oteltap",
        "chaos.experiment.status": "completed",
    }
    assert run_point.as_int == 1
    [duration] = _final_points(metrics, "chaos.experiment.duration")
    assert duration.count == 1
    assert 1.4 < duration.sum < 5


@pytest.mark.asyncio
async def test_the_standard_otel_variables_turn_export_on(
    write_experiment: Callable[..., Path],
) -> None:
    path = write_experiment(exp_id="otlp-env", duration=1, tick=0.25)
    result, spans, metrics = await _run_into_oteltap(
        "run", "--experiment", str(path), endpoint="OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    assert result.returncode == 0, result.stderr
    assert any(s.name == "chaos.experiment" for s in spans)
    assert any(m.name == "chaos.experiment.runs" for m in metrics)


@pytest.mark.asyncio
async def test_ctrl_c_still_flushes_the_aborted_run(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    saved = tmp_path / "result.json"
    path = write_experiment(exp_id="otlp-aborted", duration=120, tick=0.1)
    result, spans, metrics = await _run_into_oteltap(
        "run", "--experiment", str(path), "--output", str(saved), interrupt_after=1.0
    )
    assert result.returncode == 130, result.stderr
    outcome = ExperimentResult.model_validate_json(saved.read_text(encoding="utf-8"))
    assert outcome.status.value == "aborted"
    [experiment] = [s for s in spans if s.name == "chaos.experiment"]
    assert attrs(experiment)["chaos.experiment.status"] == "aborted"
    assert any(e.name == "chaos.experiment.aborted" for e in experiment.events)
    assert (
        len([s for s in spans if s.name == "chaos.fault"]) == outcome.summary["total_faults_fired"]
    )
    [run_point] = _final_points(metrics, "chaos.experiment.runs")
    assert attrs(run_point)["chaos.experiment.status"] == "aborted"


# -- collectors that misbehave ------------------------------------------------------------------


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("aumai-chaos: warning:")]


def _timed_run(path: Path, endpoint: str, *extra: str) -> tuple[Any, float]:
    started = time.monotonic()
    result = run_cli("run", "--experiment", str(path), "--otlp-endpoint", endpoint, *extra)
    return result, time.monotonic() - started


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_an_unreachable_collector_is_one_warning(
    write_experiment: Callable[..., Path], protocol: str
) -> None:
    path = write_experiment(duration=1)
    port = free_port()  # nothing listens there
    result, elapsed = _timed_run(path, f"http://127.0.0.1:{port}", "--otlp-protocol", protocol)
    assert result.returncode == 0, result.stderr
    [warning] = _warnings(result.stderr)
    assert f"127.0.0.1:{port}" in warning
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) <= 3  # "Running ...", blank, the warning
    assert elapsed < 1 + 8
    assert result.stdout.startswith("Status    : completed")


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_collector_that_never_answers_is_one_warning(
    write_experiment: Callable[..., Path], protocol: str
) -> None:
    path = write_experiment(duration=1)
    with BlackHole() as port:
        result, elapsed = _timed_run(path, f"http://127.0.0.1:{port}", "--otlp-protocol", protocol)
    assert result.returncode == 0, result.stderr
    [warning] = _warnings(result.stderr)
    assert "could not export telemetry" in warning
    assert elapsed < 1 + 8


def test_a_collector_that_takes_traces_but_refuses_metrics(
    write_experiment: Callable[..., Path],
) -> None:
    path = write_experiment(duration=1)
    with status_collector(traces=200, metrics=404) as port:
        result, elapsed = _timed_run(path, f"http://127.0.0.1:{port}")
    assert result.returncode == 0, result.stderr
    [warning] = _warnings(result.stderr)
    assert "metrics (" in warning
    assert "traces (" not in warning  # the traces went through
    assert "HTTP 404" in warning
    assert "OTEL_METRICS_EXPORTER=none" in warning
    assert elapsed < 1 + 8


def test_otel_metrics_exporter_none_silences_a_traces_onlystatus_collector(
    write_experiment: Callable[..., Path],
) -> None:
    path = write_experiment(duration=1)
    with status_collector(traces=200, metrics=404) as port:
        result = run_cli(
            "run",
            "--experiment",
            str(path),
            "--otlp-endpoint",
            f"http://127.0.0.1:{port}",
            env=cli_env(OTEL_METRICS_EXPORTER="none"),
        )
    assert result.returncode == 0
    assert _warnings(result.stderr) == []


def test_a_collector_failing_with_503_is_one_warning(write_experiment: Callable[..., Path]) -> None:
    path = write_experiment(duration=1)
    with status_collector(traces=503, metrics=503) as port:
        result, elapsed = _timed_run(path, f"http://127.0.0.1:{port}")
    assert result.returncode == 0
    [warning] = _warnings(result.stderr)
    assert "Service Unavailable" in warning
    assert elapsed < 1 + 8
