"""The suite's own rule, run under pytester: with ``CI`` set a skip fails (tests/ci_skips.py)."""

from __future__ import annotations

import pytest

from tests import ci_skips

SKIPPING = """
import pytest

def test_skips():
    pytest.skip("no promtool here")

@pytest.mark.skipif(True, reason="marked away")
def test_marked():
    pass

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_to_fail():
    assert False

def test_passes():
    pass
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester.runpytest(*args, plugins=[ci_skips])


@pytest.fixture
def skipping(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_skipping=SKIPPING)
    return pytester


def test_with_ci_set_every_skip_fails_with_its_reason(
    skipping: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "1")
    result = _run(skipping)
    # A skip in the call fails the test; a skip mark acts in set-up, which is then an error.
    result.assert_outcomes(failed=1, errors=1, passed=1, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*skipped with CI set (no promtool here): a skip in CI tests nothing*",
            "*skipped with CI set (marked away)*",
        ]
    )


def test_without_ci_a_skip_is_a_skip(
    skipping: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    _run(skipping).assert_outcomes(skipped=2, passed=1, xfailed=1)


def test_with_ci_set_a_module_skipped_at_collection_is_an_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "1")
    pytester.makepyfile(
        test_module="import pytest\npytest.skip('no chromium', allow_module_level=True)\n"
    )
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*skipped with CI set (no chromium)*"])


def test_the_allow_list_is_empty() -> None:
    """Every entry is a test CI does not run: each must be argued for, and none is."""
    assert ci_skips.ALLOWED == {}
