"""The CLI as users run it: real processes, exit codes, stdout purity, signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aumai_chaos import ExperimentResult, ExperimentStatus, __version__
from tests.cli.support import (
    DEVIATING_EXPERIMENT,
    BlackHole,
    assert_one_error_line,
    cli_env,
    error_lines,
    run_cli,
    start_cli,
)
from tests.helpers import REPO

BAD = REPO / "tests" / "data" / "bad"

NOISY_WORKLOAD = """\
import time

from aumai_chaos import chaos_target


@chaos_target("tool_executor")
def tool() -> int:
    return 1


def run_once() -> None:
    print("chatter from the workload on stdout")
    try:
        tool()
    except Exception:
        pass
    time.sleep(0.01)
"""


@pytest.mark.parametrize("module", ["aumai_chaos", "aumai_chaos.cli"])
def test_version_as_a_module(module: str) -> None:
    result = run_cli("--version", module=module)
    assert result.returncode == 0
    assert result.stdout == f"aumai-chaos, version {__version__}\n"
    assert result.stderr == ""


def test_the_installed_command() -> None:
    """``make install`` (``pip install -e .``) puts the console script beside the interpreter."""
    script = Path(sys.executable).parent / "aumai-chaos"
    assert script.exists(), f"{script} is missing: install the project (make install)"
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, env=cli_env(), check=False
    )
    assert (result.returncode, result.stdout) == (0, f"aumai-chaos, version {__version__}\n")


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.iterdir()))
def test_every_bad_file_exits_2_with_one_line(name: str) -> None:
    path = BAD / name
    result = run_cli("run", "--experiment", str(path))
    if name == "mcp-components.yaml":  # two problems: one line each
        lines = result.stderr.splitlines()
        assert result.returncode == 2
        assert len(lines) == 2
        assert all(line.startswith(f"aumai-chaos: error: {path}:") for line in lines)
        assert all(len(line) < 300 for line in lines)
        return
    line = assert_one_error_line(result, f"aumai-chaos: error: {path}")
    assert result.stdout == ""
    assert len(line) < 300


@pytest.mark.parametrize("kind", ["directory", "missing"])
def test_a_directory_or_missing_file_exits_2(tmp_path: Path, kind: str) -> None:
    path = tmp_path if kind == "directory" else tmp_path / "missing.yaml"
    result = run_cli("run", "--experiment", str(path))
    assert_one_error_line(result, str(path), "directory" if kind == "directory" else "no such file")


def test_the_bad_corpus_names_file_and_field() -> None:
    result = run_cli("run", "--experiment", str(BAD / "typo-key.yaml"))
    assert error_lines(result.stderr) == [
        f"aumai-chaos: error: {BAD / 'typo-key.yaml'}:9:5: faults[1].probabilty: "
        "unknown field; did you mean 'probability'?"
    ]


def test_json_output_is_exactly_one_document_even_with_a_chatty_workload(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    (tmp_path / "noisy.py").write_text(NOISY_WORKLOAD, encoding="utf-8")
    path = write_experiment()
    result = run_cli(
        "run",
        "--experiment",
        str(path),
        "--json-output",
        "--workload",
        "noisy:run_once",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # the whole of stdout, nothing else
    assert document["status"] == "completed"
    assert document["summary"]["total_faults_fired"] > 0
    assert "chatter from the workload" in result.stderr
    assert result.stderr.startswith("Running experiment 'Short CLI test' (id=cli-test) for 1s...")


def _wait_for_start(proc: subprocess.Popen[str]) -> None:
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.startswith("Running experiment"), line
    time.sleep(0.5)


@pytest.fixture
def long_run(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    path = write_experiment(duration=120, tick=0.1)
    out = tmp_path / "result.json"
    proc = start_cli("run", "--experiment", str(path), "--output", str(out))
    yield proc, out
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_aborts_cleanly_and_exits_130(
    long_run: tuple[subprocess.Popen[str], Path], sig: signal.Signals
) -> None:
    proc, out = long_run
    _wait_for_start(proc)
    sent = time.monotonic()
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 15  # the run asked for far longer
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stdout.startswith("Status    : aborted\n")
    saved = ExperimentResult.model_validate_json(out.read_text(encoding="utf-8"))
    assert saved.status is ExperimentStatus.aborted
    assert saved.end_time is not None


def test_a_second_ctrl_c_exits_at_once(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    """The first Ctrl-C aborts the run and starts the (slow) flush; the second ends it now."""
    with BlackHole() as port:
        path = write_experiment(duration=120, tick=0.1)
        proc = start_cli(
            "run", "--experiment", str(path), "--otlp-endpoint", f"http://127.0.0.1:{port}"
        )
        try:
            _wait_for_start(proc)
            proc.send_signal(signal.SIGINT)
            time.sleep(1.0)
            assert proc.poll() is None  # still flushing into the black hole
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=10)
            # At once: the flush (4 s budget) was not waited for, so it never gave up either.
            assert "interrupted again; exiting now" in stderr
            assert "gave up flushing" not in stderr
            assert time.monotonic() - sent < 10
            assert proc.returncode == 130
            assert "exiting now" in stderr
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_a_deviated_run_exits_1(write_experiment: Callable[..., Path]) -> None:
    path = write_experiment(text=DEVIATING_EXPERIMENT)
    result = run_cli("run", "--experiment", str(path), "--json-output")
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["verdict"] == "deviated"


def test_a_completed_run_exits_0_with_the_report_on_stdout(
    write_experiment: Callable[..., Path],
) -> None:
    result = run_cli("run", "--experiment", str(write_experiment()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Status    : completed\n")
    assert result.stderr.startswith("Running experiment")
    assert "Status" not in result.stderr
