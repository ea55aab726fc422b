"""Ground truth for stream faults: what the real SDKs raise on a real reset, close or stall.

Observed with openai 3.57, anthropic 2.15 and httpx2 2.16 (issue 14's injected faults must
raise exactly these):

==========================  ===========================  ===============================
the server                  openai (sync and async)      anthropic, streamed (sync/async)
==========================  ===========================  ===============================
``CutStream(reset=True)``   ``APIConnectionError`` from  ``httpx2.ReadError``, not wrapped
                            ``httpx2.ReadError``
``CutStream(reset=False)``  ``APIConnectionError`` from  ``httpx2.RemoteProtocolError``,
                            ``httpx2.RemoteProtocolError``  not wrapped
``StallStream`` > timeout   ``APITimeoutError`` from     ``httpx2.ReadTimeout``, not wrapped
                            ``httpx2.ReadTimeout``
==========================  ===========================  ===============================

``openai`` wraps errors raised while a stream is read (``Stream._iter_events``); ``anthropic``
does not, so its streams raise the raw ``httpx2`` exception. Not streamed, both SDKs raise
their own ``APIConnectionError`` / ``APITimeoutError`` (after their retries). Under
``httpcore2`` the reset is a ``ConnectionResetError`` (async: via ``anyio.BrokenResourceError``),
the close an ``h11.RemoteProtocolError`` ("incomplete chunked read"), the stall a
``TimeoutError``. A stream broken mid-body is never retried by either SDK.
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import openai
import pytest

from aumai_chaos.testing import CutStream, ProviderServer, StallStream, TextReply

USER: list[Any] = [{"role": "user", "content": "hello"}]
TEXT = "one two three four five six"

CASES = [
    pytest.param(CutStream(2, reset=True), openai.APIConnectionError, httpx2.ReadError, id="reset"),
    pytest.param(
        CutStream(2, reset=False),
        openai.APIConnectionError,
        httpx2.RemoteProtocolError,
        id="close",
    ),
    pytest.param(StallStream(2, 30.0), openai.APITimeoutError, httpx2.ReadTimeout, id="stall"),
]


@pytest.mark.parametrize(("disrupt", "sdk_error", "cause"), CASES)
def test_openai_sync_stream(
    server: ProviderServer, disrupt: Any, sdk_error: type[Exception], cause: type[Exception]
) -> None:
    server.script([TextReply(TEXT, disrupt=disrupt)])
    received: list[Any] = []
    with openai.OpenAI(
        base_url=server.openai_base_url, api_key="t", max_retries=2, timeout=0.5
    ) as client:
        stream = client.chat.completions.create(model="m", messages=USER, stream=True)
        with pytest.raises(sdk_error) as caught:
            received.extend(stream)
    assert type(caught.value) is sdk_error
    assert type(caught.value.__cause__) is cause
    assert len(received) == 2  # exactly the events sent before the fault
    assert server.request_count() == 1  # a broken stream is not retried


@pytest.mark.asyncio
@pytest.mark.parametrize(("disrupt", "sdk_error", "cause"), CASES)
async def test_openai_async_stream(
    server: ProviderServer, disrupt: Any, sdk_error: type[Exception], cause: type[Exception]
) -> None:
    server.script([TextReply(TEXT, disrupt=disrupt)])
    received: list[Any] = []
    async with openai.AsyncOpenAI(
        base_url=server.openai_base_url, api_key="t", max_retries=0, timeout=0.5
    ) as client:
        stream = await client.chat.completions.create(model="m", messages=USER, stream=True)

        async def drain() -> None:
            async for chunk in stream:
                received.append(chunk)

        with pytest.raises(sdk_error) as caught:
            await drain()
    assert type(caught.value) is sdk_error
    assert type(caught.value.__cause__) is cause
    assert len(received) == 2


@pytest.mark.parametrize(("disrupt", "sdk_error", "cause"), CASES)
def test_openai_not_streamed(
    server: ProviderServer, disrupt: Any, sdk_error: type[Exception], cause: type[Exception]
) -> None:
    """Not streamed: the JSON body is cut halfway, or the body is stalled after the headers."""
    server.script([TextReply(TEXT, disrupt=disrupt)])
    with (
        openai.OpenAI(
            base_url=server.openai_base_url, api_key="t", max_retries=0, timeout=0.5
        ) as client,
        pytest.raises(sdk_error) as caught,
    ):
        client.chat.completions.create(model="m", messages=USER)
    assert type(caught.value.__cause__) is cause


ANTHROPIC_CASES = [
    pytest.param(CutStream(3, reset=True), httpx2.ReadError, id="reset"),
    pytest.param(CutStream(3, reset=False), httpx2.RemoteProtocolError, id="close"),
    pytest.param(StallStream(3, 30.0), httpx2.ReadTimeout, id="stall"),
]


@pytest.mark.parametrize(("disrupt", "error"), ANTHROPIC_CASES)
def test_anthropic_sync_stream_raises_raw_httpx2(
    server: ProviderServer, disrupt: Any, error: type[Exception]
) -> None:
    server.script([TextReply(TEXT, disrupt=disrupt)])
    received: list[Any] = []
    with anthropic.Anthropic(
        base_url=server.anthropic_base_url, api_key="t", max_retries=0, timeout=0.5
    ) as client:
        stream = client.messages.create(model="c", max_tokens=5, messages=USER, stream=True)
        with pytest.raises(error) as caught:
            received.extend(stream)
    assert type(caught.value) is error
    # message_start, ping (skipped by the SDK), content_block_start
    assert [e.type for e in received] == ["message_start", "content_block_start"]


@pytest.mark.asyncio
@pytest.mark.parametrize(("disrupt", "error"), ANTHROPIC_CASES)
async def test_anthropic_async_stream_helper_raises_raw_httpx2(
    server: ProviderServer, disrupt: Any, error: type[Exception]
) -> None:
    server.script([TextReply(TEXT, disrupt=disrupt)])
    async with anthropic.AsyncAnthropic(
        base_url=server.anthropic_base_url, api_key="t", max_retries=0, timeout=0.5
    ) as client:
        with pytest.raises(error) as caught:
            async with client.messages.stream(model="c", max_tokens=5, messages=USER) as stream:
                await stream.get_final_message()
    assert type(caught.value) is error


@pytest.mark.parametrize(
    ("disrupt", "error"),
    [
        pytest.param(CutStream(reset=True), anthropic.APIConnectionError, id="reset"),
        pytest.param(StallStream(seconds=30.0), anthropic.APITimeoutError, id="stall"),
    ],
)
def test_anthropic_not_streamed_wraps(
    server: ProviderServer, disrupt: Any, error: type[Exception]
) -> None:
    server.script([TextReply(TEXT, disrupt=disrupt)])
    with (
        anthropic.Anthropic(
            base_url=server.anthropic_base_url, api_key="t", max_retries=0, timeout=0.5
        ) as client,
        pytest.raises(error),
    ):
        client.messages.create(model="c", max_tokens=5, messages=USER)


def test_the_next_request_after_a_reset_succeeds(server: ProviderServer) -> None:
    server.script([TextReply(TEXT, disrupt=CutStream(1))])
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as client:
        with pytest.raises(openai.APIConnectionError):
            list(client.chat.completions.create(model="m", messages=USER, stream=True))
        again = client.chat.completions.create(model="m", messages=USER)
    assert again.choices[0].message.content == "You said: hello"
