"""Building the documentation site for the tests: ``mkdocs build --strict`` in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

__all__ = ["build_site", "copy_project"]


def build_site(project: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``project`` (a folder with mkdocs.yml) into ``site``."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def copy_project(dest: Path) -> Path:
    """A copy of what the site is built from (mkdocs.yml, docs/, the files it includes)."""
    dest.mkdir(parents=True)
    for name in ("mkdocs.yml", "CHANGELOG.md"):
        shutil.copy2(REPO / name, dest / name)
    for folder in ("docs", "src", "otel-collector", "benchmarks/results"):
        shutil.copytree(REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "scripts").mkdir()
    for name in ("docs_hooks.py", "griffe_roles.py"):
        shutil.copy2(REPO / "scripts" / name, dest / "scripts" / name)
    return dest
