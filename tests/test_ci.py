"""CI cannot pass without testing (issue 11): it sets CI=1, so a missing integration tool fails
rather than skips; ``make integration-deps`` fails when promtool or the prometheus server is
missing; ``make bench-quick`` enforces the benchmark budgets."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.helpers import REPO


def test_ci_sets_ci_before_it_runs_anything() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    first_make = script.index("make ")
    assert re.search(r"^export CI=1$", script[:first_make], re.M)


def _integration_deps(tmp_path: Path, tools: str) -> subprocess.CompletedProcess[str]:
    phoenix = tmp_path / "phoenix-venv" / "bin" / "phoenix"
    phoenix.parent.mkdir(parents=True)
    phoenix.touch()  # the Phoenix part of the target is satisfied: only the tools are checked
    return subprocess.run(
        [
            "make",
            "-s",
            "integration-deps",
            f"PHOENIX_VENV={phoenix.parent.parent}",
            "APT_INSTALL=0",
            f"INTEGRATION_TOOLS={tools}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
    )


def test_integration_deps_fails_when_a_tool_is_missing(tmp_path: Path) -> None:
    result = _integration_deps(tmp_path, "sh no-such-tool-for-aumai-chaos")
    assert result.returncode != 0
    assert "missing: no-such-tool-for-aumai-chaos" in result.stderr


def test_integration_deps_passes_when_every_tool_is_there(tmp_path: Path) -> None:
    result = _integration_deps(tmp_path, "sh")
    assert result.returncode == 0, result.stderr


def test_integration_deps_checks_promtool_and_the_prometheus_server() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^INTEGRATION_TOOLS \?= promtool prometheus$", makefile, re.M)


def test_the_quick_benchmarks_ci_runs_enforce_the_budgets() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = makefile[makefile.index("\nbench-quick:") :].split("\n\n")[0]
    assert "--enforce" in recipe
    assert "make bench-quick" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_phoenix_start_up_allowance_fits_inside_its_tests_timeout() -> None:
    from tests.cli import test_phoenix

    [timeout] = [m for m in test_phoenix.pytestmark if m.name == "timeout"]
    limit = timeout.args[0]
    assert limit > test_phoenix.STARTUP_TIMEOUT_S + test_phoenix.ARRIVAL_TIMEOUT_S


def test_the_readme_overhead_table_quotes_the_committed_run() -> None:
    """Every ns/call the README quotes is a row of benchmarks/results/latest.md; it links the
    full table and quotes no run that is not committed."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Overhead") : readme.index("## Guarantees")]
    latest = (REPO / "benchmarks" / "results" / "latest.md").read_text(encoding="utf-8")
    measured = {
        cells[2].strip()
        for line in latest.splitlines()
        if line.startswith("| ") and len(cells := line.split("|")) > 3
    }
    quoted = [
        cells[2].strip()
        for line in section.splitlines()
        if line.startswith("| ")
        and len(cells := line.split("|")) > 3
        and re.fullmatch(r"[\d,]+", cells[2].strip())
    ]
    assert len(quoted) >= 8
    assert [q for q in quoted if q not in measured] == []
    assert "(benchmarks/results/latest.md)" in section
    assert "quieter" not in section
    # The budget count is the committed run's, and the like-with-like comparison says where we
    # lose.
    met = re.search(r"(\d+) of (\d+) budgeted rows pass", latest)
    assert met is not None
    assert f"{met.group(1)} of {met.group(2)} budgets met" in section
    assert "we lose" in section
