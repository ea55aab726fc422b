"""Fixtures for the command-line reliability tests: no OTEL_* variables leaking into in-process
runs, and a short experiment that always fires."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.support import experiment_writer


@pytest.fixture(autouse=True)
def _no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def write_experiment(tmp_path: Path) -> Callable[..., Path]:
    """Write a short experiment (the always-firing one unless ``text`` is given)."""
    return experiment_writer(tmp_path, "rel-cli")
