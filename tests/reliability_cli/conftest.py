"""Fixtures for the command-line reliability tests: no OTEL_* variables leaking into in-process
runs, and a short experiment that always fires."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability_cli.support import experiment_text


@pytest.fixture(autouse=True)
def _no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def write_experiment(tmp_path: Path) -> Callable[..., Path]:
    """Write a short experiment (the always-firing one unless ``text`` is given)."""

    def write(
        name: str = "short.yaml",
        *,
        exp_id: str = "rel-cli",
        duration: float = 1,
        tick: float = 0.2,
        text: str | None = None,
        folder: Path | None = None,
    ) -> Path:
        path = (folder or tmp_path) / name
        body = experiment_text(exp_id=exp_id, duration=duration, tick=tick)
        if text is not None:
            body = textwrap.dedent(text).format(exp_id=exp_id, duration=duration, tick=tick)
        path.write_text(body, encoding="utf-8")
        return path

    return write
