"""Fixtures for the command-line tests: a typer CliRunner, experiment files, no OTEL_* variables."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.support import SHORT_EXPERIMENT


@pytest.fixture(autouse=True)
def _no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process CLI runs must never export anywhere because of the caller's environment."""
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def write_experiment(tmp_path: Path) -> Callable[..., Path]:
    """Write an always-firing experiment; returns its path."""

    def write(
        name: str = "short.yaml",
        *,
        exp_id: str = "cli-test",
        duration: float = 1,
        tick: float = 0.2,
        text: str | None = None,
    ) -> Path:
        path = tmp_path / name
        body = text if text is not None else SHORT_EXPERIMENT
        path.write_text(
            textwrap.dedent(body).format(exp_id=exp_id, duration=duration, tick=tick),
            encoding="utf-8",
        )
        return path

    return write
