"""Every test here starts and ends with the ``mcp`` client sessions uninstrumented, and the
SDK's log of failing tools silenced."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from aumai_chaos import mcp as chaos_mcp


@pytest.fixture(autouse=True)
def _mcp_reset() -> Iterator[None]:
    logging.getLogger("mcp").setLevel(logging.CRITICAL)
    chaos_mcp.uninstrument()
    yield
    chaos_mcp.uninstrument()


@pytest.fixture
def instrumented() -> Iterator[None]:
    chaos_mcp.instrument()
    yield
    chaos_mcp.uninstrument()
