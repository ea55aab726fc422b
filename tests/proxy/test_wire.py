"""The proxy's upstream client against a real server on 127.0.0.1 that writes scripted bytes:
framing, keep-alive, and each failure compared with what httpx's own transport raises on the
same bytes."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from aumai_chaos.proxy._wire import WireTransport
from tests.proxy.upstream import self_signed

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]
TIMEOUT = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


@dataclass
class Server:
    url: str = ""
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


@asynccontextmanager
async def raw_server(answer: Answer) -> AsyncIterator[Server]:
    """Reads each request (head and Content-Length body) and lets ``answer`` write the
    response; the connection stays open while ``answer`` returns True."""
    state = Server()

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                state.requests.append(head + await reader.readexactly(length))
                if not await answer(reader, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield state


def writes(*parts: bytes, keep: bool = True) -> Answer:
    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        for part in parts:
            writer.write(part)
            await writer.drain()
        return keep

    return answer


async def fetch(transport: httpx.AsyncBaseTransport, url: str, method: str = "GET") -> Any:
    """The body's pieces, or the type of what was raised."""
    request = httpx.Request(method, url, content=b"hi", extensions={"timeout": TIMEOUT})
    try:
        response = await transport.handle_async_request(request)
        try:
            assert isinstance(response.stream, httpx.AsyncByteStream)
            return (response.status_code, [p async for p in response.stream])
        finally:
            await response.aclose()
    except httpx.HTTPError as exc:
        return type(exc)


LENGTH = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello"
CHUNKED = (
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n"
)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("answer", "body", "connections"),
    [
        (writes(LENGTH), b"hello", 1),
        (writes(CHUNKED), b"hello world", 1),
        (writes(b"HTTP/1.1 200 OK\r\n\r\nuntil close", keep=False), b"until close", 2),
        (writes(b"HTTP/1.1 204 No Content\r\n\r\n"), b"", 1),
        (writes(b"HTTP/1.1 100 Continue\r\n\r\n", LENGTH), b"hello", 1),
        (writes(LENGTH[:-5].replace(b"OK", b"OK\r\nconnection: close"), b"hello"), b"hello", 2),
    ],
    ids=["length", "chunked", "until-close", "no-content", "interim-100", "connection-close"],
)
async def test_framing_and_keep_alive(answer: Answer, body: bytes, connections: int) -> None:
    async with raw_server(answer) as server:
        transport = WireTransport()
        first = await fetch(transport, server.url + "/a?b=1")
        second = await fetch(transport, server.url + "/a?b=1")
        await transport.aclose()
        # httpx's own transport reads the same bytes the same way.
        reference = httpx.AsyncHTTPTransport(retries=0)
        expected = await fetch(reference, server.url + "/a?b=1")
        await reference.aclose()
    assert first[0] == second[0] == expected[0]
    assert b"".join(first[1]) == b"".join(second[1]) == b"".join(expected[1]) == body
    assert server.connections == connections + 1  # the reference's own connection
    request = server.requests[0]
    assert request.startswith(b"GET /a?b=1 HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in request
    assert request.endswith(b"\r\n\r\nhi")


@pytest.mark.asyncio
async def test_pieces_pass_as_they_arrive() -> None:
    """A chunk is handed on before the next one is sent: nothing is read ahead."""
    second = asyncio.Event()

    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\none\r\n")
        await writer.drain()
        await asyncio.wait_for(second.wait(), 5)
        writer.write(b"3\r\ntwo\r\n0\r\n\r\n")
        return True

    async with raw_server(answer) as server:
        transport = WireTransport()
        request = httpx.Request("GET", server.url, extensions={"timeout": TIMEOUT})
        response = await transport.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        pieces = response.stream.__aiter__()
        assert await anext(pieces) == b"one"
        second.set()
        assert await anext(pieces) == b"two"
        await response.aclose()
        await transport.aclose()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _cut_then_reset(head: bytes) -> Answer:
    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(head)
        await writer.drain()
        await asyncio.sleep(0.1)
        _reset(writer)
        return False

    return answer


async def _silent(_reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> bool:
    await asyncio.sleep(10)
    return False


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "answer",
    [
        writes(b"", keep=False),  # closed with no answer
        writes(LENGTH[:-2], keep=False),  # the body ends early
        writes(CHUNKED[:60], keep=False),  # a chunked body ends early
        writes(b"HTTP/1.1 200 OK\r\ncontent", keep=False),  # the head ends early
        writes(b"NOT HTTP\r\n\r\n", keep=False),  # a malformed status line
        writes(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", keep=False),
        _cut_then_reset(LENGTH[:-2]),  # a reset mid-body
        _cut_then_reset(b""),  # a reset before any answer
    ],
    ids=[
        "no-answer",
        "short",
        "short-chunked",
        "short-head",
        "bad-status",
        "bad-chunk",
        "reset",
        "reset-first",
    ],
)
async def test_a_failure_is_what_httpx_raises(answer: Answer) -> None:
    async with raw_server(answer) as server:
        got = [await fetch(t, server.url) for t in (WireTransport(), httpx.AsyncHTTPTransport())]
    assert isinstance(got[0], type), got
    assert issubclass(got[0], httpx.TransportError)
    assert got[0] is got[1]


@pytest.mark.asyncio
async def test_refused_and_timeouts_are_what_httpx_raises() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
        refused = [await fetch(t, dead) for t in (WireTransport(), httpx.AsyncHTTPTransport())]
    assert refused == [httpx.ConnectError, httpx.ConnectError]
    async with raw_server(_silent) as server:
        transports = (WireTransport(), httpx.AsyncHTTPTransport())
        timeouts = []
        for transport in transports:
            request = httpx.Request(
                "GET", server.url, extensions={"timeout": {**TIMEOUT, "read": 0.2}}
            )
            with pytest.raises(httpx.TimeoutException) as caught:
                await transport.handle_async_request(request)
            timeouts.append(caught.type)
    assert timeouts == [httpx.ReadTimeout, httpx.ReadTimeout]


@pytest.mark.asyncio
async def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(LENGTH)  # says nothing of closing, then closes
        await writer.drain()
        return False

    async with raw_server(answer) as server:
        transport = WireTransport()
        assert (await fetch(transport, server.url))[1] == [b"hello"]
        await asyncio.sleep(0.2)  # the server's FIN arrives while the connection is idle
        assert (await fetch(transport, server.url))[1] == [b"hello"]
        await transport.aclose()
    assert server.connections == 2


@pytest.mark.asyncio
async def test_a_header_that_would_split_the_request_is_refused() -> None:
    async with raw_server(writes(LENGTH)) as server:
        transport = WireTransport()
        request = httpx.Request("GET", server.url, extensions={"timeout": TIMEOUT})
        request.headers._list.append((b"x-a", b"x-a", b"1\r\nx-b: 2"))  # past httpx's checks
        with pytest.raises(httpx.LocalProtocolError):
            await transport.handle_async_request(request)
        await transport.aclose()
    assert server.requests == []


@pytest.mark.asyncio
async def test_an_idle_connection_that_received_bytes_is_not_reused() -> None:
    """Bytes the upstream sent while the connection was idle (an unsolicited 408) are never
    read as the next request's answer."""
    late = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n"
    async with raw_server(writes(LENGTH, late)) as server:
        transport = WireTransport()
        assert await fetch(transport, server.url) == (200, [b"hello"])
        await asyncio.sleep(0.2)  # the 408 arrives while the connection is idle
        assert await fetch(transport, server.url) == (200, [b"hello"])
        await transport.aclose()
    assert server.connections == 2


@pytest.mark.asyncio
async def test_a_tls_upstream_is_spoken_to_and_verified_as_httpx_does(tmp_path: Path) -> None:
    served, cert = self_signed(tmp_path)
    served.set_alpn_protocols(["http/1.1"])
    trusting = ssl.create_default_context(cafile=str(cert))
    seen: list[str | None] = []

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        seen.append(ssl_object.selected_alpn_protocol() if ssl_object else None)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(h.split(b":", 1)[1]) for h in head.split(b"\r\n")
                 if h.lower().startswith(b"content-length:")),
                0,
            )  # fmt: skip
            await reader.readexactly(length)
            writer.write(LENGTH)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0, ssl=served)
    url = f"https://localhost:{server.sockets[0].getsockname()[1]}/"
    transports = [
        WireTransport(verify=trusting),
        httpx.AsyncHTTPTransport(verify=trusting),
        WireTransport(),
        httpx.AsyncHTTPTransport(),
    ]
    async with server:
        got = [await fetch(t, url) for t in transports]
        for transport in transports:
            await transport.aclose()
    trusted, untrusted = got[:2], got[2:]
    assert trusted == [(200, [b"hello"]), (200, [b"hello"])]
    assert seen[0] == "http/1.1"  # ours asks for HTTP/1.1 by ALPN
    # a certificate nobody vouches for: refused before the request is sent, as httpx does
    assert untrusted == [httpx.ConnectError, httpx.ConnectError]
