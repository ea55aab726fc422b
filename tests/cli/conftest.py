"""Fixtures for the command-line tests: a typer CliRunner, experiment files, no OTEL_* variables."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.support import experiment_writer


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
    return experiment_writer(tmp_path, "cli-test")
