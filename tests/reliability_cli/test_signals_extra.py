"""Signals from another process during a run that exports to a collector, beyond what
``tests/cli`` proves (SIGINT/SIGTERM -> 130 with the result written; SIGINT flushes to oteltap; a
second Ctrl-C during an HTTP flush into a black hole exits at once):

- SIGINT or SIGTERM while exporting to oteltap: the result says ``aborted`` and is written, the
  aborted ``chaos.experiment`` span and the ``aborted`` run count reach the collector, the
  process exits within a few seconds of the signal, and when the command returns no thread is
  left (the command runs in a wrapper that lists ``threading.enumerate()`` after ``main()``);
- a second signal, SIGINT after SIGTERM, during a gRPC flush into a collector that never
  answers, exits at once.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aumai_chaos import ExperimentResult, ExperimentStatus
from tests.cli.support import BlackHole, attrs, cli_env, collect_stream, free_port, start_cli
from tests.helpers import REPO

pytestmark = pytest.mark.integration

#: Runs the real command in this process, then reports the threads still alive after it
#: returned and lets the interpreter exit normally (a non-daemon thread would hold it up).
WRAPPER = """\
import json, os, sys, threading
from aumai_chaos.cli.commands import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
left = sorted(t.name for t in threading.enumerate() if t is not threading.main_thread())
with open(os.environ["THREADS_REPORT"], "w", encoding="utf-8") as report:
    json.dump({"code": code, "threads": left}, report)
sys.exit(code)
"""

#: The process exits within this many seconds of the signal.
PROMPT_EXIT_S = 5.0


def _interrupt(
    args: list[str], env: dict[str, str], sig: signal.Signals
) -> tuple[subprocess.CompletedProcess[str], float]:
    proc = subprocess.Popen(
        [sys.executable, "-X", "utf8", "-c", WRAPPER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith("Running experiment"), first
        time.sleep(1.0)
        sent = time.monotonic()
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), took


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_a_signal_flushes_to_the_collector_and_leaves_no_thread(
    tmp_path: Path, write_experiment: Callable[..., Path], sig: signal.Signals
) -> None:
    from oteltap import OtelTapHttpProtobufReceiver, OtelTapHttpProtobufReceiverSettings

    saved = tmp_path / "result.json"
    report = tmp_path / "threads.json"
    path = write_experiment(exp_id="signal-otlp", duration=120, tick=0.1)
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
        args = ["run", "-e", str(path), "-o", str(saved)]
        args += ["--otlp-endpoint", f"http://127.0.0.1:{port}"]
        env = cli_env(THREADS_REPORT=str(report))
        result, took = await asyncio.to_thread(_interrupt, args, env, sig)
        # The process has exited: whatever it flushed has been sent; give the receiver a moment.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not any(s.name == "chaos.experiment" for s in spans):
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    assert "warning" not in result.stderr  # the flush went through
    assert took < PROMPT_EXIT_S, took
    assert json.loads(report.read_text(encoding="utf-8")) == {"code": 130, "threads": []}

    outcome = ExperimentResult.model_validate_json(saved.read_text(encoding="utf-8"))
    assert outcome.status is ExperimentStatus.aborted
    assert result.stdout.startswith("Status    : aborted\n")

    [experiment] = [s for s in spans if s.name == "chaos.experiment"]
    assert attrs(experiment)["chaos.experiment.id"] == "signal-otlp"
    assert attrs(experiment)["chaos.experiment.status"] == "aborted"
    assert experiment.end_time_unix_nano > experiment.start_time_unix_nano
    fault_spans = [s for s in spans if s.name == "chaos.fault"]
    assert len(fault_spans) == outcome.summary["total_faults_fired"]
    runs = [m for m in metrics if m.name == "chaos.experiment.runs"]
    assert runs, "no chaos.experiment.runs metric reached the collector"
    [point] = runs[-1].sum.data_points
    assert attrs(point)["chaos.experiment.status"] == "aborted"


@pytest.mark.slow
def test_a_second_signal_during_a_grpc_flush_into_a_black_hole_exits_at_once(
    write_experiment: Callable[..., Path],
) -> None:
    path = write_experiment(duration=120, tick=0.1)
    with BlackHole() as port:
        proc = start_cli(
            "run",
            "-e",
            str(path),
            "--otlp-endpoint",
            f"http://127.0.0.1:{port}",
            "--otlp-protocol",
            "grpc",
        )
        try:
            assert proc.stderr is not None
            assert proc.stderr.readline().startswith("Running experiment")
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert proc.poll() is None  # still flushing into the black hole
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=10)
            # At once: the flush (4 s budget) was not waited for, so it never gave up either.
            assert "interrupted again; exiting now" in stderr
            assert "gave up flushing" not in stderr
            assert time.monotonic() - sent < 10
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 130
    assert "SIGTERM: stopping (again to exit at once)" in stderr
    assert "interrupted again; exiting now" in stderr
    assert "Traceback" not in stderr
