"""Replay: the same seed gives the same faults on the same calls, whatever ran and wherever."""

from __future__ import annotations

import pytest

from tests.pytest_plugin.conftest import Run
from tests.pytest_plugin.support import AGENT, junit_properties, run_seed_of

#: Each test records the calls that failed (ground truth) and its fired-fault count.
RECORDING = (
    AGENT
    + """
@pytest.fixture
def record(request):
    def go(failed):
        request.node.user_properties.append(("failed_calls", repr(failed)))
    return go
"""
)

FIXTURE = (
    RECORDING
    + """
def test_retrieval(chaos, record):
    chaos.inject("vector_db", fault_type="error", error_code=503, probability=0.5)
    failed = failing_calls()
    record(failed)
    assert chaos.fired("vector_db") == chaos.fired() == len(failed)
"""
)

MARKER = (
    RECORDING
    + """
@pytest.mark.chaos("vector_db", fault_type="error", error_code=503, probability=0.5)
def test_retrieval(chaos, record):
    failed = failing_calls()
    record(failed)
    assert chaos.fired("vector_db") == chaos.fired() == len(failed)
"""
)

MANY = RECORDING + "".join(
    f"""
@pytest.mark.chaos("vector_db", fault_type="error", probability=0.3)
def test_case_{i}(record):
    record(failing_calls(30))
"""
    for i in range(8)
)


def _failed_calls(pytester: pytest.Pytester, name: str = "report.xml") -> dict[str, str]:
    props = junit_properties(pytester.path / name)
    return {case: p["failed_calls"] for case, p in props.items() if "failed_calls" in p}


def test_rerunning_with_the_printed_seed_replays_the_same_faults(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(test_agent=FIXTURE + "\n\ndef test_fail():\n    assert False\n")
    first = run("--junitxml=first.xml")  # default: a random seed, printed in the header
    seed = run_seed_of(first.stdout.str())
    again = run("--chaos-seed", str(seed), "--junitxml=again.xml")
    one = junit_properties(pytester.path / "first.xml")["test_agent::test_retrieval"]
    two = junit_properties(pytester.path / "again.xml")["test_agent::test_retrieval"]
    assert one["failed_calls"] == two["failed_calls"] != "[]"
    assert one["chaos.fired"] == two["chaos.fired"]
    assert one["chaos.seed"] == two["chaos.seed"]
    assert first.stdout.str().count("vector_db") == again.stdout.str().count("vector_db")


def test_the_replay_command_alone_replays_the_test(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_agent=MANY)
    run("--chaos-seed", "31", "--junitxml=all.xml")
    run("test_agent.py::test_case_5", "--chaos-seed", "31", "--junitxml=one.xml")
    assert (
        _failed_calls(pytester, "all.xml")["test_agent::test_case_5"]
        == _failed_calls(pytester, "one.xml")["test_agent::test_case_5"]
    )


def test_a_different_seed_gives_different_faults(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_agent=MANY)
    run("--chaos-seed", "1", "--junitxml=a.xml")
    run("--chaos-seed", "2", "--junitxml=b.xml")
    assert _failed_calls(pytester, "a.xml") != _failed_calls(pytester, "b.xml")


def test_marker_and_fixture_give_the_same_faults(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_agent=FIXTURE)
    run("--chaos-seed", "99", "--junitxml=fixture.xml").assert_outcomes(passed=1)
    pytester.makepyfile(test_agent=MARKER)  # the same node id, the marker instead
    run("--chaos-seed", "99", "--junitxml=marker.xml").assert_outcomes(passed=1)
    by_fixture = junit_properties(pytester.path / "fixture.xml")["test_agent::test_retrieval"]
    by_marker = junit_properties(pytester.path / "marker.xml")["test_agent::test_retrieval"]
    assert by_fixture["failed_calls"] == by_marker["failed_calls"] != "[]"
    assert by_fixture["chaos.fired"] == by_marker["chaos.fired"]


def test_chaos_disable_turns_every_fault_off(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_agent=FIXTURE
        + """
@pytest.mark.chaos("vector_db", fault_type="error", probability=1.0)
def test_always(chaos):
    assert failing_calls(5) == []
    assert chaos.fired() == 0

def test_switch_back_on_after_the_test():
    from aumai_chaos import is_enabled
    assert is_enabled()
"""
    )
    result = run("--chaos-disable", "--chaos-seed", "3", "--junitxml=off.xml")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "aumai-chaos: --chaos-seed 3 (given), faults off (--chaos-disable)",
            "aumai-chaos: 2 tests with chaos, 0 faults fired, --chaos-seed 3, faults off*",
        ]
    )
    assert _failed_calls(pytester, "off.xml")["test_agent::test_retrieval"] == "[]"


@pytest.mark.slow
def test_xdist_workers_give_the_same_faults_as_one_process(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(test_agent=MANY)
    one = run(
        "-p", "xdist", "-n", "0", "--chaos-seed", "4242", "--junitxml=n0.xml", subprocess=True
    )
    one.assert_outcomes(passed=8)
    two = run(
        "-p", "xdist", "-n", "2", "--chaos-seed", "4242", "--junitxml=n2.xml", subprocess=True
    )
    two.assert_outcomes(passed=8)
    n0 = junit_properties(pytester.path / "n0.xml")
    n2 = junit_properties(pytester.path / "n2.xml")
    assert set(n0) == set(n2)
    assert len(n0) == 8
    for case in n0:
        for key in ("failed_calls", "chaos.fired", "chaos.seed"):
            assert n0[case][key] == n2[case][key], (case, key)
    assert len({p["failed_calls"] for p in n0.values()}) > 1  # the tests' seeds differ
    two.stdout.fnmatch_lines(["aumai-chaos: 8 tests with chaos, * faults fired, --chaos-seed 4242"])


@pytest.mark.slow
def test_xdist_workers_share_the_random_seed(pytester: pytest.Pytester, run: Run) -> None:
    failing = '\n@pytest.mark.chaos("vector_db", fault_type="error")\ndef test_fails():\n'
    pytester.makepyfile(test_agent=MANY + failing + "    assert failing_calls(2) == []\n")
    result = run("-p", "xdist", "-n", "2", "--junitxml=r.xml", subprocess=True)
    result.assert_outcomes(passed=8, failed=1)
    seed = run_seed_of(result.stdout.str())
    seeds = {p["chaos.run_seed"] for p in junit_properties(pytester.path / "r.xml").values()}
    assert seeds == {str(seed)}
    # The worker's report reaches the controller with its chaos section.
    result.stdout.fnmatch_lines(
        [
            "*- chaos -*",
            f"seed: * (from --chaos-seed {seed} and the test's node id)",
            "faults fired: 2 (vector_db 2)",
            "  vector_db: error x2 on call #1, #2",
            f"replay: pytest test_agent.py::test_fails --chaos-seed {seed}",
            f"aumai-chaos: 9 tests with chaos, * faults fired, --chaos-seed {seed}",
        ]
    )
