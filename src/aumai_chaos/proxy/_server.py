"""The proxy's HTTP server: uvicorn in a thread of its own, on a socket bound up front.

uvicorn runs on uvloop with the httptools parser when both are installed (the ``proxy`` extra
brings them: about 0.3 ms less a proxied request on a shared 2-core machine), else on asyncio
with h11; :func:`stack` picks.

Binding the socket before uvicorn starts makes a port in use a one-line error of ours (uvicorn
would log and exit) and gives the real port of ``--port 0`` at once. uvicorn's own protocol is
subclassed only to keep each connection's asyncio transport by the client's address (the
``client`` of the ASGI scope), so that a fault can reset the client's connection the way a
crashed server does: ``SO_LINGER`` 0 and an abort, once the client has acknowledged the bytes
already sent (a reset makes the client's kernel drop what it has not read).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from aumai_chaos.errors import ConfigError

__all__ = ["Connections", "ProxyServer", "bind", "stack"]

#: How long a reset waits, at most, for the client to acknowledge what was sent.
RESET_GRACE_SECONDS = 1.0
#: Then a moment for the client's application to read it (as ``ProviderServer`` does).
READ_GRACE_SECONDS = 0.3
#: How long in-flight requests get when the proxy stops.
SHUTDOWN_GRACE_SECONDS = 1.0


class Connections:
    """The open client connections' transports, by the client's (host, port)."""

    def __init__(self) -> None:
        self._by_peer: dict[Any, asyncio.Transport] = {}

    def add(self, peer: Any, transport: asyncio.Transport) -> None:
        if peer is not None:
            self._by_peer[tuple(peer)] = transport

    def remove(self, peer: Any, transport: asyncio.Transport) -> None:
        if peer is not None and self._by_peer.get(tuple(peer)) is transport:
            del self._by_peer[tuple(peer)]

    def __len__(self) -> int:
        return len(self._by_peer)

    def close(self, peer: Any) -> None:
        """Close the client's connection as a server that exits does (a FIN, no answer)."""
        transport = self._by_peer.get(tuple(peer)) if peer is not None else None
        if transport is not None and not transport.is_closing():
            transport.close()

    async def reset(self, peer: Any) -> None:
        """Reset the client's connection (a TCP RST), after what was sent has been read."""
        transport = self._by_peer.get(tuple(peer)) if peer is not None else None
        if transport is None or transport.is_closing():
            return
        sock = transport.get_extra_info("socket")
        deadline = time.monotonic() + RESET_GRACE_SECONDS
        while transport.get_write_buffer_size() and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        if sock is not None:
            while _unacknowledged(sock) and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
        await asyncio.sleep(READ_GRACE_SECONDS)
        if transport.is_closing():
            return
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


def _unacknowledged(sock: Any) -> int:
    """Bytes sent on ``sock`` the peer has not acknowledged (0 where that cannot be read)."""
    try:
        import fcntl  # POSIX only
        import termios

        out = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4)
        return int(struct.unpack("i", out)[0])
    except (ImportError, OSError, ValueError):
        return 0


def stack(fast: bool = True) -> tuple[type[Any], Callable[[], asyncio.AbstractEventLoop]]:
    """uvicorn's HTTP protocol class and the event loop factory the proxy serves with: httptools
    on uvloop when ``fast`` and both are installed, else h11 on asyncio."""
    if fast:
        try:
            import uvloop
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        except ImportError:
            pass
        else:

            class HttpTools(HttpToolsProtocol):
                def on_headers_complete(self) -> None:
                    super().on_headers_complete()
                    # An absolute-form target (``GET http://host/ HTTP/1.1``, for a forward
                    # proxy) keeps its whole target in ``raw_path``, as h11's protocol does,
                    # not only its path: the proxy refuses it rather than forwarding it.
                    if not self.url.startswith(b"/"):
                        self.scope["raw_path"] = self.url

            return HttpTools, uvloop.new_event_loop
    return H11Protocol, asyncio.new_event_loop


def _protocol(connections: Connections, base: type[Any]) -> type[Any]:
    class Protocol(base):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            connections.add(self.client, transport)
            # Small writes (headers, then each event) go out at once: with Nagle's algorithm a
            # second write would wait for the client's delayed ACK, some 40 ms. asyncio sets
            # this only when the socket's proto says TCP.
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def connection_lost(self, exc: Exception | None) -> None:
            connections.remove(self.client, self.transport)
            super().connection_lost(exc)

    return Protocol


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a one-line :class:`ConfigError` when it cannot."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host!r}: {exc.strerror}", field="--host") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is in use", field="--port") from None
        why = exc.strerror or str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {why}", field="--port") from None
    sock.setblocking(False)
    return sock


class ProxyServer:
    """Serves ``app`` on ``sock`` from a background thread until :meth:`stop`."""

    def __init__(
        self,
        app: Any,
        sock: socket.socket,
        connections: Connections,
        on_stop: Callable[[], Awaitable[None]] | None = None,
        *,
        fast: bool = True,
    ) -> None:
        protocol, self._loop_factory = stack(fast)
        config = uvicorn.Config(
            app,
            http=_protocol(connections, protocol),
            ws="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=int(SHUTDOWN_GRACE_SECONDS),
        )
        self._server = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="aumai-chaos-proxy", daemon=True)
        self._error: BaseException | None = None
        self._on_stop = on_stop

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def _serve(self) -> None:
        try:
            with asyncio.Runner(loop_factory=self._loop_factory) as runner:
                runner.run(self._main())
        except BaseException as exc:  # SystemExit from uvicorn included
            self._error = exc

    async def _main(self) -> None:
        try:
            await self._server.serve(sockets=[self._sock])
        finally:
            if self._on_stop is not None:
                await self._on_stop()

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the proxy server did not start ({self._error!r})")
            time.sleep(0.01)

    def stop(self, timeout: float = SHUTDOWN_GRACE_SECONDS + 4.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        with contextlib.suppress(OSError):
            self._sock.close()
