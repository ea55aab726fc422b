"""A fault that can never act where it is aimed (``rate_limit``, which answers an HTTP request,
on a ``@chaos_target`` function) passes ``validate`` with a one-line warning, and the run's
result says so in a note."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli.support import cli_env, run_cli

WORKLOAD = """\
from aumai_chaos import chaos_target

@chaos_target("vector_db")
def search():
    return ["doc"]

def run():
    search()
"""

EXPERIMENT = """\
experiment_id: never-acts
name: a transport fault on a decorated function
duration_seconds: 0.3
tick_seconds: 0.1
workload: never_acts_workload:run
require_faults_fired: false
faults:
  - fault_type: latency
    duration_ms: 0
    affected_components: [vector_db]
  - fault_type: rate_limit
    affected_components: [vector_db]
"""

NOTE = (
    "faults[1]: rate_limit can never act on 'vector_db', a decorated function "
    "(@chaos_target, @chaos_monkey, @resilience_test): rate_limit acts only on an HTTP "
    "transport"
)


def _env(tmp_path: Path) -> dict[str, str]:
    """The workload module importable, after whatever the tests' own path is."""
    paths = [str(tmp_path), os.environ.get("PYTHONPATH", "")]
    return cli_env(PYTHONPATH=os.pathsep.join(p for p in paths if p))


def _files(tmp_path: Path) -> Path:
    (tmp_path / "never_acts_workload.py").write_text(WORKLOAD, encoding="utf-8")
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    return path


def test_validate_warns_in_one_line_and_still_exits_0(tmp_path: Path) -> None:
    path = _files(tmp_path)
    proc = run_cli("validate", "exp.yaml", cwd=tmp_path, env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"aumai-chaos: warning: exp.yaml: {NOTE}"), line
    assert proc.stdout.startswith("exp.yaml: ok"), proc.stdout
    assert path.is_file()


def test_the_result_of_a_run_has_the_note(tmp_path: Path) -> None:
    _files(tmp_path)
    proc = run_cli(
        "run",
        "-e",
        "exp.yaml",
        "--json-output",
        cwd=tmp_path,
        env=_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    notes = json.loads(proc.stdout)["summary"]["notes"]
    assert any(n.startswith(NOTE) for n in notes), notes
