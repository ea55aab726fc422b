"""A started ``ProviderServer`` per test; ``instrument()`` never outlives a test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import uninstrument


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as provider:
        yield provider


@pytest.fixture(autouse=True)
def _uninstrumented() -> Iterator[None]:
    yield
    uninstrument()
