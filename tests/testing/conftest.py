"""A started ``ProviderServer`` per test, and real SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from aumai_chaos.testing import ProviderServer


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as provider:
        yield provider


@pytest.fixture
def openai_client(server: ProviderServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0) as client:
        yield client


@pytest.fixture
def anthropic_client(server: ProviderServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=server.anthropic_base_url, api_key="test", max_retries=0
    ) as client:
        yield client
