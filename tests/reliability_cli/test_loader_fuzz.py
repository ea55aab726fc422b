"""Whatever bytes an experiment file holds, loading it gives a ChaosExperiment or one clear
ConfigError line naming the file, never another exception, within bounded time and memory; and
the real command turns every bad file into exit code 2 and one line on stderr, never a
traceback, never a hang, in an address space capped at 1 GiB.

The in-process cases come from :mod:`tests.reliability_cli.fuzzing` (a YAML grammar, damaged
bytes, and the worst cases built from parameters); Hypothesis is derandomized and keeps no
database, so every run sees the same examples. ``tests/cli`` already runs the fixed corpus in
``tests/data/bad/`` through the command; these tests add the generated inputs and the bounds.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from aumai_chaos import ChaosExperiment
from tests.cli.support import cli_env
from tests.helpers import REPO
from tests.reliability_cli.fuzzing import (
    LIMIT,
    SUFFIXES,
    Outcome,
    assert_one_clear_line,
    check_bounded,
    small_inputs,
    time_budget,
    worst_case,
    worst_inputs,
)

#: No "explain" phase: it traces every line the loader runs (sys.settrace), which makes the
#: pure-Python YAML scanner up to a hundred times slower and the time bounds meaningless.
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def _check(data: bytes, suffix: str) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"case{suffix}"
        path.write_bytes(data)
        return check_bounded(path)


@settings(FUZZ, max_examples=400)
@given(data=small_inputs, suffix=st.sampled_from(SUFFIXES))
# Found by this test: a standard tag on a value it cannot read raised AttributeError/ValueError
# from PyYAML's constructors (an "internal error") instead of one located line.
@example(data=b"$: !!timestamp", suffix=".yaml")
@example(data=b"a: !!int abc", suffix=".yaml")
@example(data=b"b: [!!float x]", suffix=".yml")
def test_generated_documents_load_or_fail_in_one_clear_line(data: bytes, suffix: str) -> None:
    _check(data, suffix)


@settings(FUZZ, max_examples=60)
@given(data=worst_inputs, suffix=st.sampled_from(SUFFIXES))
def test_worst_shapes_are_refused_within_bounds(data: bytes, suffix: str) -> None:
    _check(data, suffix)


#: The explicit worst cases, ``kind:style:size``: everything near the 1 MiB file size limit,
#: where the pure-Python YAML scanner is slowest, and the deepest nesting asked for.
WORST = [
    "deep:flow-seq:10000",
    "deep:flow-open:1048576",
    "deep:flow-map:10000",
    "deep:block-seq:10000",
    "deep:block-map:10000",
    "deep:anchored:10000",
    "deep:json:10000",
    f"scalar:plain:{LIMIT}",
    f"scalar:lines:{LIMIT}",
    f"scalar:literal:{LIMIT}",
    f"scalar:escapes:{LIMIT}",
    "scalar:unknown-key:100",
    f"scalar:unknown-key:{LIMIT}",
    f"scalar:tag:{LIMIT}",
    f"scalar:undefined-alias:{LIMIT}",
    "scalar:plain:2000000",
    "bomb:x:9",
    f"many:flow:{LIMIT}",
    f"many:block:{LIMIT}",
    f"many:keys:{LIMIT}",
    f"many:nulls:{LIMIT}",
    f"many:json:{LIMIT}",
    f"random:1:{LIMIT}",
    "random:2:2000000",
]


@pytest.mark.parametrize("name", WORST)
def test_the_worst_cases_are_refused_within_bounds(tmp_path: Path, name: str) -> None:
    path = tmp_path / "worst.yaml"
    path.write_bytes(worst_case(name))
    outcome = check_bounded(path)
    assert outcome.experiment is None, name  # none of them is a valid experiment


def test_a_valid_experiment_survives_the_same_checks(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        "experiment_id: ok\nname: ok\nduration_seconds: 1\n"
        "faults:\n  - fault_type: latency\n    duration_ms: 5\n",
        encoding="utf-8",
    )
    outcome = check_bounded(path)
    assert isinstance(outcome.experiment, ChaosExperiment)


# -- through the real command -------------------------------------------------------------------

#: The address space of each command, in bytes: an interpreter with pydantic, PyYAML and typer
#: needs ~150 MB; the limit leaves room for the legitimate and none for a blow-up.
ADDRESS_SPACE = 1 << 30
#: Wall time of each command; a clean refusal takes about a second.
#: A hang guard, not a speed claim: generous enough for a loaded 2-core machine.
COMMAND_TIMEOUT_S = 60.0

#: ``python -m aumai_chaos`` with RLIMIT_AS set by the child itself before the CLI is imported
#: (no preexec_fn: forking with a callback is unsafe in a process with threads).
_LAUNCH = textwrap.dedent(
    """\
    import resource, runpy, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    sys.argv = ["aumai-chaos", *sys.argv[1:]]
    runpy.run_module("aumai_chaos", run_name="__main__", alter_sys=True)
    """
)

#: 15 files through the command: the worst shapes, and one of each kind of damage.
COMMAND_CASES = {
    "deep-flow.yaml": lambda: worst_case("deep:flow-open:1048576"),
    "deep-block.yaml": lambda: worst_case("deep:block-map:10000"),
    "deep.json": lambda: worst_case("deep:json:10000"),
    "huge-scalar.yaml": lambda: worst_case(f"scalar:lines:{LIMIT}"),
    "over-the-limit.yaml": lambda: worst_case("scalar:plain:2000000"),
    "alias-bomb.yaml": lambda: worst_case("bomb:x:12"),
    "many-values.yaml": lambda: worst_case(f"many:flow:{LIMIT}"),
    "random.yaml": lambda: worst_case(f"random:7:{LIMIT}"),
    "random-small": lambda: worst_case("random:8:300"),
    "latin-1.yaml": lambda: "experiment_id: caf\u00e9\nname: x\n".encode("latin-1"),
    "surrogate.yaml": lambda: b"name: \xed\xa0\x80\n",
    "nul.yaml": lambda: b"experiment_id: x\nname: \x00\n",
    "utf-16.yaml": lambda: "experiment_id: x\n".encode("utf-16"),
    "python-tag.yaml": lambda: b"experiment_id: !!python/object/apply:os.system [id]\n",
    "newline-key.yaml": lambda: b'experiment_id: x\nname: y\nduration_seconds: 1\n"a\\nb": 1\n',
}


def _command(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    code = _LAUNCH.format(limit=ADDRESS_SPACE)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-X", "utf8", "-c", code, *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=REPO,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    return result, time.monotonic() - started


def _assert_refused(result: subprocess.CompletedProcess[str], path: Path) -> None:
    assert result.returncode == 2, (path.name, result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    assert "MemoryError" not in result.stderr
    assert result.stdout == ""
    prefix = "aumai-chaos: error: "
    lines = result.stderr.splitlines()
    assert lines, path.name
    assert all(line.startswith(prefix) for line in lines), result.stderr[:2000]
    # One line per problem in the file.
    assert_one_clear_line("\n".join(line.removeprefix(prefix) for line in lines), path)


@pytest.fixture(scope="module")
def command_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("command-cases")
    paths = []
    for name, make in COMMAND_CASES.items():
        path = folder / name
        path.write_bytes(make())
        paths.append(path)
    return paths


@pytest.mark.slow
def test_the_launcher_really_caps_the_address_space() -> None:
    """The cap is real: asking the capped interpreter for 2 GiB fails with MemoryError."""
    code = _LAUNCH.split("sys.argv")[0] + "bytearray(2 << 30)\n"
    result = subprocess.run(
        [sys.executable, "-c", code.format(limit=ADDRESS_SPACE)],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 1
    assert "MemoryError" in result.stderr


@pytest.mark.slow
def test_run_refuses_each_bad_file_with_one_line_and_exit_2(command_files: list[Path]) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda p: _command("run", "--experiment", str(p)), command_files))
    for path, (result, seconds) in zip(command_files, outcomes, strict=True):
        _assert_refused(result, path)
        assert seconds < COMMAND_TIMEOUT_S
        assert "Running experiment" not in result.stderr


@pytest.mark.slow
def test_validate_refuses_every_bad_file_on_its_own_line(command_files: list[Path]) -> None:
    result, seconds = _command("validate", *map(str, command_files))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    # Every file refused, in order, with one line for each of its problems.
    for path in command_files:
        mine = [line for line in lines if line.startswith(f"aumai-chaos: error: {path}:")]
        assert mine, (path.name, result.stderr[:3000])
        assert_one_clear_line("\n".join(m.removeprefix("aumai-chaos: error: ") for m in mine), path)
    assert all(line.startswith("aumai-chaos: error: ") for line in lines)
    # One process took every file in turn: bounded by the sum of the per-file budgets.
    assert seconds < sum(time_budget(p.stat().st_size) for p in command_files)
