"""Every script in examples/ runs as written and prints what it promises.

Scripts are discovered: a new example is run (and must exit 0) without touching this file. Add
it to EXPECTATIONS to check its output, or to NEEDS_SETUP (with the reason) when it cannot run
here as it is. Examples taken from the user's guide keep the guide's code verbatim between
``# fmt: off`` and ``# fmt: on``; test_guide_code_is_verbatim holds them to it.
"""

from __future__ import annotations

import ast
import hashlib
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import REPO, run_python

EXAMPLES = REPO / "examples"
#: Modules in examples/ that are not scripts.
NOT_SCRIPTS = {"__init__.py"}
#: Scripts that need something this suite cannot provide, with the reason.
NEEDS_SETUP: dict[str, str] = {}
#: The project's copy of the user's guide, which every example of the original keeps to.
GUIDE = REPO / "docs" / "getting-started.md"
#: The first 16 hex digits of the SHA-256 of each Python example of the original user's guide,
#: in order: the guide's examples are kept verbatim, so each must still be in docs/ as written.
ORIGINAL_PYTHON_BLOCKS = [
    "a4fc6a6a4561b013",
    "c9bfe42a5b26b666",
    "4d150027654a04fb",
    "1ba9314027351bad",
    "3092dcd9e70708ac",
    "8c66faa651e4065c",
    "2438c8a8c42a8308",
    "3876d8d459bf8753",
    "285d071c7700b864",
]

Result = subprocess.CompletedProcess[str]


def lines(result: Result) -> list[str]:
    assert result.stderr == ""
    return result.stdout.splitlines()


def check_step1(result: Result) -> None:
    [line] = lines(result)
    match = re.fullmatch(r"(\d+)/10 calls were artificially slowed \(expected ~5\)", line)
    assert match, line
    assert 0 <= int(match[1]) <= 10


def check_step2(result: Result) -> None:
    *caught, summary = lines(result)
    match = re.fullmatch(
        r"Successes: (\d+), Failures: (\d+) \(expected ~6 failures in 20\)", summary
    )
    assert match, summary
    successes, failures = int(match[1]), int(match[2])
    assert successes + failures == 20
    assert caught == ["  Caught ChaosError: code=503"] * failures


def check_pattern1(result: Result) -> None:
    *attempts, last = lines(result)
    if last == "Result: None":
        assert attempts[-1] == "  All retries exhausted."
        attempts = attempts[:-1]
        assert len(attempts) == 3
    else:
        assert last == "Result: {'data': '...'}"
        assert len(attempts) < 3
    assert attempts == [
        f"  Attempt {n} timed out — retrying..." for n in range(1, len(attempts) + 1)
    ]


def check_pattern2(result: Result) -> None:
    why = {
        "None": "  Rate limited — backing off",
        "[0.0, 0.0, 0.0]": "  Service unavailable — using fallback",
    }
    out = lines(result)
    calls = [i for i, line in enumerate(out) if line.startswith("call ")]
    assert [out[i].split(":")[0] for i in calls] == [f"call {n}" for n in range(1, 13)]
    previous = -1
    for i in calls:
        embedding = out[i].split(": ", 1)[1]
        assert embedding in ("[0.1, 0.2, 0.3]", *why)
        # exactly the message the guide's handler prints for that outcome, or none
        assert out[previous + 1 : i] == ([why[embedding]] if embedding in why else [])
        previous = i
    assert previous == len(out) - 1


def check_faq_seeding(result: Result) -> None:
    seeded = random.Random(42)  # what random.seed(42) replays, one draw per should_inject()
    expected = "".join("X" if seeded.random() < 0.5 else "." for _ in range(20))
    assert lines(result) == [f"run 1: {expected}", f"run 2: {expected}", "identical"]


def check_faq_default_probability(result: Result) -> None:
    assert lines(result) == [
        "default probability: 1.0",
        "default: should_inject() was true 1000/1000 times",
        "probability=0.0: should_inject() was true 0/1000 times",
        "@chaos_monkey with no probability: 100/100 calls failed",
    ]


def check_faq_timeout_error(result: Result) -> None:
    assert lines(result) == [
        "except TimeoutError caught ChaosTimeoutError",
        "except TimeoutError caught TimeoutError",
        "except ChaosTimeoutError let the real TimeoutError through",
    ]


UTC_ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00"


def check_pattern3(result: Result) -> None:
    total, by_type, errors, *observed = lines(result)
    total_match = re.fullmatch(r"Total faults: (\d+)", total)
    assert total_match, total
    assert by_type.startswith("Faults by type: ")
    faults = ast.literal_eval(by_type.removeprefix("Faults by type: "))
    assert errors.startswith("Errors by type: ")
    raised = ast.literal_eval(errors.removeprefix("Errors by type: "))
    # Five ticks, each one synthetic call of each fault's components: at most 5 of each fault.
    assert set(faults) <= {"latency", "error"}
    assert all(0 < n <= 5 for n in faults.values())
    assert sum(faults.values()) == int(total_match[1])
    assert raised == ({"error": faults["error"]} if "error" in faults else {})
    # 10 synthetic calls alone make more than the 5 observations printed.
    assert len(observed) == 5
    for line in observed:
        match = re.fullmatch(rf"  \[(llm|vector_db)\] (call|fault_injected) at {UTC_ISO}", line)
        assert match, line


def check_pattern4(result: Result) -> None:
    header, *recorded = lines(result)
    assert header == "Recorded 10 observations:"
    assert len(recorded) == 10
    for outcome, scope in zip(recorded[::2], recorded[1::2], strict=True):
        assert outcome in (
            "  search_tool / result_received: {'output_keys': ['output']}",
            "  search_tool / chaos_error: {'code': 500}",
        )
        # The scope saw no exception: the tool call handled the ChaosError itself.
        match = re.fullmatch(
            r"  search_tool / tool_call: \{'duration_ms': [\d.]+, 'status': 'ok', "
            r"'error_type': None\}",
            scope,
        )
        assert match, scope


def check_pattern5(result: Result) -> None:
    # Aborted after 3 s of a 2-minute run, and run() returned at once. How soon is a matter for
    # the benchmarks (abort time); here, only that it ran about 3 s, not the 2 minutes.
    status, ran = lines(result)
    assert status == "Status: aborted"
    match = re.fullmatch(r"Ran for: (\d+\.\d)s", ran)
    assert match, ran
    assert 3.0 <= float(match[1]) < 60.0


def check_faq_experiment_not_found(result: Result) -> None:
    assert lines(result) == [
        "run() before schedule(): ExperimentNotFoundError: no experiment 'faq-not-found' is "
        "scheduled; call scheduler.schedule(experiment) first",
        "schedule() returned 'faq-not-found'",
        "run() after schedule(): completed",
    ]


def check_faq_concurrent_experiments(result: Result) -> None:
    out = lines(result)
    # "within 100 ms" is the example's own claim, True or False: how fast an abort is belongs
    # to the benchmarks (abort time), not to a test on a loaded machine.
    assert re.fullmatch(r"aborted 'long' within 100 ms: (True|False)", out[2]), out[2]
    assert out[:2] + out[3:] == [
        "while both run: {'short': 'running', 'long': 'running'}",
        "separate observers: True",
        "'short' is still running",
        "short: completed, fault types ['error']",
        "long: aborted, fault types ['latency']",
    ]


EXPECTATIONS: dict[str, Callable[[Result], None]] = {
    "step1_latency.py": check_step1,
    "step2_chaos_error.py": check_step2,
    "pattern1_timeout_retry.py": check_pattern1,
    "pattern2_resilience_test.py": check_pattern2,
    "faq_seeding.py": check_faq_seeding,
    "faq_default_probability.py": check_faq_default_probability,
    "faq_timeout_error.py": check_faq_timeout_error,
    "pattern3_timed_experiment.py": check_pattern3,
    "pattern4_observer.py": check_pattern4,
    "pattern5_abort.py": check_pattern5,
    "faq_experiment_not_found.py": check_faq_experiment_not_found,
    "faq_concurrent_experiments.py": check_faq_concurrent_experiments,
}
#: Scripts that take more than a few seconds (the guide's 5-second experiment, its 3-second
#: abort): marked slow, still run.
SLOW = {"pattern3_timed_experiment.py", "pattern5_abort.py", "agent.py"}


def scripts() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*.py") if p.name not in NOT_SCRIPTS)


def guide_block(path: Path) -> str | None:
    """The verbatim guide code of an example, or None when it has none."""
    match = re.search(r"^# fmt: off\n(.*?)^# fmt: on\n", path.read_text(), re.S | re.M)
    return match[1] if match else None


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.name in SLOW else [])
        for p in scripts()
    ],
)
def test_example_runs(path: Path) -> None:
    if path.name in NEEDS_SETUP:
        pytest.skip(NEEDS_SETUP[path.name])
    result = run_python(script=path, cwd=REPO, timeout=90)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    check = EXPECTATIONS.get(path.name)
    if check is not None:
        check(result)


def test_expectation_tables_name_existing_examples() -> None:
    names = {p.name for p in scripts()}
    assert set(EXPECTATIONS) <= names
    assert set(NEEDS_SETUP) <= names
    assert set(SLOW) <= names
    assert not set(EXPECTATIONS) & set(NEEDS_SETUP)


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_guide_examples_import_only_aumai_chaos_and_stdlib(name: str) -> None:
    tree = ast.parse((EXAMPLES / name).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    assert imported <= {"aumai_chaos", *sys.stdlib_module_names}, imported


def test_guide_code_is_verbatim() -> None:
    guide_blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    checked = 0
    for path in scripts():
        block = guide_block(path)
        if block is not None:
            assert block in guide_blocks, f"{path.name} no longer matches {GUIDE}"
            checked += 1
    assert checked >= 5


def test_every_example_of_the_original_guide_is_in_the_projects_guide_as_written() -> None:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    digests = {hashlib.sha256(b.encode("utf-8")).hexdigest()[:16] for b in blocks}
    assert [d for d in ORIGINAL_PYTHON_BLOCKS if d not in digests] == []


def test_the_guides_faq_says_what_the_product_does() -> None:
    """The original's FAQ answers that contradict the product are corrected, each with a note."""
    text = GUIDE.read_text(encoding="utf-8")
    for wrong in (
        "not raw strings",
        "results are in-process only",
        "- For YAML experiment files: `pip install pyyaml`",
    ):
        assert wrong not in text
    assert text.count("**Beyond the original guide:**") >= 6
    # Strings work as fault types, report reads saved files, PyYAML is a dependency.
    assert 'fault_type="latency"' in text
    assert "`report` reads a result saved to disk" in text
    assert "PyYAML is a dependency of aumai-chaos" in text
    # The Step 3 sample output has the lines the report prints.
    sample = text[text.index("Running experiment 'Quick latency test'") :]
    sample = sample[: sample.index("```")]
    for line in ("Verdict   : passed", "Experiment: Quick latency test (id=quick-test)"):
        assert line in sample
    assert "a `Seed` line after `End`" in text
    assert "aumai_chaos.seed(42)" in text
    assert "AUMAI_CHAOS_SEED" in text


def test_the_step3_sample_is_what_the_report_prints() -> None:
    """The sample's lines come in the order render_text writes them for such a run."""
    from aumai_chaos import ExperimentResult
    from aumai_chaos.cli._report import render_text

    def labels(text: str) -> list[str]:
        return [line.split(":")[0].rstrip() for line in text.splitlines() if line[:1].isalpha()]

    guide = GUIDE.read_text(encoding="utf-8")
    sample = guide[guide.index("Status    : completed") :]
    sample = sample[: sample.index("```")]
    result = ExperimentResult.model_validate(
        {
            "experiment_id": "quick-test",
            "name": "Quick latency test",
            "status": "completed",
            "verdict": "passed",
            "start_time": "2024-01-15T10:00:00+00:00",
            "end_time": "2024-01-15T10:00:05.012345+00:00",
            "summary": {"total_faults_fired": 5},
        }
    )
    assert labels(sample) == labels(render_text(result))
    assert "Experiment: Quick latency test (id=quick-test)" in render_text(result).splitlines()
