"""What a real SDK does when its stream breaks: the exception, its ``__cause__`` chain and the
events it yielded first, observed on a live connection, never assumed.

The stream tests compare two observations made in the same test (an injected fault and the real
failure at the same chunk), and ``scripts/sdk_table.py`` renders the real ones into the docs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import anthropic
import httpx2
import openai

from aumai_chaos.faults import FaultConfig
from aumai_chaos.transport import AsyncChaosTransport, ChaosTransport

SDK = Literal["openai", "anthropic"]
Mode = Literal["sync", "async"]
USER: list[Any] = [{"role": "user", "content": "hello"}]
TEXT = "one two three four five six"
HTTP_LIBRARIES = ("httpx", "httpx2")


@dataclass(frozen=True)
class Observed:
    """``error`` raised (qualified name, ``""`` for none), the ``__cause__`` chain below it, and
    what the SDK yielded before it (OpenAI: delta texts; Anthropic: event types)."""

    error: str
    chain: tuple[str, ...]
    received: tuple[str, ...]

    @property
    def types(self) -> tuple[str, ...]:
        """The error and its causes, outermost first."""
        return (self.error, *self.chain) if self.error else ()

    @property
    def visible(self) -> tuple[str, ...]:
        """The error and its causes down to the HTTP library's own exception (``httpx2.*``,
        ``httpx.*``): what the SDK and its user can see. Below it a real socket error carries
        the connection pool's (``httpcore2``) cause, which an injected fault does not."""
        for depth, kind in enumerate(self.types):
            if kind.split(".")[0] in HTTP_LIBRARIES:
                return self.types[: depth + 1]
        return self.types


def name(kind: type[BaseException]) -> str:
    """``httpx2.ReadError``, ``openai.APIConnectionError``: named by the public module."""
    module = kind.__module__.split(".")[0]
    if module == "builtins":
        return kind.__qualname__
    return f"{module}.{kind.__qualname__}"


def _chain(error: BaseException) -> tuple[str, ...]:
    found: list[str] = []
    cause = error.__cause__
    while cause is not None and len(found) < 10:
        found.append(name(type(cause)))
        cause = cause.__cause__
    return tuple(found)


def _item(sdk: SDK, chunk: Any) -> str:
    if sdk == "anthropic":
        return str(chunk.type)
    return str(chunk.choices[0].delta.content or "") if chunk.choices else ""


def _client(
    sdk: SDK,
    mode: Mode,
    base_url: str,
    faults: Sequence[FaultConfig],
    timeout: float,
    max_retries: int = 2,
) -> Any:
    http: Any = None
    if faults and mode == "sync":
        http = httpx2.Client(transport=ChaosTransport(faults=list(faults)), timeout=timeout)
    elif faults:
        transport = AsyncChaosTransport(faults=list(faults))
        http = httpx2.AsyncClient(transport=transport, timeout=timeout)
    kwargs: dict[str, Any] = {"base_url": base_url, "api_key": "t", "max_retries": max_retries}
    kwargs.update(timeout=timeout, http_client=http)
    cls: Any = {
        ("openai", "sync"): openai.OpenAI,
        ("openai", "async"): openai.AsyncOpenAI,
        ("anthropic", "sync"): anthropic.Anthropic,
        ("anthropic", "async"): anthropic.AsyncAnthropic,
    }[(sdk, mode)]
    return cls(**kwargs)


def _open(sdk: SDK, client: Any) -> Any:
    if sdk == "openai":
        return client.chat.completions.create(model="m", messages=USER, stream=True)
    return client.messages.create(model="c", max_tokens=9, messages=USER, stream=True)


def base_url(sdk: SDK, server: Any) -> str:
    """The SDK's ``base_url`` on a ``ProviderServer``."""
    return str(server.openai_base_url if sdk == "openai" else server.anthropic_base_url)


def record_events(sdk: SDK, server: Any) -> tuple[bytes, ...]:
    """The SSE events of the server's next streamed answer, as sent, one per HTTP chunk."""
    if sdk == "openai":
        url = f"{server.openai_base_url}/chat/completions"
        body: dict[str, Any] = {"model": "m", "messages": USER, "stream": True}
    else:
        url = f"{server.anthropic_base_url}/v1/messages"
        body = {"model": "c", "max_tokens": 9, "messages": USER, "stream": True}
    with httpx2.Client() as http:
        raw = http.post(url, json=body).content
    return tuple(part + b"\n\n" for part in raw.split(b"\n\n") if part.strip())


def observe(
    sdk: SDK,
    mode: Mode,
    base_url: str,
    faults: Sequence[FaultConfig] = (),
    *,
    timeout: float = 5.0,
) -> Observed:
    """Read one streamed answer with the real SDK (on a ``ChaosTransport`` when ``faults``)."""
    received: list[str] = []
    error: BaseException | None = None
    if mode == "sync":
        with _client(sdk, mode, base_url, faults, timeout) as client:
            try:
                for chunk in _open(sdk, client):
                    received.append(_item(sdk, chunk))
            except Exception as exc:  # the observation itself: any failure is recorded
                error = exc
    else:

        async def read() -> BaseException | None:
            async with _client(sdk, mode, base_url, faults, timeout) as client:
                try:
                    async for chunk in await _open(sdk, client):
                        received.append(_item(sdk, chunk))
                except Exception as exc:
                    return exc
            return None

        error = asyncio.run(read())
    if error is None:
        return Observed("", (), tuple(received))
    return Observed(name(type(error)), _chain(error), tuple(received))


def observe_json(sdk: SDK, base_url: str, *, timeout: float = 5.0) -> Observed:
    """One answer not streamed, sync, without retries (a retry would get a clean answer)."""
    with _client(sdk, "sync", base_url, (), timeout, max_retries=0) as client:
        try:
            if sdk == "openai":
                client.chat.completions.create(model="m", messages=USER)
            else:
                client.messages.create(model="c", max_tokens=9, messages=USER)
        except Exception as exc:  # the observation itself: any failure is recorded
            return Observed(name(type(exc)), _chain(exc), ())
    return Observed("", (), ())
