"""Transport faults against the real ``openai`` and ``anthropic`` SDKs and ``ProviderServer``:
each SDK raises, retries and waits exactly as it does for a real outage.

Every client here has a pool of one connection, so a fault that leaked its connection would
make the next real request (asserted after each fault) wait for the pool and fail.
"""

from __future__ import annotations

import asyncio
import time

import anthropic
import openai
import pytest

from aumai_chaos.faults import (
    ConnectErrorFault,
    ErrorFault,
    HttpErrorFault,
    LatencyFault,
    RateLimitFault,
    ReadTimeoutFault,
    ResourceExhaustionFault,
    TimeoutFault,
)
from aumai_chaos.testing import HTTPReply, ProviderServer
from aumai_chaos.transport import AsyncChaosTransport
from tests.openai_spec import problems
from tests.transport.support import (
    LIBRARIES,
    MESSAGES,
    achat,
    anthropic_client,
    async_openai_client,
    chat,
    claude,
    lib,
    openai_client,
)

CHAT = "/v1/chat/completions"


# Longer than any wait of the SDKs' own backoff before their first retry (0.5 s at most, openai
# and anthropic alike): a client that waited this long was waiting out the Retry-After.
RETRY_AFTER_S = 2.5


@pytest.mark.parametrize("library", LIBRARIES)
def test_openai_waits_out_a_retry_after_its_own_backoff_never_reaches(
    server: ProviderServer, library: str
) -> None:
    fault = RateLimitFault(probability=1.0, times=1, retry_after_s=RETRY_AFTER_S)
    client, counting = openai_client(server, library, [fault], max_retries=2)
    with client:
        started = time.perf_counter()
        assert chat(client) == "You said: hello"
        elapsed = time.perf_counter() - started
        assert counting.count == 2  # the 429, then the real one
        assert server.request_count(CHAT) == 1
        assert elapsed >= RETRY_AFTER_S  # lower bound only
        assert chat(client, "again") == "You said: again"


def test_anthropic_waits_out_a_retry_after_its_own_backoff_never_reaches(
    server: ProviderServer,
) -> None:
    fault = RateLimitFault(times=1, retry_after_s=RETRY_AFTER_S)
    with anthropic_client(server, "httpx2", [fault], max_retries=2) as client:
        started = time.perf_counter()
        assert claude(client) == "You said: hello"
        assert time.perf_counter() - started >= RETRY_AFTER_S
    assert server.request_count("/v1/messages") == 1


@pytest.mark.parametrize("library", LIBRARIES)
def test_three_rate_limits_raise_rate_limit_error_with_the_injected_headers(
    server: ProviderServer, library: str
) -> None:
    fault = RateLimitFault(times=3, retry_after_s=0.2)
    client, counting = openai_client(server, library, [fault], max_retries=2)
    with client:
        with pytest.raises(openai.RateLimitError) as caught:
            chat(client)
        err = caught.value
        assert err.status_code == 429
        assert err.response.headers["retry-after"] == "1"
        assert err.response.headers["retry-after-ms"] == "200"
        assert err.code == "rate_limit_exceeded"
        assert err.type == "rate_limit_error"
        assert counting.count == 3
        assert server.request_count() == 0
        assert chat(client) == "You said: hello"


# A 429 as OpenAI sends it, written out here rather than by the library under test: an
# ``ErrorResponse`` of OpenAI's published schema (checked below; tests/openai_spec.py).
OPENAI_429 = {
    "error": {
        "message": "Rate limit reached. Please try again.",
        "type": "rate_limit_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}


def test_the_injected_429_is_what_a_real_429_gives(server: ProviderServer) -> None:
    """The same SDK exception and fields from the server's own 429 as from the fault."""
    assert problems("ErrorResponse", OPENAI_429) == []
    fault = RateLimitFault(times=1, retry_after_s=0.2)
    client, _ = openai_client(server, "httpx2", [fault])
    real = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
    server.script([HTTPReply(429, OPENAI_429, {"retry-after": "1", "retry-after-ms": "200"})])
    with client, real:
        with pytest.raises(openai.RateLimitError) as injected:
            chat(client)
        with pytest.raises(openai.RateLimitError) as genuine:
            chat(real)
    assert type(injected.value) is type(genuine.value)
    for attr in ("status_code", "code", "type", "param", "body"):
        assert getattr(injected.value, attr) == getattr(genuine.value, attr), attr


def test_quota_rate_limit_and_resource_exhaustion_are_insufficient_quota(
    server: ProviderServer,
) -> None:
    faults = [RateLimitFault(times=1, quota=True), ResourceExhaustionFault(times=1)]
    for fault in faults:
        client, _ = openai_client(server, "httpx2", [fault])
        with client:
            with pytest.raises(openai.RateLimitError) as caught:
                chat(client)
            assert caught.value.code == "insufficient_quota"
            assert chat(client) == "You said: hello"


def test_anthropic_529_is_overloaded_error(server: ProviderServer) -> None:
    # anthropic 2.15 accepts only httpx2 clients
    client = anthropic_client(server, "httpx2", [HttpErrorFault(status_code=529, times=1)])
    with client:
        with pytest.raises(anthropic.OverloadedError) as caught:
            claude(client)
        assert caught.value.status_code == 529
        assert caught.value.body == {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"},
        }
        assert claude(client) == "You said: hello"
    assert server.request_count("/v1/messages") == 1


def test_async_anthropic_529_is_overloaded_error(server: ProviderServer) -> None:
    httpx2 = lib("httpx2")

    async def scenario() -> None:
        transport = AsyncChaosTransport(faults=[HttpErrorFault(status_code=529, times=1)])
        async with anthropic.AsyncAnthropic(
            base_url=server.anthropic_base_url,
            api_key="test",
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=transport),
        ) as client:
            with pytest.raises(anthropic.OverloadedError):
                await client.messages.create(model="c", max_tokens=8, messages=MESSAGES)
            reply = await client.messages.create(model="c", max_tokens=8, messages=MESSAGES)
            assert reply.stop_reason == "end_turn"

    asyncio.run(scenario())
    assert server.request_count("/v1/messages") == 1


def test_anthropic_rate_limit_is_rate_limit_error_with_its_body(server: ProviderServer) -> None:
    client = anthropic_client(server, "httpx2", [RateLimitFault(times=1, retry_after_s=0.1)])
    with client:
        with pytest.raises(anthropic.RateLimitError) as caught:
            claude(client)
        assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
        assert caught.value.response.headers["retry-after-ms"] == "100"


def test_http_error_502_carries_the_proxy_html_page(server: ProviderServer) -> None:
    client, _ = openai_client(server, "httpx2", [HttpErrorFault(status_code=502, times=1)])
    with client:
        with pytest.raises(openai.InternalServerError) as caught:
            chat(client)
        assert caught.value.status_code == 502
        assert caught.value.response.headers["content-type"] == "text/html"
        assert "<h1>502 Bad Gateway</h1>" in caught.value.response.text


def test_http_error_with_its_own_headers_and_body(server: ProviderServer) -> None:
    fault = HttpErrorFault(
        status_code=503, headers={"x-should-retry": "false"}, body="down", times=1
    )
    client, _ = openai_client(server, "httpx", [fault], max_retries=2)
    with client:
        with pytest.raises(openai.InternalServerError) as caught:
            chat(client)
        assert caught.value.response.headers["x-should-retry"] == "false"
        assert caught.value.response.text == "down"
    assert server.request_count() == 0  # x-should-retry: false, so no retry reached it


@pytest.mark.parametrize("library", LIBRARIES)
def test_read_timeout_under_the_clients_timeout_is_api_timeout_error(
    server: ProviderServer, library: str
) -> None:
    fault = ReadTimeoutFault(duration_ms=30_000, times=1)
    client, _ = openai_client(server, library, [fault], timeout=0.3)
    with client:
        started = time.perf_counter()
        with pytest.raises(openai.APITimeoutError) as caught:
            chat(client)
        assert time.perf_counter() - started >= 0.3  # the client's own read timeout
        assert isinstance(caught.value.__cause__, lib(library).ReadTimeout)
        assert chat(client) == "You said: hello"
    assert server.request_count() == 1


def test_read_timeout_shorter_than_the_clients_waits_its_duration(server: ProviderServer) -> None:
    client, _ = openai_client(server, "httpx2", [TimeoutFault(duration_ms=100, times=1)])
    with client:
        started = time.perf_counter()
        with pytest.raises(openai.APITimeoutError):
            chat(client)
        assert time.perf_counter() - started >= 0.1


@pytest.mark.parametrize("library", LIBRARIES)
def test_connect_error_is_api_connection_error(server: ProviderServer, library: str) -> None:
    client, _ = openai_client(server, library, [ConnectErrorFault(times=1)])
    with client:
        with pytest.raises(openai.APIConnectionError) as caught:
            chat(client)
        assert type(caught.value) is openai.APIConnectionError
        assert isinstance(caught.value.__cause__, lib(library).ConnectError)
        assert chat(client) == "You said: hello"
    assert server.request_count() == 1


def test_guide_faults_on_a_transport(server: ProviderServer) -> None:
    client, counting = openai_client(
        server,
        "httpx2",
        [LatencyFault(duration_ms=150, times=1), ErrorFault(error_code=503, times=1)],
    )
    with client:
        started = time.perf_counter()
        with pytest.raises(openai.InternalServerError) as caught:
            chat(client)
        assert time.perf_counter() - started >= 0.15
        assert caught.value.status_code == 503
        assert caught.value.type == "server_error"
        assert chat(client) == "You said: hello"
    assert counting.count == 2


@pytest.mark.parametrize("library", LIBRARIES)
def test_async_clients_get_the_same_faults(server: ProviderServer, library: str) -> None:
    async def scenario() -> None:
        faults = [RateLimitFault(times=1, retry_after_s=0.1)]
        client, counting = async_openai_client(server, library, faults, max_retries=1)
        async with client:
            assert await achat(client) == "You said: hello"
            assert counting.count == 2
        timeout = [ReadTimeoutFault(duration_ms=30_000, times=1)]
        client, _ = async_openai_client(server, library, timeout, timeout=0.2)
        async with client:
            ticker = asyncio.create_task(asyncio.sleep(0.05))  # the loop is never blocked
            with pytest.raises(openai.APITimeoutError):
                await achat(client)
            assert ticker.done()
            assert await achat(client, "again") == "You said: again"
        connect = [ConnectErrorFault(times=1)]
        client, _ = async_openai_client(server, library, connect)
        async with client:
            with pytest.raises(openai.APIConnectionError) as caught:
                await achat(client)
            assert isinstance(caught.value.__cause__, lib(library).ConnectError)
            assert await achat(client) == "You said: hello"

    asyncio.run(scenario())
    assert server.request_count() == 3


def test_retry_after_is_whole_seconds_rounded_up_and_retry_after_ms_is_exact(
    server: ProviderServer,
) -> None:
    """RFC 9110 §10.2.3: delay-seconds is a non-negative integer."""
    client, _ = openai_client(server, "httpx2", [RateLimitFault(times=1, retry_after_s=1.01)])
    with client, pytest.raises(openai.RateLimitError) as caught:
        chat(client)
    headers = caught.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("2", "1010")


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_the_sdks_wait_the_retry_after_ms_value_not_the_rounded_seconds(
    server: ProviderServer, sdk: str
) -> None:
    """1.01 s in ``retry-after-ms``, 2 s in ``retry-after``: a wait of at least 1.01 s and
    well under 2 s shows that the SDK read the exact value (the SDKs' own backoff for a first
    retry is under 1 s, so it cannot reach 1.01 s by itself)."""
    fault = RateLimitFault(times=1, retry_after_s=1.01)
    started = time.perf_counter()
    if sdk == "openai":
        client, counting = openai_client(server, "httpx2", [fault], max_retries=1)
        with client:
            assert chat(client) == "You said: hello"
        assert counting.count == 2
    else:
        aclient = anthropic_client(server, "httpx2", [fault], max_retries=1)
        with aclient:
            assert claude(aclient) == "You said: hello"
    elapsed = time.perf_counter() - started
    assert 1.01 <= elapsed < 1.9, elapsed
