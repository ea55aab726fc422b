"""The proxy's upstream client: HTTP/1.1 on asyncio streams, as an httpx transport.

httpx's own transport (httpcore over anyio) cost a proxied request some 0.6 ms more than this
on a shared 2-core machine: more than half the proxy's whole latency budget. The fault code
still sees httpx's ``Request`` and ``Response`` (this is an ``AsyncBaseTransport``); only the
wire underneath is ours, and it does what a reverse proxy needs and no more:

- keep-alive: an idle pool per origin (scheme, host, port), the most recently used first; a
  connection idle for :data:`KEEPALIVE_SECONDS`, or that the upstream closed or reset while it
  was idle, is dropped before use (httpx's defaults: 5 s, at most 20 idle per origin);
- the request goes out in one write, head and body;
- the response body as the upstream framed it (``Content-Length``, chunked, or until the
  upstream closes), de-chunked and still content-encoded, as httpx's ``aiter_raw`` gives it;
  each piece is passed on as it arrives, never read ahead of the reader;
- failures are httpx's exceptions, as httpcore raises them: ``ConnectError`` (refused, DNS,
  TLS) and ``ConnectTimeout`` before the request is sent, ``WriteError``, ``ReadError`` on a
  reset, ``RemoteProtocolError`` on a response that is malformed or ends early,
  ``ReadTimeout``/``WriteTimeout`` where the request's ``timeout`` extension bounds them;
- TLS with httpx's own context (``httpx.create_ssl_context(verify=...)``), HTTP/1.1 by ALPN.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import httpx

__all__ = ["KEEPALIVE_SECONDS", "WireTransport"]

#: How long an idle connection is kept (below the usual server keep-alive timeouts).
KEEPALIVE_SECONDS = 5.0
#: At most this many idle connections per origin.
MAX_IDLE = 20
#: The largest response head (status line and headers), and the largest read.
_LIMIT = 64 * 1024
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r\n")
_BAD_HEADER = re.compile(rb"[\r\n\0]")
_NO_BODY = frozenset({204, 304})
_T = TypeVar("_T")
Origin = tuple[str, str, int]


async def _within(
    waiting: Awaitable[_T], seconds: float | None, error: type[httpx.TimeoutException], request: Any
) -> _T:
    if seconds is None:
        return await waiting
    try:
        return await asyncio.wait_for(waiting, seconds)
    except TimeoutError:
        raise error("timed out", request=request) from None


class _Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def usable(self, now: float) -> bool:
        """Whether an idle connection can carry a request: not expired, not closed, reset or
        ended by the upstream, and with nothing received while idle (an unsolicited 408, say,
        which would be read as the next request's answer). StreamReader has no public call
        for what it holds, hence its ``_buffer``."""
        reader = self.reader
        return (
            now - self.idle_since < KEEPALIVE_SECONDS
            and not self.writer.is_closing()
            and not reader.at_eof()
            and reader.exception() is None
            and not getattr(reader, "_buffer", None)
        )

    def close(self) -> None:
        self.writer.close()


def _head(request: httpx.Request, body: bytes) -> bytes:
    """The request line and headers, framed for ``body`` (sent whole)."""
    parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    chunked = False
    for name, value in request.headers.raw:
        if _BAD_HEADER.search(name) or _BAD_HEADER.search(value):
            raise httpx.LocalProtocolError(f"illegal header {name!r}", request=request)
        if name.lower() == b"transfer-encoding":
            chunked = True
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    if chunked:  # a streamed body, read whole: one chunk and the last
        parts += (b"%x\r\n" % len(body), body, b"\r\n0\r\n\r\n") if body else (b"0\r\n\r\n",)
    else:
        parts.append(body)
    return b"".join(parts)


class WireTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 to the upstreams over asyncio streams (see the module's docstring)."""

    def __init__(self, *, verify: ssl.SSLContext | str | bool = True) -> None:
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[Origin, list[_Connection]] = {}
        self._closed = False

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            context = httpx.create_ssl_context(verify=self._verify)
            context.set_alpn_protocols(["http/1.1"])
            self._ssl = context
        return self._ssl

    async def _connect(
        self, request: httpx.Request, origin: Origin, seconds: float | None
    ) -> _Connection:
        scheme, host, port = origin
        context = self._context() if scheme == "https" else None
        try:
            reader, writer = await _within(
                asyncio.open_connection(
                    host, port, ssl=context, server_hostname=host if context else None, limit=_LIMIT
                ),
                seconds,
                httpx.ConnectTimeout,
                request,
            )
        except OSError as exc:  # refused, unreachable, DNS, TLS (ssl.SSLError is an OSError)
            raise httpx.ConnectError(str(exc) or repr(exc), request=request) from exc
        return _Connection(reader, writer)

    def _reuse(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.usable(now):
                return conn
            conn.close()
        return None

    def _release(self, origin: Origin, conn: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if self._closed or len(idle) >= MAX_IDLE:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {scheme!r}", request=request)
        origin = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeouts = request.extensions.get("timeout") or {}
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await request.aread()
        head = _head(request, body)
        conn = self._reuse(origin) or await self._connect(request, origin, timeouts.get("connect"))
        try:
            try:
                conn.writer.write(head)
                drained = conn.writer.drain()
                await _within(drained, timeouts.get("write"), httpx.WriteTimeout, request)
            except OSError as exc:
                raise httpx.WriteError(str(exc) or repr(exc), request=request) from exc
            status, reason, version, headers = await _read_head(conn, request, timeouts)
            framing = _framing(request.method, status, version, headers, request)
        except BaseException:
            conn.close()
            raise
        return httpx.Response(
            status,
            headers=headers,
            stream=_Body(self, origin, conn, request, timeouts.get("read"), framing),
            extensions={"http_version": version, "reason_phrase": reason},
        )

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()


async def _read_head(
    conn: _Connection, request: httpx.Request, timeouts: dict[str, Any]
) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
    """The response's status, reason, version and headers (1xx interim answers skipped)."""
    while True:
        try:
            raw = await _within(
                conn.reader.readuntil(b"\r\n\r\n"), timeouts.get("read"), httpx.ReadTimeout, request
            )
        except asyncio.IncompleteReadError as exc:
            problem = "Server disconnected without sending a response."
            if exc.partial:
                problem = "Server disconnected in the middle of a response's head."
            raise httpx.RemoteProtocolError(problem, request=request) from None
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError(
                f"response head over {_LIMIT} bytes", request=request
            ) from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or repr(exc), request=request) from exc
        head = _parse_head(raw, request)
        if not 100 <= head[0] < 200 or head[0] == 101:  # 100 Continue, 103 Early Hints...
            return head


def _parse_head(
    raw: bytes, request: httpx.Request
) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
    lines = raw[:-4].split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        problem = f"malformed status line {lines[0][:100]!r}"
        raise httpx.RemoteProtocolError(problem, request=request)
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or b"\n" in line:
            raise httpx.RemoteProtocolError(f"malformed header {line[:100]!r}", request=request)
        headers.append((name, value.strip(b" \t")))
    return int(code), reason, version, headers


def _framing(
    method: str, status: int, version: bytes, headers: list[tuple[bytes, bytes]], request: Any
) -> tuple[str, int, bool]:
    """How the body ends (``"length"``, ``"chunked"`` or ``"close"``), its length, and whether
    the connection can carry another request after it (RFC 9112 sections 6.3 and 9.3)."""
    keep = version == b"HTTP/1.1"
    length: bytes | None = None
    coding: bytes | None = None
    for name, value in headers:
        key = name.lower()
        if key == b"content-length":
            if length is not None and value != length:
                raise httpx.RemoteProtocolError("conflicting Content-Length", request=request)
            length = value
        elif key == b"transfer-encoding":
            coding = value.lower()
        elif key == b"connection":
            tokens = {t.strip() for t in value.lower().split(b",")}
            if b"close" in tokens:
                keep = False
            elif b"keep-alive" in tokens and version == b"HTTP/1.0":
                keep = True
    if method == "HEAD" or status in _NO_BODY:
        return "length", 0, keep
    if coding is not None:
        if coding.rsplit(b",", 1)[-1].strip() == b"chunked":
            return "chunked", 0, keep
        return "close", 0, False
    if length is not None:
        if not length.isdigit():
            raise httpx.RemoteProtocolError(f"bad Content-Length {length!r}", request=request)
        return "length", int(length), keep
    return "close", 0, False


class _Body(httpx.AsyncByteStream):
    """A response's body from its connection; the connection goes back to the pool when the
    body was read to its end, and is closed otherwise."""

    def __init__(
        self,
        transport: WireTransport,
        origin: Origin,
        conn: _Connection,
        request: httpx.Request,
        seconds: float | None,
        framing: tuple[str, int, bool],
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._conn: _Connection | None = conn
        self._request = request
        self._seconds = seconds
        self._mode, self._length, self._reusable = framing
        self._done = False

    async def _read(self, reader: asyncio.StreamReader, size: int) -> bytes:
        if self._seconds is None:
            data = await reader.read(size)
        else:
            data = await _within(reader.read(size), self._seconds, httpx.ReadTimeout, self._request)
        if not data:
            raise asyncio.IncompleteReadError(b"", size)
        return data

    async def _line(self, reader: asyncio.StreamReader) -> bytes:
        if self._seconds is None:
            return await reader.readuntil(b"\r\n")
        waiting = reader.readuntil(b"\r\n")
        return await _within(waiting, self._seconds, httpx.ReadTimeout, self._request)

    async def _pieces(self, reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
        if self._mode == "length":
            left = self._length
            while left:
                data = await self._read(reader, min(left, _LIMIT))
                left -= len(data)
                yield data
        elif self._mode == "chunked":
            while True:
                match = _CHUNK_SIZE.fullmatch(await self._line(reader))
                if match is None:
                    raise ValueError("malformed chunk size")
                left = int(match.group(1), 16)
                if not left:
                    while await self._line(reader) != b"\r\n":  # trailer fields, unused
                        pass
                    break
                while left:
                    data = await self._read(reader, min(left, _LIMIT))
                    left -= len(data)
                    yield data
                if await self._line(reader) != b"\r\n":
                    raise ValueError("malformed chunk end")
        else:
            while True:
                data = await reader.read(_LIMIT)
                if not data:
                    break
                yield data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None or self._done:
            return
        request = self._request
        try:
            async for data in self._pieces(conn.reader):
                yield data
        except asyncio.IncompleteReadError:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            ) from None
        except (asyncio.LimitOverrunError, ValueError) as exc:
            raise httpx.RemoteProtocolError(
                f"malformed response body: {exc}", request=request
            ) from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or repr(exc), request=request) from exc
        self._done = True

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._done and self._reusable:
            self._transport._release(self._origin, conn)
        else:
            conn.close()
