"""The proxy serves on httptools and uvloop when they are installed (the ``proxy`` extra) and on
h11 and asyncio without them: both are transparent, stream events as they come and refuse to
be a forward proxy."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest
from uvicorn.protocols.http.h11_impl import H11Protocol

from aumai_chaos.proxy import Proxy, parse_upstreams
from aumai_chaos.proxy._server import stack
from tests.proxy.upstream import EVENTS, JSON_BODY, Upstream, fixed_upstream


def test_the_extra_brings_the_fast_stack_and_h11_stays_the_fallback() -> None:
    import uvloop
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    fast, fast_loop = stack()
    assert issubclass(fast, HttpToolsProtocol)
    assert fast_loop is uvloop.new_event_loop
    assert stack(fast=False) == (H11Protocol, asyncio.new_event_loop)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with fixed_upstream() as up:
        yield up


@pytest.fixture(params=[True, False], ids=["httptools-uvloop", "h11-asyncio"])
def proxy_url(request: pytest.FixtureRequest, upstream: Upstream) -> Iterator[str]:
    proxy = Proxy(parse_upstreams([upstream.url]), fast=request.param)
    proxy.start()
    try:
        yield proxy.url
    finally:
        proxy.stop()


def test_bytes_and_events_pass_on_either_stack(proxy_url: str) -> None:
    with httpx.Client(timeout=10) as client:
        for _ in range(2):  # the second request on kept-alive connections
            json = client.get(proxy_url + "/v1/json", headers={"accept-encoding": "identity"})
            assert json.content == JSON_BODY
            with client.stream("GET", proxy_url + "/v1/sse") as response:
                assert b"".join(response.iter_raw()) == b"".join(EVENTS)
            echo = client.post(proxy_url + "/v1/echo?q=1", content=b'{"a": 1}').json()
            assert (echo["method"], echo["path"], echo["body"]) == (
                "POST",
                "/v1/echo?q=1",
                '{"a": 1}',
            )


def test_an_absolute_form_target_is_refused_on_either_stack(proxy_url: str) -> None:
    port = int(proxy_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"GET http://example.invalid/v1/json HTTP/1.1\r\nHost: example.invalid\r\n"
            b"Connection: close\r\n\r\n"
        )
        answer = b""
        for _ in range(1000):  # bounded: the proxy closes the connection
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 404")
    assert b"no upstream" in answer
