"""Helpers for the transport tests: real SDK clients on a ChaosTransport, a counting layer."""

from __future__ import annotations

import importlib
import threading
from typing import Any

import anthropic
import openai
from opentelemetry.sdk.trace import TracerProvider

from aumai_chaos import ChaosExperiment, ExperimentResult, ExperimentScheduler, ExperimentStatus
from aumai_chaos.testing import ProviderServer
from aumai_chaos.transport import AsyncChaosTransport, ChaosTransport

LIBRARIES = ("httpx", "httpx2")
MESSAGES = [{"role": "user", "content": "hello"}]
CHAT = "openai.chat.completions"


def lib(name: str) -> Any:
    return importlib.import_module(name)


class Counting:
    """The outermost transport: counts the requests that reach the chaos layer."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.count = 0
        self._lock = threading.Lock()

    def handle_request(self, request: Any) -> Any:
        with self._lock:
            self.count += 1
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: Any) -> Any:
        with self._lock:
            self.count += 1
        return await self.inner.handle_async_request(request)

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


def one_connection(library: str, *, is_async: bool = False) -> Any:
    """The library's real transport with a pool of one connection: a fault that leaked its
    connection would make the next request wait for the pool and fail."""
    module = lib(library)
    limits = module.Limits(max_connections=1, max_keepalive_connections=1)
    cls = module.AsyncHTTPTransport if is_async else module.HTTPTransport
    return cls(limits=limits)


def openai_client(
    server: ProviderServer,
    library: str,
    faults: list[Any],
    *,
    max_retries: int = 0,
    timeout: float = 10.0,
    **chaos: Any,
) -> tuple[openai.OpenAI, Counting]:
    counting = Counting(ChaosTransport(one_connection(library), faults=faults, **chaos))
    http = lib(library).Client(transport=counting)
    client = openai.OpenAI(
        base_url=server.openai_base_url,
        api_key="test",
        max_retries=max_retries,
        timeout=timeout,
        http_client=http,
    )
    return client, counting


def async_openai_client(
    server: ProviderServer,
    library: str,
    faults: list[Any],
    *,
    max_retries: int = 0,
    timeout: float = 10.0,
) -> tuple[openai.AsyncOpenAI, Counting]:
    inner = one_connection(library, is_async=True)
    counting = Counting(AsyncChaosTransport(inner, faults=faults))
    http = lib(library).AsyncClient(transport=counting)
    client = openai.AsyncOpenAI(
        base_url=server.openai_base_url,
        api_key="test",
        max_retries=max_retries,
        timeout=timeout,
        http_client=http,
    )
    return client, counting


def anthropic_client(
    server: ProviderServer, library: str, faults: list[Any], *, max_retries: int = 0
) -> anthropic.Anthropic:
    http = lib(library).Client(transport=ChaosTransport(one_connection(library), faults=faults))
    return anthropic.Anthropic(
        base_url=server.anthropic_base_url,
        api_key="test",
        max_retries=max_retries,
        http_client=http,
    )


def chat(client: openai.OpenAI, text: str = "hello") -> str:
    reply = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": text}]
    )
    return reply.choices[0].message.content or ""


async def achat(client: openai.AsyncOpenAI, text: str = "hello") -> str:
    reply = await client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": text}]
    )
    return reply.choices[0].message.content or ""


def claude(client: anthropic.Anthropic, text: str = "hello") -> str:
    reply = client.messages.create(
        model="claude-test", max_tokens=64, messages=[{"role": "user", "content": text}]
    )
    block = reply.content[0]
    return block.text if isinstance(block, anthropic.types.TextBlock) else ""


def run_experiment(
    exp: ChaosExperiment, workload: Any, tracer_provider: TracerProvider | None = None
) -> ExperimentResult:
    scheduler = ExperimentScheduler(tracer_provider=tracer_provider)
    result = scheduler.run(scheduler.schedule(exp), workload=workload)
    assert result.status is ExperimentStatus.completed, result.error
    return result


def experiment(*faults: Any, component: str = CHAT, seconds: float = 0.6) -> ChaosExperiment:
    return ChaosExperiment(
        experiment_id=f"transport-{id(faults)}",
        name="transport",
        duration_seconds=seconds,
        tick_seconds=seconds,
        target_components=[component],
        faults=list(faults),
        seed=11,
        require_faults_fired=False,
    )
