"""aumai-chaos's pytest plugin: chaos where agent builders already test.

Registered through the ``pytest11`` entry point ``aumai_chaos``, so it is active wherever the
package is installed (``-p no:aumai_chaos`` turns it off). It gives:

- the ``chaos`` fixture (:class:`ChaosFixture`): ``inject``, ``fired``, ``seed``, ``result``,
  ``observations``, ``instrument``, ``assert_verdict``;
- the ``@pytest.mark.chaos(...)`` marker, repeatable, also in ``pytestmark``;
- ``--chaos-seed N`` (default: random, shown in the header) and ``--chaos-disable``;
- a "chaos" section in a failed test's report, JUnit XML properties, and one summary line.

A test that uses neither the fixture nor the marker pays nothing: this module imports only
pytest and the standard library (and the ``aumai_chaos`` package's light top level); the
experiment engine, the OpenTelemetry SDK and the HTTP transport are imported when a test first
uses chaos. May import: ``pytest``, the standard library, and, lazily, the rest of aumai_chaos.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from aumai_chaos.pytest_plugin._fixture import ChaosFixture, fixture_for
from aumai_chaos.pytest_plugin._marker import MARKER_HELP, MarkerError, TestSpec, read_markers
from aumai_chaos.pytest_plugin._report import RunTally, properties, section
from aumai_chaos.pytest_plugin._seed import new_run_seed, parse_seed, test_seed
from aumai_chaos.pytest_plugin._testrun import ChaosUsageError, TestChaos, replay_command

__all__ = ["ChaosFixture", "ChaosUsageError", "chaos", "replay_command", "test_seed"]

_WORKER_KEY = "aumai_chaos_run_seed"
_run_seed_key = pytest.StashKey[int]()
_given_key = pytest.StashKey[bool]()
_test_key = pytest.StashKey[TestChaos]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aumai-chaos", "aumai-chaos fault injection")
    group.addoption(
        "--chaos-seed",
        action="store",
        default=None,
        metavar="N",
        help="seed every chaos test from N and its node id (default: random, shown in the "
        "header); the same N replays the same faults",
    )
    group.addoption(
        "--chaos-disable",
        action="store_true",
        default=False,
        help="turn every aumai-chaos fault off (the kill switch), to tell a chaos failure "
        "from a plain one",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    given = config.getoption("--chaos-seed", None)
    if workerinput is not None and _WORKER_KEY in workerinput:
        seed = int(workerinput[_WORKER_KEY])  # the controller's seed, whichever worker this is
    elif given is not None:
        try:
            seed = parse_seed(str(given))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    else:
        seed = new_run_seed()
    config.stash[_run_seed_key] = seed
    config.stash[_given_key] = given is not None
    config.pluginmanager.register(_Summary(config), "aumai_chaos-summary")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker gets the controller's run seed."""
    node.workerinput[_WORKER_KEY] = node.config.stash[_run_seed_key]


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.stash[_run_seed_key]
    how = "given" if config.stash[_given_key] else "random"
    off = ", faults off (--chaos-disable)" if config.getoption("--chaos-disable") else ""
    return f"aumai-chaos: --chaos-seed {seed} ({how}){off}"


def _test_for(item: pytest.Item) -> TestChaos:
    test = item.stash.get(_test_key, None)
    if test is None:
        problem = None
        try:
            spec = read_markers(item.iter_markers("chaos"))
        except MarkerError as exc:
            spec, problem = TestSpec(), str(exc)
        test = TestChaos(
            item.nodeid,
            item.config.stash[_run_seed_key],
            spec,
            disabled=bool(item.config.getoption("--chaos-disable")),
        )
        test.problem = problem
        item.stash[_test_key] = test
    return test


def _uses_chaos(item: pytest.Item) -> bool:
    return _test_key in item.stash or item.get_closest_marker("chaos") is not None


@pytest.fixture
def chaos(request: pytest.FixtureRequest) -> ChaosFixture:
    """Fault injection for this test's body, seeded for replay (see :class:`ChaosFixture`)."""
    return fixture_for(_test_for(request.node))


def _as_error(exc: BaseException) -> BaseException:
    """What a body's exception means to its experiment: ``pytest.fail()`` fails it like an
    assertion; a skip, an exit or Ctrl-C abort it."""
    if isinstance(exc, pytest.fail.Exception):
        return AssertionError(str(exc))
    return exc


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    if not _uses_chaos(item):
        return (yield)
    test = _test_for(item)
    problem: str | None = None
    try:
        test.begin()
    except ChaosUsageError as exc:
        problem = str(exc)
    if problem is not None:
        test.end()
        item.user_properties.extend(properties(test))
        pytest.fail(problem, pytrace=False)
    try:
        outcome = yield
    except BaseException as exc:
        test.end(_as_error(exc))
        item.user_properties.extend(properties(test))
        raise
    test.end()
    item.user_properties.extend(properties(test))
    problem = test.unreached_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    if test.expected_verdicts:
        problem = test.verdict_problem(test.expected_verdicts)
        if problem is not None:
            pytest.fail(problem, pytrace=False)
    return outcome


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and report.when == "call":
        test = item.stash.get(_test_key, None)
        if test is not None:
            report.sections.append(("chaos", section(test)))
    return report


class _Summary:
    """Counts the run's chaos tests from their call reports (on the xdist controller too)
    and writes the one summary line."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.tally = RunTally()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.user_properties:
            self.tally.add(report.user_properties)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        config = self.config
        if self.tally.tests == 0 or getattr(config, "workerinput", None) is not None:
            return
        disabled = bool(config.getoption("--chaos-disable"))
        terminalreporter.write_line(self.tally.line(config.stash[_run_seed_key], disabled))
