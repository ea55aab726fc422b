"""Chaos Toolkit actions: arm and disarm experiments in services, run an agent experiment, run
the fault-injecting proxy for a while.

Services watch a directory (``AUMAI_CHAOS_ARMED=<dir>``); :func:`arm` writes an experiment file
there (atomically: a temporary file renamed into place, so a service never reads half a file)
and :func:`disarm` removes it. Each service re-reads the directory within a second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from aumai_chaos import ChaosExperiment, load_experiment_file

__all__ = ["arm", "disarm", "proxy", "run_experiment"]

_STOP_SECONDS = 10.0
#: How long past its duration a proxy may take to start and deliver its result.
_START_SECONDS = 30.0


def arm(experiment: Any, directory: str) -> str:
    """Arm ``experiment`` (an aumai-chaos experiment file's path, or the experiment inline as a
    mapping) in the services watching ``directory``: it is validated here, then written there
    as ``<experiment_id>.json``. Returns the experiment id."""
    if isinstance(experiment, str | os.PathLike):
        config = load_experiment_file(experiment)
    else:
        config = ChaosExperiment.model_validate(experiment)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    data = config.model_dump(mode="json")
    _write_atomically(folder / _file_name(config.experiment_id), json.dumps(data, indent=2))
    return config.experiment_id


def disarm(experiment_id: str, directory: str) -> bool:
    """Disarm ``experiment_id`` in the services watching ``directory`` (remove the file
    :func:`arm` wrote); each service ends the experiment and writes its result. Whether it
    was armed there."""
    try:
        (Path(directory) / _file_name(experiment_id)).unlink()
    except FileNotFoundError:
        return False
    return True


def run_experiment(
    path: str, output: str = "", workload: str = "", seed: int = -1, timeout: float = 3600.0
) -> dict[str, Any]:
    """Run an aumai-chaos experiment file (``aumai-chaos run``) with its workload, or with
    ``workload`` (``package.module:function``) instead, in its own process. The result is
    written to ``output`` when given; returns its ``experiment_id``, ``status``, ``verdict``,
    ``verdict_reason``, ``total_faults_fired`` and the run's ``exit_code``."""
    args = [sys.executable, "-m", "aumai_chaos", "run", "--experiment", path, "--json-output"]
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        args += ["--output", output]
    if workload:
        args += ["--workload", workload]
    if seed >= 0:
        args += ["--seed", str(seed)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode == 2 or not proc.stdout.strip():
        raise RuntimeError(f"aumai-chaos run failed ({proc.returncode}): {proc.stderr.strip()}")
    result = json.loads(proc.stdout)
    summary = result.get("summary") or {}
    return {
        "experiment_id": result.get("experiment_id"),
        "status": result.get("status"),
        "verdict": result.get("verdict"),
        "verdict_reason": result.get("verdict_reason"),
        "total_faults_fired": summary.get("total_faults_fired", 0),
        "exit_code": proc.returncode,
    }


def proxy(arguments: list[str], duration_seconds: float) -> dict[str, Any]:
    """Run ``aumai-chaos proxy`` with ``arguments`` (as on its command line, see
    ``aumai-chaos proxy --help``) for ``duration_seconds`` (its ``--duration``, unless
    ``arguments`` name one: each trial's with ``--repeat``), so that it ends by itself with
    the experiment's verdict; one that has not ended a margin later is stopped with SIGINT
    (as Ctrl-C: ``aborted``, exit 130). Returns, as :func:`run_experiment` does, its
    ``experiment_id``, ``status``, ``verdict``, ``verdict_reason``, ``total_faults_fired`` and
    ``exit_code``, with the ``url`` it listened on and the last lines of its ``stderr``. A
    ``--output`` in ``arguments`` is written by the proxy; its folder is created. Bad
    arguments (exit 2) raise ``RuntimeError`` with the proxy's own line."""
    args = list(arguments)
    if "--duration" not in args:
        args += ["--duration", f"{duration_seconds:g}"]
    trials = 1
    if "--repeat" in args[:-1]:
        try:
            trials = max(1, int(args[args.index("--repeat") + 1]))
        except ValueError:
            trials = 1  # the proxy says what is wrong with it
    for flag in ("--output", "-o"):
        if flag in args[:-1]:
            Path(args[args.index(flag) + 1]).parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "aumai_chaos", "proxy", *args, "--json-output"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # communicate, not wait: the pipes are drained while the proxy runs, so a chatty
        # proxy never blocks on a full pipe.
        stdout, stderr = proc.communicate(timeout=duration_seconds * trials + _START_SECONDS)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            stdout, stderr = proc.communicate(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
    lines = stderr.splitlines()
    if proc.returncode == 2 or not stdout.strip():
        raise RuntimeError(f"aumai-chaos proxy failed ({proc.returncode}): {stderr.strip()}")
    result = json.loads(stdout)
    summary = result.get("summary") or {}
    return {
        "experiment_id": result.get("experiment_id"),
        "status": result.get("status"),
        "verdict": result.get("verdict"),
        "verdict_reason": result.get("verdict_reason"),
        "total_faults_fired": summary.get("total_faults_fired", 0),
        "exit_code": proc.returncode,
        "url": _listening_url(lines),
        "stderr": lines[-20:],
    }


def _listening_url(lines: list[str]) -> str | None:
    prefix = "aumai-chaos proxy listening on "
    for line in lines:
        if line.startswith(prefix):
            return line[len(prefix) :].split(" -> ", 1)[0]
    return None


def _file_name(experiment_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in experiment_id)
    return f"{safe}.json"


def _write_atomically(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
