"""A pytest plugin of the test suite: with ``CI`` set (``.ci/run`` sets it), a skip is a failure.

A test that skips passes without testing anything, and in CI nobody reads the skip's reason: CI
must provide whatever every test needs (``make test`` installs it). A skipped test, or a module
skipped at collection, fails with the reason it gave. ``xfail`` is not a skip and is left alone.
Registered by ``tests/conftest.py``; ``tests/test_ci_skips.py`` runs it under pytester.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

#: Node ids allowed to skip under CI, each with why. Keep it empty: fix the test or CI instead.
ALLOWED: dict[str, str] = {}


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


def _reason(longrepr: Any) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _failed_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    reason = _reason(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"skipped with CI set ({reason}): a skip in CI tests nothing. Give CI what the test "
        "needs (make test), or make the test unable to skip."
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if (
        report.skipped
        and not hasattr(report, "wasxfail")
        and _in_ci()
        and item.nodeid not in ALLOWED
    ):
        _failed_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if report.skipped and _in_ci() and collector.nodeid not in ALLOWED:
        _failed_skip(report)
    return report
