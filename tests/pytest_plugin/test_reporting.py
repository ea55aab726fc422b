"""What a failing chaos test shows: the seed, the faults that fired, the replay command."""

from __future__ import annotations

import re

import pytest

from tests.pytest_plugin.conftest import Run
from tests.pytest_plugin.support import AGENT, junit_properties, run_seed_of

FAILING = (
    AGENT
    + """
def test_survives_retrieval_errors(chaos, request):
    chaos.inject("vector_db", fault_type="error", error_code=503, probability=0.5)
    failed = failing_calls()
    request.node.user_properties.append(("failed_calls", failed))
    assert failed == []
"""
)


def test_failing_chaos_test_prints_seed_faults_and_replay_command(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(test_agent=FAILING)
    result = run("--chaos-seed", "1234")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "aumai-chaos: --chaos-seed 1234 (given)",
            "*- chaos -*",
            "seed: * (from --chaos-seed 1234 and the test's node id)",
            "faults fired: * (vector_db *)",
            "  vector_db: error x* on call #*",
            "replay: pytest test_agent.py::test_survives_retrieval_errors --chaos-seed 1234",
            "aumai-chaos: 1 test with chaos, * faults fired, --chaos-seed 1234",
        ]
    )
    fired = int(re.search(r"faults fired: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert 5 < fired < 35  # 40 calls at probability 0.5


def test_default_seed_is_random_and_shown_in_the_header(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(test_agent=FAILING)
    seeds = {run_seed_of(run().stdout.str()) for _ in range(3)}
    assert len(seeds) > 1  # three draws from a million: equal only by a 1e-12 chance


def test_junit_xml_carries_the_chaos_properties(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_agent=FAILING)
    run("--chaos-seed", "77", "--junitxml=report.xml").assert_outcomes(failed=1)
    props = junit_properties(pytester.path / "report.xml")[
        "test_agent::test_survives_retrieval_errors"
    ]
    failed = eval(props["failed_calls"])  # a list literal
    assert props["chaos.run_seed"] == "77"
    assert int(props["chaos.seed"]) > 0
    assert int(props["chaos.faults_fired"]) == len(failed) > 0
    # Each fault with the number of the call it fired on: exactly the calls that failed.
    assert props["chaos.fired"] == "; ".join(f"vector_db:error#{n}" for n in failed)
    assert props["chaos.replay"] == (
        "pytest test_agent.py::test_survives_retrieval_errors --chaos-seed 77"
    )


def test_a_passing_chaos_test_has_no_section_but_counts_in_the_summary(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(
        test_agent=AGENT
        + """
@pytest.mark.chaos("vector_db", fault_type="error", probability=1.0)
def test_all_fail():
    assert failing_calls(3) == [1, 2, 3]

def test_plain():
    assert search("q") == ["doc"]
"""
    )
    result = run("--chaos-seed", "5")
    result.assert_outcomes(passed=2)
    assert "- chaos -" not in result.stdout.str()
    result.stdout.fnmatch_lines(["aumai-chaos: 1 test with chaos, 3 faults fired, --chaos-seed 5"])


def test_no_summary_line_without_chaos_tests(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = run()
    result.assert_outcomes(passed=1)
    assert "with chaos" not in result.stdout.str()


def test_parametrized_node_ids_are_quoted_in_the_replay_command(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(
        test_agent=AGENT
        + """
@pytest.mark.parametrize("n", [3])
@pytest.mark.chaos("vector_db", fault_type="error")
def test_param(n):
    assert failing_calls(n) == []
"""
    )
    result = run("--chaos-seed", "9")
    result.stdout.fnmatch_lines(
        ["replay: pytest 'test_agent.py::test_param[[]3[]]' --chaos-seed 9"]
    )


def test_bad_seed_is_a_usage_error(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = run("--chaos-seed", "-3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--chaos-seed must be between 0 and *"])


def test_bad_marker_fails_the_test_with_the_reason(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_agent=AGENT
        + """
@pytest.mark.chaos("vector_db", fault_type="error", probabilty=0.5)
def test_typo():
    pass
"""
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.chaos:*probabilty*"])


def test_unreadable_marker_fails_the_test_with_the_reason(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(
        test_agent=AGENT
        + """
@pytest.mark.chaos("vector_db", probability=0.5)
def test_no_type(chaos):
    pass
"""
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*chaos marker: a fault needs fault_type=*"])
