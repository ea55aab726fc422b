"""docs/pytest.md: every example file on the page runs, as written, and passes."""

from __future__ import annotations

import re

import pytest

from tests.helpers import REPO
from tests.pytest_plugin.conftest import Run

PAGE = REPO / "docs" / "pytest.md"
_FILE = re.compile(r"<!-- file: (?P<name>[\w.]+) -->\n```python\n(?P<code>.*?)```", re.S)


def examples() -> dict[str, str]:
    found = {m["name"]: m["code"] for m in _FILE.finditer(PAGE.read_text(encoding="utf-8"))}
    assert set(found) == {"test_retrieval.py", "test_rate_limits.py"}
    return found


@pytest.mark.parametrize("name", sorted(examples()))
def test_the_page_examples_pass(pytester: pytest.Pytester, run: Run, name: str) -> None:
    code = examples()[name]
    pytester.makepyfile(**{name.removesuffix(".py"): code})
    result = run("--chaos-seed", "2026")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) == code.count("\ndef test_"), result.stdout.str()
    assert "failed" not in outcomes
    assert "error" not in outcomes
    result.stdout.fnmatch_lines(["aumai-chaos: * with chaos, * faults fired, --chaos-seed 2026"])


def test_the_page_names_the_real_options() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for text in ("--chaos-seed", "--chaos-disable", "pytest11", "-p no:aumai_chaos"):
        assert text in page
